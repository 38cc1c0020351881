// What a cgroup can limit, as the OCI runtime spec's linux.resources names it: the model both
// engines' cgroups are written from (a container's config, a VMM's limits). Parsing and
// validation are the container spec's (container/spec); this is only the data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vessel::host::cgroup {

struct DeviceRule {
    bool allow = false;
    char type = 'a';               // a, c, b
    std::optional<int64_t> major;  // absent: any
    std::optional<int64_t> minor;
    std::string access = "rwm";
};

struct MemoryResources {
    std::optional<int64_t> limit;        // -1: unlimited
    std::optional<int64_t> reservation;  // soft limit
    std::optional<int64_t> swap;         // memory + swap, as in cgroup v1
    std::optional<uint64_t> swappiness;
    bool disable_oom_killer = false;
    std::optional<int64_t> kernel_tcp;  // v1 memory.kmem.tcp.limit_in_bytes; -1: unlimited
    // update: refuse a limit below what the container uses now (rather than reclaim or OOM).
    bool check_before_update = false;
};

struct CpuResources {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota;
    std::optional<uint64_t> period;
    std::string cpus;
    std::string mems;
    std::optional<int64_t> realtime_runtime;  // microseconds per realtime period; -1: no limit
    std::optional<uint64_t> realtime_period;
    std::optional<int64_t> idle;    // 1: the group runs only when nothing else wants the CPU
    std::optional<uint64_t> burst;  // microseconds of unused quota that may be spent later

    bool touches_scheduler() const {
        return shares || quota || period || realtime_runtime || realtime_period || idle || burst;
    }
};

// linux.resources.blockIO, per block device (major:minor).
struct DeviceThrottle {
    int64_t major = 0;
    int64_t minor = 0;
    uint64_t rate = 0;  // bytes or operations per second
};
struct DeviceWeight {
    int64_t major = 0;
    int64_t minor = 0;
    uint16_t weight = 0;
};
struct BlockIoThrottles {
    std::vector<DeviceThrottle> read_bps, write_bps, read_iops, write_iops;
    bool empty() const {
        return read_bps.empty() && write_bps.empty() && read_iops.empty() && write_iops.empty();
    }
};

// linux.resources.hugepageLimits: a limit per huge page size ("2MB", "1GB").
struct HugepageLimit {
    std::string page_size;
    uint64_t limit = 0;
};
// linux.resources.rdma: per RDMA device, the most HCA handles and objects (unset: unlimited).
struct RdmaLimit {
    std::string device;
    std::optional<uint32_t> hca_handles;
    std::optional<uint32_t> hca_objects;
};
// linux.resources.network (cgroup v1's net_cls and net_prio).
struct NetworkResources {
    std::optional<uint32_t> class_id;
    std::vector<std::pair<std::string, uint32_t>> priorities;  // interface, priority
};

struct Resources {
    MemoryResources memory;
    CpuResources cpu;
    std::optional<int64_t> pids_limit;
    std::optional<uint16_t> blkio_weight;
    std::vector<DeviceWeight> blkio_weight_devices;
    BlockIoThrottles blkio_throttles;
    // leafWeight (top-level or per device) was given: CFQ's, which kernels since 5.0 lack.
    bool blkio_leaf_weight = false;
    std::vector<HugepageLimit> hugepage_limits;
    std::vector<RdmaLimit> rdma_limits;
    NetworkResources network;
    std::vector<DeviceRule> devices;
    std::map<std::string, std::string> unified;  // cgroup v2 files, written as given

    bool empty() const;
};

}  // namespace vessel::host::cgroup
