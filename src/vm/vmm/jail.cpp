#include "vm/vmm/jail.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "base/file.h"
#include "base/unique_fd.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace vessel::vm {

namespace {

// Where the jail's root is put together before pivot_root. Any directory would do: the mount is
// made in the VMM's own mount namespace, so the host never sees it (bubblewrap does the same).
constexpr const char* kAssembly = "/tmp";
// Enough for the VMM's own descriptors and many vsock streams; the guest cannot make it open more.
constexpr rlim_t kMaxOpenFiles = 1024;
// Files the VMM writes (a --console file) never grow past this, nor past the largest disk.
constexpr uint64_t kMinFileSizeLimit = 1ull << 30;
// Threads beyond the vCPUs: main, I/O, console, and room for glibc's own.
constexpr uint64_t kThreadsBesideVcpus = 8;

thread_local ThreadRole current_role = ThreadRole::main;

// Async-signal-safe: no allocation, no stdio. Names the call and the thread, then makes the same
// call again with the handler gone (SA_RESETHAND), so the filter's trap ends the process by SIGSYS.
void report_forbidden_call(int, siginfo_t* info, void*) {
    char line[192];
    char* end = line + sizeof line;
    char* at = line;
    auto put = [&](std::string_view text) {
        size_t room = static_cast<size_t>(end - at);
        size_t count = std::min(room, text.size());
        std::memcpy(at, text.data(), count);
        at += count;
    };
    put("vessel-vmm: the jail's seccomp filter forbids system call ");
    char number[16];
    auto converted = std::to_chars(number, number + sizeof number, info->si_syscall);
    put(std::string_view(number, static_cast<size_t>(converted.ptr - number)));
    put(" on the ");
    put(thread_role_name(current_role));
    put(" thread; the VMM is killed (SIGSYS)\n");
    (void)!::write(STDERR_FILENO, line, static_cast<size_t>(at - line));
    ::syscall(info->si_syscall, 0, 0, 0, 0, 0, 0);
    ::_exit(128 + SIGSYS);
}

struct CapabilityData {
    __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
};

Result<CapabilityData> read_capabilities() {
    CapabilityData caps;
    if (::syscall(SYS_capget, &caps.header, caps.data) != 0) return fail_errno("capget");
    return caps;
}

std::string parent_directory(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Result<JailOption> parse_jail_option(std::string_view text) {
    auto colon = text.find(':');
    auto parse_id = [&](std::string_view digits, const char* what) -> Result<uint32_t> {
        uint32_t value = 0;
        auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
            value == UINT32_MAX)
            return fail("--jail: {} '{}' is not a number below 4294967295 (expected UID:GID)", what,
                        digits);
        if (value == 0)
            return fail("--jail: {} 0 is root; the jail needs an unprivileged {}", what, what);
        return value;
    };
    if (colon == std::string_view::npos)
        return fail("--jail: expected UID:GID (an unprivileged user and group), got '{}'", text);
    return JailOption{.uid = TRY(parse_id(text.substr(0, colon), "uid")),
                      .gid = TRY(parse_id(text.substr(colon + 1), "gid"))};
}

Result<std::unique_ptr<Jail>> Jail::prepare(const VmConfig& config) {
    if (!config.jail) return fail("jail: no --jail UID:GID");
    if (config.gdb)
        return fail("--jail: --gdb needs the jail off (the debugger reaches into the VMM)");
    if (config.perf_map)
        return fail("--jail: --perf-map writes /tmp/perf-PID.map, which a jailed VMM cannot reach");
    std::vector<std::string> bind_directories;
    if (config.vsock) {
        // Guest-initiated streams connect to SOCKET_PORT beside the socket: its directory is the
        // one part of the host's file system the jail keeps.
        const std::string& socket = config.vsock->socket_path;
        if (!socket.starts_with('/'))
            return fail("--jail: the --vsock socket path {} must be absolute", socket);
        bind_directories.push_back(parent_directory(socket));
    }
    uint64_t max_file_bytes = kMinFileSizeLimit;
    for (const auto& disk : config.disks) {
        struct stat file {};
        if (::stat(disk.path.c_str(), &file) == 0)
            max_file_bytes = std::max(max_file_bytes, static_cast<uint64_t>(file.st_size));
    }
    std::unique_ptr<Jail> jail(new Jail(*config.jail, std::move(bind_directories), max_file_bytes,
                                        config.cpus + kThreadsBesideVcpus));
    FilterNeeds needs{.unix_sockets = config.vsock.has_value()};
    jail->startup_filter_ = TRY(build_startup_filter(needs));
    for (ThreadRole role :
         {ThreadRole::main, ThreadRole::vcpu, ThreadRole::io, ThreadRole::console})
        jail->role_filters_[static_cast<int>(role)] = TRY(build_thread_filter(role, needs));
    return jail;
}

Result<> Jail::enter_empty_root() const {
    // Nothing done from here on reaches the host's mount table.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return fail_errno("make / private");
    // The directories the jail keeps, taken as detached copies of their mounts before the tmpfs
    // below can hide them (a socket directory under /tmp).
    std::vector<UniqueFd> kept;
    for (const auto& directory : bind_directories_) {
        UniqueFd tree(
            ::open_tree(AT_FDCWD, directory.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
        if (!tree) return fail_errno(fmt::format("open_tree {}", directory));
        kept.push_back(std::move(tree));
    }
    if (::mount("vessel-jail", kAssembly, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "mode=0755,size=64k") != 0)
        return fail_errno(fmt::format("mount a tmpfs on {}", kAssembly));
    for (size_t index = 0; index < kept.size(); ++index) {
        std::string target = kAssembly + bind_directories_[index];
        TRY(make_directories(target));
        if (::move_mount(kept[index].get(), "", AT_FDCWD, target.c_str(),
                         MOVE_MOUNT_F_EMPTY_PATH) != 0)
            return fail_errno(fmt::format("bind {} into the jail", bind_directories_[index]));
        if (::mount(nullptr, target.c_str(), nullptr,
                    MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
            return fail_errno(fmt::format("remount {} nosuid,nodev,noexec", target));
    }
    if (::chdir(kAssembly) != 0) return fail_errno(fmt::format("chdir {}", kAssembly));
    // pivot_root(".", ".") stacks the old root on the new one, and the detach drops it. A host
    // whose root is the initramfs (rootfs) cannot pivot: there the tmpfs moves over / instead,
    // and chroot enters it; the old root stays underneath, out of reach of a process that can no
    // longer mount (no capability, and no mount call in any seccomp list).
    if (::syscall(SYS_pivot_root, ".", ".") == 0) {
        if (::umount2(".", MNT_DETACH) != 0) return fail_errno("detach the host's root");
    } else if (errno == EINVAL) {
        if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0)
            return fail_errno("move the jail's root over /");
        if (::chroot(".") != 0) return fail_errno("chroot into the jail");
    } else {
        return fail_errno("pivot_root");
    }
    if (::chdir("/") != 0) return fail_errno("chdir /");
    if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                nullptr) != 0)
        return fail_errno("remount the jail's root read-only");
    return {};
}

Result<> Jail::set_limits() const {
    auto limit = [](int resource, rlim_t value, const char* name) -> Result<> {
        rlimit bound{.rlim_cur = value, .rlim_max = value};
        if (::setrlimit(resource, &bound) != 0)
            return fail_errno(fmt::format("setrlimit {} {}", name, value));
        return {};
    };
    TRY(limit(RLIMIT_NOFILE, kMaxOpenFiles, "RLIMIT_NOFILE"));
    TRY(limit(RLIMIT_FSIZE, max_file_bytes_, "RLIMIT_FSIZE"));
    TRY(limit(RLIMIT_CORE, 0, "RLIMIT_CORE"));
    // Counted per user, and the user is this VM's own.
    TRY(limit(RLIMIT_NPROC, max_threads_, "RLIMIT_NPROC"));
    return {};
}

Result<> Jail::drop_privileges() const {
    for (int cap = 0; cap < 64; ++cap)
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
            return fail_errno(fmt::format("drop capability {} from the bounding set", cap));
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
        return fail_errno("clear the ambient capabilities");
    // Capabilities never come back: not through a root uid, nor kept across the uid change.
    if (::prctl(PR_SET_SECUREBITS,
                SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED |
                    SECBIT_KEEP_CAPS_LOCKED,
                0, 0, 0) != 0)
        return fail_errno("set the securebits");
    CapabilityData caps = TRY(read_capabilities());
    for (auto& word : caps.data)
        word.inheritable = 0;
    if (::syscall(SYS_capset, &caps.header, caps.data) != 0)
        return fail_errno("clear the inheritable capabilities");
    if (::setgroups(0, nullptr) != 0) return fail_errno("setgroups");
    if (::setresgid(identity_.gid, identity_.gid, identity_.gid) != 0)
        return fail_errno(fmt::format("setresgid {}", identity_.gid));
    if (::setresuid(identity_.uid, identity_.uid, identity_.uid) != 0)
        return fail_errno(fmt::format("setresuid {}", identity_.uid));
    caps = TRY(read_capabilities());
    for (const auto& word : caps.data)
        if (word.effective != 0 || word.permitted != 0 || word.inheritable != 0)
            return fail("capabilities survived the change to uid {}", identity_.uid);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail_errno("set no_new_privs");
    return {};
}

Result<> Jail::enter() {
    // unshare(CLONE_NEWNS) also refuses a process with more than one thread (EINVAL): the jail
    // must come before any.
    // The log's timestamps need the host's time zone, read from /etc/localtime once and kept.
    ::tzset();
#if defined(__SANITIZE_ADDRESS__)
    // A sanitizer build (make test-sanitize): LeakSanitizer's check at exit stops the threads
    // from a process it clones and ptraces, which the jail forbids. It runs once now instead,
    // and not at exit; an unjailed VMM is still checked at its exit.
    __lsan_do_leak_check();
#endif
    if (::unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) != 0)
        return fail_errno("unshare the mount, ipc, uts and network namespaces");
    TRY(enter_empty_root());
    TRY(set_limits());
    TRY(drop_privileges());
    struct sigaction trap {};
    trap.sa_sigaction = report_forbidden_call;
    trap.sa_flags = SA_SIGINFO | SA_RESETHAND;
    if (::sigaction(SIGSYS, &trap, nullptr) != 0) return fail_errno("sigaction SIGSYS");
    return install_filter(startup_filter_);
}

void Jail::confine_thread(ThreadRole role) {
    current_role = role;
    if (auto installed = install_filter(role_filters_[static_cast<int>(role)]); !installed) {
        fmt::print(stderr, "vessel-vmm: jail: {} thread: {}\n", thread_role_name(role),
                   installed.error().message());
        ::_exit(exit_code::vmm_error);
    }
    if (role == ThreadRole::main && after_main_confined) after_main_confined();
}

}  // namespace vessel::vm
