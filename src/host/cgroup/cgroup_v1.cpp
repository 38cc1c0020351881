// cgroup v1: one directory per controller hierarchy (cpu,cpuacct / cpuset / memory / pids / ...).
#include <unistd.h>

#include <charconv>

#include "base/file.h"
#include "host/cgroup/drivers.h"

namespace vessel::host::cgroup {

namespace {

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

// memory.limit_in_bytes now (the kernel's "unlimited" is a huge number, above any swap limit).
int64_t current_limit(const std::string& dir) {
    auto text = read_file(dir + "/memory.limit_in_bytes");
    if (!text) return 0;
    int64_t value = 0;
    std::from_chars(text->data(), text->data() + text->size(), value);
    return value;
}

std::string limit_text(int64_t value) {
    return std::to_string(value);
}

// A new cpuset cgroup starts with empty cpus and mems, and nothing can join it until they are
// filled in: copy them from the parent, as the kernel would with cgroup.clone_children.
Result<> inherit_cpuset(const std::string& directory) {
    std::string parent = directory.substr(0, directory.rfind('/'));
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        std::string value = trimmed(TRY(read_file(parent + "/" + file)));
        if (!value.empty()) TRY(write_cgroup_file(directory, file, value));
    }
    return {};
}

class V1Cgroup final : public CgroupDirectories {
  public:
    V1Cgroup(const HostLayout& layout, std::string path) : layout_(layout), path_(std::move(path)) {
        for (const auto& hierarchy : layout_.v1)
            leaves_.push_back(hierarchy.mount_point + path_);
        if (!layout_.unified.empty()) leaves_.push_back(layout_.unified + path_);
    }

    Result<> create() override {
        for (const auto& hierarchy : layout_.v1) {
            std::function<Result<>(const std::string&)> prepare;
            if (hierarchy.has("cpuset")) prepare = inherit_cpuset;
            auto made = make_cgroup_directories(hierarchy.mount_point, path_, prepare);
            if (!made) {
                (void)destroy();
                return std::unexpected(made.error().context("create the container's cgroup"));
            }
            created_.insert(created_.end(), made->begin(), made->end());
        }
        if (!layout_.unified.empty()) {
            auto made = make_cgroup_directories(layout_.unified, path_, {});
            if (!made) {
                (void)destroy();
                return std::unexpected(made.error().context("create the container's cgroup"));
            }
            created_.insert(created_.end(), made->begin(), made->end());
        }
        return {};
    }

    Result<UniqueFd> open_clone_into_directory() const override {
        if (layout_.unified.empty()) return UniqueFd();
        return open_directory(layout_.unified + path_);
    }

    std::vector<std::string> self_join_files() const override {
        std::vector<std::string> files;
        for (const auto& hierarchy : layout_.v1)
            files.push_back(hierarchy.mount_point + path_ + "/tasks");
        return files;
    }

    Result<> apply(const Resources& r, const Logger& log) override {
        const auto& m = r.memory;
        if (m.limit || m.reservation || m.swap || m.swappiness || m.disable_oom_killer ||
            m.kernel_tcp) {
            std::string dir = TRY(leaf_for("memory", "linux.resources.memory"));
            if (m.swap && !path_exists(dir + "/memory.memsw.limit_in_bytes"))
                return fail(
                    "linux.resources.memory.swap: the host has no swap accounting "
                    "(memory.memsw.limit_in_bytes is missing)");
            // The kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every
            // write: raising both (an update) must raise memsw first, lowering both the limit.
            bool swap_first = m.limit && m.swap && (*m.swap < 0 || current_limit(dir) < *m.swap);
            if (swap_first)
                TRY_CTX(write_cgroup_file(dir, "memory.memsw.limit_in_bytes", limit_text(*m.swap)),
                        "linux.resources.memory.swap");
            if (m.limit)
                TRY_CTX(write_cgroup_file(dir, "memory.limit_in_bytes", limit_text(*m.limit)),
                        "linux.resources.memory.limit");
            if (m.swap && !swap_first)
                TRY_CTX(write_cgroup_file(dir, "memory.memsw.limit_in_bytes", limit_text(*m.swap)),
                        "linux.resources.memory.swap");
            if (m.reservation)
                TRY_CTX(write_cgroup_file(dir, "memory.soft_limit_in_bytes",
                                          limit_text(*m.reservation)),
                        "linux.resources.memory.reservation");
            if (m.swappiness)
                TRY_CTX(write_cgroup_file(dir, "memory.swappiness", std::to_string(*m.swappiness)),
                        "linux.resources.memory.swappiness");
            if (m.disable_oom_killer)
                TRY_CTX(write_cgroup_file(dir, "memory.oom_control", "1"),
                        "linux.resources.memory.disableOOMKiller");
            if (m.kernel_tcp) {
                if (!path_exists(dir + "/memory.kmem.tcp.limit_in_bytes"))
                    return fail(
                        "linux.resources.memory.kernelTCP: the host's kernel has no TCP memory "
                        "limit (memory.kmem.tcp.limit_in_bytes is missing)");
                TRY_CTX(write_cgroup_file(dir, "memory.kmem.tcp.limit_in_bytes",
                                          limit_text(*m.kernel_tcp)),
                        "linux.resources.memory.kernelTCP");
            }
        }
        const auto& c = r.cpu;
        if (c.touches_scheduler()) {
            std::string dir = TRY(leaf_for("cpu", "linux.resources.cpu"));
            if (c.shares)
                TRY_CTX(write_cgroup_file(dir, "cpu.shares", std::to_string(*c.shares)),
                        "linux.resources.cpu.shares");
            // The period first: the kernel checks quota against the current period.
            if (c.period)
                TRY_CTX(write_cgroup_file(dir, "cpu.cfs_period_us", std::to_string(*c.period)),
                        "linux.resources.cpu.period");
            if (c.quota)
                TRY_CTX(write_cgroup_file(dir, "cpu.cfs_quota_us", std::to_string(*c.quota)),
                        "linux.resources.cpu.quota");
            if (c.burst)
                TRY_CTX(write_cgroup_file(dir, "cpu.cfs_burst_us", std::to_string(*c.burst)),
                        "linux.resources.cpu.burst");
            // The period first here too: the runtime must fit the current period.
            if (c.realtime_period)
                TRY_CTX(
                    write_cgroup_file(dir, "cpu.rt_period_us", std::to_string(*c.realtime_period)),
                    "linux.resources.cpu.realtimePeriod");
            if (c.realtime_runtime)
                TRY_CTX(write_cgroup_file(dir, "cpu.rt_runtime_us",
                                          std::to_string(*c.realtime_runtime)),
                        "linux.resources.cpu.realtimeRuntime");
            if (c.idle)
                TRY_CTX(write_cgroup_file(dir, "cpu.idle", std::to_string(*c.idle)),
                        "linux.resources.cpu.idle");
        }
        if (!c.cpus.empty() || !c.mems.empty()) {
            std::string dir = TRY(leaf_for("cpuset", "linux.resources.cpu"));
            if (!c.cpus.empty())
                TRY_CTX(write_cgroup_file(dir, "cpuset.cpus", c.cpus), "linux.resources.cpu.cpus");
            if (!c.mems.empty())
                TRY_CTX(write_cgroup_file(dir, "cpuset.mems", c.mems), "linux.resources.cpu.mems");
        }
        if (r.pids_limit) {
            std::string dir = TRY(leaf_for("pids", "linux.resources.pids"));
            TRY_CTX(write_cgroup_file(dir, "pids.max",
                                      *r.pids_limit < 0 ? "max" : std::to_string(*r.pids_limit)),
                    "linux.resources.pids.limit");
        }
        if (r.blkio_weight) {
            auto dir = leaf_for("blkio", "linux.resources.blockIO");
            if (dir && path_exists(*dir + "/blkio.weight"))
                TRY_CTX(write_cgroup_file(*dir, "blkio.weight", std::to_string(*r.blkio_weight)),
                        "linux.resources.blockIO.weight");
            else
                log.warning(
                    "linux.resources.blockIO.weight: the host has no blkio.weight (no BFQ "
                    "scheduler); not applied");
        }
        TRY(apply_block_io_devices(r, log));
        if (!r.hugepage_limits.empty()) {
            // Limits: without the controller the config fails rather than run unlimited.
            std::string dir = TRY(leaf_for("hugetlb", "linux.resources.hugepageLimits"));
            for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
                const HugepageLimit& limit = r.hugepage_limits[i];
                std::string file = "hugetlb." + limit.page_size + ".limit_in_bytes";
                if (!path_exists(dir + "/" + file))
                    return fail(
                        "linux.resources.hugepageLimits[{}].pageSize: the host has no {} "
                        "huge pages ({} is missing)",
                        i, limit.page_size, file);
                TRY_CTX(write_cgroup_file(dir, file.c_str(), std::to_string(limit.limit)),
                        "linux.resources.hugepageLimits[{}]", i);
            }
        }
        if (!r.rdma_limits.empty()) {
            // Limits: without the controller the config fails rather than run unlimited.
            std::string dir = TRY(leaf_for("rdma", "linux.resources.rdma"));
            for (const RdmaLimit& limit : r.rdma_limits)
                TRY_CTX(write_cgroup_file(dir, "rdma.max", rdma_max_line(limit)),
                        "linux.resources.rdma.{}", limit.device);
        }
        TRY(apply_network(r.network, log));
        if (!r.unified.empty())
            return fail("linux.resources.unified: needs a cgroup v2 host (this one is {})",
                        layout_name(layout_.kind));
        if (!r.devices.empty()) TRY(apply_device_rules(r.devices, log));
        return {};
    }

  private:
    Result<std::string> leaf_for(std::string_view controller, std::string_view json_path) const {
        const V1Hierarchy* hierarchy = layout_.find_v1(controller);
        if (!hierarchy)
            return fail("{}: the host has no {} cgroup controller", json_path, controller);
        return hierarchy->mount_point + path_;
    }

    // Throttles are limits: without the blkio controller the config fails. Per-device weights
    // need a proportional scheduler (BFQ): without its file they are not applied (a warning).
    Result<> apply_block_io_devices(const Resources& r, const Logger& log) {
        if (r.blkio_leaf_weight)
            log.debug("linux.resources.blockIO: leafWeight ignored (CFQ's, gone from the kernel)");
        if (r.blkio_throttles.empty() && r.blkio_weight_devices.empty()) return {};
        std::string dir = TRY(leaf_for("blkio", "linux.resources.blockIO"));
        for (const ThrottleList& list : throttle_lists(r.blkio_throttles))
            for (size_t i = 0; i < list.devices.size(); ++i) {
                const DeviceThrottle& device = list.devices[i];
                TRY_CTX(write_cgroup_file(
                            dir, list.v1_file,
                            fmt::format("{}:{} {}", device.major, device.minor, device.rate)),
                        "linux.resources.blockIO.{}[{}]", list.json_key, i);
            }
        return write_weight_devices(dir, {"blkio.bfq.weight_device", "blkio.weight_device"},
                                    r.blkio_weight_devices, log);
    }

    // Classes tag the container's packets for tc and the firewall; they limit nothing, so a host
    // without the controller runs the container untagged (a warning).
    Result<> apply_network(const NetworkResources& network, const Logger& log) {
        if (network.class_id) {
            if (auto dir = leaf_for("net_cls", "linux.resources.network.classID"))
                TRY_CTX(
                    write_cgroup_file(*dir, "net_cls.classid", std::to_string(*network.class_id)),
                    "linux.resources.network.classID");
            else
                log.warning(
                    "linux.resources.network.classID: no net_cls cgroup on this host; "
                    "not applied");
        }
        if (network.priorities.empty()) return {};
        auto dir = leaf_for("net_prio", "linux.resources.network.priorities");
        if (!dir) {
            log.warning(
                "linux.resources.network.priorities: no net_prio cgroup on this host; not applied");
            return {};
        }
        for (size_t i = 0; i < network.priorities.size(); ++i)
            TRY_CTX(write_cgroup_file(*dir, "net_prio.ifpriomap",
                                      fmt::format("{} {}", network.priorities[i].first,
                                                  network.priorities[i].second)),
                    "linux.resources.network.priorities[{}]", i);
        return {};
    }

    Result<> apply_device_rules(const std::vector<DeviceRule>& rules, const Logger& log) {
        auto dir = leaf_for("devices", "linux.resources.devices");
        if (!dir) {
            log.warning("linux.resources.devices: no devices cgroup on this host; not enforced");
            return {};
        }
        auto number = [](const std::optional<int64_t>& n) {
            return n ? std::to_string(*n) : std::string("*");
        };
        for (size_t i = 0; i < rules.size(); ++i) {
            const auto& rule = rules[i];
            std::string line = rule.type == 'a' && !rule.major && !rule.minor
                                   ? std::string("a")
                                   : fmt::format("{} {}:{} {}", rule.type, number(rule.major),
                                                 number(rule.minor), rule.access);
            TRY_CTX(write_cgroup_file(*dir, rule.allow ? "devices.allow" : "devices.deny", line),
                    "linux.resources.devices");
        }
        return {};
    }

    HostLayout layout_;
    std::string path_;
};

}  // namespace

std::unique_ptr<Cgroup> make_v1_cgroup(const HostLayout& layout, const std::string& path) {
    return std::make_unique<V1Cgroup>(layout, path);
}

}  // namespace vessel::host::cgroup
