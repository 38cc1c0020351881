#include "manager/instance/instance.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/file.h"
#include "host/cgroup/cgroup.h"
#include "manager/instance/container_driver.h"
#include "manager/instance/vm_driver.h"

namespace vessel::manager {

std::vector<std::string> exec_environment(const ExecSpec& spec) {
    std::vector<std::string> env = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"};
    if (spec.tty) env.push_back("TERM=xterm");
    for (const auto& pair : spec.env) {
        auto key = pair.substr(0, pair.find('=') + 1);
        std::erase_if(env, [&](const std::string& kept) { return kept.starts_with(key); });
        env.push_back(pair);
    }
    return env;
}

InstanceStatus Instance::status() const {
    InstanceStatus status;
    ProcessIdentity monitor{.pid = record_.pid, .start_time = record_.pid_start_time};
    if (process_matches(monitor)) {
        status.state =
            record_.state == InstanceState::frozen ? InstanceState::frozen : InstanceState::running;
        status.monitor = monitor;
        return status;
    }
    status.state = InstanceState::stopped;
    if (auto exit = read_exit_status(directory()); exit && *exit) status.exit = **exit;
    return status;
}

Result<std::unique_ptr<Instance>> make_instance(const DriverContext& context,
                                                const InstanceRecord& record) {
    switch (record.kind) {
        case InstanceKind::container:
            return std::unique_ptr<Instance>(new ContainerInstance(context, record));
        case InstanceKind::vm:
            return std::unique_ptr<Instance>(new VmInstance(context, record));
    }
    return fail("instance {}: unknown kind {}", record.name, std::to_underlying(record.kind));
}

namespace {

int remove_entry(const char* path, const struct stat*, int type, struct FTW*) {
    int rc = (type == FTW_DP) ? ::rmdir(path) : ::unlink(path);
    return rc == 0 || errno == ENOENT ? 0 : errno;
}

}  // namespace

Result<> remove_instance_tree(const std::string& path) {
    if (!path_exists(path)) return {};
    // FTW_PHYS: symlinks are removed, never followed. FTW_MOUNT: a mount point is not entered, so
    // its rmdir fails with EBUSY instead of the walk deleting an image's files.
    int rc = ::nftw(path.c_str(), remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    if (rc != 0) return fail_errno(rc > 0 ? rc : errno, fmt::format("remove {}", path));
    return {};
}

void remove_leftover_cgroup(const std::string& path) {
    auto layout = host::cgroup::detect_layout();
    if (!layout) return;
    auto cgroup = host::cgroup::make_cgroup(*layout, path);
    std::vector<std::string> present;
    for (const auto& directory : cgroup->directories())
        if (path_exists(directory)) present.push_back(directory);
    if (present.empty()) return;
    // One with processes is someone's: it stays.
    if (auto processes = cgroup->processes(); !processes || !processes->empty()) return;
    cgroup->restore_created(std::move(present));
    (void)cgroup->destroy();
}

}  // namespace vessel::manager
