// Runs the real agent server (serve() with a recording PowerActions) in a forked process on a unix
// socket, and speaks raw frames to it the way a host would.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/protocol.h"
#include "base/json.h"
#include "base/unique_fd.h"

namespace vessel::agent::testing {

class AgentHarness {
  public:
    AgentHarness();
    ~AgentHarness();
    AgentHarness(const AgentHarness&) = delete;
    AgentHarness& operator=(const AgentHarness&) = delete;

    // A scratch directory of this test, removed at the end.
    const std::string& dir() const { return dir_; }
    const std::string& socket_path() const { return socket_; }
    // What shutdown asked the recording PowerActions for, one action name a line.
    std::string power_requests() const;

    // A new connection, with a receive timeout so that a test fails instead of hanging.
    UniqueFd connect() const;

  private:
    std::string dir_;
    std::string socket_;
    pid_t server_ = -1;
};

void send_frame(int fd, FrameType type, std::string_view payload);
void send_json(int fd, FrameType type, const Json& value);
// The next frame; nullopt when the agent closed the connection (or on a read error).
std::optional<Frame> receive(int fd);
// The next frame, which must be a reply; its JSON (null on failure, with a test failure added).
Json receive_reply(int fd);

// Connects, sends one request and returns the first reply.
Json request(const AgentHarness& agent, const Json& request);

struct ExecOutcome {
    Json reply;
    std::string out;
    std::string err;
    Json exit;  // null when no exit frame came
};

// Reads output, error output and the exit frame of an exec whose reply was already read.
ExecOutcome collect_exec(int fd);

// A whole exec: the request, its reply and, when it started, everything up to its exit frame.
ExecOutcome exec(const AgentHarness& agent, const Json& request);
// A whole push of `data` (request gets "op": "push"); the final reply, or the first one when it
// refused.
Json push(const AgentHarness& agent, Json request, std::string_view data);

}  // namespace vessel::agent::testing
