// What a machine asks of whatever confines the VMM process (vessel-vmm's jail): one step once every
// host resource is open, and one per thread as it starts. The machine knows when those moments
// are; only the VMM knows what confinement means, so the machine depends on this interface alone.
#pragma once

#include "base/error.h"

namespace vessel::vm {

// The kinds of thread a VM runs, each allowed only the system calls its work needs.
enum class ThreadRole {
    main,     // starts the others, waits for the stop, joins, tears down
    vcpu,     // runs guest code (KVM_RUN, or the emulator and its translator)
    io,       // the devices' I/O thread: disks, TAPs, vsock sockets, eventfds
    console,  // the host console's input and stop signals
};

constexpr const char* thread_role_name(ThreadRole role) {
    switch (role) {
        case ThreadRole::main:
            return "main";
        case ThreadRole::vcpu:
            return "vcpu";
        case ThreadRole::io:
            return "io";
        case ThreadRole::console:
            return "console";
    }
    return "?";
}

class Sandbox {
  public:
    virtual ~Sandbox() = default;
    // Once, on the main thread while it is still the only thread, after the board has opened
    // every file, device and socket the VM will use.
    virtual Result<> enter() = 0;
    // First thing on each thread the machine starts, and on the main thread once it has started
    // them all. A thread that cannot be confined must not run on, so this ends the VMM (status
    // exit_code::vmm_error, with a line on stderr) instead of returning an error.
    virtual void confine_thread(ThreadRole role) = 0;
};

}  // namespace vessel::vm
