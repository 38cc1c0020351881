#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <thread>

#include "base/fd_passing.h"
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
        socket_ = path("api.sock");
        auto server = Server::listen(
            {.socket_path = socket_, .limits = {.max_head_bytes = 1024, .max_body_bytes = 4096}},
            [this](const Request& r) { return router_.dispatch(r); });
        ASSERT_TRUE(server) << server.error().message();
        server_ = std::move(*server);
        thread_ = std::thread([this] { (void)server_->serve(); });
    }
    void TearDown() override {
        server_->stop();
        thread_.join();
        server_.reset();
        TempDirTest::TearDown();
    }

    // Sends raw bytes and returns everything the server answers until it closes.
    std::string raw(const std::string& bytes, bool half_close = true) {
        auto fd = connect_unix(socket_);
        EXPECT_TRUE(fd);
        (void)!::write(fd->get(), bytes.data(), bytes.size());
        if (half_close) ::shutdown(fd->get(), SHUT_WR);
        std::string out;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fd->get(), buf, sizeof buf)) > 0)
            out.append(buf, size_t(n));
        return out;
    }

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
