#include "manager/instance/container_driver.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>

#include "base/file.h"
#include "container/linux/seccomp.h"
#include "host/cgroup/freezer.h"
#include "manager/crash_point.h"
#include "manager/instance/snapshot_files.h"
#include "manager/instance/streams.h"
#include "manager/json_text.h"
#include "manager/network/bridge_network.h"

namespace vessel::manager {

namespace {


Json oci_resources(const ResourceLimits& limits) {
    // Every device denied but the standard set (null, zero, full, random, urandom, tty, console,
    // ptmx, ptys) the runtime adds after the config's rules; said here so that any OCI runtime
    // reading this bundle does the same.
    Json resources = {{"devices", Json::array({{{"allow", false}, {"access", "rwm"}}})}};
    if (limits.memory_bytes)
        resources["memory"] = {{"limit", static_cast<int64_t>(*limits.memory_bytes)}};
    if (limits.cpu_quota_us)
        resources["cpu"] = {{"quota", static_cast<int64_t>(*limits.cpu_quota_us)},
                            {"period", ResourceLimits::cpu_period_us}};
    if (limits.processes) resources["pids"] = {{"limit", static_cast<int64_t>(*limits.processes)}};
    return resources;
}

}  // namespace

// The capabilities a container's processes keep, measured against Incus, whose containers are
// unprivileged (a user namespace: capabilities that reach only the container's own namespaces),
// and Docker/Podman's defaults for containers without one, as these are. Each one kept, and why:
//   CHOWN, DAC_OVERRIDE, FOWNER, FSETID  root owning and managing its own files (package managers)
//   KILL                                 root signalling processes of other users in the container
//   SETUID, SETGID, SETPCAP              su, login, daemons that drop to their own user
//   SETFCAP                              dpkg installing files with capabilities (ping, for one)
//   NET_ADMIN, NET_RAW                   the container's DHCP client configures eth0 over a packet
//                                        socket; both reach only its own network namespace
//   NET_BIND_SERVICE                     servers on ports below 1024
//   SYS_CHROOT                           services and build tools that chroot
//   AUDIT_WRITE                          PAM's login records (sshd, su)
// Left out: MKNOD (Incus's containers cannot make usable device nodes either; a container's /dev
// is made by the runtime, and a node made inside would be the way to a host disk wherever the
// device cgroup is not enforced), and everything Docker leaves out too (SYS_ADMIN, SYS_MODULE,
// SYS_RAWIO, SYS_TIME, SYS_PTRACE...). no_new_privs stays off, as in Incus and Docker: a system
// container needs its setuid programs (su, sudo, passwd); they can gain no more than this set.
Json container_capabilities() {
    Json names = {"CAP_CHOWN",      "CAP_DAC_OVERRIDE", "CAP_FOWNER",           "CAP_FSETID",
                  "CAP_KILL",       "CAP_SETGID",       "CAP_SETUID",           "CAP_SETPCAP",
                  "CAP_SETFCAP",    "CAP_NET_ADMIN",    "CAP_NET_BIND_SERVICE", "CAP_NET_RAW",
                  "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE"};
    return {{"bounding", names}, {"effective", names}, {"permitted", names}};
}

Json container_oci_config(const std::string& name, const std::vector<std::string>& command,
                          const std::string& cgroups_path, const ResourceLimits& limits) {
    Json mounts = Json::array({
        {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"},
         {"type", "devpts"},
         {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
        {{"destination", "/dev/shm"},
         {"type", "tmpfs"},
         {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/dev/mqueue"},
         {"type", "mqueue"},
         {"source", "mqueue"},
         {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/sys"},
         {"type", "sysfs"},
         {"source", "sysfs"},
         {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        {{"destination", "/run"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "nodev", "mode=755"}}},
        {{"destination", "/tmp"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "nodev", "mode=1777"}}},
    });
    return {
        {"ociVersion", "1.0.2"},
        {"process",
         {{"terminal", false},
          {"user", {{"uid", 0}, {"gid", 0}}},
          {"args", command},
          {"env",
           {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
            "TERM=xterm", "container=vessel"}},
          {"cwd", "/"},
          {"capabilities", container_capabilities()}}},
        {"root", {{"path", "rootfs"}, {"readonly", false}}},
        {"hostname", name},
        {"mounts", mounts},
        {"linux",
         {{"cgroupsPath", cgroups_path},
          {"resources", oci_resources(limits)},
          {"namespaces",
           {{{"type", "pid"}},
            {{"type", "network"}},
            {{"type", "ipc"}},
            {{"type", "uts"}},
            {{"type", "mount"}}}},
          // The runtime's default profile (the well-known container default): security is a
          // default, not an option.
          {"seccomp", container::default_seccomp_profile_json()},
          {"maskedPaths",
           {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
            "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"}},
          {"readonlyPaths",
           {"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
            "/proc/sysrq-trigger"}}}},
    };
}

std::string ContainerInstance::cgroup_path() const {
    return "/" + context_.cgroup_parent + "/" + record_.name;
}

Result<CapturedOutput> ContainerInstance::runtime(std::vector<std::string> args) const {
    std::vector<std::string> argv = {context_.runtime, "--root", context_.runtime_root};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_capture(argv, std::chrono::seconds(60));
}

Result<> ContainerInstance::runtime_ok(std::vector<std::string> args, std::string_view what) const {
    auto result = TRY(runtime(std::move(args)));
    if (!result.status.success()) {
        auto message = result.err.substr(0, result.err.find('\n'));
        return fail("{} {}: {}", what, record_.name,
                    message.empty() ? result.status.describe() : message);
    }
    return {};
}

Result<> ContainerInstance::create(const ImageRecord& image, CreateFrom /*from*/) {
    if (image.kind != InstanceKind::container)
        return fail("image {} is a {} image; a container needs a container image",
                    image.aliases.empty() ? image.fingerprint.substr(0, 12) : image.aliases[0],
                    image.kind);
    auto dir = directory();
    if (::mkdir(dir.c_str(), 0700) != 0)
        return fail_errno(fmt::format("create instance directory {}", dir));
    for (const char* sub : {"upper", "work", "rootfs"}) {
        if (::mkdir((dir + "/" + sub).c_str(), 0755) != 0) {
            auto error = fail_errno(fmt::format("create {}/{}", dir, sub));
            (void)remove_instance_tree(dir);
            return error;
        }
    }
    return {};
}

Result<ProcessIdentity> ContainerInstance::start(const ImageRecord& image) {
    auto dir = directory();
    const auto& limits = record_.config.limits();
    auto metadata = TRY(parse_json(TRY(read_file(image.path + "/metadata.json")), "metadata.json"));
    auto command = TRY(JsonAt(metadata, "metadata.json").optional_string_array("command"));
    if (command.empty()) command = {"/bin/sh"};
    auto config = container_oci_config(record_.name, command, cgroup_path(), limits);
    if (context_.network_for) {
        if (auto attachment = TRY(context_.network_for(record_.name))) {
            std::vector<std::string> args = {"vesseld"};
            for (auto& word : net_attach_arguments(*attachment))
                args.push_back(std::move(word));
            config["hooks"]["createRuntime"] =
                Json::array({{{"path", context_.monitor_binary}, {"args", args}, {"timeout", 30}}});
        }
    }
    TRY(write_file_atomic(dir + "/config.json", TRY(dump_json_exact(config, "config.json", 2))));
    // A previous run's exit status must not be mistaken for this one's.
    ::unlink((dir + "/exit.json").c_str());

    MonitorPlan plan{.instance_dir = dir,
                     .console_path = dir + "/console.log",
                     .runtime = context_.runtime,
                     .runtime_root = context_.runtime_root,
                     .container_id = record_.name,
                     .bundle = dir,
                     .overlay = OverlayMount{.lower = image.path + "/rootfs",
                                             .upper = dir + "/upper",
                                             .work = dir + "/work",
                                             .target = dir + "/rootfs"},
                     .command = {}};
    TRY(write_file_atomic(dir + "/monitor.json",
                          TRY(dump_json_exact(plan.to_json(), "monitor.json", 2)), 0600));
    crash_point("start-plan-written");
    auto ready = TRY(launch_monitor({context_.monitor_binary, "monitor", dir + "/monitor.json"},
                                    dir, std::chrono::seconds(60)));
    return ready.monitor;
}

Result<> ContainerInstance::stop(std::chrono::milliseconds timeout, bool force) {
    auto current = status();
    if (current.state == InstanceState::stopped) return {};
    // Frozen tasks take no signals, not even SIGKILL on a cgroup v1 freezer: thaw first.
    if (current.state == InstanceState::frozen) (void)runtime({"resume", record_.name});
    if (!force) {
        // The runtime refuses when the init just exited: the wait below settles it either way.
        (void)runtime({"kill", record_.name, "TERM"});
        if (TRY(wait_for_exit(current.monitor, timeout))) return {};
    }
    (void)runtime({"kill", record_.name, "KILL"});
    if (TRY(wait_for_exit(current.monitor, std::chrono::seconds(20)))) return {};
    return fail_errno(ETIMEDOUT, fmt::format("instance {} did not stop", record_.name));
}

Result<> ContainerInstance::freeze() {
    if (status().state != InstanceState::running)
        return fail("instance {} is not running", record_.name);
    return runtime_ok({"pause", record_.name}, "freeze");
}

Result<> ContainerInstance::unfreeze() {
    // The cgroup says, not the record: a snapshot freezes without recording it, and a vesseld
    // that died while an instance was frozen may have recorded otherwise.
    if (status().state == InstanceState::stopped || !frozen())
        return fail("instance {} is not frozen", record_.name);
    return runtime_ok({"resume", record_.name}, "unfreeze");
}

Result<> ContainerInstance::clean_up() {
    auto dir = directory();
    // The runtime keeps a directory per container: none, nothing for `delete` to do.
    if (path_exists(context_.runtime_root + "/" + record_.name))
        (void)runtime({"delete", "--force", record_.name});
    if (::umount2((dir + "/rootfs").c_str(), 0) != 0 && errno != EINVAL && errno != ENOENT)
        ::umount2((dir + "/rootfs").c_str(), MNT_DETACH);
    // The host end of a veth whose container end outlived a crash (the kernel removes both ends
    // with the container's network namespace, so normally there is none).
    auto veth = BridgeNetwork::host_interface_for(record_.name);
    if (path_exists("/sys/class/net/" + veth)) (void)run_checked({"ip", "link", "del", veth});
    remove_leftover_cgroup(cgroup_path());
    return {};
}

bool ContainerInstance::frozen() const {
    auto layout = host::cgroup::detect_layout();
    return layout && host::cgroup::is_frozen(*layout, cgroup_path());
}

Result<> ContainerInstance::destroy() {
    if (status().state != InstanceState::stopped)
        return fail("instance {} is still running", record_.name);
    // A monitor killed with SIGKILL cannot clean up: do what it would have done.
    TRY(clean_up());
    return remove_instance_tree(directory());
}

Result<> ContainerInstance::snapshot_into(const std::string& snapshot_dir) {
    return copy_tree_exactly(directory() + "/upper", snapshot_dir + "/upper");
}

Result<> ContainerInstance::restore_from(const std::string& snapshot_dir, bool consume) {
    if (status().state != InstanceState::stopped)
        return fail_errno(EBUSY, fmt::format("instance {} is running", record_.name));
    auto upper = directory() + "/upper";
    auto replacement = restore_replacement(upper);
    TRY(remove_instance_tree(replacement));
    if (consume) {
        auto saved = snapshot_dir + "/upper";
        if (::rename(saved.c_str(), replacement.c_str()) != 0)
            return fail_errno(fmt::format("rename {} to {}", saved, replacement));
    } else {
        TRY(copy_tree_exactly(snapshot_dir + "/upper", replacement));
    }
    if (auto swapped = exchange_directory(replacement, upper); !swapped) {
        (void)remove_instance_tree(replacement);
        return swapped;
    }
    // overlayfs's work directory belongs to the upper directory it served: a fresh one for the
    // restored upper.
    auto work = directory() + "/work";
    TRY(remove_instance_tree(work));
    if (::mkdir(work.c_str(), 0755) != 0) return fail_errno(fmt::format("create {}", work));
    return {};
}

Result<UniqueFd> ContainerInstance::container_root() const {
    if (status().state != InstanceState::running)
        return fail_errno(EBUSY, fmt::format("instance {} is not running", record_.name));
    auto init = TRY(read_payload_identity(directory()));
    if (!init || !process_matches(*init))
        return fail_errno(EBUSY, fmt::format("instance {} is not running", record_.name));
    // The root as the container's init sees it (its mounts included); checked again once open,
    // so that a recycled pid cannot hand out another process's root.
    auto root = TRY(open_file(fmt::format("/proc/{}/root", init->pid), O_PATH | O_DIRECTORY));
    if (!process_matches(*init))
        return fail_errno(EBUSY, fmt::format("instance {} is not running", record_.name));
    return root;
}

Result<uint64_t> ContainerInstance::push_file(const PushedFile& file) {
    auto root = TRY(container_root());
    return with_context(push_into_root(root.get(), file),
                        fmt::format("container {}", record_.name));
}

Result<PulledFile> ContainerInstance::pull_file(const std::string& path) {
    auto root = TRY(container_root());
    return with_context(pull_from_root(root.get(), path),
                        fmt::format("container {}", record_.name));
}

Result<> ContainerInstance::push_stream(const PushTarget& target, int connection) {
    auto root = TRY(container_root());
    return with_context(serve_push_into_root(root.get(), target, connection),
                        fmt::format("container {}", record_.name));
}

Result<> ContainerInstance::pull_stream(const std::string& path, int connection) {
    auto root = TRY(container_root());
    return with_context(serve_pull_from_root(root.get(), path, connection),
                        fmt::format("container {}", record_.name));
}

Result<> ContainerInstance::update_limits(const ResourceLimits& limits) {
    if (status().state == InstanceState::stopped)
        return {};  // applied from the config at the next start
    std::vector<std::string> args = {"update"};
    if (limits.memory_bytes) {
        args.push_back(fmt::format("--memory={}", *limits.memory_bytes));
    }
    if (limits.cpu_quota_us) {
        args.push_back(fmt::format("--cpu-period={}", ResourceLimits::cpu_period_us));
        args.push_back(fmt::format("--cpu-quota={}", *limits.cpu_quota_us));
    }
    if (limits.processes) args.push_back(fmt::format("--pids-limit={}", *limits.processes));
    if (args.size() == 1) return {};
    args.push_back(record_.name);
    return runtime_ok(std::move(args), "update limits of");
}

}  // namespace vessel::manager
