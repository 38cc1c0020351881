// Passing file descriptors over unix sockets (SCM_RIGHTS): a pty master to a --console-socket,
// a descriptor from a container's init to the runtime.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel {

// Sends `data` (at least one byte is sent: an empty one goes as "\0") with `fd` attached.
Result<> send_fd(int socket, int fd, std::string_view data);

// Receives one message; the descriptor is empty when none was attached.
Result<std::pair<std::string, UniqueFd>> receive_fd(int socket);

// A listening SOCK_STREAM unix socket bound at `path` (close-on-exec); its mode is the umask's,
// so put it in a directory only its users can reach.
Result<UniqueFd> listen_unix(const std::string& path, int backlog = 1);
// A connected SOCK_STREAM unix socket to `path` (close-on-exec).
Result<UniqueFd> connect_unix(const std::string& path);

}  // namespace vessel
