// vessel-vmm --jail UID:GID: once the board has opened its files, TAPs, sockets and /dev/kvm, the
// VMM keeps nothing else. Its own mount namespace whose root is an empty read-only tmpfs (holding
// only the directory of the vsock socket, which guest-initiated streams connect to by path); new
// ipc, uts and network namespaces; rlimits on open files, file size, threads and core dumps; the
// unprivileged UID:GID with every capability set empty and no_new_privs; and a seccomp allow-list
// per thread role (syscall_filter.h). The pid namespace is the launcher's to make (vesseld starts
// the VMM as the first process of a new one): a process cannot move itself into one.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "vm/boot/vm_config.h"
#include "vm/machine/sandbox.h"
#include "vm/vmm/syscall_filter.h"

namespace vessel::vm {

// "UID:GID", both unprivileged (not 0).
Result<JailOption> parse_jail_option(std::string_view text);

class Jail final : public Sandbox {
  public:
    // Checks the config allows a jail (no --gdb, no --perf-map: debugging tools need it off) and
    // compiles the filters, so that nothing can fail for want of memory once inside.
    static Result<std::unique_ptr<Jail>> prepare(const VmConfig& config);

    Result<> enter() override;
    void confine_thread(ThreadRole role) override;

    // Runs on the main thread right after it is confined. Only the jail's own test build sets it
    // (VESSEL_JAIL_PROBE: a forbidden call that must end the VMM).
    std::function<void()> after_main_confined;

  private:
    Jail(JailOption identity, std::vector<std::string> bind_directories, uint64_t max_file_bytes,
         uint64_t max_threads)
        : identity_(identity),
          bind_directories_(std::move(bind_directories)),
          max_file_bytes_(max_file_bytes),
          max_threads_(max_threads) {}
    Result<> enter_empty_root() const;
    Result<> set_limits() const;
    Result<> drop_privileges() const;

    JailOption identity_;
    std::vector<std::string> bind_directories_;
    uint64_t max_file_bytes_;
    uint64_t max_threads_;
    SyscallFilter startup_filter_;
    SyscallFilter role_filters_[4];
};

}  // namespace vessel::vm
