// cgroup v2: one directory in the unified tree; controllers are enabled top-down through each
// ancestor's cgroup.subtree_control.
#include <unistd.h>

#include <algorithm>
#include <map>

#include "base/file.h"
#include "host/cgroup/device_filter.h"
#include "host/cgroup/drivers.h"

namespace vessel::host::cgroup {

namespace {

std::string max_or(int64_t value) {
    return value < 0 ? std::string("max") : std::to_string(value);
}

bool contains_word(const std::string& text, std::string_view word) {
    size_t position = 0;
    while ((position = text.find(word, position)) != std::string::npos) {
        bool starts = position == 0 || text[position - 1] == ' ';
        size_t end = position + word.size();
        bool ends = end == text.size() || text[end] == ' ' || text[end] == '\n';
        if (starts && ends) return true;
        position = end;
    }
    return false;
}

class V2Cgroup final : public CgroupDirectories {
  public:
    V2Cgroup(std::string mount, std::string path)
        : mount_(std::move(mount)), path_(std::move(path)) {
        leaves_.push_back(mount_ + path_);
    }

    Result<> create() override {
        auto made = make_cgroup_directories(mount_, path_, {});
        if (!made) return std::unexpected(made.error().context("create the container's cgroup"));
        created_ = std::move(*made);
        auto enabled = enable_controllers();
        if (!enabled) {
            (void)destroy();
            return std::unexpected(enabled.error());
        }
        return {};
    }

    Result<UniqueFd> open_clone_into_directory() const override {
        return open_directory(leaves_.front());
    }
    std::vector<std::string> self_join_files() const override { return {}; }

    Result<> apply(const Resources& r, const Logger& log) override {
        const std::string& dir = leaves_.front();
        const auto& m = r.memory;
        if (m.limit)
            TRY_CTX(write(dir, "memory.max", max_or(*m.limit), "memory"),
                    "linux.resources.memory.limit");
        if (m.reservation)
            TRY_CTX(write(dir, "memory.low", max_or(*m.reservation), "memory"),
                    "linux.resources.memory.reservation");
        if (m.swap) {
            // OCI's swap is memory + swap (the v1 meaning); v2 limits swap alone.
            std::string value;
            if (*m.swap < 0)
                value = "max";
            else if (!m.limit || *m.limit < 0)
                return fail("linux.resources.memory.swap: needs memory.limit on cgroup v2");
            else
                value = std::to_string(*m.swap - *m.limit);
            TRY_CTX(write(dir, "memory.swap.max", value, "memory"), "linux.resources.memory.swap");
        }
        if (m.swappiness)
            log.warning(
                "linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness; "
                "ignored");
        if (m.kernel_tcp)
            log.warning(
                "linux.resources.memory.kernelTCP: cgroup v2 charges TCP buffers to memory.max "
                "and has no limit of their own; ignored");
        if (m.disable_oom_killer)
            log.warning(
                "linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer; "
                "ignored");
        const auto& c = r.cpu;
        if (c.shares) {
            uint64_t weight = 1 + ((*c.shares - 2) * 9999) / 262142;
            TRY_CTX(write(dir, "cpu.weight", std::to_string(weight), "cpu"),
                    "linux.resources.cpu.shares");
        }
        if (c.quota || c.period) {
            std::string quota = c.quota ? max_or(*c.quota) : "max";
            std::string period = std::to_string(c.period.value_or(100000));
            TRY_CTX(write(dir, "cpu.max", quota + " " + period, "cpu"), "linux.resources.cpu.{}",
                    c.quota ? "quota" : "period");
        }
        if (c.burst)
            TRY_CTX(write(dir, "cpu.max.burst", std::to_string(*c.burst), "cpu"),
                    "linux.resources.cpu.burst");
        if (c.idle)
            TRY_CTX(write(dir, "cpu.idle", std::to_string(*c.idle), "cpu"),
                    "linux.resources.cpu.idle");
        // v2 has no realtime bandwidth per cgroup: realtime tasks would run unbounded.
        if ((c.realtime_runtime && *c.realtime_runtime != 0) || c.realtime_period)
            return fail(
                "linux.resources.cpu.{}: cgroup v2 has no realtime CPU limits (they need cgroup "
                "v1's cpu.rt_*)",
                c.realtime_runtime ? "realtimeRuntime" : "realtimePeriod");
        if (!c.cpus.empty())
            TRY_CTX(write(dir, "cpuset.cpus", c.cpus, "cpuset"), "linux.resources.cpu.cpus");
        if (!c.mems.empty())
            TRY_CTX(write(dir, "cpuset.mems", c.mems, "cpuset"), "linux.resources.cpu.mems");
        if (r.pids_limit)
            TRY_CTX(write(dir, "pids.max", max_or(*r.pids_limit), "pids"),
                    "linux.resources.pids.limit");
        if (r.blkio_weight) {
            if (path_exists(dir + "/io.bfq.weight"))
                TRY_CTX(write_cgroup_file(dir, "io.bfq.weight", std::to_string(*r.blkio_weight)),
                        "linux.resources.blockIO.weight");
            else if (path_exists(dir + "/io.weight"))
                TRY_CTX(
                    write_cgroup_file(dir, "io.weight", fmt::format("default {}", *r.blkio_weight)),
                    "linux.resources.blockIO.weight");
            else
                log.warning(
                    "linux.resources.blockIO.weight: the host has no io weight file; not applied");
        }
        TRY(apply_block_io_devices(dir, r, log));
        for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
            const HugepageLimit& limit = r.hugepage_limits[i];
            std::string file = "hugetlb." + limit.page_size + ".max";
            TRY_CTX(write(dir, file.c_str(), std::to_string(limit.limit), "hugetlb"),
                    "linux.resources.hugepageLimits[{}]", i);
        }
        for (const RdmaLimit& limit : r.rdma_limits)
            TRY_CTX(write(dir, "rdma.max", rdma_max_line(limit), "rdma"), "linux.resources.rdma.{}",
                    limit.device);
        if (r.network.class_id || !r.network.priorities.empty())
            log.warning(
                "linux.resources.network: cgroup v2 has no net_cls or net_prio (match the "
                "cgroup path in the firewall instead); not applied");
        // Without its program the container could open every device node it can make: no
        // program, no container.
        if (!r.devices.empty())
            TRY_CTX(
                set_device_filter(dir, r.devices),
                "linux.resources.devices: cgroup v2 enforces device rules with an eBPF program, "
                "and it could not be set (running without it would expose the host's devices)");
        for (const auto& [file, value] : r.unified)
            TRY_CTX(write_cgroup_file(dir, file.c_str(), value), "linux.resources.unified.{}",
                    file);
        return {};
    }

  private:
    // io.max takes one line per device with the limits given; a device's weight goes to
    // io.bfq.weight or io.weight, and without either is not applied (a warning).
    Result<> apply_block_io_devices(const std::string& dir, const Resources& r,
                                    const Logger& log) {
        if (r.blkio_leaf_weight)
            log.debug("linux.resources.blockIO: leafWeight ignored (cgroup v2 has none)");
        std::map<std::pair<int64_t, int64_t>, std::string> limits;
        for (const ThrottleList& list : throttle_lists(r.blkio_throttles))
            for (const DeviceThrottle& device : list.devices)
                limits[{device.major, device.minor}] +=
                    fmt::format(" {}={}", list.v2_key, device.rate);
        for (const auto& [device, keys] : limits)
            TRY_CTX(write(dir, "io.max", fmt::format("{}:{}{}", device.first, device.second, keys),
                          "io"),
                    "linux.resources.blockIO (device {}:{})", device.first, device.second);
        return write_weight_devices(dir, {"io.bfq.weight", "io.weight"}, r.blkio_weight_devices,
                                    log);
    }

    Result<> write(const std::string& dir, const char* file, const std::string& value,
                   std::string_view controller) {
        if (!path_exists(dir + "/" + file))
            return fail("the host's cgroup v2 tree has no {} controller here ({} is missing)",
                        controller, file);
        return write_cgroup_file(dir, file, value);
    }

    // Enables, in every ancestor, the controllers the leaf may use. Those the root does not offer
    // are simply absent; apply() then reports the missing file for the field that needs it.
    Result<> enable_controllers() {
        std::string available = TRY(read_file(mount_ + "/cgroup.controllers"));
        std::string request;
        for (std::string_view controller :
             {"cpu", "cpuset", "memory", "pids", "io", "hugetlb", "rdma"})
            if (contains_word(available, controller)) {
                if (!request.empty()) request += ' ';
                request += fmt::format("+{}", controller);
            }
        if (request.empty()) return {};
        std::string current = mount_;
        size_t position = 1;
        while (position < path_.size()) {
            std::string subtree = TRY(read_file(current + "/cgroup.subtree_control"));
            bool all_enabled = true;
            for (std::string_view controller :
                 {"cpu", "cpuset", "memory", "pids", "io", "hugetlb", "rdma"})
                if (contains_word(available, controller) && !contains_word(subtree, controller))
                    all_enabled = false;
            if (!all_enabled) TRY(write_cgroup_file(current, "cgroup.subtree_control", request));
            size_t end = path_.find('/', position);
            if (end == std::string::npos) break;
            current = mount_ + path_.substr(0, end);
            position = end + 1;
        }
        return {};
    }

    std::string mount_;
    std::string path_;
};

}  // namespace

std::unique_ptr<Cgroup> make_v2_cgroup(const std::string& unified_mount, const std::string& path) {
    return std::make_unique<V2Cgroup>(unified_mount, path);
}

}  // namespace vessel::host::cgroup
