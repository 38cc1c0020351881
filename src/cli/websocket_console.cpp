#include "cli/websocket_console.h"

#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include "base/file.h"
#include "base/json.h"
#include "cli/arguments.h"
#include "manager/api/base64.h"
#include "manager/api/client.h"
#include "manager/api/http.h"
#include "manager/api/websocket.h"

namespace vessel::cli {

namespace {

using manager::api::encode_websocket_frame;
using manager::api::WsDecoder;
using manager::api::WsOpcode;

uint32_t random_mask() {
    uint32_t mask = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&mask), sizeof mask);
    return mask;
}

// Until either side ends: the terminal's bytes become masked binary messages, the server's binary
// messages become bytes.
void translate(int websocket, int plain, std::string early) {
    WsDecoder decoder(false);
    decoder.append(early);
    char chunk[16384];
    while (true) {
        while (true) {
            auto message = decoder.next();
            if (!message || !*message) {
                if (!message) return;
                break;
            }
            if ((*message)->type == WsOpcode::close) return;
            if ((*message)->type == WsOpcode::ping) {
                if (!write_all(websocket, encode_websocket_frame(WsOpcode::pong, (*message)->data,
                                                                 random_mask())))
                    return;
            } else if ((*message)->type == WsOpcode::binary) {
                if (!write_all(plain, (*message)->data)) return;
            }
        }
        pollfd fds[2] = {{.fd = websocket, .events = POLLIN, .revents = 0},
                         {.fd = plain, .events = POLLIN, .revents = 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
        if (fds[0].revents != 0) {
            ssize_t n = ::recv(websocket, chunk, sizeof chunk, 0);
            if (n <= 0) return;
            decoder.append(std::string_view(chunk, static_cast<size_t>(n)));
        }
        if (fds[1].revents != 0) {
            ssize_t n = ::recv(plain, chunk, sizeof chunk, 0);
            if (n <= 0) {
                (void)write_all(websocket,
                                encode_websocket_frame(WsOpcode::close, "\x03\xe8", random_mask()));
                return;
            }
            if (!write_all(websocket,
                           encode_websocket_frame(WsOpcode::binary,
                                                  std::string_view(chunk, static_cast<size_t>(n)),
                                                  random_mask())))
                return;
        }
    }
}

}  // namespace

Result<UniqueFd> open_websocket_console(UniqueFd connection, const std::string& name) {
    unsigned char nonce[16];
    RAND_bytes(nonce, sizeof nonce);
    auto key =
        manager::base64_encode(std::string_view(reinterpret_cast<char*>(nonce), sizeof nonce));
    manager::http::Connection http(std::move(connection));
    TRY(http.write_request(
        "GET", fmt::format("/1.0/instances/{}/console", encode(name)), "", "websocket",
        fmt::format("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {}\r\n", key)));
    auto refused = TRY_CTX(http.read_upgrade_response(), "console of {}", name);
    if (refused) {
        // An error answer: its JSON message, as every command shows it.
        manager::ApiResponse answer{.status = refused->status, .body = Json()};
        if (auto body = parse_json(refused->body, "answer"); body) answer.body = std::move(*body);
        if (auto message = answer.error(); !message.empty()) return fail("{}", message);
        return fail("console of {}: the server answered {} instead of switching to a WebSocket",
                    name, refused->status);
    }
    auto accept = http.switched_fields().find("sec-websocket-accept");
    if (accept == http.switched_fields().end() ||
        accept->second != manager::api::websocket_accept(key))
        return fail("console of {}: the server's answer is not a WebSocket's", name);
    std::string rest = http.take_buffered();
    connection = http.release();
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return fail_errno("socketpair");
    UniqueFd ours(pair[0]);
    std::thread([connection = std::move(connection), theirs = UniqueFd(pair[1]),
                 rest = std::move(rest)]() mutable {
        translate(connection.get(), theirs.get(), std::move(rest));
        ::shutdown(theirs.get(), SHUT_RDWR);
    }).detach();
    return ours;
}

}  // namespace vessel::cli
