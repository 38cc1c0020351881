#include "manager/api/websocket.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "agent/protocol.h"
#include "base/json.h"
#include "base/unique_fd.h"
#include "manager/api/websocket_session.h"

namespace vessel::manager::api {
namespace {

TEST(WebSocket, AcceptsTheRfcsSampleKey) {
    // RFC 6455 section 1.3.
    EXPECT_EQ(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    http::Request request{.method = "GET"};
    request.headers = {{"connection", "keep-alive, Upgrade"},
                       {"upgrade", "websocket"},
                       {"sec-websocket-version", "13"},
                       {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="}};
    EXPECT_TRUE(asks_websocket(request));
    request.headers["sec-websocket-version"] = "8";
    EXPECT_FALSE(asks_websocket(request));
}

TEST(WebSocket, DecodesMaskedFramesOfEveryLengthAndJoinsFragments) {
    WsDecoder decoder;
    std::string big(70000, 'b');
    for (const std::string& payload : {std::string("hi"), std::string(300, 'm'), big}) {
        decoder.append(encode_websocket_frame(WsOpcode::binary, payload, 0x11223344));
        auto message = decoder.next();
        ASSERT_TRUE(message && *message);
        EXPECT_EQ((*message)->type, WsOpcode::binary);
        EXPECT_EQ((*message)->data, payload);
    }
    // A text message in two fragments with a ping between them, given a byte at a time.
    std::string first = encode_websocket_frame(WsOpcode::text, "hel", 7);
    first[0] = static_cast<char>(first[0] & 0x7f);  // not FIN
    std::string last = encode_websocket_frame(WsOpcode::continuation, "lo", 9);
    std::string stream = first + encode_websocket_frame(WsOpcode::ping, "p", 5) + last;
    std::vector<WsMessage> messages;
    for (char c : stream) {
        decoder.append(std::string(1, c));
        auto message = decoder.next();
        ASSERT_TRUE(message);
        if (*message) messages.push_back(**message);
    }
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(messages[0].type, WsOpcode::ping);
    EXPECT_EQ(messages[1].type, WsOpcode::text);
    EXPECT_EQ(messages[1].data, "hello");
}

TEST(WebSocket, RefusesWhatTheRfcForbids) {
    auto refusal = [](const std::string& bytes) {
        WsDecoder decoder;
        decoder.append(bytes);
        auto message = decoder.next();
        return message ? 0 : message.error().close_code;
    };
    EXPECT_EQ(refusal(encode_websocket_frame(WsOpcode::binary, "x")), 1002);  // not masked
    EXPECT_EQ(refusal(encode_websocket_frame(WsOpcode::text, "\xff\xfe", 1)), 1007);
    EXPECT_EQ(refusal(encode_websocket_frame(WsOpcode::binary, std::string((1 << 20) + 1, 'x'), 1)),
              1009);
    EXPECT_EQ(refusal(encode_websocket_frame(WsOpcode::continuation, "x", 1)), 1002);
    EXPECT_EQ(refusal(encode_websocket_frame(WsOpcode::ping, std::string(126, 'p'), 1)), 1002);
    std::string reserved = encode_websocket_frame(WsOpcode::binary, "x", 1);
    reserved[0] = static_cast<char>(reserved[0] | 0x40);
    EXPECT_EQ(refusal(reserved), 1002);
    std::string unknown = encode_websocket_frame(WsOpcode::binary, "x", 1);
    unknown[0] = static_cast<char>(0x83);
    EXPECT_EQ(refusal(unknown), 1002);
}

// A test's WebSocket client on one end of a socketpair.
class Client {
  public:
    explicit Client(int fd) : fd_(fd) {}
    void send(WsOpcode opcode, std::string_view payload) {
        auto frame = encode_websocket_frame(opcode, payload, 0xa1b2c3d4);
        ASSERT_EQ(::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(frame.size()));
    }
    // The next message from the server (5 s at most).
    std::optional<WsMessage> next() {
        while (true) {
            auto message = decoder_.next();
            if (!message) return std::nullopt;
            if (*message) return **message;
            pollfd fd{.fd = fd_, .events = POLLIN, .revents = 0};
            if (::poll(&fd, 1, 5000) <= 0) return std::nullopt;
            char chunk[4096];
            ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) return std::nullopt;
            decoder_.append(std::string_view(chunk, static_cast<size_t>(n)));
        }
    }

  private:
    int fd_;
    WsDecoder decoder_{false};
};

TEST(WebSocketSession, ConsoleBytesGoBothWaysUntilTheClientCloses) {
    int ws[2], console[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ws), 0);
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console), 0);
    UniqueFd client_end(ws[0]), server_end(ws[1]), console_end(console[0]), device(console[1]);
    // The first message arrives with the upgrade request, before the session starts.
    std::string early = encode_websocket_frame(WsOpcode::binary, "early ", 1);
    std::thread session(
        [&] { serve_websocket_console(server_end.get(), early, console_end.get()); });
    Client client(client_end.get());
    client.send(WsOpcode::text, R"({"type":"resize","width":100,"height":30})");
    client.send(WsOpcode::binary, "ls\n");
    std::string typed;
    while (typed.size() < 9) {
        char chunk[64];
        ssize_t n = ::recv(device.get(), chunk, sizeof chunk, 0);
        ASSERT_GT(n, 0);
        typed.append(chunk, static_cast<size_t>(n));
    }
    EXPECT_EQ(typed, "early ls\n");  // the resize is not the console's
    ASSERT_EQ(::send(device.get(), "bin\n", 4, 0), 4);
    auto output = client.next();
    ASSERT_TRUE(output);
    EXPECT_EQ(output->type, WsOpcode::binary);
    EXPECT_EQ(output->data, "bin\n");
    client.send(WsOpcode::ping, "are you there");
    auto pong = client.next();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->type, WsOpcode::pong);
    EXPECT_EQ(pong->data, "are you there");
    client.send(WsOpcode::close, "");
    auto close = client.next();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->type, WsOpcode::close);
    session.join();
}

TEST(WebSocketSession, ExecTranslatesFramesToMessagesAndBack) {
    int ws[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ws), 0);
    UniqueFd client_end(ws[0]), server_end(ws[1]);
    Json resize_seen;
    // A program that echoes its first input, then exits 3, as the agent's frames say it.
    auto program = [&](int fd) -> Result<> {
        TRY(agent::write_json_frame(fd, agent::FrameType::reply, Json{{"ok", true}}));
        while (true) {
            auto frame = TRY(agent::read_frame(fd));
            if (!frame) return {};
            if (frame->type == agent::FrameType::resize)
                resize_seen = TRY(agent::frame_json(*frame));
            if (frame->type == agent::FrameType::input) {
                TRY(agent::write_frame(fd, agent::FrameType::output, "echo:" + frame->payload));
                return agent::write_json_frame(fd, agent::FrameType::exit, Json{{"code", 3}});
            }
        }
    };
    std::thread session([&] { serve_websocket_exec(server_end.get(), "", program); });
    Client client(client_end.get());
    client.send(WsOpcode::text, R"({"type":"resize","width":120,"height":40})");
    client.send(WsOpcode::binary, "hi");
    auto output = client.next();
    ASSERT_TRUE(output);
    EXPECT_EQ(output->type, WsOpcode::binary);
    EXPECT_EQ(output->data, "echo:hi");
    auto end = client.next();
    ASSERT_TRUE(end);
    EXPECT_EQ(end->type, WsOpcode::text);
    EXPECT_EQ(parse_json(end->data, "end").value(), (Json{{"type", "exit"}, {"code", 3}}));
    auto close = client.next();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->type, WsOpcode::close);
    session.join();
    EXPECT_EQ(resize_seen, (Json{{"rows", 40}, {"cols", 120}}));
}

TEST(WebSocketSession, AFailedSessionIsAnErrorMessage) {
    int ws[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ws), 0);
    UniqueFd client_end(ws[0]), server_end(ws[1]);
    std::thread session([&] {
        serve_websocket_exec(server_end.get(), "",
                             [](int) -> Result<> { return fail("no such program: nope"); });
    });
    Client client(client_end.get());
    auto error = client.next();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->type, WsOpcode::text);
    EXPECT_NE(error->data.find("no such program: nope"), std::string::npos) << error->data;
    auto close = client.next();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->type, WsOpcode::close);
    session.join();
}

}  // namespace
}  // namespace vessel::manager::api
