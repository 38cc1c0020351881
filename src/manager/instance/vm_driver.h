// Virtual machines: one vessel-vmm process per VM, started under the instance's monitor (which
// records its exit status: 0 powered off, 1 error, 2 reboot, 3 crashed, 4 timed out, 5 stopped by
// the host). The VM image holds the kernel, an initramfs and/or a root disk; each instance gets
// its own copy of the disk (root.img, holes kept) on virtio-blk, virtio-rng, and a virtio-vsock
// device whose host side is the unix socket vsock.sock in the instance directory. When the image's
// guest runs vessel-agent, the VM counts as started once the agent answers, exec goes through it,
// and a stop asks it to power the guest off cleanly. The serial console is a terminal the monitor
// serves and logs to console.log; the VMM runs in a cgroup of its own, where limits.cpu is its CPU
// quota (its vCPU count too, rounded up, fixed at boot). limits.memory is the guest's RAM, fixed
// at boot. limits.disk is the root disk's size: it only grows, while the VM is stopped, and the
// guest's agent grows its root filesystem to match at boot.
#pragma once

#include "agent/client.h"
#include "manager/instance/instance.h"

namespace vessel::manager {

class VmInstance final : public Instance {
  public:
    VmInstance(DriverContext context, InstanceRecord record)
        : Instance(std::move(context), std::move(record)) {}

    Result<> create(const ImageRecord& image, CreateFrom from) override;
    Result<ProcessIdentity> start(const ImageRecord& image) override;
    Result<> stop(std::chrono::milliseconds timeout, bool force) override;
    Result<> freeze() override;
    Result<> unfreeze() override;
    Result<> clean_up() override;
    Result<> destroy() override;
    Result<> snapshot_into(const std::string& snapshot_dir) override;
    Result<> restore_from(const std::string& snapshot_dir, bool consume = false) override;
    Result<ExecResult> exec(const std::vector<std::string>& argv, const std::string& stdin_data,
                            const Cancellation& cancel) override;
    Result<uint64_t> push_file(const PushedFile& file) override;
    Result<PulledFile> pull_file(const std::string& path) override;
    Result<> can_serve(std::string_view action) const override;
    Result<> exec_stream(const ExecSpec& spec, int connection) override;
    Result<> push_stream(const PushTarget& target, int connection) override;
    Result<> pull_stream(const std::string& path, int connection) override;
    Result<> update_limits(const ResourceLimits& limits) override;
    bool frozen() const override;
    std::optional<Json> guest_state() const override;

    // The VMM process's cgroup (limits.cpu as a CPU quota), beside the containers'.
    std::string cgroup_path() const;

  private:
    Result<> signal_vmm(int signal_number) const;
    // Whether the instance's guest runs vessel-agent (decided by its image at create).
    bool has_agent() const;
    // Until the agent answers, the wait ends, or the VM ends during its boot (the error then says
    // how, with the last line of its console: a VMM's own reason for refusing to start).
    Result<> wait_for_agent(const ProcessIdentity& monitor,
                            std::chrono::milliseconds timeout) const;
    std::string last_console_line() const;
    std::string vsock_socket() const { return directory() + "/vsock.sock"; }
    // The agent of the running VM, or why there is none to do `action`.
    Result<agent::AgentClient> running_agent(std::string_view action) const;
};

// The vessel-vmm command line for an instance whose files are in instance_dir (exposed for tests).
// With a `jail_id`, the VMM confines itself and runs as that uid and gid (vm_jail_ids.h).
Result<std::vector<std::string>> vmm_command(const std::string& vmm_binary,
                                             const ImageRecord& image, const InstanceConfig& config,
                                             const std::string& console_path,  // empty: stdio
                                             const std::string& instance_dir,
                                             const std::optional<NetAttachment>& network,
                                             std::optional<uint32_t> jail_id = std::nullopt);

// Grows the root disk file at `path` of VM `name` to `bytes` (limits.disk), keeping it sparse;
// nothing when it has that size already, an error when that would shrink it.
Result<> grow_root_disk(const std::string& path, std::string_view name, uint64_t bytes);

// What a vessel-vmm exit status means.
// vessel-vmm's exit code when the guest asked to reboot (the VMM ends; a fresh one is the reset).
inline constexpr int vmm_exit_guest_reboot = 2;

std::string describe_vmm_exit(const ExitStatus& status);

}  // namespace vessel::manager
