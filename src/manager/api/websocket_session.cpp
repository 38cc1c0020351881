#include "manager/api/websocket_session.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "agent/protocol.h"
#include "base/json.h"
#include "base/unique_fd.h"
#include "manager/api/websocket.h"
#include "manager/client_message.h"

namespace vessel::manager::api {

namespace {

using agent::FrameType;

constexpr size_t buffer_limit = 1 << 20;

std::string close_payload(uint16_t code, std::string_view reason = {}) {
    std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    return payload + std::string(reason.substr(0, 120));
}

// Writes what it can without blocking; false when the peer is gone.
bool flush(int fd, std::string& pending) {
    while (!pending.empty()) {
        ssize_t n = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            pending.erase(0, static_cast<size_t>(n));
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EINTR);
    }
    return true;
}

// Reads what is there; false at end of input or an error.
bool fill(int fd, std::string& into) {
    char chunk[65536];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n > 0) {
        into.append(chunk, static_cast<size_t>(n));
        return true;
    }
    return n < 0 && (errno == EAGAIN || errno == EINTR);
}

// The loop both sessions share: the WebSocket on one side, `other` on the other. `on_message`
// handles each client message (appending to `to_other`); `on_other` handles bytes from `other`
// (appending frames for the client to `to_client`) and says when the session is over.
struct Pump {
    int websocket;
    int other;
    std::string to_client;
    std::string to_other;
    bool done = false;

    void send_message(WsOpcode opcode, std::string_view payload) {
        to_client += encode_websocket_frame(opcode, payload);
    }

    template <typename OnMessage, typename OnOther>
    void run(std::string early, OnMessage on_message, OnOther on_other) {
        WsDecoder decoder;
        decoder.append(early);
        bool other_open = true;
        while (true) {
            // Client messages first: early bytes may hold some already.
            while (!done) {
                auto message = decoder.next();
                if (!message) {
                    send_message(WsOpcode::close, close_payload(message.error().close_code,
                                                                message.error().message));
                    done = true;
                    break;
                }
                if (!*message) break;
                if ((*message)->type == WsOpcode::ping) {
                    send_message(WsOpcode::pong, (*message)->data);
                } else if ((*message)->type == WsOpcode::close) {
                    send_message(WsOpcode::close, close_payload(1000));
                    done = true;
                } else if ((*message)->type != WsOpcode::pong) {
                    on_message(**message);
                }
            }
            if (!flush(other, to_other)) other_open = false;
            if (!flush(websocket, to_client)) return;
            if (done && to_client.empty()) return;
            pollfd fds[2] = {{.fd = websocket,
                              .events = static_cast<short>((done ? 0 : POLLIN) |
                                                           (to_client.empty() ? 0 : POLLOUT)),
                              .revents = 0},
                             {.fd = other,
                              .events = static_cast<short>(
                                  (other_open && to_client.size() < buffer_limit ? POLLIN : 0) |
                                  (to_other.empty() ? 0 : POLLOUT)),
                              .revents = 0}};
            if (::poll(fds, 2, 1000) < 0 && errno != EINTR) return;
            if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                std::string bytes;
                if (!fill(websocket, bytes)) return;  // the client went away
                decoder.append(bytes);
            }
            if (other_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                std::string bytes;
                bool open = fill(other, bytes);
                if (!bytes.empty() || !open) on_other(bytes, !open);
                if (!open) other_open = false;
            }
        }
    }
};

}  // namespace

void serve_websocket_console(int websocket, std::string early_bytes, int console) {
    Pump pump{.websocket = websocket, .other = console};
    pump.run(
        std::move(early_bytes),
        [&](const WsMessage& message) {
            if (message.type == WsOpcode::binary) pump.to_other += message.data;
        },
        [&](const std::string& bytes, bool ended) {
            if (!bytes.empty()) pump.send_message(WsOpcode::binary, bytes);
            if (ended) {
                pump.send_message(WsOpcode::close, close_payload(1000, "the console closed"));
                pump.done = true;
            }
        });
}

void serve_websocket_exec(int websocket, std::string early_bytes,
                          std::function<Result<>(int)> session) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return;
    UniqueFd ours(pair[0]);
    auto theirs = std::make_shared<UniqueFd>(pair[1]);
    std::thread runner([session = std::move(session), theirs] {
        if (auto done = session(theirs->get()); !done)
            (void)agent::write_json_frame(theirs->get(), FrameType::reply,
                                          agent::error_reply(done.error()));
        // The session is over: the translator sees the end of its frames.
        ::shutdown(theirs->get(), SHUT_RDWR);
    });
    Pump pump{.websocket = websocket, .other = ours.get()};
    agent::FrameDecoder frames;
    pump.run(
        std::move(early_bytes),
        [&](const WsMessage& message) {
            if (message.type == WsOpcode::binary) {
                pump.to_other += agent::encode_frame(FrameType::input, message.data);
                return;
            }
            auto control = parse_json(message.data, "message");
            if (!control || !control->is_object()) return;
            auto type = control->value("type", "");
            if (type == "resize") {
                auto width = control->value("width", 0u), height = control->value("height", 0u);
                if (width > 0 && height > 0 && width < 10000 && height < 10000)
                    pump.to_other += agent::encode_frame(
                        FrameType::resize, Json{{"rows", height}, {"cols", width}}.dump());
            } else if (type == "signal") {
                auto signal = control->value("signal", 0);
                if (signal > 0 && signal < 65)
                    pump.to_other +=
                        agent::encode_frame(FrameType::signal, Json{{"signal", signal}}.dump());
            } else if (type == "stdin-end") {
                pump.to_other += agent::encode_frame(FrameType::input_end, "");
            }
        },
        [&](const std::string& bytes, bool ended) {
            frames.append(bytes);
            while (true) {
                auto frame = frames.next();
                if (!frame || !*frame) break;
                switch ((*frame)->type) {
                    case FrameType::output:
                    case FrameType::error_output:
                        pump.send_message(WsOpcode::binary, (*frame)->payload);
                        break;
                    case FrameType::reply: {
                        auto reply = agent::frame_json(**frame);
                        if (reply && !agent::check_reply(*reply)) {
                            pump.send_message(
                                WsOpcode::text,
                                Json{{"type", "error"},
                                     {"error", client_message(agent::check_reply(*reply).error())}}
                                    .dump());
                            pump.send_message(WsOpcode::close, close_payload(1011));
                            pump.done = true;
                        }
                        break;
                    }
                    case FrameType::exit: {
                        auto status = agent::frame_json(**frame);
                        Json end = {{"type", "exit"}};
                        if (status && status->contains("code")) end["code"] = (*status)["code"];
                        if (status && status->contains("signal"))
                            end["signal"] = (*status)["signal"];
                        pump.send_message(WsOpcode::text, end.dump());
                        pump.send_message(WsOpcode::close, close_payload(1000));
                        pump.done = true;
                        break;
                    }
                    default:
                        break;
                }
            }
            if (ended && !pump.done) {
                pump.send_message(WsOpcode::close, close_payload(1011, "the session ended"));
                pump.done = true;
            }
        });
    // A client gone before the end: the session sees its input end and its peer close.
    ours.reset();
    runner.join();
}

}  // namespace vessel::manager::api
