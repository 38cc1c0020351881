// The cgroup of a rootless container whose user has no delegated cgroup: there is none. Creating
// and joining succeed without effect so that such a container still runs (as runc's rootless
// mode does); anything that needs the cgroup says why it cannot work.
#include "host/cgroup/drivers.h"

namespace vessel::host::cgroup {

namespace {

class NoCgroup final : public Cgroup {
  public:
    Result<> create() override { return {}; }
    Result<> apply(const Resources& resources, const Logger&) override {
        if (resources.empty()) return {};
        return fail("linux.resources: {}", kNoCgroupReason);
    }
    Result<> add_process(pid_t) override { return {}; }
    Result<UniqueFd> open_clone_into_directory() const override { return UniqueFd(); }
    std::vector<std::string> self_join_files() const override { return {}; }
    Result<std::vector<pid_t>> processes() const override {
        return fail("listing its processes: {}", kNoCgroupReason);
    }
    Result<> destroy() override { return {}; }
    std::vector<std::string> directories() const override { return {}; }
    std::vector<std::string> created_directories() const override { return {}; }
    void restore_created(std::vector<std::string>) override {}
    bool owns_directories() const override { return false; }
};

}  // namespace

std::unique_ptr<Cgroup> make_no_cgroup() {
    return std::make_unique<NoCgroup>();
}

}  // namespace vessel::host::cgroup
