#include "vm/debug/packet.h"

namespace vessel::debug {

namespace {

constexpr char kDigits[] = "0123456789abcdef";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

void PacketReader::feed(std::string_view bytes, std::vector<Incoming>& out) {
    for (char c : bytes) {
        switch (state_) {
            case State::idle:
                // Anything else between packets (line noise, a stray '#') is ignored, as gdb does.
                if (c == '$') {
                    state_ = State::payload;
                    payload_.clear();
                    sum_ = 0;
                    overflow_ = false;
                } else if (c == '+') {
                    out.push_back({Incoming::Kind::ack, {}});
                } else if (c == '-') {
                    out.push_back({Incoming::Kind::nack, {}});
                } else if (c == '\x03') {
                    out.push_back({Incoming::Kind::interrupt, {}});
                }
                break;
            case State::payload:
                if (c == '#') {
                    state_ = State::checksum_high;
                } else if (c == '$') {
                    // A new start inside a packet: the old one was cut off; start over.
                    payload_.clear();
                    sum_ = 0;
                    overflow_ = false;
                } else {
                    sum_ = static_cast<uint8_t>(sum_ + static_cast<uint8_t>(c));
                    if (payload_.size() < max_payload_)
                        payload_.push_back(c);
                    else
                        overflow_ = true;
                }
                break;
            case State::checksum_high:
                checksum_high_ = hex_value(c);
                state_ = State::checksum_low;
                break;
            case State::checksum_low: {
                int low = hex_value(c);
                state_ = State::idle;
                if (overflow_) {
                    out.push_back({Incoming::Kind::too_long, {}});
                } else if (checksum_high_ < 0 || low < 0 || ((checksum_high_ << 4) | low) != sum_) {
                    out.push_back({Incoming::Kind::bad_checksum, {}});
                } else {
                    out.push_back({Incoming::Kind::packet, std::move(payload_)});
                }
                payload_.clear();
                break;
            }
        }
    }
}

std::string frame_packet(std::string_view payload) {
    std::string framed = "$";
    framed.reserve(payload.size() + 4);
    uint8_t sum = 0;
    auto put = [&](char c) {
        framed.push_back(c);
        sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
    };
    for (char c : payload) {
        if (c == '$' || c == '#' || c == '}' || c == '*') {
            put('}');
            put(static_cast<char>(c ^ 0x20));
        } else {
            put(c);
        }
    }
    framed.push_back('#');
    framed.push_back(kDigits[sum >> 4]);
    framed.push_back(kDigits[sum & 15]);
    return framed;
}

std::optional<std::string> unescape_binary(std::string_view data) {
    std::string out;
    out.reserve(data.size());
    for (size_t i = 0; i < data.size(); ++i) {
        if (data[i] != '}') {
            out.push_back(data[i]);
            continue;
        }
        if (++i == data.size()) return std::nullopt;
        out.push_back(static_cast<char>(data[i] ^ 0x20));
    }
    return out;
}

std::optional<uint64_t> parse_hex(std::string_view text) {
    if (text.empty() || text.size() > 16) return std::nullopt;
    uint64_t value = 0;
    for (char c : text) {
        int digit = hex_value(c);
        if (digit < 0) return std::nullopt;
        value = (value << 4) | static_cast<uint64_t>(digit);
    }
    return value;
}

std::string to_hex(std::span<const uint8_t> bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (uint8_t byte : bytes) {
        out.push_back(kDigits[byte >> 4]);
        out.push_back(kDigits[byte & 15]);
    }
    return out;
}

std::string to_hex(std::string_view text) {
    return to_hex(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::optional<std::vector<uint8_t>> from_hex(std::string_view text) {
    if (text.size() % 2) return std::nullopt;
    std::vector<uint8_t> bytes;
    bytes.reserve(text.size() / 2);
    for (size_t i = 0; i < text.size(); i += 2) {
        int high = hex_value(text[i]), low = hex_value(text[i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        bytes.push_back(static_cast<uint8_t>((high << 4) | low));
    }
    return bytes;
}

}  // namespace vessel::debug
