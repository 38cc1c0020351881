// Internals shared by the cgroup drivers.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "host/cgroup/cgroup.h"

namespace vessel::host::cgroup {

// Keeps the directory bookkeeping that both drivers share.
class CgroupDirectories : public Cgroup {
  public:
    std::vector<std::string> directories() const override { return leaves_; }
    std::vector<std::string> created_directories() const override { return created_; }
    void restore_created(std::vector<std::string> created) override {
        created_ = std::move(created);
    }
    bool owns_directories() const override;
    Result<std::vector<pid_t>> processes() const override;
    Result<> add_process(pid_t pid) override;
    Result<> destroy() override;

  protected:
    // An O_RDONLY descriptor of a directory, as CLONE_INTO_CGROUP takes it.
    static Result<UniqueFd> open_directory(const std::string& directory);

  protected:
    std::vector<std::string> leaves_;
    std::vector<std::string> created_;
};

std::unique_ptr<Cgroup> make_no_cgroup();
std::unique_ptr<Cgroup> make_v1_cgroup(const HostLayout& layout, const std::string& path);
std::unique_ptr<Cgroup> make_v2_cgroup(const std::string& unified_mount, const std::string& path);

// mkdir -p of `path` under `mount_point`, calling on_created for each directory it makes (to
// initialise it before anything joins). Returns the directories made, outermost first; on error
// removes them again.
Result<std::vector<std::string>> make_cgroup_directories(
    const std::string& mount_point, const std::string& path,
    const std::function<Result<>(const std::string&)>& on_created);

Result<std::vector<pid_t>> read_pids(const std::string& directory);
Result<> remove_cgroup_directory(const std::string& directory);

// linux.resources.blockIO's four throttle lists with their JSON names and where each driver
// writes them: v1's blkio.throttle.* file, v2's io.max key.
struct ThrottleList {
    const char* json_key;
    const char* v1_file;
    const char* v2_key;
    const std::vector<DeviceThrottle>& devices;
};
std::vector<ThrottleList> throttle_lists(const BlockIoThrottles& throttles);
// "major:minor weight" per device into the first of `files` the cgroup has (BFQ's, then the
// generic one); with neither, a warning and nothing applied (a weight limits nothing).
Result<> write_weight_devices(const std::string& dir, std::initializer_list<const char*> files,
                              const std::vector<DeviceWeight>& devices, const Logger& log);

// "mlx5_0 hca_handle=2 hca_object=max": one device's line of rdma.max (the same on v1 and v2).
std::string rdma_max_line(const RdmaLimit& limit);

}  // namespace vessel::host::cgroup
