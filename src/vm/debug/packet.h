// The GDB remote serial protocol's framing: "$payload#checksum" packets, '+'/'-' acknowledgements,
// the 0x03 interrupt byte, binary escapes, and the hex that most packets carry. Pure functions and
// a byte-stream splitter: no sockets, so every malformed input is testable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vessel::debug {

// One thing the debugger sent.
struct Incoming {
    enum class Kind {
        packet,        // a whole packet with a good checksum: `payload`
        ack,           // '+'
        nack,          // '-': send the last packet again
        interrupt,     // 0x03 (Ctrl-C) outside a packet
        bad_checksum,  // a whole packet whose checksum does not match: answer '-'
        too_long,      // a packet longer than the reader takes: dropped whole
    };
    Kind kind = Kind::packet;
    std::string payload;  // between '$' and '#', escapes left in (only binary packets have them)
};

// Splits the debugger's byte stream into packets and control bytes, across any read boundaries.
class PacketReader {
  public:
    explicit PacketReader(size_t max_payload) : max_payload_(max_payload) {}
    // Appends what `bytes` completes to `out`; a partial packet waits for the next call.
    void feed(std::string_view bytes, std::vector<Incoming>& out);

  private:
    enum class State { idle, payload, checksum_high, checksum_low };
    size_t max_payload_;
    State state_ = State::idle;
    std::string payload_;
    uint8_t sum_ = 0;
    int checksum_high_ = 0;
    bool overflow_ = false;
};

// "$payload#xx", with '$', '#', '}' and '*' escaped as the protocol's binary data (only qXfer
// replies can hold them; gdb would read a bare '*' as run-length encoding).
std::string frame_packet(std::string_view payload);

// A binary payload (X, qXfer) with "}x" escapes undone; nullopt for a dangling '}'.
std::optional<std::string> unescape_binary(std::string_view data);

// 1 to 16 hex digits and nothing else; nullopt otherwise (never wraps).
std::optional<uint64_t> parse_hex(std::string_view text);
// Bytes as two lowercase hex digits each, and back (nullopt for odd lengths or non-hex).
std::string to_hex(std::span<const uint8_t> bytes);
std::string to_hex(std::string_view text);
std::optional<std::vector<uint8_t>> from_hex(std::string_view text);

}  // namespace vessel::debug
