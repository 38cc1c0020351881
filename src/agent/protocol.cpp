#include "agent/protocol.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/file.h"
#include "base/json.h"
#include "base/log.h"

namespace vessel::agent {

namespace {

constexpr size_t header_size = 5;

// Reads exactly `size` bytes. Returns how many were read before end of file (short only at EOF).
Result<size_t> read_exact(int fd, char* buffer, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = ::read(fd, buffer + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("read from the agent connection");
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    return done;
}

struct Header {
    FrameType type;
    uint32_t length;
};

// The header's type and length, checked: both ends refuse what no valid peer sends.
Result<Header> parse_header(const unsigned char* header) {
    if (!is_known_frame_type(header[0]))
        return fail("unknown frame type {} on the agent connection", header[0]);
    uint32_t length = 0;
    for (int i = 0; i < 4; ++i)
        length |= static_cast<uint32_t>(header[1 + i]) << (8 * i);
    auto type = static_cast<FrameType>(header[0]);
    if (length > max_frame_payload)
        return fail("{} frame of {} bytes is over the limit of {}", frame_type_name(type), length,
                    max_frame_payload);
    return Header{type, length};
}

}  // namespace

bool is_known_frame_type(uint8_t type) {
    return (type >= 1 && type <= 5) || (type >= 16 && type <= 20);
}

const char* frame_type_name(FrameType type) {
    switch (type) {
        case FrameType::request:
            return "request";
        case FrameType::input:
            return "input";
        case FrameType::input_end:
            return "input-end";
        case FrameType::signal:
            return "signal";
        case FrameType::resize:
            return "resize";
        case FrameType::reply:
            return "reply";
        case FrameType::output:
            return "output";
        case FrameType::error_output:
            return "error-output";
        case FrameType::output_end:
            return "output-end";
        case FrameType::exit:
            return "exit";
    }
    return "unknown";
}

std::string encode_frame(FrameType type, std::string_view payload) {
    std::string frame(header_size + payload.size(), '\0');
    auto length = static_cast<uint32_t>(payload.size());
    frame[0] = static_cast<char>(type);
    for (int i = 0; i < 4; ++i)
        frame[1 + i] = static_cast<char>((length >> (8 * i)) & 0xff);
    // std::copy, not memcpy: an empty payload's data() may be null, which memcpy must not get.
    std::copy(payload.begin(), payload.end(), frame.begin() + header_size);
    return frame;
}

Result<> write_frame(int fd, FrameType type, std::string_view payload) {
    if (payload.size() > max_frame_payload)
        return fail("{} frame of {} bytes is over the limit of {}", frame_type_name(type),
                    payload.size(), max_frame_payload);
    return write_all(fd, encode_frame(type, payload));
}

Result<> write_json_frame(int fd, FrameType type, const nlohmann::json& value) {
    return write_frame(fd, type,
                       value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<std::optional<Frame>> read_frame(int fd) {
    unsigned char header[header_size];
    auto got = TRY(read_exact(fd, reinterpret_cast<char*>(header), header_size));
    if (got == 0) return std::optional<Frame>{};
    if (got < header_size) return fail("the agent connection closed inside a frame header");
    auto [type, length] = TRY(parse_header(header));
    Frame frame{.type = type, .payload = std::string(length, '\0')};
    if (TRY(read_exact(fd, frame.payload.data(), length)) < length)
        return fail("the agent connection closed inside a {} frame", frame_type_name(type));
    return std::optional<Frame>(std::move(frame));
}

Result<std::optional<Frame>> FrameDecoder::next() {
    if (buffer_.size() < header_size) return std::optional<Frame>{};
    auto [type, length] = TRY(parse_header(reinterpret_cast<const unsigned char*>(buffer_.data())));
    if (buffer_.size() - header_size < length) return std::optional<Frame>{};
    Frame frame{.type = type, .payload = buffer_.substr(header_size, length)};
    buffer_.erase(0, header_size + length);
    return std::optional<Frame>(std::move(frame));
}

Result<nlohmann::json> frame_json(const Frame& frame) {
    auto where = fmt::format("{} frame", frame_type_name(frame.type));
    auto json = TRY(parse_json(frame.payload, where));
    if (!json.is_object()) return fail("{}: not a JSON object", where);
    return json;
}

nlohmann::json error_reply(const Error& error) {
    return {{"ok", false}, {"error", error.message()}, {"errno", error.code()}};
}

Result<> check_reply(const nlohmann::json& reply) {
    JsonAt at(reply, "reply");
    auto ok = TRY(at.optional_boolean("ok"));
    if (ok.value_or(false)) return {};
    auto message = TRY(at.optional_string("error")).value_or("the agent failed without a reason");
    // The message already ends with the errno's text ("...: No such file or directory"); the
    // errno itself is in the reply for programs that read it, not repeated here.
    return fail(single_line(message));
}

}  // namespace vessel::agent
