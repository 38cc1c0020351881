// The interactive streams over WebSocket (docs/rest-api.md), for clients that cannot switch a
// connection to the agent's frames, browsers first: a VM's serial console as bytes both ways, and
// a streamed exec whose frames are translated to and from messages. Each runs on the connection's
// thread until one side ends.
#pragma once

#include <functional>
#include <string>

#include "base/error.h"

namespace vessel::manager::api {

// Binary messages carry the console's bytes both ways; text messages are control, and
// {"type":"resize"} is taken and ignored (a serial line has no size).
void serve_websocket_console(int websocket, std::string early_bytes, int console);

// `session` speaks the agent's frames on the descriptor it is given (Manager::exec_stream's
// session) on a thread of its own; here binary messages become its input, text messages
// {"type":"resize","width","height"}, {"type":"signal","signal"} and {"type":"stdin-end"} its
// controls, its output (stdout and stderr) goes out as binary messages, and its end as a text
// message {"type":"exit","code"} (or "signal"), or {"type":"error","error"}, before the close.
// A client that closes or goes away ends the program.
void serve_websocket_exec(int websocket, std::string early_bytes,
                          std::function<Result<>(int)> session);

}  // namespace vessel::manager::api
