// Moves bytes between a TLS connection and a plain local socket, both ways, so that everything
// above TLS stays the unix socket's code: vesseld hands the plain side of each HTTPS connection to
// its HTTP server, and `vessel` talks to a remote through the plain side of its own relay (streams
// that leave HTTP, exec and file transfers, pass through unchanged).
#pragma once

#include <chrono>

#include "base/error.h"
#include "manager/tls/openssl_handles.h"

namespace vessel::manager::tls {

// The handshake of `session` on the connected socket `network`, within `timeout`; a readable
// `stop` (an eventfd, or -1) cuts it short.
Result<> handshake(SSL* session, int network, std::chrono::milliseconds timeout, int stop = -1);

struct RelayOptions {
    // Pending bytes are dropped, and the connection with them, when the peer takes none of them
    // for this long (a client that stopped reading cannot pin a thread).
    std::chrono::milliseconds stall_timeout = std::chrono::seconds(30);
};

// Copies until the plain side has closed and everything it sent went out (then close_notify is
// sent), or the TLS side has closed and the plain side closed after it, or either failed, or
// `stop` became readable. The TLS side's end of input is passed on as a shutdown for writing.
Result<> relay(SSL* session, int network, int plain, int stop = -1,
               RelayOptions options = RelayOptions{});

}  // namespace vessel::manager::tls
