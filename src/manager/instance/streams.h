// The daemon's side of streamed exec and file transfers (docs/rest-api.md): once the API
// connection has switched to frames, these speak docs/agent-protocol.md from the first reply on,
// so that the client drives a container and a VM the same way. A VM's session is its agent's,
// relayed; a container's is served here, from its root and its runtime.
#pragma once

#include <string>

#include "base/error.h"
#include "manager/instance/files.h"

namespace vessel::manager {

// Best effort: the error in place of the operation's next frame (the client may be gone).
void send_error_reply(int connection, const Error& error);

// Push: the first reply once the temporary file exists, the input frames into it, then after
// input-end the file in place and {"ok": true, "size": N}. A failure after the first reply reads
// and drops the rest of the input, then answers the error, as the agent does.
Result<> serve_push_into_root(int root_fd, const PushTarget& target, int connection);
// Pull: {"ok": true, mode, uid, gid, size}, output frames, output-end.
Result<> serve_pull_from_root(int root_fd, const std::string& path, int connection);

// Copies bytes both ways between the client's connection and an agent connection whose request
// was already sent, until the agent closes (the operation ended) or the client goes (the agent
// ends the operation when its connection closes).
Result<> relay_agent_session(int agent, int connection);

}  // namespace vessel::manager
