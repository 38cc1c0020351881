#include "vm/vmm/syscall_filter.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>
#include <memory>
#include <string_view>

#include "host/seccomp/bpf_export.h"

namespace vessel::vm {

namespace {

using Names = std::initializer_list<const char*>;

// What glibc, libstdc++ and the allocator call on any thread: memory, locks, time, signals
// delivered to the thread (the vCPU kick), writing to descriptors it already has, ending.
constexpr Names kEveryThread = {
    "read",
    "write",
    "readv",
    "writev",
    "close",
    "futex",
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "getpid",
    "gettid",
    "sched_yield",
    "rt_sigreturn",
    "rt_sigprocmask",
    "restart_syscall",
    "exit",
    "exit_group",
    "munmap",
    "mremap",
    "madvise",
    "brk",
    "getrandom",
    "fstat",
    "newfstatat",
    "lseek",
    "fcntl",
    "ppoll",
    "poll",
    "sched_getaffinity",
};

// Guest code: KVM_RUN and the vCPU's other ioctls, or the emulator, whose translator maps and
// protects executable code; MMIO writes that signal the I/O thread's eventfds or (a queue made
// ready) change its watches.
constexpr Names kVcpu = {"ioctl", "mmap", "mprotect", "epoll_ctl"};

// Device work: disk reads and writes at offsets, flushes and discards; TAP and socket I/O; the
// loop's own epoll and timers.
constexpr Names kIo = {
    "epoll_wait", "epoll_pwait", "epoll_ctl",       "pread64",         "pwrite64",   "preadv",
    "pwritev",    "preadv2",     "pwritev2",        "fsync",           "fdatasync",  "fallocate",
    "ioctl",      "eventfd2",    "timerfd_settime", "timerfd_gettime", "accept4",    "sendmsg",
    "recvmsg",    "sendto",      "recvfrom",        "shutdown",        "getsockopt", "setsockopt",
};
// Only with virtio-vsock: connecting a guest-initiated stream to its unix socket by path.
constexpr Names kIoUnixSockets = {"connect"};

// Host input and the stop signals (a signalfd); the terminal's mode.
constexpr Names kConsole = {"ioctl", "epoll_wait", "epoll_pwait", "epoll_ctl"};

// Waiting for the stop, kicking the vCPUs out of the guest, tearing down: ending the devices'
// watches, restoring the terminal, removing the vsock socket, ending vessel-slirp.
constexpr Names kMain = {"epoll_ctl", "ioctl",    "unlink",      "kill",
                         "wait4",     "shutdown", "rt_sigaction"};

// Only while the main thread starts the others (and they confine themselves).
constexpr Names kStartingThreads = {"rseq", "set_robust_list", "sigaltstack", "seccomp"};

struct ContextDeleter {
    void operator()(void* context) const { seccomp_release(context); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

Result<> allow(const Context& context, Names names) {
    for (const char* name : names) {
        int number = seccomp_syscall_resolve_name(name);
        if (number == __NR_SCMP_ERROR) return fail("seccomp: no system call named {}", name);
        if (int rc = seccomp_rule_add(context.get(), SCMP_ACT_ALLOW, number, 0); rc < 0)
            return fail("seccomp: allow {}: {}", name, std::strerror(-rc));
    }
    return {};
}

Result<> add_rule(const Context& context, uint32_t action, int number, const char* what,
                  std::initializer_list<scmp_arg_cmp> args) {
    if (int rc = seccomp_rule_add_array(context.get(), action, number,
                                        static_cast<unsigned>(args.size()), args.begin());
        rc < 0)
        return fail("seccomp: {}: {}", what, std::strerror(-rc));
    return {};
}

Result<Context> new_context() {
    Context context(seccomp_init(SCMP_ACT_TRAP));
    if (!context) return fail("seccomp: libseccomp could not create a filter");
    TRY(allow(context, kEveryThread));
#if defined(__SANITIZE_ADDRESS__)
    // A sanitizer build (make test-sanitize): AddressSanitizer's runtime takes down a thread's
    // alternate signal stack as the thread ends, and UndefinedBehaviorSanitizer's check of a
    // virtual call on a type it has not seen yet probes the vtable by writing it into a pipe.
    TRY(allow(context, {"sigaltstack", "pipe2"}));
#endif
    // The allocator maps and protects memory on every thread (a new arena, a thread's stack),
    // never executable: only the vCPU threads' translator makes code.
    for (int call : {SCMP_SYS(mmap), SCMP_SYS(mprotect)})
        TRY(add_rule(context, SCMP_ACT_ALLOW, call, "mmap/mprotect without PROT_EXEC",
                     {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)}));
    // Opening a file fails (EACCES) rather than ending the VMM: there is nothing to open in the
    // jail's empty root, and glibc itself tries now and then (malloc reads
    // /proc/sys/vm/overcommit_memory the first time it shrinks a thread's heap).
    for (int call : {SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(creat)})
        TRY(add_rule(context, SCMP_ACT_ERRNO(EACCES), call, "open", {}));
    // The vCPU kick and abort() signal a thread of this process only.
    TRY(add_rule(context, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), "tgkill",
                 {SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(::getpid()))}));
    return context;
}

Result<> add_role(const Context& context, ThreadRole role, const FilterNeeds& needs) {
    switch (role) {
        case ThreadRole::vcpu:
            return allow(context, kVcpu);
        case ThreadRole::io:
            TRY(allow(context, kIo));
            if (needs.unix_sockets) {
                TRY(allow(context, kIoUnixSockets));
                TRY(add_rule(context, SCMP_ACT_ALLOW, SCMP_SYS(socket), "socket",
                             {SCMP_A0(SCMP_CMP_EQ, AF_UNIX)}));
            }
            return {};
        case ThreadRole::console:
            return allow(context, kConsole);
        case ThreadRole::main:
            return allow(context, kMain);
    }
    return fail("seccomp: unknown thread role");
}

Result<SyscallFilter> compile(const Context& context) {
    return SyscallFilter{.program = TRY(host::export_bpf(context.get()))};
}

}  // namespace

Result<SyscallFilter> build_thread_filter(ThreadRole role, const FilterNeeds& needs) {
    Context context = TRY(new_context());
    TRY(add_role(context, role, needs));
    return compile(context);
}

Result<SyscallFilter> build_startup_filter(const FilterNeeds& needs) {
    Context context = TRY(new_context());
    for (ThreadRole role :
         {ThreadRole::main, ThreadRole::vcpu, ThreadRole::io, ThreadRole::console})
        TRY(add_role(context, role, needs));
    TRY(allow(context, kStartingThreads));
    // Threads, never processes: clone must carry CLONE_THREAD. glibc tries clone3 first, whose
    // flags a filter cannot see; told it does not exist, glibc falls back to clone.
    TRY(add_rule(context, SCMP_ACT_ALLOW, SCMP_SYS(clone), "clone",
                 {SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)}));
    TRY(add_rule(context, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), "clone3", {}));
    // A new thread names itself (pthread_setname_np) before it confines itself.
    TRY(add_rule(context, SCMP_ACT_ALLOW, SCMP_SYS(prctl), "prctl",
                 {SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME)}));
    return compile(context);
}

Result<> install_filter(const SyscallFilter& filter) {
    sock_fprog program{.len = static_cast<unsigned short>(filter.program.size()),
                       .filter = const_cast<sock_filter*>(filter.program.data())};
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0)
        return fail_errno("seccomp: install the filter");
    return {};
}

}  // namespace vessel::vm
