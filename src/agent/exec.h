// The "exec" operation: starts a program in the guest and relays its standard streams (or a
// terminal) and its end over the connection.
#pragma once

#include "base/error.h"
#include "base/json.h"

namespace vessel::agent {

// {"op":"exec","argv":[...],...}. An error before the program started means nothing was sent
// yet; after that, the connection carries output frames and ends with the exit frame.
Result<> run_exec(int connection, const JsonAt& request);

}  // namespace vessel::agent
