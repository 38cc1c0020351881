// The client side of streamed `vessel file push/pull` (docs/rest-api.md): contents go through in
// chunks, so a file of any size costs constant memory here, in vesseld and in the guest.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"

namespace vessel {

// Sends what `source` yields until its end of file over a connection switched to a push's
// frames; returns the bytes the instance wrote.
Result<uint64_t> send_pushed_file(int connection, std::string early_bytes, int source);

// Receives a pulled file into `destination`: "-" is standard output; a path gets the file whole
// or not at all (written beside it, then renamed over it) with the instance's permission bits.
Result<uint64_t> receive_pulled_file(int connection, std::string early_bytes,
                                     const std::string& destination);

}  // namespace vessel
