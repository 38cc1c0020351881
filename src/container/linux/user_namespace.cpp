#include "container/linux/user_namespace.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "base/process.h"
#include "container/spec/id_mapping.h"

namespace vessel::container::sys {

namespace {

enum class IdKind { uid, gid };

const char* kind_field(IdKind kind) {
    return kind == IdKind::uid ? "uidMappings" : "gidMappings";
}

// An unprivileged process may write one line mapping its own effective id, nothing more (and for
// gids only once setgroups is denied).
bool is_own_id_only(const std::vector<spec::IdMapping>& mappings, IdKind kind) {
    uint32_t own = kind == IdKind::uid ? ::geteuid() : ::getegid();
    return mappings.size() == 1 && mappings[0].size == 1 && mappings[0].host_id == own;
}

Result<> run_map_helper(pid_t pid, const std::vector<spec::IdMapping>& mappings, IdKind kind) {
    const char* helper = kind == IdKind::uid ? "newuidmap" : "newgidmap";
    std::vector<std::string> argv{helper, std::to_string(pid)};
    for (const auto& mapping : mappings) {
        argv.push_back(std::to_string(mapping.container_id));
        argv.push_back(std::to_string(mapping.host_id));
        argv.push_back(std::to_string(mapping.size));
    }
    auto ran = run_capture(argv, std::chrono::seconds(30));
    if (!ran)
        return std::unexpected(ran.error().context(
            fmt::format("linux.{}: an unprivileged user can map more than its own id only "
                        "through {} (Debian package uidmap), which did not run",
                        kind_field(kind), helper)));
    if (!ran->status.success()) {
        std::string reason = ran->err;
        while (!reason.empty() && reason.back() == '\n')
            reason.pop_back();
        return fail("linux.{}: {} refused the mapping ({}); the ranges must be yours in /etc/{}",
                    kind_field(kind), helper, reason, kind == IdKind::uid ? "subuid" : "subgid");
    }
    return {};
}

Result<> write_map(pid_t pid, const std::vector<spec::IdMapping>& mappings, IdKind kind) {
    std::string proc = fmt::format("/proc/{}/", pid);
    bool privileged = ::geteuid() == 0;
    if (!privileged && !is_own_id_only(mappings, kind)) return run_map_helper(pid, mappings, kind);
    // Without CAP_SETGID in the parent namespace, the kernel takes a gid map only after setgroups
    // is denied; a root-written map keeps setgroups usable in the container.
    if (!privileged && kind == IdKind::gid)
        TRY_CTX(write_existing_file(proc + "setgroups", "deny"), "linux.gidMappings");
    return with_context(write_existing_file(proc + (kind == IdKind::uid ? "uid_map" : "gid_map"),
                                            spec::id_map_text(mappings)),
                        fmt::format("linux.{}", kind_field(kind)));
}

}  // namespace

Result<> write_id_maps(pid_t pid, const std::vector<spec::IdMapping>& uid_mappings,
                       const std::vector<spec::IdMapping>& gid_mappings) {
    TRY(write_map(pid, gid_mappings, IdKind::gid));
    return write_map(pid, uid_mappings, IdKind::uid);
}

Result<UniqueFd> make_mapped_user_namespace(const std::vector<spec::IdMapping>& uid_mappings,
                                            const std::vector<spec::IdMapping>& gid_mappings) {
    int hold[2];
    if (::pipe2(hold, O_CLOEXEC) != 0) return fail_errno("pipe");
    UniqueFd hold_read(hold[0]), hold_write(hold[1]);
    int pidfd = -1;
    clone_args args{};
    args.flags = CLONE_NEWUSER | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return fail_errno("create a user namespace for an idmapped mount");
    if (pid == 0) {
        // Lives only until the runtime has opened the namespace (the pipe closes).
        hold_write.reset();
        char byte;
        (void)!::read(hold_read.get(), &byte, 1);
        ::_exit(0);
    }
    UniqueFd child(pidfd);
    hold_read.reset();
    auto finish = [&] {
        hold_write.reset();
        siginfo_t info{};
        ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(child.get()), &info, WEXITED);
    };
    auto mapped = write_id_maps(static_cast<pid_t>(pid), uid_mappings, gid_mappings);
    if (!mapped) {
        finish();
        return std::unexpected(mapped.error());
    }
    auto opened = open_file(fmt::format("/proc/{}/ns/user", pid), O_RDONLY);
    finish();
    return opened;
}

Result<> become_namespace_root() {
    if (::setresgid(0, 0, 0) != 0) return fail_errno("become root of the user namespace: setgid");
    if (::setresuid(0, 0, 0) != 0) return fail_errno("become root of the user namespace: setuid");
    return {};
}

}  // namespace vessel::container::sys
