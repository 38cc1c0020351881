#include "manager/instance/vm_driver.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/file.h"
#include "container/cgroup/cgroup.h"
#include "manager/crash_point.h"
#include "manager/json_text.h"

namespace vessel::manager {

Result<std::vector<std::string>> vmm_command(const std::string& vmm_binary,
                                             const ImageRecord& image, const Json& config,
                                             const std::string& console_path) {
    auto metadata_path = image.path + "/metadata.json";
    auto metadata = TRY(parse_json(TRY(read_file(metadata_path)), metadata_path));
    JsonAt at(metadata, metadata_path);
    auto kernel = TRY(TRY(at.child("kernel")).string());
    auto initrd = TRY(at.optional_string("initrd"));
    auto append = TRY(at.optional_string("append")).value_or("console=ttyS0");
    auto limits = TRY(limits_from_config(config));
    if (limits.processes) return fail("limits.processes applies to containers only, not to VMs");
    uint64_t memory_mib = limits.memory_bytes ? *limits.memory_bytes >> 20 : 256;
    // limits.cpu is a number of CPUs for a VM: its vCPU count (rounded up).
    uint64_t cpus = limits.cpu_quota_us
                        ? (*limits.cpu_quota_us + ResourceLimits::cpu_period_us - 1) /
                              ResourceLimits::cpu_period_us
                        : 1;
    std::vector<std::string> argv = {vmm_binary, "--kernel", image.path + "/" + kernel};
    if (initrd) {
        argv.push_back("--initrd");
        argv.push_back(image.path + "/" + *initrd);
    }
    argv.insert(argv.end(), {"--append", append, "--memory", fmt::format("{}M", memory_mib),
                             "--cpus", std::to_string(cpus), "--console",
                             console_path.empty() ? "stdio" : "file:" + console_path});
    return argv;
}

std::string describe_vmm_exit(const ExitStatus& status) {
    if (status.signal != 0) return status.describe();
    switch (status.code) {
        case 0:
            return "powered off";
        case 1:
            return "vmm error";
        case 2:
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

Result<> VmInstance::create(const ImageRecord& image) {
    if (image.type != "vm")
        return fail("image {} is a {} image; a VM needs a vm image",
                    image.aliases.empty() ? image.fingerprint.substr(0, 12) : image.aliases[0],
                    image.type);
    // Validate the command line now, so a bad image or limit fails the launch before anything
    // exists.
    TRY(vmm_command(context_.vmm_binary, image, record_.config, "/dev/null"));
    auto dir = directory();
    if (::mkdir(dir.c_str(), 0700) != 0)
        return fail_errno(fmt::format("create instance directory {}", dir));
    return {};
}

Result<ProcessIdentity> VmInstance::start(const ImageRecord& image) {
    auto dir = directory();
    ::unlink((dir + "/exit.json").c_str());
    // The VM's serial console is a terminal the monitor serves (vessel console) and logs.
    MonitorPlan plan{
        .instance_dir = dir,
        .console_path = dir + "/console.log",
        .command = TRY(vmm_command(context_.vmm_binary, image, record_.config, "")),
        .interactive_console = true,
        .cgroup_path = cgroup_path(),
        .cpu_quota_us = TRY(limits_from_config(record_.config)).cpu_quota_us.value_or(0)};
    TRY(write_file_atomic(dir + "/monitor.json",
                          TRY(dump_json_exact(plan.to_json(), "monitor.json", 2)), 0600));
    crash_point("start-plan-written");
    auto ready = TRY(launch_monitor({context_.monitor_binary, "monitor", dir + "/monitor.json"},
                                    dir, std::chrono::seconds(30)));
    return ready.monitor;
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
    if (current.state == "stopped") return {};
    if (current.state == "frozen") (void)signal_vmm(SIGCONT);
    if (!force) {
        // vessel-vmm turns SIGTERM into the guest's power-off request.
        (void)signal_vmm(SIGTERM);
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
    if (status().state != "stopped") return fail("instance {} is still running", record_.name);
    TRY(clean_up());
    return remove_instance_tree(directory());
}

Result<ExecResult> VmInstance::exec(const std::vector<std::string>&, const std::string&,
                                    const Cancellation&) {
    return fail_errno(ENOTSUP, fmt::format("exec in VM {} needs the guest agent, which does not "
                                           "exist yet; use the console",
                                           record_.name));
}

Result<> VmInstance::update_limits(const ResourceLimits& limits) {
    if (status().state == "stopped") return {};
    if (limits.memory_bytes)
        return fail(
            "limits.memory of VM {} cannot change while it runs (no memory balloon): "
            "stop it, set the limit, start it",
            record_.name);
    if (limits.processes) return fail("limits.processes applies to containers only, not to VMs");
    if (!limits.cpu_quota_us) return {};
    // The CPU time the VMM may use changes at once; its vCPU count only at the next start.
    auto layout = TRY(container::cgroup::detect_layout());
    auto cgroup = container::cgroup::make_cgroup(layout, cgroup_path());
    container::spec::Resources resources;
    resources.cpu.quota = static_cast<int64_t>(*limits.cpu_quota_us);
    resources.cpu.period = ResourceLimits::cpu_period_us;
    Logger quiet;
    return with_context(cgroup->apply(resources, quiet),
                        fmt::format("update limits.cpu of VM {}", record_.name));
}

}  // namespace vessel::manager
