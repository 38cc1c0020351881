#include "container/linux/container_init.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "base/fd_passing.h"
#include "base/file.h"

#include "container/linux/memory_policy.h"
#include "container/linux/namespaces.h"
#include "container/linux/process_setup.h"
#include "container/linux/rootfs.h"
#include "container/linux/scheduling.h"
#include "container/linux/user_namespace.h"

namespace vessel::container::sys {

namespace {

using runtime::SyncTag;

Result<> wait_for(const runtime::SyncChannel& sync, SyncTag expected) {
    auto message = TRY(sync.receive());
    if (message.tag != expected) return fail("unexpected message from the runtime");
    return {};
}

// The ordered setup of the container's init. Each step names the config field it implements, so
// a failure reads "mounts[3] (/data): mount ...". Issue-3 steps slot in where marked.
Result<std::string> set_up(const InitConfig& config) {
    const spec::Spec& spec = config.spec;
    const spec::Process& process = *spec.process;
    // Dies with the runtime until setup is complete: a half-made container must not linger.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // 1. Into our cgroups first, so that the cgroup namespace is rooted there and every
    //    allocation below is charged to the container: the v1 hierarchies we join ourselves,
    //    the rest we are in since clone or the runtime puts us in before the go.
    //    In a new user namespace the runtime has written its id maps by then.
    if (config.cgroup_self_join)
        for (const auto& tasks : *config.cgroup_self_join)
            TRY_CTX(write_existing_file(tasks, "0"), "linux.cgroupsPath: join the cgroup");
    TRY(wait_for(config.sync, SyncTag::go));
    if (spec.linux_config.creates_user_namespace()) {
        TRY(become_namespace_root());
        ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    }
    // Until it execs the user's program this process is the vessel-runc binary, visible in the
    // container's pid namespace: not dumpable, no process of the container may open its
    // /proc/<pid>/exe and later write through it to the host's runtime (CVE-2019-5736 class).
    // Not before the go: a non-dumpable process's /proc files are root's, and an unprivileged
    // runtime (or newuidmap) must write its id maps first. No process can join the container
    // before the go. execve() makes the user's program dumpable again.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // 2. Namespaces given by path (pid and time were joined by the runtime before clone).
    TRY(join_namespaces(spec.linux_config, /*for_children=*/false));
    if (auto* ns = spec.linux_config.find_namespace(spec::NamespaceType::cgroup);
        ns && ns->path.empty())
        if (::unshare(CLONE_NEWCGROUP) != 0) return fail_errno("linux.namespaces: unshare cgroup");
    // 3. Identity and kernel parameters of the new namespaces.
    TRY(set_host_and_domain_name(spec));
    TRY(apply_sysctls(spec.linux_config));
    TRY(set_oom_score_adj(process));
    // 4. The filesystem: mounts, /dev, masked and read-only paths, pivot_root.
    ::umask(0);
    TRY(prepare_rootfs(RootfsPlan{.spec = spec,
                                  .bundle = config.bundle,
                                  .rootfs = config.rootfs,
                                  .cgroups = config.cgroups,
                                  .idmapped_mounts = config.idmapped_mounts}));
    TRY(finish_rootfs(spec));
    if (::chdir(process.cwd.c_str()) != 0) return fail_errno("process.cwd: chdir " + process.cwd);
    if (process.terminal) {
        // Its master goes to the runtime (for --console-socket or the foreground relay).
        UniqueFd master = TRY(open_terminal_as_stdio(process));
        TRY(send_fd(config.sync.fd(), master.get(),
                    std::string(1, static_cast<char>(SyncTag::terminal))));
    }
    // 5. Process limits and identity.
    TRY(apply_rlimits(process));
    TRY(apply_scheduling(process));
    TRY(set_memory_policy(spec.linux_config));
    TRY(set_personality(spec.linux_config));
    if (!config.security) {
        TRY(switch_user(process));
        TRY(set_no_new_privileges(process));
        return find_executable(process);
    }
    UniqueFd listener = TRY(become_process_user(*config.security, process));
    if (listener)
        TRY(send_fd(config.sync.fd(), listener.get(),
                    std::string(1, static_cast<char>(SyncTag::seccomp_listener))));
    return find_executable(process);
}

Result<> wait_for_start(const InitConfig& config) {
    if (config.state_dir_fd < 0) return wait_for(config.sync, SyncTag::start);
    // Blocks until `start` opens the FIFO for reading; the byte tells it we are past the open.
    int fifo = ::openat(config.state_dir_fd, "exec.fifo", O_WRONLY | O_CLOEXEC);
    if (fifo < 0) return fail_errno("open exec.fifo");
    char byte = '0';
    if (::write(fifo, &byte, 1) != 1) return fail_errno("write exec.fifo");
    ::close(fifo);
    return {};
}

[[noreturn]] void report_and_exit(const InitConfig& config, const Error& error,
                                  bool runtime_listening) {
    if (runtime_listening)
        (void)config.sync.send(SyncTag::error, error.message());
    else {
        std::string line = "vessel-runc: " + error.message() + "\n";
        (void)!::write(2, line.data(), line.size());
    }
    ::_exit(runtime_listening ? 1 : 127);
}

}  // namespace

void container_init(const InitConfig& config) {
    auto executable = set_up(config);
    if (!executable) report_and_exit(config, executable.error().context("config.json"), true);
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (auto sent = config.sync.send(SyncTag::ready); !sent) ::_exit(1);
    auto started = wait_for_start(config);
    if (!started) report_and_exit(config, started.error(), config.state_dir_fd < 0);
    if (config.state_dir_fd >= 0) ::close(config.state_dir_fd);

    exec_container_process(*executable, *config.spec.process, config.original_mask,
                           config.preserve_fds);
    Error error(fmt::format("exec {}", *executable), errno);
    report_and_exit(config, error.context("config.json: process.args[0]"), config.state_dir_fd < 0);
}

}  // namespace vessel::container::sys
