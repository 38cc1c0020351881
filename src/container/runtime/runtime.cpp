// create and run: building a container up to the point where its init waits before exec.
#include "container/runtime/runtime.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt/ranges.h>

#include <climits>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "base/fd_passing.h"
#include "base/file.h"
#include "base/process.h"
#include "host/cgroup/cgroup.h"
#include "host/cgroup/systemd_driver.h"
#include "container/linux/container_init.h"
#include "container/linux/idmapped_mounts.h"
#include "container/linux/namespaces.h"
#include "container/linux/security_labels.h"
#include "container/linux/shared_mount_namespace.h"
#include "container/linux/user_namespace.h"
#include "container/runtime/hooks.h"
#include "container/runtime/membership.h"
#include "container/runtime/rollback.h"
#include "container/runtime/seccomp_listener.h"
#include "container/runtime/signals.h"
#include "container/runtime/sync.h"
#include "container/runtime/terminal.h"

namespace vessel::container::runtime {

namespace {

std::string rfc3339_now() {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    tm utc{};
    ::gmtime_r(&now.tv_sec, &utc);
    char date[32];
    ::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
    return fmt::format("{}.{:09d}Z", date, now.tv_nsec);
}

Result<std::string> real_directory(const std::string& path, const char* what) {
    char resolved[PATH_MAX];
    if (!::realpath(path.c_str(), resolved)) return fail_errno(fmt::format("{} {}", what, path));
    struct stat info {};
    if (::stat(resolved, &info) != 0 || !S_ISDIR(info.st_mode))
        return fail_errno(ENOTDIR, fmt::format("{} {}", what, path));
    return std::string(resolved);
}

Result<> enter_time_namespace(const spec::Linux& config) {
    // Offsets can only be written before any process lives in the namespace, so the runtime
    // unshares it for its children and writes them; clone then puts the init inside.
    if (::unshare(CLONE_NEWTIME) != 0) return fail_errno("linux.namespaces: unshare time");
    std::string offsets;
    for (const auto& [clock, seconds] : config.time_offsets_seconds)
        offsets +=
            fmt::format("{} {} {}\n", clock, seconds, config.time_offsets_nanoseconds.at(clock));
    if (!offsets.empty())
        TRY_CTX(write_existing_file("/proc/self/timens_offsets", offsets), "linux.timeOffsets");
    return {};
}

// The device cgroup's rules, as runc builds them: everything denied first, then the config's
// rules in order, the nodes it lists in linux.devices, and the devices every container gets. A
// config without rules thus gets the standard set only, never the host's "a *:* rwm"; only a rule
// of its own can allow more.
spec::Resources with_device_policy(const spec::Linux& config) {
    spec::Resources resources = config.resources;
    // As runc's rootless mode: an unprivileged runtime cannot write device rules, and a user
    // namespace cannot make device nodes, so it keeps what the config says.
    if (::geteuid() != 0) return resources;
    std::vector<spec::DeviceRule> rules = {{.allow = false, .type = 'a', .access = "rwm"}};
    rules.insert(rules.end(), resources.devices.begin(), resources.devices.end());
    for (const auto& device : config.devices)
        if (device.type != 'p')
            rules.push_back(spec::DeviceRule{.allow = true,
                                             .type = device.type == 'u' ? 'c' : device.type,
                                             .major = device.major,
                                             .minor = device.minor,
                                             .access = "rwm"});
    auto allow = [&](char type, std::optional<int64_t> major, std::optional<int64_t> minor,
                     const char* access) {
        rules.push_back(
            {.allow = true, .type = type, .major = major, .minor = minor, .access = access});
    };
    // Creating any node is allowed, using one is not: an image may carry device nodes (runc's
    // choice too); whether mknod works at all is CAP_MKNOD's business.
    allow('c', std::nullopt, std::nullopt, "m");
    allow('b', std::nullopt, std::nullopt, "m");
    // null, zero, full, random, urandom, tty, console, ptmx and the ptys.
    for (auto [major, minor] :
         {std::pair{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}})
        allow('c', major, minor, "rwm");
    allow('c', 136, std::nullopt, "rwm");
    resources.devices = std::move(rules);
    return resources;
}

// As runc's rootless mode: an unprivileged user whose cgroup tree is not delegated gets a container
// without a cgroup, unless the config asks for limits it could then not have. Device rules are no
// loss there: a user namespace cannot create device nodes.
bool may_run_without_cgroup(const Error& error, const spec::Resources& resources) {
    bool denied = error.code() == EACCES || error.code() == EPERM || error.code() == EROFS;
    spec::Resources limits = resources;
    limits.devices.clear();
    return ::geteuid() != 0 && denied && limits.empty();
}

}  // namespace

struct Runtime::Launched {
    ContainerState state;
    Hooks hooks;
    UniqueFd terminal;  // the pty master for a foreground run's relay
    UniqueFd pidfd;
    SyncChannel sync;
    std::unique_ptr<host::cgroup::Cgroup> cgroup;
    sigset_t original_mask;
};

Result<Runtime::Launched> Runtime::launch(const CreateOptions& options, Mode mode) {
    // Everything the undo actions touch is declared before the Rollback, so it still exists when
    // the Rollback's destructor runs them.
    std::unique_ptr<host::cgroup::Cgroup> cgroup;
    UniqueFd state_dir;
    Launched launched{.state = {},
                      .hooks = {},
                      .terminal = {},
                      .pidfd = {},
                      .sync = SyncChannel(UniqueFd()),
                      .cgroup = nullptr,
                      .original_mask = {}};
    Rollback rollback;
    TRY(validate_id(options.id));
    std::string bundle =
        TRY(real_directory(options.bundle.empty() ? "." : options.bundle, "bundle"));
    spec::Spec spec = TRY(spec::load_spec(bundle));
    if (!spec.process) return fail("config.json: process: is required to create a container");
    for (const spec::Mount& mount : spec.mounts)
        if (!mount.ignored_options.empty())
            log_.debug("container {}: mount {}: a bind mount ignores {}", options.id,
                       mount.destination, fmt::join(mount.ignored_options, ","));
    if (spec.process->terminal && options.console_socket.empty() &&
        (mode == Mode::create || options.detach))
        return fail(
            "config.json: process.terminal: a detached container needs --console-socket to hand "
            "its terminal to");
    // Before anything exists: a bad capability, seccomp rule or hook leaves nothing behind.
    launched.hooks = TRY_CTX(parse_hooks(spec.hooks), "config.json");
    sys::SecurityPlan security =
        TRY_CTX(sys::prepare_security(spec, store_.root() + "/.seccomp-cache"), "config.json");
    TRY(sys::check_security_labels(spec, sys::detect_security_modules(), "config.json",
                                   "container " + options.id, log_));
    std::vector<UniqueFd> idmapped_mounts =
        TRY_CTX(sys::prepare_idmapped_mounts(spec, bundle), "config.json");
    std::string rootfs = TRY_CTX(
        real_directory(spec.root.path[0] == '/' ? spec.root.path : bundle + "/" + spec.root.path,
                       "rootfs"),
        "config.json: root.path");

    TRY(store_.reserve(options.id));
    rollback.add([&] { store_.remove(options.id); });
    uint64_t rootfs_mount_id = 0;
    if (!spec.linux_config.find_namespace(spec::NamespaceType::mount)) {
        rootfs_mount_id = TRY_CTX(sys::bind_rootfs_privately(rootfs), "config.json: root.path");
        rollback.add(
            [rootfs, rootfs_mount_id] { (void)sys::detach_rootfs_bind(rootfs, rootfs_mount_id); });
        log_.debug("container {}: no mount namespace; its mounts are made below {}", options.id,
                   rootfs);
    }

    host::cgroup::HostLayout layout = TRY(host::cgroup::detect_layout());
    std::string cgroup_path;
    std::string systemd_unit;
    if (options.systemd_cgroup) {
        host::cgroup::SystemdPlacement placement =
            TRY_CTX(host::cgroup::systemd_placement(spec.linux_config.cgroups_path, options.id),
                    "config.json: linux.cgroupsPath");
        cgroup_path = placement.path;
        systemd_unit = placement.unit;
        cgroup = host::cgroup::make_systemd_cgroup(layout, std::move(placement),
                                             fmt::format("vessel container {}", options.id));
    } else {
        if (host::cgroup::is_systemd_cgroups_path(spec.linux_config.cgroups_path))
            return fail(
                "config.json: linux.cgroupsPath: \"{}\" is a systemd unit path "
                "(slice:prefix:name), which needs --systemd-cgroup",
                spec.linux_config.cgroups_path);
        cgroup_path = host::cgroup::cgroup_path_for(spec.linux_config.cgroups_path, options.id);
        TRY_CTX(check_cgroup_path(cgroup_path), "config.json: linux.cgroupsPath");
        cgroup = host::cgroup::make_cgroup(layout, cgroup_path);
    }
    spec::Resources resources = with_device_policy(spec.linux_config);
    if (auto created = cgroup->create(); !created) {
        // systemd unreachable, or its unit taken: said as it is, never a run without a cgroup.
        if (options.systemd_cgroup) return std::unexpected(created.error());
        if (!may_run_without_cgroup(created.error(), resources)) {
            Error error = created.error();
            if (::geteuid() != 0)
                error.context(
                    "a rootless container can have resource limits only in a cgroup "
                    "delegated to its user");
            return std::unexpected(error.context("config.json: linux.cgroupsPath"));
        }
        log_.debug("container {}: no cgroup: {}", options.id, created.error().message());
        cgroup_path.clear();
        cgroup = host::cgroup::make_cgroup(layout, cgroup_path);
        resources = {};
    }
    rollback.add([&] { (void)cgroup->destroy(); });
    TRY_CTX(check_cgroup_is_the_containers(*cgroup, spec.linux_config),
            "config.json: linux.cgroupsPath");
    TRY_CTX(cgroup->apply(resources, log_), "config.json");

    if (mode == Mode::create) {
        std::string fifo = store_.fifo_path(options.id);
        if (::mkfifo(fifo.c_str(), 0622) != 0 || ::chmod(fifo.c_str(), 0622) != 0)
            return fail_errno("mkfifo " + fifo);
        state_dir = TRY(open_file(store_.directory(options.id), O_PATH | O_DIRECTORY));
    }

    auto [parent_end, child_end] = TRY(SyncChannel::make_pair());
#if defined(__SANITIZE_ADDRESS__)
    // A sanitizer build (make test-sanitize): LeakSanitizer's check at exit clones a tracer to
    // stop this process's threads. Once this process has joined a pid namespace for its children
    // the tracer is born in it, cannot attach to them, and the exit spins forever (a container
    // joining a pod's pid namespace never returned from `run --detach`). It runs once now.
    if (const auto* pid = spec.linux_config.find_namespace(spec::NamespaceType::pid);
        pid && !pid->path.empty())
        __lsan_do_leak_check();
#endif
    TRY_CTX(sys::join_namespaces(spec.linux_config, /*for_children=*/true), "config.json");
    if (auto* time = spec.linux_config.find_namespace(spec::NamespaceType::time);
        time && time->path.empty())
        TRY_CTX(enter_time_namespace(spec.linux_config), "config.json");

    launched.sync = std::move(parent_end);
    sigset_t forwarded = forwarded_signals();
    ::sigprocmask(SIG_BLOCK, &forwarded, &launched.original_mask);
    rollback.add([&] { ::sigprocmask(SIG_SETMASK, &launched.original_mask, nullptr); });

    // The init joins its cgroup on the fast path where it can (see Cgroup::self_join_files).
    UniqueFd clone_into =
        TRY_CTX(cgroup->open_clone_into_directory(), "config.json: linux.cgroupsPath");
    std::vector<std::string> self_join = cgroup->self_join_files();
    int pidfd = -1;
    clone_args args{};
    args.flags = static_cast<uint64_t>(sys::clone_flags_for(spec.linux_config)) | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    if (clone_into) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<uint64_t>(clone_into.get());
    }
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    bool runtime_joins = !clone_into;
    if (pid < 0 && clone_into && errno != ENOMEM && errno != EAGAIN) {
        // A cgroup the kernel will not clone into (a v2 domain whose controllers its children
        // use): the slow path, the runtime moves the init.
        args.flags &= ~static_cast<uint64_t>(CLONE_INTO_CGROUP);
        args.cgroup = 0;
        runtime_joins = true;
        pid = ::syscall(SYS_clone3, &args, sizeof args);
    }
    if (runtime_joins) self_join.clear();
    if (pid < 0) return fail_errno("clone the container's init");
    if (pid == 0) {
        launched.sync.close();
        sys::container_init(sys::InitConfig{.spec = spec,
                                            .bundle = bundle,
                                            .rootfs = rootfs,
                                            .cgroups = layout,
                                            .sync = child_end,
                                            .state_dir_fd = state_dir.get(),
                                            .original_mask = launched.original_mask,
                                            .security = &security,
                                            .idmapped_mounts = &idmapped_mounts,
                                            .cgroup_self_join = &self_join,
                                            .preserve_fds = options.preserve_fds});
    }
    child_end.close();
    launched.pidfd = UniqueFd(pidfd);
    rollback.add([&] {
        ::syscall(SYS_pidfd_send_signal, launched.pidfd.get(), SIGKILL, nullptr, 0);
        siginfo_t info{};
        ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(launched.pidfd.get()), &info,
                 WEXITED);
    });
    log_.debug("container {}: init is pid {}", options.id, pid);
    ContainerState& state = launched.state;
    state.id = options.id;
    state.pid = static_cast<pid_t>(pid);
    state.start_time = process_start_time(state.pid);
    state.bundle = bundle;
    state.rootfs = rootfs;
    state.created = rfc3339_now();
    state.owner = ::geteuid() == 0 ? "root" : std::to_string(::geteuid());
    state.annotations = spec.annotations;
    state.cgroup_path = cgroup_path;
    state.device_rules = spec::device_rules_json(resources.devices);
    state.systemd_unit = systemd_unit;
    if (auto* pid_namespace = spec.linux_config.find_namespace(spec::NamespaceType::pid);
        pid_namespace && pid_namespace->path.empty())
        state.pid_namespace = pid_namespace_of(state.pid);
    state.rootfs_mount_id = rootfs_mount_id;
    state.hooks = spec.hooks;

    clone_into.reset();
    // With the systemd driver this starts the unit with the init's pid in it (the init waits for
    // SyncTag::go below before it does anything) and writes the limits; its errors name the unit
    // and the field themselves.
    if (runtime_joins)
        TRY_CTX(cgroup->add_process(static_cast<pid_t>(pid)), "{}",
                options.systemd_cgroup ? "config.json" : "config.json: linux.cgroupsPath");
    state.cgroup_created = cgroup->created_directories();
    if (spec.linux_config.creates_user_namespace())
        TRY_CTX(sys::write_id_maps(static_cast<pid_t>(pid), spec.linux_config.uid_mappings,
                                   spec.linux_config.gid_mappings),
                "config.json");
    TRY(launched.sync.send(SyncTag::go));
    if (spec.process->terminal) {
        auto [message, master] = TRY(receive_fd(launched.sync.fd()));
        if (message.empty()) return fail("the container's init exited during setup");
        if (static_cast<SyncTag>(message[0]) == SyncTag::error)
            return std::unexpected(Error(message.substr(1)));
        if (static_cast<SyncTag>(message[0]) != SyncTag::terminal || !master)
            return fail("unexpected message from the container's init");
        if (!options.console_socket.empty()) {
            UniqueFd socket = TRY_CTX(connect_unix(options.console_socket), "--console-socket");
            TRY_CTX(send_fd(socket.get(), master.get(), "/dev/ptmx"), "--console-socket");
        } else {
            launched.terminal = std::move(master);
        }
    }
    if (security.hands_out_listener()) {
        Json creating = state.oci_state(Status::created);
        creating["status"] = "creating";
        TRY(pass_seccomp_listener(launched.sync.fd(), security, creating, state.pid));
    }
    auto reply = launched.sync.receive();
    if (!reply) return fail("the container's init exited during setup");
    if (reply->tag == SyncTag::error) return std::unexpected(Error(reply->payload));
    if (reply->tag != SyncTag::ready) return fail("unexpected message from the container's init");

    TRY(store_.save(state));
    Json creating = state.oci_state(Status::created);
    creating["status"] = "creating";
    TRY(run_hooks(launched.hooks.prestart, creating));
    TRY(run_hooks(launched.hooks.create_runtime, creating));
    TRY(run_hooks(launched.hooks.create_container, creating, launched.pidfd.get()));
    if (!options.pid_file.empty())
        TRY_CTX(write_file_atomic(options.pid_file, std::to_string(pid), 0644), "--pid-file");

    launched.cgroup = std::move(cgroup);
    rollback.commit();
    return launched;
}

Result<> Runtime::create(const CreateOptions& options) {
    auto launched = TRY(launch(options, Mode::create));
    ::sigprocmask(SIG_SETMASK, &launched.original_mask, nullptr);
    return {};
}

Result<int> Runtime::run(const CreateOptions& options, bool detach) {
    auto launched = TRY(launch(options, Mode::run));
    Rollback rollback;
    rollback.add([&] { (void)destroy(launched.state); });
    TRY(run_hooks(launched.hooks.start_container, launched.state.oci_state(Status::created),
                  launched.pidfd.get()));
    TRY(launched.sync.send(SyncTag::start));
    // The init's end closes on exec: EOF means the program runs, a message means exec failed.
    auto after_start = launched.sync.receive();
    if (after_start && after_start->tag == SyncTag::error)
        return std::unexpected(Error(after_start->payload));
    run_hooks_warning_only(launched.hooks.poststart, launched.state.oci_state(Status::running),
                           log_);
    if (detach) {
        rollback.commit();
        ::sigprocmask(SIG_SETMASK, &launched.original_mask, nullptr);
        return 0;
    }

    ExitStatus status =
        TRY(launched.terminal ? relay_terminal(launched.terminal.get(), launched.pidfd.get(), log_)
                              : wait_forwarding_signals(launched.pidfd.get(), log_));
    log_.debug("container {}: {}", options.id, status.describe());
    rollback.commit();
    TRY(destroy(launched.state));
    return status.shell_code();
}

}  // namespace vessel::container::runtime
