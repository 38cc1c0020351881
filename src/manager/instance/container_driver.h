// Containers: every instance is an OCI bundle (config.json + an overlayfs root over the image) run
// by vessel-runc (src/container's command line; any runc-compatible runtime works) under the
// instance's monitor. Lifecycle operations after start go through the runtime's CLI too (kill,
// pause/resume, exec, update): a separate process because the runtime changes process-wide state
// (signal masks, the child subreaper, credentials of forked children) that a multi-threaded
// daemon must not, and because a runtime failure then cannot take vesseld down.
#pragma once

#include "manager/instance/instance.h"

namespace vessel::manager {

class ContainerInstance final : public Instance {
  public:
    ContainerInstance(DriverContext context, InstanceRecord record)
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
    Result<> exec_stream(const ExecSpec& spec, int connection) override;
    Result<> push_stream(const PushTarget& target, int connection) override;
    Result<> pull_stream(const std::string& path, int connection) override;
    Result<> update_limits(const ResourceLimits& limits) override;
    bool frozen() const override;

    std::string cgroup_path() const;

  private:
    // The container's root directory as its init sees it.
    Result<UniqueFd> container_root() const;
    Result<CapturedOutput> runtime(std::vector<std::string> args) const;
    Result<> runtime_ok(std::vector<std::string> args, std::string_view what) const;
};

// What a container's processes may do: its init's and every exec's capabilities.
Json container_capabilities();

// The OCI config.json of a container instance (exposed for tests).
Json container_oci_config(const std::string& name, const std::vector<std::string>& command,
                          const std::string& cgroups_path, const ResourceLimits& limits);

}  // namespace vessel::manager
