// WebSocket (RFC 6455), the server's side, for the interactive streams a browser needs (a VM's
// console, exec on a terminal): the opening handshake's answer and the framing. Messages are
// bounded (1 MiB), a client's frames must be masked, and a malformed frame ends the connection
// with the close code RFC 6455 names for it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "manager/api/http.h"

namespace vessel::manager::api {

inline constexpr size_t max_websocket_message = 1 << 20;

enum class WsOpcode : uint8_t {
    continuation = 0,
    text = 1,
    binary = 2,
    close = 8,
    ping = 9,
    pong = 10,
};

// A GET that asks to switch to WebSocket version 13 with a key.
bool asks_websocket(const http::Request& request);
// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
std::string websocket_accept(std::string_view key);

// One frame, FIN set. Servers send unmasked frames; a client (tests) passes a mask key.
std::string encode_websocket_frame(WsOpcode opcode, std::string_view payload,
                                   std::optional<uint32_t> mask = std::nullopt);

struct WsMessage {
    WsOpcode type;  // text, binary, close, ping or pong (fragments come joined)
    std::string data;
};

// Close codes a protocol error ends the connection with.
struct WsProtocolError {
    uint16_t close_code;  // 1002 protocol error, 1009 too big, 1007 not UTF-8
    std::string message;
};

class WsDecoder {
  public:
    // `from_client`: frames must be masked (the server's side); otherwise must not be.
    explicit WsDecoder(bool from_client = true) : from_client_(from_client) {}
    void append(std::string_view bytes) { buffer_.append(bytes); }
    // The next whole message (control frames may come between a message's fragments), or
    // nullopt while more bytes are needed.
    std::expected<std::optional<WsMessage>, WsProtocolError> next();

  private:
    bool from_client_;
    std::string buffer_;
    std::optional<WsOpcode> fragmented_;
    std::string fragments_;
};

}  // namespace vessel::manager::api
