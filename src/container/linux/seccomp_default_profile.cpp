// The built-in seccomp profile `vessel-runc spec` writes. Its intent is the one the container
// world converged on (Docker, Podman, containerd): an allow-list, everything else fails with EPERM,
// and the allow-list leaves out what lets a container reach beyond its namespaces — the kernel's
// module and kexec loaders, the keyring (not namespaced), mounting, swap and reboot, bpf and
// perf_event_open (kernel attack surface and host-wide observation), userfaultfd (a favourite
// exploitation primitive), io_uring (a long CVE record, and it bypasses this filter for the I/O it
// performs), clock setting, and new namespaces, user namespaces in particular, which would hand an
// unprivileged process a fresh set of capabilities to attack the kernel with.
//
// The list is written for the default capability set (no CAP_SYS_ADMIN), like the profiles engines
// generate for ordinary containers. Names libseccomp does not know are skipped when compiling, so
// the list can name syscalls of newer kernels and of the 32-bit compat ABIs.
#include <sched.h>

#include <string_view>
#include <vector>

#include "container/linux/seccomp.h"

namespace vessel::container {
namespace {

// clang-format off
constexpr std::string_view kAllowed[] = {
    // Files and descriptors.
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
    "pwritev2", "open", "openat", "openat2", "creat", "close", "close_range", "lseek", "_llseek",
    "dup", "dup2", "dup3", "pipe", "pipe2", "fcntl", "fcntl64", "ioctl", "flock", "fsync",
    "fdatasync", "sync", "syncfs", "sync_file_range", "sync_file_range2", "arm_sync_file_range",
    "truncate", "truncate64", "ftruncate", "ftruncate64", "fallocate", "fadvise64", "fadvise64_64",
    "arm_fadvise64_64", "readahead", "sendfile", "sendfile64", "splice", "tee", "vmsplice",
    "copy_file_range", "cachestat",
    // Metadata and directories.
    "stat", "stat64", "fstat", "fstat64", "lstat", "lstat64", "newfstatat", "fstatat64", "statx",
    "statfs", "statfs64", "fstatfs", "fstatfs64", "access", "faccessat", "faccessat2", "readlink",
    "readlinkat", "getdents", "getdents64", "getcwd", "chdir", "fchdir", "chroot", "mkdir",
    "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat",
    "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "chown32",
    "fchown", "fchown32", "fchownat", "lchown", "lchown32", "umask", "utime", "utimes",
    "utimensat", "utimensat_time64", "futimesat", "mknod", "mknodat", "name_to_handle_at",
    "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr", "listxattr",
    "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr", "inotify_init",
    "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
    // Waiting for events.
    "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old",
    "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "signalfd", "signalfd4",
    "timerfd_create", "timerfd_settime", "timerfd_settime64", "timerfd_gettime",
    "timerfd_gettime64",
    // Memory.
    "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mlock", "mlock2",
    "munlock", "mlockall", "munlockall", "mincore", "msync", "remap_file_pages", "membarrier",
    "memfd_create", "pkey_alloc", "pkey_free", "pkey_mprotect", "get_mempolicy", "mseal",
    "map_shadow_stack",
    // Processes, threads and signals (clone, clone3, unshare, personality: see the rules below).
    "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "waitpid",
    "kill", "tkill", "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigreturn",
    "rt_sigpending", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaction", "sigprocmask", "sigpending", "sigsuspend",
    "sigaltstack", "signal", "pause", "alarm", "getitimer", "setitimer", "pidfd_open",
    "pidfd_send_signal", "pidfd_getfd", "process_mrelease", "prctl", "arch_prctl", "capget",
    "capset", "set_tid_address", "set_robust_list", "get_robust_list", "rseq", "futex",
    "futex_time64", "futex_waitv", "futex_wait", "futex_wake", "futex_requeue", "get_thread_area",
    "set_thread_area", "set_tls", "restart_syscall", "seccomp", "landlock_create_ruleset",
    "landlock_add_rule", "landlock_restrict_self",
    // ptrace is confined to the container's pid namespace, and kernels from 4.8 on re-check the
    // seccomp filter after a tracer changes a syscall, which closed the old bypass.
    "ptrace",
    // Identity (changing it still needs CAP_SETUID/CAP_SETGID, which the kernel checks).
    "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid", "getuid",
    "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32", "setuid",
    "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32",
    "setresuid", "setresuid32", "setresgid", "setresgid32", "getresuid", "getresuid32",
    "getresgid", "getresgid32", "getgroups", "getgroups32", "setgroups", "setgroups32", "setfsuid",
    "setfsuid32", "setfsgid", "setfsgid32",
    // Scheduling and limits.
    "getpriority", "setpriority", "sched_yield", "sched_getaffinity", "sched_setaffinity",
    "sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
    "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_getattr", "sched_setattr", "getrlimit", "setrlimit",
    "ugetrlimit", "prlimit64", "getrusage", "times", "ioprio_get", "ioprio_set", "getcpu",
    // Time (reading it; setting the clock is not namespaced and stays blocked).
    "clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64", "clock_nanosleep",
    "clock_nanosleep_time64", "nanosleep", "gettimeofday", "time", "adjtimex", "timer_create",
    "timer_delete", "timer_settime", "timer_settime64", "timer_gettime", "timer_gettime64",
    "timer_getoverrun",
    // System information; the UTS namespace makes the host name the container's own.
    "uname", "sysinfo", "getrandom", "sethostname", "setdomainname",
    // System V and POSIX IPC (namespaced).
    "ipc", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop",
    "semtimedop_time64", "semctl", "shmget", "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink",
    "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_notify", "mq_getsetattr",
    // Networking (socket itself: see the rules below).
    "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername",
    "sendto", "send", "recvfrom", "recv", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
    "recvmmsg_time64", "shutdown", "setsockopt", "getsockopt", "socketcall",
    // Asynchronous I/O (the old interface; io_uring stays out).
    "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64",
    // Architecture helpers.
    "riscv_flush_icache", "riscv_hwprobe", "breakpoint", "cacheflush",
};
// clang-format on

// Every CLONE_NEW* flag clone(2) accepts. CLONE_NEWTIME is left out here: in clone's flags word
// that bit belongs to the exit signal.
constexpr uint64_t kCloneNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                          CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                          CLONE_NEWNET;
constexpr uint64_t kUnshareNamespaceFlags = kCloneNamespaceFlags | CLONE_NEWTIME;
constexpr uint64_t kAfVsock = 40;  // host<->VM sockets: a path out of the container's network

Json architectures() {
#if defined(__x86_64__)
    // i386 keeps 32-bit programs in images working. x32 is left out: it is off in most kernels,
    // and libseccomp makes x32 syscall numbers take the bad-architecture action (kill) on an
    // x86_64 filter without it. Each architecture roughly doubles the compile time (see
    // bench/seccomp_compile).
    return Json::array({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"});
#elif defined(__aarch64__)
    return Json::array({"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"});
#elif defined(__riscv) && __riscv_xlen == 64
    return Json::array({"SCMP_ARCH_RISCV64"});
#else
    return Json::array();  // the native architecture only
#endif
}

Json masked_equal_zero(uint64_t mask) {
    return Json{{"index", 0u}, {"value", mask}, {"valueTwo", 0u}, {"op", "SCMP_CMP_MASKED_EQ"}};
}

}  // namespace

// Numbers are stored unsigned: the parser (like any reader of the written config.json) wants
// unsigned integers for indexes, values and errno codes.
Json default_seccomp_profile_json() {
    Json allowed = Json::array();
    for (auto name : kAllowed)
        allowed.push_back(name);

    Json personality_args = Json::array();
    // PER_LINUX, PER_LINUX32, UNAME26, PER_LINUX32|UNAME26, and the query value 0xffffffff.
    for (uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL})
        personality_args.push_back(Json{{"index", 0u}, {"value", persona}, {"op", "SCMP_CMP_EQ"}});

    Json syscalls = Json::array({
        Json{{"names", allowed}, {"action", "SCMP_ACT_ALLOW"}},
        // fork and threads, but no new namespaces.
        Json{{"names", {"clone"}},
             {"action", "SCMP_ACT_ALLOW"},
             {"args", {masked_equal_zero(kCloneNamespaceFlags)}}},
        // unshare(CLONE_FILES/CLONE_FS/CLONE_SYSVSEM) is harmless; namespaces are not.
        Json{{"names", {"unshare"}},
             {"action", "SCMP_ACT_ALLOW"},
             {"args", {masked_equal_zero(kUnshareNamespaceFlags)}}},
        // clone3 passes its flags in memory, which a filter cannot read: answer ENOSYS so that
        // the C library falls back to clone, whose flags the rule above checks.
        Json{{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", unsigned{ENOSYS}}},
        // Only the ordinary personalities: others change address-space layout and syscall
        // semantics (e.g. READ_IMPLIES_EXEC) in ways that weaken exploit mitigations.
        Json{{"names", {"personality"}}, {"action", "SCMP_ACT_ALLOW"}, {"args", personality_args}},
        Json{{"names", {"socket"}},
             {"action", "SCMP_ACT_ALLOW"},
             {"args", {Json{{"index", 0u}, {"value", kAfVsock}, {"op", "SCMP_CMP_NE"}}}}},
    });

    return Json{{"defaultAction", "SCMP_ACT_ERRNO"},
                {"defaultErrnoRet", unsigned{EPERM}},
                {"architectures", architectures()},
                {"syscalls", syscalls}};
}

}  // namespace vessel::container
