#include "cli/websocket_console.h"

#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include "base/file.h"
#include "base/json.h"
#include "cli/arguments.h"
#include "manager/api/base64.h"
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
    TRY(write_all(connection.get(),
                  fmt::format("GET /1.0/instances/{}/console HTTP/1.1\r\nHost: vessel\r\n"
                              "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                              "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {}\r\n\r\n",
                              encode(name), key)));
    std::string answer;
    char chunk[4096];
    size_t end = std::string::npos;
    while ((end = answer.find("\r\n\r\n")) == std::string::npos) {
        if (answer.size() > 64 * 1024) return fail("console of {}: an answer without an end", name);
        ssize_t n = ::recv(connection.get(), chunk, sizeof chunk, 0);
        if (n <= 0) return fail("console of {}: the server closed the connection", name);
        answer.append(chunk, static_cast<size_t>(n));
    }
    auto head = answer.substr(0, end);
    auto rest = answer.substr(end + 4);
    if (!head.starts_with("HTTP/1.1 101")) {
        // An error answer: its JSON message, as every command shows it.
        auto body = parse_json(rest, "answer");
        if (body && body->is_object() && (*body)["error"].is_string())
            return fail("{}", (*body)["error"].get<std::string>());
        return fail("console of {}: {}", name, head.substr(0, head.find('\r')));
    }
    if (head.find("Sec-WebSocket-Accept: " + manager::api::websocket_accept(key)) ==
        std::string::npos)
        return fail("console of {}: the server's answer is not a WebSocket's", name);
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
