// The jail's seccomp allow-lists, one per kind of VMM thread. Each is compiled (libseccomp) before
// the jail is entered, so that a thread installs its own with one system call and no allocation.
// Anything not listed traps: the jail's SIGSYS handler names the call and the thread on stderr,
// then the process dies of SIGSYS. Opening a file is the exception: it fails with EACCES.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "base/error.h"
#include "vm/machine/sandbox.h"

namespace vessel::vm {

// What the VM's configuration adds to the lists.
struct FilterNeeds {
    // virtio-vsock: the I/O thread connects guest-initiated streams to unix sockets by path.
    bool unix_sockets = false;
};

struct SyscallFilter {
    std::vector<sock_filter> program;
};

// What `role` may call once confined.
Result<SyscallFilter> build_thread_filter(ThreadRole role, const FilterNeeds& needs);

// The main thread's filter from the moment the jail is entered until it has started the others:
// every role's calls, plus what starting a thread and narrowing a filter take. Threads inherit it
// and then install their own; filters stack, so each thread ends with its role's list.
Result<SyscallFilter> build_startup_filter(const FilterNeeds& needs);

// Installs `filter` on the calling thread only. Needs no_new_privs (or CAP_SYS_ADMIN).
Result<> install_filter(const SyscallFilter& filter);

}  // namespace vessel::vm
