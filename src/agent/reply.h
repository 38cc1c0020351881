// Small helpers every operation shares: the success reply, and the one-line log of a failure.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "agent/protocol.h"
#include "base/error.h"

namespace vessel::agent {

// Sends {"ok": true} merged with `fields` as a reply frame.
inline Result<> reply_ok(int connection, nlohmann::json fields = nlohmann::json::object()) {
    fields["ok"] = true;
    return write_json_frame(connection, FrameType::reply, fields);
}

// "vessel-agent: MESSAGE" on stderr in one write(2), so that lines from concurrent connection
// children never interleave; control characters from untrusted input are escaped.
void log_failure(std::string_view message);

}  // namespace vessel::agent
