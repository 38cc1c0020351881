// What a client reads of an error: its message without the strerror text of the logical codes
// that carry its meaning ("instance c1 not found", not "...: No such file or directory"). The
// code itself travels apart (api/status.h makes it an HTTP status).
#pragma once

#include <string>

#include "base/error.h"

namespace vessel::manager {

std::string client_message(const Error& error);

}  // namespace vessel::manager
