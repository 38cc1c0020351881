#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "base/fd_passing.h"
#include "base/file.h"
#include "manager/api/client.h"
#include "manager/api/router.h"
#include "manager/api/server.h"
#include "temp_dir.h"

namespace vessel::manager::http {
namespace {

class HttpServerTest : public manager::testing::TempDirTest {
  protected:
    void SetUp() override {
        TempDirTest::SetUp();
        router_.add("GET", "/1.0", [](const Request&, const Params&) {
            return Response{.body = R"({"type":"sync","metadata":{"api":"1.0"}})"};
        });
        router_.add("POST", "/echo/{word}", [](const Request& r, const Params& p) {
            Json body = {{"metadata", {{"word", p.at("word")}, {"body", r.body}}}};
            return Response{.body = body.dump()};
        });
        router_.add("GET", "/stream", [](const Request&, const Params&) {
            return Response{.stream = [](ChunkWriter& w) {
                for (int i = 0; i < 3; ++i)
                    (void)w.write(fmt::format("{{\"n\":{}}}\n", i));
            }};
        });
        router_.add("GET", "/wait-for-hang-up", [this](const Request& r, const Params&) {
            // Stands for long work (an exec): it watches the client as that work does.
            pollfd watch{.fd = r.client.fd(), .events = manager::Cancellation::poll_events};
            bool gone =
                ::poll(&watch, 1, 10000) > 0 && manager::Cancellation::signalled(watch.revents);
            saw_hang_up_ = gone;
            return Response{.body = "{}"};
        });
        // Switches to an echo of whatever comes next, prefixed by what came early with the head.
        router_.add("POST", "/switch", [](const Request& r, const Params&) {
            if (!asks_upgrade(r, frame_stream_protocol))
                return error_response(400, "this endpoint only streams");
            return Response{.status = 101,
                            .upgrade_protocol = std::string(frame_stream_protocol),
                            .upgrade = [body = r.body](int fd, std::string early) {
                                (void)write_all(fd, "early[" + early + "] body[" + body + "] ");
                                char buffer[256];
                                ssize_t n;
                                while ((n = ::read(fd, buffer, sizeof buffer)) > 0)
                                    (void)write_all(fd, std::string_view(buffer, size_t(n)));
                            }};
        });
        socket_ = path("api.sock");
        start({.socket_path = socket_, .limits = {.max_head_bytes = 1024, .max_body_bytes = 4096}});
    }
    void start(ServerOptions options) {
        auto server = Server::listen(std::move(options),
                                     [this](const Request& r) { return router_.dispatch(r); });
        ASSERT_TRUE(server) << server.error().message();
        server_ = std::move(*server);
        thread_ = std::thread([this] { (void)server_->serve(); });
    }
    void stop() {
        server_->stop();
        thread_.join();
        server_.reset();
    }
    void TearDown() override {
        stop();
        TempDirTest::TearDown();
    }

    // Sends raw bytes and returns everything the server answers until it closes (or `patience`
    // passes without a byte).
    std::string raw(const std::string& bytes, bool half_close = true,
                    std::chrono::seconds patience = std::chrono::seconds(20)) {
        auto fd = connect_unix(socket_);
        EXPECT_TRUE(fd);
        timeval timeout{.tv_sec = patience.count(), .tv_usec = 0};
        ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        ::setsockopt(fd->get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        sent_all_ = true;
        for (std::string_view rest = bytes; !rest.empty();) {
            ssize_t n = ::send(fd->get(), rest.data(), rest.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                sent_all_ = false;
                break;
            }
            rest.remove_prefix(static_cast<size_t>(n));
        }
        if (half_close) ::shutdown(fd->get(), SHUT_WR);
        std::string out;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fd->get(), buf, sizeof buf)) > 0)
            out.append(buf, size_t(n));
        return out;
    }

    // One GET /1.0 on a new connection: its status, or 0 when it failed.
    int status_of_a_new_client() {
        auto client = ApiClient::connect(socket_);
        if (!client) return 0;
        auto response = client->request("GET", "/1.0");
        return response ? response->status : 0;
    }

    std::atomic<bool> saw_hang_up_{false};
    bool sent_all_ = false;  // whether raw() could send every byte

    Router router_;
    std::string socket_;
    std::unique_ptr<Server> server_;
    std::thread thread_;
};

// An image alias like riscv64/busybox travels as one encoded segment; the router must split the
// path before decoding it (it answered 404 "no such endpoint" before).
TEST_F(HttpServerTest, AnEncodedSlashStaysInsideItsSegment) {
    auto client = ApiClient::connect(socket_);
    ASSERT_TRUE(client) << client.error().message();
    auto response = client->request("POST", "/echo/riscv64%2Fbusybox");
    ASSERT_TRUE(response) << response.error().message();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body["metadata"]["word"], "riscv64/busybox");
    auto malformed = client->request("POST", "/echo/bad%zz");
    ASSERT_TRUE(malformed);
    EXPECT_EQ(malformed->status, 400);
}

TEST_F(HttpServerTest, SocketIsRootOnly) {
    struct stat st {};
    ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
    auto client = ApiClient::connect(socket_);
    ASSERT_TRUE(client) << client.error().message();
    for (int i = 0; i < 3; ++i) {
        auto response = client->request("GET", "/1.0");
        ASSERT_TRUE(response) << response.error().message();
        EXPECT_EQ(response->status, 200);
        EXPECT_EQ(response->body["metadata"]["api"], "1.0");
    }
    auto echo = client->request("POST", "/echo/a%20b", Json{{"x", 1}});
    ASSERT_TRUE(echo);
    EXPECT_EQ(echo->body["metadata"]["word"], "a b");
    EXPECT_EQ(echo->body["metadata"]["body"], R"({"x":1})");
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
    auto out =
        raw("GET /1.0 HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo/two HTTP/1.1\r\n"
            "Content-Length: 2\r\nConnection: close\r\n\r\nhi");
    auto first = out.find("\"api\"");
    auto second = out.find("\"two\"");
    ASSERT_NE(first, std::string::npos) << out;
    ASSERT_NE(second, std::string::npos) << out;
    EXPECT_LT(first, second);
}

TEST_F(HttpServerTest, UnknownRouteIs404Json) {
    auto client = ApiClient::connect(socket_);
    auto response = client->request("GET", "/2.0/nothing");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 404);
    EXPECT_EQ(response->body["type"], "error");
    EXPECT_EQ(response->body["error_code"], 404);
    EXPECT_EQ(response->error(), "no such endpoint: /2.0/nothing");
}

TEST_F(HttpServerTest, WrongMethodIs405NamingTheAllowedOnes) {
    auto client = ApiClient::connect(socket_);
    auto response = client->request("DELETE", "/1.0");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 405);
    EXPECT_EQ(response->error(), "method DELETE is not allowed on /1.0 (allowed: GET)");
}

TEST_F(HttpServerTest, MalformedRequestLineIs400) {
    EXPECT_TRUE(raw("GARBAGE\r\n\r\n").starts_with("HTTP/1.1 400 "));
    EXPECT_TRUE(raw("GET /1.0 HTTP/1.1 extra\r\n\r\n").starts_with("HTTP/1.1 400 "));
    EXPECT_TRUE(raw("GET 1.0 HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400 "));
    EXPECT_TRUE(raw("GET /1.0 HTTP/2.0\r\n\r\n").starts_with("HTTP/1.1 505 "));
    EXPECT_TRUE(raw("G(T /1.0 HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400 "));
}

TEST_F(HttpServerTest, MalformedHeadersAre400) {
    EXPECT_TRUE(raw("GET /1.0 HTTP/1.1\r\nNoColon\r\n\r\n").starts_with("HTTP/1.1 400 "));
    EXPECT_TRUE(raw("GET /1.0 HTTP/1.1\r\nA: b\r\n folded\r\n\r\n").starts_with("HTTP/1.1 400 "));
    EXPECT_TRUE(raw("POST /echo/x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
                    .starts_with("HTTP/1.1 400 "));
    EXPECT_TRUE(
        raw("POST /echo/x HTTP/1.1\r\nContent-Length: -1\r\n\r\n").starts_with("HTTP/1.1 400 "));
    EXPECT_TRUE(raw("GET /bad%zz HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400 "));
    EXPECT_TRUE(raw("GET /nul%00 HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400 "));
}

TEST_F(HttpServerTest, SmugglingShapesAreRefused) {
    auto both =
        raw("POST /echo/x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: "
            "chunked\r\n\r\n0\r\n\r\n");
    EXPECT_TRUE(both.starts_with("HTTP/1.1 400 ")) << both;
    EXPECT_TRUE(raw("POST /echo/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                    .starts_with("HTTP/1.1 411 "));
}

TEST_F(HttpServerTest, OversizedHeadIs431) {
    std::string big = "GET /1.0 HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
    auto out = raw(big);
    EXPECT_TRUE(out.starts_with("HTTP/1.1 431 ")) << out.substr(0, 60);
    EXPECT_NE(out.find("\"error_code\":431"), std::string::npos);
    // Without a blank line at all, the server stops reading at the limit too.
    EXPECT_TRUE(
        raw("GET /1.0 HTTP/1.1\r\nX: " + std::string(5000, 'b')).starts_with("HTTP/1.1 431 "));
}

// A head far over the limit, larger than the socket's buffers: the server answers after the first
// 16 KiB, and closing then (with the client still sending) reset the connection, so that the
// client's send failed and it never read the 431. The server now reads the rest away first.
TEST_F(HttpServerTest, ThousandsOfHeaderFieldsGet431NotAReset) {
    std::string head = "GET /1.0 HTTP/1.1\r\n";
    for (int i = 0; i < 3000; ++i)
        head += fmt::format("X-Field-{}: {}\r\n", i, std::string(100, 'v'));
    head += "\r\n";
    auto out = raw(head, false);
    EXPECT_TRUE(sent_all_) << "the server reset the connection while the request was sent";
    EXPECT_TRUE(out.starts_with("HTTP/1.1 431 ")) << out.substr(0, 80);
    EXPECT_NE(out.find("\"error_code\":431"), std::string::npos);
}

TEST_F(HttpServerTest, TooManyHeaderFieldsAre431EvenWithinTheSize) {
    std::string head = "GET /1.0 HTTP/1.1\r\n";
    for (int i = 0; i < 150; ++i)
        head += "a: b\r\n";
    ASSERT_LT(head.size(), 1024u);
    auto out = raw(head + "\r\n", false);
    EXPECT_TRUE(out.starts_with("HTTP/1.1 431 ")) << out.substr(0, 80);
    EXPECT_NE(out.find("150 header fields (at most 100)"), std::string::npos) << out;
}

// Bare LF line ends are refused at once (the server does not wait for a CRLF that never comes).
TEST_F(HttpServerTest, BareLineFeedsAre400AtOnce) {
    for (const char* request :
         {"GET /1.0 HTTP/1.1\nHost: x\n\n", "GET /1.0 HTTP/1.1\r\nHost: x\n\n",
          "GET /1.0 HTTP/1.1\r\nHost: x\r\n\n"}) {
        auto began = std::chrono::steady_clock::now();
        auto out = raw(request, false, std::chrono::seconds(5));
        auto took = std::chrono::steady_clock::now() - began;
        EXPECT_TRUE(out.starts_with("HTTP/1.1 400 ")) << request << " -> " << out.substr(0, 80);
        EXPECT_NE(out.find("bare LF"), std::string::npos) << out;
        EXPECT_LT(took, std::chrono::seconds(2)) << request;
    }
}

// Clients that send their request a byte at a time hold no thread: they are cut off at the head
// deadline (408), and a new client is served at once all along.
TEST_F(HttpServerTest, TricklingClientsDoNotBlockOthers) {
    stop();
    start({.socket_path = socket_, .head_timeout = std::chrono::seconds(2)});
    std::vector<UniqueFd> slow;
    for (int i = 0; i < 200; ++i) {
        auto fd = connect_unix(socket_);
        ASSERT_TRUE(fd) << fd.error().message();
        ASSERT_EQ(::send(fd->get(), "G", 1, MSG_NOSIGNAL), 1);
        slow.push_back(std::move(*fd));
    }
    // A byte from each every 100 ms: often, so that the server is never idle until a deadline.
    auto began = std::chrono::steady_clock::now();
    for (int round = 0; std::chrono::steady_clock::now() - began < std::chrono::seconds(4);
         ++round) {
        for (auto& fd : slow)
            (void)::send(fd.get(), "E", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (round % 5 == 0) {
            auto asked = std::chrono::steady_clock::now();
            EXPECT_EQ(status_of_a_new_client(), 200);
            EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(1));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // Each trickler got its 408 when its head was not complete in time.
    for (size_t i = 0; i < slow.size(); i += 50) {
        std::string out;
        char buf[512];
        ssize_t n;
        while ((n = ::recv(slow[i].get(), buf, sizeof buf, MSG_DONTWAIT)) > 0)
            out.append(buf, static_cast<size_t>(n));
        EXPECT_TRUE(out.starts_with("HTTP/1.1 408 ")) << i << ": " << out.substr(0, 80);
    }
}

// Keep-alive connections between requests are only watched, so hundreds of them leave room.
TEST_F(HttpServerTest, IdleKeepAliveConnectionsHoldNoThread) {
    std::vector<ApiClient> idle;
    for (int i = 0; i < 300; ++i) {
        auto client = ApiClient::connect(socket_);
        ASSERT_TRUE(client);
        auto response = client->request("GET", "/1.0");
        ASSERT_TRUE(response) << i << ": " << response.error().message();
        ASSERT_EQ(response->status, 200) << i;
        idle.push_back(std::move(*client));
    }
    EXPECT_EQ(status_of_a_new_client(), 200);
    for (auto& client : idle) {
        auto again = client.request("GET", "/1.0");
        ASSERT_TRUE(again) << again.error().message();
        EXPECT_EQ(again->status, 200);
    }
}

// When every connection slot is taken, the one waiting longest makes room for a new client.
TEST_F(HttpServerTest, ANewClientTakesTheSlotOfTheOldestUnfinishedOne) {
    stop();
    start({.socket_path = socket_, .max_connections = 8});
    std::vector<UniqueFd> partial;
    for (int i = 0; i < 8; ++i) {
        auto fd = connect_unix(socket_);
        ASSERT_TRUE(fd);
        ASSERT_EQ(::send(fd->get(), "GET /1.0", 8, MSG_NOSIGNAL), 8);
        partial.push_back(std::move(*fd));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(status_of_a_new_client(), 200);
    char byte;
    EXPECT_EQ(::recv(partial.front().get(), &byte, 1, 0), 0) << "the oldest was closed";
}

TEST_F(HttpServerTest, AHandlerSeesItsClientHangUp) {
    auto fd = connect_unix(socket_);
    ASSERT_TRUE(fd);
    std::string request = "GET /wait-for-hang-up HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd->get(), request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    fd->reset();
    for (int i = 0; i < 100 && !saw_hang_up_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_TRUE(saw_hang_up_);
}

TEST_F(HttpServerTest, OversizedBodyIs413WithoutReadingIt) {
    auto out = raw("POST /echo/x HTTP/1.1\r\nContent-Length: 100000\r\n\r\n", false);
    EXPECT_TRUE(out.starts_with("HTTP/1.1 413 ")) << out;
}

TEST_F(HttpServerTest, TruncatedBodyIs400) {
    EXPECT_TRUE(
        raw("POST /echo/x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").starts_with("HTTP/1.1 400 "));
}

TEST_F(HttpServerTest, StreamsAreChunked) {
    auto fd = connect_unix(socket_);
    ASSERT_TRUE(fd);
    Connection connection(std::move(*fd));
    ASSERT_TRUE(connection.write_request("GET", "/stream", ""));
    std::string all;
    auto status = connection.read_streamed_response([&](std::string_view c) {
        all += c;
        return true;
    });
    ASSERT_TRUE(status) << status.error().message();
    EXPECT_EQ(*status, 200);
    EXPECT_EQ(all, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
}

TEST_F(HttpServerTest, AnUpgradedConnectionLeavesHttpForTheHandlersSession) {
    auto client = ApiClient::connect(socket_);
    ASSERT_TRUE(client);
    auto stream = client->stream("POST", "/switch", Json{{"hello", 1}});
    ASSERT_TRUE(stream) << stream.error().message();
    ASSERT_TRUE(write_all(stream->fd.get(), "ping"));
    ::shutdown(stream->fd.get(), SHUT_WR);
    std::string answer = stream->early_bytes;
    char buffer[256];
    ssize_t n;
    while ((n = ::read(stream->fd.get(), buffer, sizeof buffer)) > 0)
        answer.append(buffer, size_t(n));
    EXPECT_EQ(answer, R"(early[] body[{"hello":1}] ping)");
}

TEST_F(HttpServerTest, BytesSentWithTheUpgradeRequestReachTheSession) {
    auto answer =
        raw("POST /switch HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: vessel-frames\r\n"
            "Content-Length: 2\r\n\r\n{}too-soon");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n")) << answer;
    EXPECT_NE(answer.find("Upgrade: vessel-frames\r\n"), std::string::npos);
    EXPECT_TRUE(answer.ends_with("early[too-soon] body[{}] ")) << answer;
}

TEST_F(HttpServerTest, ARefusedUpgradeIsAnErrorWithTheServersMessage) {
    auto client = ApiClient::connect(socket_);
    ASSERT_TRUE(client);
    auto stream = client->stream("POST", "/echo/x", Json::object());
    ASSERT_FALSE(stream);
    auto plain = ApiClient::connect(socket_)->request("POST", "/switch", Json::object());
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->status, 400);
    EXPECT_EQ(plain->error(), "this endpoint only streams");
}

TEST_F(HttpServerTest, SecondServerOnALiveSocketIsRefused) {
    auto second =
        Server::listen({.socket_path = socket_}, [](const Request&) { return Response{}; });
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), EADDRINUSE);
}

TEST(HttpPercentDecode, DecodesAndRejects) {
    EXPECT_EQ(percent_decode("a%2Fb"), "a/b");
    EXPECT_EQ(percent_decode("%"), std::nullopt);
    EXPECT_EQ(percent_decode("%4"), std::nullopt);
    EXPECT_EQ(percent_decode("%41"), "A");
}

}  // namespace
}  // namespace vessel::manager::http
