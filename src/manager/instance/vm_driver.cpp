#include "manager/instance/vm_driver.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "agent/client.h"
#include "base/file.h"
#include "base/sparse_copy.h"
#include "host/cgroup/cgroup.h"
#include "manager/crash_point.h"
#include "manager/image/image_store.h"
#include "manager/instance/snapshot_files.h"
#include "manager/instance/streams.h"
#include "manager/instance/vm_jail_ids.h"
#include "manager/json_text.h"

namespace vessel::manager {

namespace {

// Vessel's VMM backs vsock with a unix socket per VM, not the host kernel's vhost-vsock, so CIDs
// never meet on the host: every guest can be CID 3, as with Firecracker.
constexpr const char* guest_cid = "3";
constexpr const char* guest_file = "guest.json";
constexpr const char* disk_file = "root.img";
// Boot to a running agent takes about a second on the emulated board; this bounds a guest that
// never gets there (a broken image, a host under heavy load). boot.agent_timeout overrides it.
constexpr auto default_agent_ready_timeout = std::chrono::seconds(90);

struct VmImageMetadata {
    std::string kernel;
    std::optional<std::string> initrd;
    std::optional<std::string> disk;
    std::string append;
    bool agent = false;
    // The image's own bound on boot to agent-ready (systemd on the emulated board takes a minute
    // or more); boot.agent_timeout still overrides it.
    std::optional<std::chrono::seconds> agent_timeout;
};

Result<VmImageMetadata> read_vm_metadata(const ImageRecord& image) {
    auto metadata_path = image.path + "/metadata.json";
    auto metadata = TRY(parse_json(TRY(read_file(metadata_path)), metadata_path));
    JsonAt at(metadata, metadata_path);
    VmImageMetadata result{.kernel = TRY(TRY(at.child("kernel")).string()),
                           .initrd = TRY(at.optional_string("initrd")),
                           .disk = TRY(at.optional_string("disk")),
                           .append = TRY(at.optional_string("append")).value_or("console=ttyS0"),
                           .agent = TRY(at.optional_boolean("agent")).value_or(false)};
    for (const auto* name : {&result.kernel, result.initrd ? &*result.initrd : nullptr,
                             result.disk ? &*result.disk : nullptr})
        if (name && !is_image_file_name(*name))
            return fail("{}: {} is not a file name inside the image", metadata_path, *name);
    if (auto seconds = TRY(at.optional_integer_in<uint32_t>("agent_timeout"))) {
        if (*seconds < 1 || *seconds > 3600)
            return fail("{}: agent_timeout: {} is not 1 to 3600 seconds", metadata_path, *seconds);
        result.agent_timeout = std::chrono::seconds(*seconds);
    }
    return result;
}

}  // namespace

Result<std::vector<std::string>> vmm_command(const std::string& vmm_binary,
                                             const ImageRecord& image, const InstanceConfig& config,
                                             const std::string& console_path,
                                             const std::string& instance_dir,
                                             const std::optional<NetAttachment>& network,
                                             std::optional<uint32_t> jail_id) {
    auto metadata = TRY(read_vm_metadata(image));
    const auto& limits = config.limits();
    if (limits.processes) return fail("limits.processes applies to containers only, not to VMs");
    if (limits.disk_bytes && !metadata.disk)
        return fail(
            "limits.disk sizes a VM's root disk, and this image has none (it boots from "
            "its initramfs)");
    uint64_t memory_mib = limits.memory_bytes ? *limits.memory_bytes >> 20 : 256;
    // limits.cpu is a number of CPUs for a VM: its vCPU count (rounded up).
    uint64_t cpus = limits.cpu_quota_us
                        ? (*limits.cpu_quota_us + ResourceLimits::cpu_period_us - 1) /
                              ResourceLimits::cpu_period_us
                        : 1;
    std::vector<std::string> argv = {vmm_binary, "--kernel", image.path + "/" + metadata.kernel};
    if (metadata.initrd) argv.insert(argv.end(), {"--initrd", image.path + "/" + *metadata.initrd});
    if (metadata.disk) argv.insert(argv.end(), {"--disk", instance_dir + "/" + disk_file});
    // A TAP that vessel-vmm creates on the managed bridge and that goes with it; the instance's
    // fixed MAC finds its DHCP lease again, as a container's does.
    if (network)
        argv.insert(argv.end(),
                    {"--net", fmt::format("bridge={},mac={}", network->bridge, network->mac)});
    // The guest's init takes undotted name=value parameters as environment: this one asks the
    // disk image's init to get eth0's address by DHCP from the bridge's dnsmasq.
    auto append = network ? metadata.append + " VESSEL_DHCP=eth0" : metadata.append;
    argv.insert(argv.end(), {"--vsock", fmt::format("{},{}/vsock.sock", guest_cid, instance_dir),
                             "--rng", "--append", append, "--memory",
                             fmt::format("{}M", memory_mib), "--cpus", std::to_string(cpus),
                             "--console", console_path.empty() ? "stdio" : "file:" + console_path});
    if (jail_id) argv.insert(argv.end(), {"--jail", fmt::format("{}:{}", *jail_id, *jail_id)});
    return argv;
}

Result<> grow_root_disk(const std::string& path, std::string_view name, uint64_t bytes) {
    auto disk = TRY(open_file(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat file {};
    if (::fstat(disk.get(), &file) != 0) return fail_errno(fmt::format("stat {}", path));
    if (!TRY(root_disk_must_grow(name, static_cast<uint64_t>(file.st_size), bytes))) return {};
    // Extending a file allocates nothing: the new end is a hole until the guest writes there.
    if (::ftruncate(disk.get(), static_cast<off_t>(bytes)) != 0)
        return fail_errno(
            fmt::format("limits.disk of VM {}: grow {} to {}", name, path, format_size(bytes)));
    return {};
}

std::string describe_vmm_exit(const ExitStatus& status) {
    if (status.signal != 0) return status.describe();
    switch (status.code) {
        case 0:
            return "powered off";
        case 1:
            return "vmm error";
        case vmm_exit_guest_reboot:
            return "rebooted";
        case 3:
            return "crashed";
        case 4:
            return "timed out";
        case 5:
            return "stopped by the host";
        default:
            return status.describe();
    }
}

Result<> VmInstance::create(const ImageRecord& image, CreateFrom from) {
    if (image.kind != InstanceKind::vm)
        return fail("image {} is a {} image; a VM needs a vm image",
                    image.aliases.empty() ? image.fingerprint.substr(0, 12) : image.aliases[0],
                    image.kind);
    // Validate the command line now, so a bad image or limit fails the launch before anything
    // exists.
    auto dir = directory();
    TRY(vmm_command(context_.vmm_binary, image, record_.config, "/dev/null", dir, std::nullopt));
    auto metadata = TRY(read_vm_metadata(image));
    if (::mkdir(dir.c_str(), 0700) != 0)
        return fail_errno(fmt::format("create instance directory {}", dir));
    const auto& limits = record_.config.limits();
    auto laid_out = [&]() -> Result<> {
        if (metadata.disk && from == CreateFrom::image)
            TRY(copy_sparse_file(image.path + "/" + *metadata.disk, dir + "/" + disk_file, 0600));
        if (limits.disk_bytes && from == CreateFrom::image)
            TRY(grow_root_disk(dir + "/" + disk_file, record_.name, *limits.disk_bytes));
        return write_file_atomic(dir + "/" + guest_file, Json{{"agent", metadata.agent}}.dump(),
                                 0600);
    }();
    if (!laid_out) {
        (void)remove_instance_tree(dir);
        return std::unexpected(laid_out.error());
    }
    return {};
}

bool VmInstance::has_agent() const {
    auto text = read_file(directory() + "/" + guest_file);
    if (!text) return false;
    auto json = parse_json(*text, guest_file);
    return json && json->is_object() && json->value("agent", false);
}

Result<ProcessIdentity> VmInstance::start(const ImageRecord& image) {
    auto dir = directory();
    ::unlink((dir + "/exit.json").c_str());
    // A socket left by a VMM that was killed would make the new one fail to listen.
    ::unlink(vsock_socket().c_str());
    // Grown here too, not only at create and config set: the size the config asks for is the one
    // the guest boots with, whatever happened to the file in between.
    if (auto wanted = record_.config.limits().disk_bytes)
        TRY(grow_root_disk(dir + "/" + disk_file, record_.name, *wanted));
    auto image_timeout =
        TRY(read_vm_metadata(image)).agent_timeout.value_or(default_agent_ready_timeout);
    auto agent_timeout = record_.config.agent_timeout().value_or(image_timeout);
    std::optional<NetAttachment> network;
    if (context_.network_for) network = TRY(context_.network_for(record_.name));
    // The VM's serial console is a terminal the monitor serves (vessel console) and logs.
    std::optional<uint32_t> jail_id;
    if (context_.vmm_jail) jail_id = TRY(vm_jail_id(context_.instances_dir, record_.name));
    MonitorPlan plan{.instance_dir = dir,
                     .console_path = dir + "/console.log",
                     .command = TRY(vmm_command(context_.vmm_binary, image, record_.config, "", dir,
                                                network, jail_id)),
                     .interactive_console = true,
                     .cgroup_path = cgroup_path(),
                     .cpu_quota_us = record_.config.limits().cpu_quota_us.value_or(0),
                     .pid_namespace = jail_id.has_value()};
    TRY(write_file_atomic(dir + "/monitor.json",
                          TRY(dump_json_exact(plan.to_json(), "monitor.json", 2)), 0600));
    crash_point("start-plan-written");
    auto ready = TRY(launch_monitor({context_.monitor_binary, "monitor", dir + "/monitor.json"},
                                    dir, std::chrono::seconds(30)));
    if (has_agent()) {
        // Started means usable: exec and files work from the moment the start returns.
        auto answered = wait_for_agent(ready.monitor, agent_timeout);
        if (!answered) {
            // Nothing half-started is left running unrecorded.
            (void)signal_vmm(SIGKILL);
            (void)wait_for_exit(ready.monitor, std::chrono::seconds(20));
            (void)clean_up();
            return std::unexpected(answered.error().context(
                fmt::format("VM {} did not become ready (boot.agent_timeout sets the wait; its "
                            "console log says why)",
                            record_.name)));
        }
    }
    return ready.monitor;
}

Result<> VmInstance::wait_for_agent(const ProcessIdentity& monitor,
                                    std::chrono::milliseconds timeout) const {
    auto client = agent::AgentClient::through_vsock_socket(vsock_socket());
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto answered = client.ping();
        if (answered) return {};
        if (std::chrono::steady_clock::now() >= deadline)
            return fail_errno(ETIMEDOUT,
                              fmt::format("the guest agent did not answer within {} s (last: {})",
                                          timeout.count() / 1000, answered.error().message()));
        // A VM that ended during its boot (a VMM that cannot start, a guest that powered off)
        // fails the start at once, not at the end of the whole wait.
        if (!process_matches(monitor)) {
            std::string how = "it ended";
            if (auto exit = read_exit_status(directory()); exit && *exit)
                how = describe_vmm_exit(**exit);
            return fail("the VM stopped during its boot ({}): {}", how, last_console_line());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

std::string VmInstance::last_console_line() const {
    auto log = read_file(directory() + "/console.log");
    if (!log) return "no console log";
    std::string_view text = *log;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.remove_suffix(1);
    auto start = text.find_last_of('\n');
    auto line = text.substr(start == std::string_view::npos ? 0 : start + 1);
    return line.empty() ? "nothing on its console" : single_line(line.substr(0, 300));
}

std::string VmInstance::cgroup_path() const {
    return "/" + context_.cgroup_parent + "/" + record_.name;
}

Result<> VmInstance::signal_vmm(int signal_number) const {
    auto payload = TRY(read_payload_identity(directory()));
    if (!payload || !process_matches(*payload))
        return fail("instance {} is not running", record_.name);
    auto pidfd = TRY(open_pidfd(payload->pid));
    if (!process_matches(*payload)) return fail("instance {} is not running", record_.name);
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), signal_number, nullptr, 0) != 0)
        return fail_errno(fmt::format("signal vessel-vmm of {}", record_.name));
    return {};
}

Result<> VmInstance::stop(std::chrono::milliseconds timeout, bool force) {
    auto current = status();
    if (current.state == InstanceState::stopped) return {};
    if (current.state == InstanceState::frozen) (void)signal_vmm(SIGCONT);
    if (!force) {
        // The guest shuts itself down (sync, unmount, power off) through its agent; a guest
        // without one gets vessel-vmm's SIGTERM, its power-off request.
        bool asked = has_agent() && agent::AgentClient::through_vsock_socket(
                                        vsock_socket(), std::chrono::seconds(5))
                                        .shutdown(false)
                                        .has_value();
        if (!asked) (void)signal_vmm(SIGTERM);
        if (TRY(wait_for_exit(current.monitor, timeout))) return {};
    }
    (void)signal_vmm(SIGKILL);
    if (TRY(wait_for_exit(current.monitor, std::chrono::seconds(20)))) return {};
    return fail_errno(ETIMEDOUT, fmt::format("instance {} did not stop", record_.name));
}

// The whole VMM process stops: every vCPU and device thread with it.
Result<> VmInstance::freeze() {
    return signal_vmm(SIGSTOP);
}
Result<> VmInstance::unfreeze() {
    return signal_vmm(SIGCONT);
}

bool VmInstance::frozen() const {
    auto payload = read_payload_identity(directory());
    if (!payload || !*payload || !process_matches(**payload)) return false;
    auto stat = read_file(fmt::format("/proc/{}/stat", (*payload)->pid));
    if (!stat) return false;
    auto close = stat->rfind(')');
    return close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] == 'T';
}

Result<> VmInstance::clean_up() {
    // A VMM whose monitor was killed runs on unwatched: nothing would record its end.
    if (auto payload = read_payload_identity(directory()); payload && *payload) {
        if (auto pidfd = open_pidfd((*payload)->pid); pidfd && process_matches(**payload)) {
            (void)::syscall(SYS_pidfd_send_signal, pidfd->get(), SIGKILL, nullptr, 0);
            (void)wait_for_exit(**payload, std::chrono::seconds(10));
        }
        ::unlink((directory() + "/payload.json").c_str());
    }
    remove_leftover_cgroup(cgroup_path());
    return {};
}

Result<> VmInstance::destroy() {
    if (status().state != InstanceState::stopped)
        return fail("instance {} is still running", record_.name);
    TRY(clean_up());
    return remove_instance_tree(directory());
}

Result<> VmInstance::snapshot_into(const std::string& snapshot_dir) {
    // A VM booted from its initramfs alone has no disk: its snapshot is its config.
    auto disk = directory() + "/" + disk_file;
    if (!path_exists(disk)) return {};
    return copy_sparse_file(disk, snapshot_dir + "/" + disk_file, 0600);
}

Result<> VmInstance::restore_from(const std::string& snapshot_dir, bool consume) {
    if (status().state != InstanceState::stopped)
        return fail_errno(EBUSY, fmt::format("instance {} is running", record_.name));
    auto saved = snapshot_dir + "/" + disk_file;
    if (!path_exists(saved)) return {};
    auto disk = directory() + "/" + disk_file;
    auto replacement = restore_replacement(disk);
    if (::unlink(replacement.c_str()) != 0 && errno != ENOENT)
        return fail_errno(fmt::format("remove {}", replacement));
    if (consume) {
        if (::rename(saved.c_str(), replacement.c_str()) != 0)
            return fail_errno(fmt::format("rename {} to {}", saved, replacement));
    } else {
        TRY(copy_sparse_file(saved, replacement, 0600));
    }
    if (::rename(replacement.c_str(), disk.c_str()) != 0) {
        auto error = fail_errno(fmt::format("rename {} to {}", replacement, disk));
        ::unlink(replacement.c_str());
        return error;
    }
    return {};
}

Result<ExecResult> VmInstance::exec(const std::vector<std::string>& argv,
                                    const std::string& stdin_data, const Cancellation& cancel) {
    if (argv.empty()) return fail("exec: no command");
    if (status().state != InstanceState::running)
        return fail("instance {} is not running", record_.name);
    if (!has_agent())
        return fail_errno(ENOTSUP, fmt::format("exec in VM {} needs the guest agent "
                                               "(vessel-agent), which its image does not have; "
                                               "use the console",
                                               record_.name));
    auto client = agent::AgentClient::through_vsock_socket(vsock_socket());
    auto ran = client.exec(
        {.argv = argv, .env = exec_environment({.argv = argv, .env = {"TERM=xterm"}})}, stdin_data,
        {.timeout = std::chrono::minutes(10),
         .cancel_fd = cancel.fd(),
         .cancel_events = Cancellation::poll_events});
    if (!ran) {
        if (ran.error().code() == ECANCELED)
            return std::unexpected(cancel.error(fmt::format("exec in VM {}", record_.name)));
        return std::unexpected(ran.error().context(fmt::format("exec in VM {}", record_.name)));
    }
    return ExecResult{
        .status = ran->status, .out = std::move(ran->out), .err = std::move(ran->err)};
}

Result<> VmInstance::can_serve(std::string_view action) const {
    TRY(running_agent(action));
    return {};
}

Result<agent::AgentClient> VmInstance::running_agent(std::string_view action) const {
    if (status().state != InstanceState::running)
        return fail_errno(EBUSY, fmt::format("instance {} is not running", record_.name));
    if (!has_agent())
        return fail_errno(ENOTSUP, fmt::format("{} in VM {} needs the guest agent "
                                               "(vessel-agent), which its image does not have; "
                                               "use the console",
                                               action, record_.name));
    return agent::AgentClient::through_vsock_socket(vsock_socket());
}

Result<uint64_t> VmInstance::push_file(const PushedFile& file) {
    TRY(check_instance_file_path(file.path));
    auto client = TRY(running_agent("file push"));
    // The agent streams from a descriptor: the contents, already in memory, go through a memfd.
    UniqueFd source(::memfd_create("vessel-push", MFD_CLOEXEC));
    if (!source) return fail_errno("memfd_create");
    TRY(write_all(source.get(), file.content));
    if (::lseek(source.get(), 0, SEEK_SET) != 0) return fail_errno("lseek");
    return with_context(client.push(source.get(), {.path = file.path,
                                                   .mode = file.meta.mode,
                                                   .uid = file.meta.uid,
                                                   .gid = file.meta.gid,
                                                   .parents = file.parents}),
                        fmt::format("VM {}", record_.name));
}

Result<PulledFile> VmInstance::pull_file(const std::string& path) {
    TRY(check_instance_file_path(path));
    auto client = TRY(running_agent("file pull"));
    UniqueFd sink(::memfd_create("vessel-pull", MFD_CLOEXEC));
    if (!sink) return fail_errno("memfd_create");
    // The guest says how large the file is, but is not believed: the copy stops at the limit.
    auto info = TRY(with_context(client.pull(path, sink.get(), max_file_transfer_bytes),
                                 fmt::format("VM {}", record_.name)));
    if (::lseek(sink.get(), 0, SEEK_SET) != 0) return fail_errno("lseek");
    return PulledFile{.meta = {.mode = info.mode, .uid = info.uid, .gid = info.gid},
                      .content = TRY(read_fd(sink.get()))};
}

Result<> VmInstance::exec_stream(const ExecSpec& spec, int connection) {
    if (spec.argv.empty()) return fail("exec: no command");
    auto where = fmt::format("exec in VM {}", record_.name);
    auto client = TRY_CTX(running_agent("exec"), "{}", where);
    auto agent = TRY_CTX(client.begin(agent::exec_request_json({.argv = spec.argv,
                                                                .env = exec_environment(spec),
                                                                .cwd = spec.cwd,
                                                                .uid = spec.uid,
                                                                .gid = spec.gid,
                                                                .tty = spec.tty,
                                                                .rows = spec.rows,
                                                                .cols = spec.cols})),
                         "{}", where);
    return with_context(relay_agent_session(agent.get(), connection), where);
}

Result<> VmInstance::push_stream(const PushTarget& target, int connection) {
    TRY(check_instance_file_path(target.path));
    auto where = fmt::format("VM {}", record_.name);
    auto client = TRY(running_agent("file push"));
    auto agent = TRY_CTX(client.begin(agent::push_request_json({.path = target.path,
                                                                .mode = target.meta.mode,
                                                                .uid = target.meta.uid,
                                                                .gid = target.meta.gid,
                                                                .parents = target.parents})),
                         "{}", where);
    return with_context(relay_agent_session(agent.get(), connection), where);
}

Result<> VmInstance::pull_stream(const std::string& path, int connection) {
    TRY(check_instance_file_path(path));
    auto where = fmt::format("VM {}", record_.name);
    auto client = TRY(running_agent("file pull"));
    auto agent = TRY_CTX(client.begin({{"op", "pull"}, {"path", path}}), "{}", where);
    return with_context(relay_agent_session(agent.get(), connection), where);
}

std::optional<Json> VmInstance::guest_state() const {
    if (!has_agent()) return std::nullopt;
    // Asked on every `vessel info`: a guest that does not answer quickly is reported as such.
    auto info =
        agent::AgentClient::through_vsock_socket(vsock_socket(), std::chrono::seconds(2)).info();
    if (!info) return Json{{"agent", "not answering"}, {"error", info.error().message()}};
    (*info)["agent"] = "ready";
    return *info;
}

Result<> VmInstance::update_limits(const ResourceLimits& limits) {
    bool stopped = status().state == InstanceState::stopped;
    if (limits.disk_bytes) {
        auto disk = directory() + "/" + disk_file;
        if (!path_exists(disk))
            return fail("limits.disk of VM {}: its image has no root disk to grow", record_.name);
        struct stat file {};
        if (::stat(disk.c_str(), &file) != 0) return fail_errno(fmt::format("stat {}", disk));
        bool grows = TRY(root_disk_must_grow(record_.name, static_cast<uint64_t>(file.st_size),
                                             *limits.disk_bytes));
        // virtio-blk's capacity is read by the guest at boot, and the guest grows its root
        // filesystem only then (vessel-agent at its start).
        if (grows && !stopped)
            return fail(
                "limits.disk of VM {} cannot change while it runs (the guest sizes its disk at "
                "boot): stop it, set the limit, start it",
                record_.name);
        if (grows) TRY(grow_root_disk(disk, record_.name, *limits.disk_bytes));
    }
    if (stopped) return {};
    if (limits.memory_bytes)
        return fail(
            "limits.memory of VM {} cannot change while it runs (no memory balloon): "
            "stop it, set the limit, start it",
            record_.name);
    if (limits.processes) return fail("limits.processes applies to containers only, not to VMs");
    if (!limits.cpu_quota_us) return {};
    // The CPU time the VMM may use changes at once; its vCPU count only at the next start.
    auto layout = TRY(host::cgroup::detect_layout());
    auto cgroup = host::cgroup::make_cgroup(layout, cgroup_path());
    host::cgroup::Resources resources;
    resources.cpu.quota = static_cast<int64_t>(*limits.cpu_quota_us);
    resources.cpu.period = ResourceLimits::cpu_period_us;
    Logger quiet;
    return with_context(cgroup->apply(resources, quiet),
                        fmt::format("update limits.cpu of VM {}", record_.name));
}

}  // namespace vessel::manager
