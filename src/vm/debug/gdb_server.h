// vessel-vmm's GDB remote stub on the wire: listens on 127.0.0.1:PORT or a unix socket, serves
// one debugger at a time on its own thread (the stub's packets, acks, Ctrl-C while the target
// runs, stop replies), and goes back to listening when the debugger detaches or goes away, leaving
// the guest running. The socket is opened by start(), so that a port in use fails the VMM before
// its guest starts.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "base/error.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "vm/boot/gdb_option.h"
#include "vm/debug/debug_target.h"

namespace vessel::debug {

class GdbServer {
  public:
    static Result<std::unique_ptr<GdbServer>> start(const vm::GdbOption& option,
                                                    DebugTarget& target, const Logger& log);
    // Ends the session (the connection closes), joins the thread and removes the unix socket.
    ~GdbServer();
    GdbServer(const GdbServer&) = delete;
    GdbServer& operator=(const GdbServer&) = delete;

  private:
    GdbServer(DebugTarget& target, const Logger& log, UniqueFd listener, UniqueFd quit,
              std::string socket_path);
    void serve();
    // One debugger's connection, until it detaches, kills, disconnects or the VMM ends.
    void session(int connection);

    DebugTarget& target_;
    const Logger& log_;
    UniqueFd listener_;
    UniqueFd quit_;  // eventfd: the destructor's "stop now"
    std::string socket_path_;
    bool target_alive_ = true;  // false once the machine ends or the VMM quits: stop serving
    std::thread thread_;
};

}  // namespace vessel::debug
