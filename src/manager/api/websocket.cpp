#include "manager/api/websocket.h"

#include <openssl/sha.h>

#include <cctype>

#include "base/json.h"
#include "manager/api/base64.h"
#include "manager/json_text.h"

namespace vessel::manager::api {

namespace {

bool header_has_token(const std::string& value, std::string_view token) {
    // Comma-separated, case-insensitive ("keep-alive, Upgrade").
    size_t start = 0;
    while (start <= value.size()) {
        size_t end = value.find(',', start);
        if (end == std::string::npos) end = value.size();
        std::string_view item(value.data() + start, end - start);
        while (!item.empty() && item.front() == ' ')
            item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ')
            item.remove_suffix(1);
        if (item.size() == token.size() &&
            std::equal(item.begin(), item.end(), token.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
            }))
            return true;
        start = end + 1;
    }
    return false;
}

}  // namespace

bool asks_websocket(const http::Request& request) {
    return request.method == "GET" && header_has_token(request.header("connection"), "upgrade") &&
           header_has_token(request.header("upgrade"), "websocket") &&
           request.header("sec-websocket-version") == "13" &&
           !request.header("sec-websocket-key").empty();
}

std::string websocket_accept(std::string_view key) {
    std::string input = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
    return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string encode_websocket_frame(WsOpcode opcode, std::string_view payload,
                                   std::optional<uint32_t> mask) {
    std::string frame;
    frame += static_cast<char>(0x80 | static_cast<uint8_t>(opcode));
    uint8_t mask_bit = mask ? 0x80 : 0;
    if (payload.size() < 126) {
        frame += static_cast<char>(mask_bit | payload.size());
    } else if (payload.size() <= 0xffff) {
        frame += static_cast<char>(mask_bit | 126);
        frame += static_cast<char>(payload.size() >> 8);
        frame += static_cast<char>(payload.size() & 0xff);
    } else {
        frame += static_cast<char>(mask_bit | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            frame += static_cast<char>((uint64_t{payload.size()} >> shift) & 0xff);
    }
    if (!mask) return frame + std::string(payload);
    char key[4] = {static_cast<char>(*mask >> 24), static_cast<char>(*mask >> 16),
                   static_cast<char>(*mask >> 8), static_cast<char>(*mask)};
    frame.append(key, 4);
    for (size_t i = 0; i < payload.size(); ++i)
        frame += static_cast<char>(payload[i] ^ key[i % 4]);
    return frame;
}

std::expected<std::optional<WsMessage>, WsProtocolError> WsDecoder::next() {
    while (true) {
        if (buffer_.size() < 2) return std::nullopt;
        auto byte = [&](size_t i) { return static_cast<uint8_t>(buffer_[i]); };
        bool fin = byte(0) & 0x80;
        if (byte(0) & 0x70)
            return std::unexpected(WsProtocolError{1002, "reserved bits set (no extension)"});
        auto opcode = static_cast<WsOpcode>(byte(0) & 0x0f);
        bool masked = byte(1) & 0x80;
        if (masked != from_client_)
            return std::unexpected(WsProtocolError{1002, from_client_
                                                             ? "a client's frame is not masked"
                                                             : "a server's frame is masked"});
        uint64_t length = byte(1) & 0x7f;
        size_t header = 2;
        if (length == 126) {
            if (buffer_.size() < 4) return std::nullopt;
            length = (uint64_t{byte(2)} << 8) | byte(3);
            header = 4;
        } else if (length == 127) {
            if (buffer_.size() < 10) return std::nullopt;
            length = 0;
            for (size_t i = 2; i < 10; ++i)
                length = (length << 8) | byte(i);
            header = 10;
        }
        bool control = static_cast<uint8_t>(opcode) >= 8;
        switch (opcode) {
            case WsOpcode::continuation:
            case WsOpcode::text:
            case WsOpcode::binary:
            case WsOpcode::close:
            case WsOpcode::ping:
            case WsOpcode::pong:
                break;
            default:
                return std::unexpected(WsProtocolError{1002, "unknown opcode"});
        }
        if (control && (!fin || length > 125))
            return std::unexpected(WsProtocolError{1002, "a control frame is fragmented or long"});
        if (length > max_websocket_message || fragments_.size() + length > max_websocket_message)
            return std::unexpected(WsProtocolError{1009, "message over 1 MiB"});
        size_t key_size = masked ? 4 : 0;
        if (buffer_.size() < header + key_size + length) return std::nullopt;
        std::string payload = buffer_.substr(header + key_size, length);
        if (masked)
            for (size_t i = 0; i < payload.size(); ++i)
                payload[i] = static_cast<char>(payload[i] ^ buffer_[header + i % 4]);
        buffer_.erase(0, header + key_size + length);
        if (control) return WsMessage{opcode, std::move(payload)};
        if (opcode == WsOpcode::continuation) {
            if (!fragmented_)
                return std::unexpected(
                    WsProtocolError{1002, "a continuation with nothing to continue"});
            fragments_ += payload;
        } else {
            if (fragmented_)
                return std::unexpected(
                    WsProtocolError{1002, "a new message inside a fragmented one"});
            fragmented_ = opcode;
            fragments_ = std::move(payload);
        }
        if (!fin) continue;
        WsMessage message{*fragmented_, std::exchange(fragments_, {})};
        fragmented_.reset();
        if (message.type == WsOpcode::text && !is_valid_utf8(message.data))
            return std::unexpected(WsProtocolError{1007, "a text message that is not UTF-8"});
        return message;
    }
}

}  // namespace vessel::manager::api
