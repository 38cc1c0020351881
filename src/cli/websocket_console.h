// `vessel console REMOTE:NAME`: a VM's console through the API's WebSocket (docs/rest-api.md),
// for a server whose console socket is on another host. The WebSocket is turned back into a plain
// byte stream for attach_console by a translator thread.
#pragma once

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel::cli {

// `connection`: a fresh connection to the API (ApiTarget::connect_raw). Asks to switch
// GET /1.0/instances/NAME/console to WebSocket, and returns a socket that carries the console's
// bytes both ways; the server's refusal is an error with its message.
Result<UniqueFd> open_websocket_console(UniqueFd connection, const std::string& name);

}  // namespace vessel::cli
