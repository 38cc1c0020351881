// The client side of a streamed `vessel exec` (docs/rest-api.md): the same for a container and a
// VM. Standard input goes out as it comes, output is written as it arrives, the terminal's size
// follows the local one, and the signals this process gets are passed on to the program.
#pragma once

#include <string>
#include <utility>

#include "base/error.h"

namespace vessel {

struct ExecClientOptions {
    // Send this process's standard input; otherwise the program's input is empty.
    bool forward_stdin = false;
    // The program runs on a terminal: the local one is put in raw mode (when it is one), and
    // SIGWINCH sends the new size instead of being forwarded.
    bool tty = false;
};

// The local terminal's size as (rows, cols); 24 x 80 when there is none.
std::pair<unsigned, unsigned> local_terminal_size();

// Relays over a connection that has switched to frames (`early_bytes`: what arrived with the
// switch) until the program ends. Returns its exit code, 128 + the signal that ended it.
Result<int> run_exec_session(int connection, std::string early_bytes,
                             const ExecClientOptions& options);

}  // namespace vessel
