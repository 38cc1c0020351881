// The wire protocol between the host (vesseld, tests) and vessel-agent in a guest, over one vsock
// stream per operation (docs/agent-protocol.md is the reference). Every message is a frame: a type
// byte, a 32-bit little-endian payload length, the payload. The first frame of a connection is the
// client's Request (JSON naming the operation); what follows depends on the operation: process
// input and output for exec, file contents for push and pull.
//
// Both ends read frames from a peer they must not trust: the agent from the host, the host from a
// guest that may be hostile. A frame longer than max_frame_payload, an unknown type, or a JSON
// payload that is not an object ends the connection with an error; nothing is buffered beyond one
// frame.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace vessel::agent {

// The vsock port vessel-agent listens on in every guest.
inline constexpr uint32_t agent_port = 7700;
// Version of this protocol; the agent reports it in the reply to "ping".
inline constexpr int protocol_version = 1;
// Large enough for efficient streaming, small enough that a peer cannot make the other end
// allocate much.
inline constexpr uint32_t max_frame_payload = 1 << 20;

enum class FrameType : uint8_t {
    // host -> agent
    request = 1,    // JSON: {"op": ...}; the first frame, once per connection
    input = 2,      // exec: bytes for the process's stdin (or terminal); push: file contents
    input_end = 3,  // no more input: stdin is closed; push: the file is complete
    signal = 4,     // exec: JSON {"signal": N} sent to the process (group)
    resize = 5,     // exec with a terminal: JSON {"rows": R, "cols": C}
    // agent -> host
    reply = 16,         // JSON: {"ok": true, ...} or {"ok": false, "error": TEXT, "errno": N}
    output = 17,        // exec: the process's stdout (or terminal); pull: file contents
    error_output = 18,  // exec: the process's stderr
    output_end = 19,    // pull: the file is complete
    exit = 20,          // exec: JSON {"code": N} or {"signal": N}, always the last frame
};

struct Frame {
    FrameType type;
    std::string payload;
};

bool is_known_frame_type(uint8_t type);
const char* frame_type_name(FrameType type);

// The 5-byte header followed by the payload, ready to write.
std::string encode_frame(FrameType type, std::string_view payload);

// Writes one whole frame (retrying short writes and EINTR).
Result<> write_frame(int fd, FrameType type, std::string_view payload);
Result<> write_json_frame(int fd, FrameType type, const nlohmann::json& value);

// Reads one whole frame from a blocking fd. nullopt: the peer closed the connection cleanly
// between frames. A connection closed inside a frame, an unknown type or an oversized length is an
// error.
Result<std::optional<Frame>> read_frame(int fd);

// Frames out of bytes that arrive in pieces: a non-blocking reader, or what was read past an HTTP
// head before the connection switched to frames. Holds at most one frame beyond what it is given.
class FrameDecoder {
  public:
    void append(std::string_view bytes) { buffer_.append(bytes); }
    // The next whole frame, or nullopt while more bytes are needed; an unknown type or an
    // oversized length is an error (the stream cannot be resynchronised after it).
    Result<std::optional<Frame>> next();
    // Bytes of a frame that has not arrived whole yet.
    size_t buffered() const { return buffer_.size(); }

  private:
    std::string buffer_;
};

// Parses a frame payload that must be a JSON object; the error names the frame type.
Result<nlohmann::json> frame_json(const Frame& frame);

// A reply that says the operation failed: the whole message, and its errno (0 when none) for
// programs that branch on it.
nlohmann::json error_reply(const Error& error);
// Turns a reply frame's JSON into success or the error it carries.
Result<> check_reply(const nlohmann::json& reply);

}  // namespace vessel::agent
