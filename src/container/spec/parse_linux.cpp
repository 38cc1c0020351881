// config.json: the linux section (namespaces, devices, resources, paths, sysctl) and the checks
// that relate sections to each other.
#include <sched.h>
#include <sys/personality.h>

#include <algorithm>
#include <array>
#include <set>

#include "container/spec/id_mapping.h"
#include "container/spec/mount_options.h"
#include "container/spec/parse_internal.h"

namespace vessel::container::spec {

namespace {

struct NamespaceName {
    NamespaceType type;
    const char* name;
    int flag;
};

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

constexpr std::array kNamespaces{
    NamespaceName{NamespaceType::pid, "pid", CLONE_NEWPID},
    NamespaceName{NamespaceType::network, "network", CLONE_NEWNET},
    NamespaceName{NamespaceType::mount, "mount", CLONE_NEWNS},
    NamespaceName{NamespaceType::ipc, "ipc", CLONE_NEWIPC},
    NamespaceName{NamespaceType::uts, "uts", CLONE_NEWUTS},
    NamespaceName{NamespaceType::user, "user", CLONE_NEWUSER},
    NamespaceName{NamespaceType::cgroup, "cgroup", CLONE_NEWCGROUP},
    NamespaceName{NamespaceType::time, "time", CLONE_NEWTIME},
};

Result<std::vector<Namespace>> parse_namespaces(const JsonAt& at) {
    std::vector<Namespace> namespaces;
    std::set<NamespaceType> seen;
    for (const auto& item : TRY(at.array())) {
        TRY(item.expect_object());
        auto type_at = TRY(item.child("type"));
        std::string name = TRY(type_at.string());
        auto known = std::find_if(kNamespaces.begin(), kNamespaces.end(),
                                  [&](const NamespaceName& n) { return name == n.name; });
        if (known == kNamespaces.end())
            return std::unexpected(
                type_at.error(fmt::format("unknown namespace type \"{}\"", name)));
        if (!seen.insert(known->type).second)
            return std::unexpected(
                type_at.error(fmt::format("namespace \"{}\" is listed twice", name)));
        Namespace ns{.type = known->type, .path = TRY(item.optional_string("path")).value_or("")};
        if (!ns.path.empty() && ns.path[0] != '/')
            return std::unexpected(TRY(item.child("path")).error("must be an absolute path"));
        // The other namespaces would have to be created inside the joined one, after it: not
        // built yet. A new user namespace (no path) is.
        if (known->type == NamespaceType::user && !ns.path.empty())
            return std::unexpected(TRY(item.child("path"))
                                       .error("joining an existing user namespace is not "
                                              "supported yet"));
        namespaces.push_back(std::move(ns));
    }
    return namespaces;
}

Result<std::vector<Device>> parse_devices(const JsonAt& at) {
    std::vector<Device> devices;
    for (const auto& item : TRY(at.array())) {
        TRY(item.expect_object());
        Device device;
        auto type_at = TRY(item.child("type"));
        std::string type = TRY(type_at.string());
        if (type != "c" && type != "b" && type != "u" && type != "p")
            return std::unexpected(
                type_at.error(fmt::format("unknown device type \"{}\" (c, b, u or p)", type)));
        device.type = type == "u" ? 'c' : type[0];
        auto path_at = TRY(item.child("path"));
        device.path = TRY(path_at.string());
        if (device.path.rfind("/dev/", 0) != 0 || relative_clean_path_has_dotdot(device.path))
            return std::unexpected(path_at.error("must be a path under /dev/ without \"..\""));
        if (device.type != 'p') {
            device.major = TRY(TRY(item.child("major")).integer());
            device.minor = TRY(TRY(item.child("minor")).integer());
            if (device.major < 0 || device.minor < 0)
                return std::unexpected(item.error("major and minor must not be negative"));
        }
        if (auto mode = item.optional_child("fileMode")) {
            uint64_t value = TRY(mode->unsigned_integer());
            if (value > 07777) return std::unexpected(mode->error("must be at most 07777"));
            device.file_mode = static_cast<mode_t>(value);
        }
        if (auto uid = TRY(item.optional_unsigned("uid"))) device.uid = static_cast<uint32_t>(*uid);
        if (auto gid = TRY(item.optional_unsigned("gid"))) device.gid = static_cast<uint32_t>(*gid);
        devices.push_back(std::move(device));
    }
    return devices;
}

Result<std::vector<DeviceRule>> parse_device_rules(const JsonAt& at) {
    std::vector<DeviceRule> rules;
    for (const auto& item : TRY(at.array())) {
        TRY(item.expect_object());
        DeviceRule rule;
        rule.allow = TRY(TRY(item.child("allow")).boolean());
        if (auto type_at = item.optional_child("type")) {
            std::string type = TRY(type_at->string());
            if (type != "a" && type != "c" && type != "b")
                return std::unexpected(
                    type_at->error(fmt::format("unknown device type \"{}\" (a, c or b)", type)));
            rule.type = type[0];
        }
        rule.major = TRY(item.optional_integer("major"));
        rule.minor = TRY(item.optional_integer("minor"));
        if (auto access_at = item.optional_child("access")) {
            rule.access = TRY(access_at->string());
            if (rule.access.empty() || rule.access.find_first_not_of("rwm") != std::string::npos)
                return std::unexpected(access_at->error("must be a combination of r, w and m"));
        }
        rules.push_back(rule);
    }
    return rules;
}

Result<> reject_if_present(const JsonAt& at, std::initializer_list<const char*> keys) {
    for (const char* key : keys) {
        auto item = at.optional_child(key);
        if (!item) continue;
        if ((item->value().is_array() || item->value().is_object()) && item->value().empty())
            continue;
        return std::unexpected(item->error("is not supported yet"));
    }
    return {};
}

Result<Resources> parse_resources(const JsonAt& at) {
    TRY(at.expect_object());
    Resources resources;
    if (auto memory = at.optional_child("memory")) {
        TRY(memory->expect_object());
        auto& m = resources.memory;
        m.limit = TRY(memory->optional_integer("limit"));
        m.reservation = TRY(memory->optional_integer("reservation"));
        m.swap = TRY(memory->optional_integer("swap"));
        m.swappiness = TRY(memory->optional_unsigned("swappiness"));
        m.disable_oom_killer = TRY(memory->optional_boolean("disableOOMKiller")).value_or(false);
        m.kernel_tcp = TRY(memory->optional_integer("kernelTCP"));
        for (auto [value, key] :
             {std::pair{m.limit, "limit"}, std::pair{m.reservation, "reservation"},
              std::pair{m.swap, "swap"}, std::pair{m.kernel_tcp, "kernelTCP"}})
            if (value && (*value < -1 || (*value > 0 && *value < 4096)))
                return std::unexpected(
                    TRY(memory->child(key)).error("must be -1 (unlimited) or at least 4096 bytes"));
        if (m.limit && m.swap && *m.limit > 0 && *m.swap > 0 && *m.swap < *m.limit)
            return std::unexpected(
                TRY(memory->child("swap"))
                    .error("must not be below memory.limit (it counts memory + swap)"));
        if (m.swappiness && *m.swappiness > 100)
            return std::unexpected(TRY(memory->child("swappiness")).error("must be at most 100"));
        // "kernel" (the kmem limit) is a deprecated no-op in runtime-spec 1.2 and gone from
        // current kernels; "kernelTCP" is applied on cgroup v1, which still has it.
        m.check_before_update = TRY(memory->optional_boolean("checkBeforeUpdate")).value_or(false);
    }
    if (auto cpu = at.optional_child("cpu")) {
        TRY(cpu->expect_object());
        auto& c = resources.cpu;
        c.shares = TRY(cpu->optional_unsigned("shares"));
        c.quota = TRY(cpu->optional_integer("quota"));
        c.period = TRY(cpu->optional_unsigned("period"));
        c.cpus = TRY(cpu->optional_string("cpus")).value_or("");
        c.mems = TRY(cpu->optional_string("mems")).value_or("");
        if (c.shares && (*c.shares < 2 || *c.shares > 262144))
            return std::unexpected(TRY(cpu->child("shares")).error("must be between 2 and 262144"));
        if (c.quota && *c.quota != -1 && *c.quota < 1000)
            return std::unexpected(
                TRY(cpu->child("quota")).error("must be -1 or at least 1000 microseconds"));
        if (c.period && (*c.period < 1000 || *c.period > 1000000))
            return std::unexpected(
                TRY(cpu->child("period")).error("must be between 1000 and 1000000 microseconds"));
        for (auto [value, key] : {std::pair{&c.cpus, "cpus"}, std::pair{&c.mems, "mems"}})
            if (value->find_first_not_of("0123456789,-") != std::string::npos)
                return std::unexpected(TRY(cpu->child(key)).error("must be a list like \"0-2,4\""));
        c.realtime_runtime = TRY(cpu->optional_integer("realtimeRuntime"));
        c.realtime_period = TRY(cpu->optional_unsigned("realtimePeriod"));
        c.idle = TRY(cpu->optional_integer("idle"));
        c.burst = TRY(cpu->optional_unsigned("burst"));
        if (c.realtime_runtime && *c.realtime_runtime < -1)
            return std::unexpected(
                TRY(cpu->child("realtimeRuntime")).error("must be -1 (unlimited) or at least 0"));
        if (c.realtime_period && (*c.realtime_period < 1 || *c.realtime_period > 1000000))
            return std::unexpected(TRY(cpu->child("realtimePeriod"))
                                       .error("must be between 1 and 1000000 microseconds"));
        if (c.idle && *c.idle != 0 && *c.idle != 1)
            return std::unexpected(TRY(cpu->child("idle")).error("must be 0 or 1"));
    }
    if (auto pids = at.optional_child("pids")) {
        TRY(pids->expect_object());
        auto limit = TRY(pids->child("limit"));
        resources.pids_limit = TRY(limit.integer());
        if (*resources.pids_limit < -1 || *resources.pids_limit == 0)
            return std::unexpected(limit.error("must be -1 (unlimited) or positive"));
    }
    if (auto block = at.optional_child("blockIO")) {
        TRY(block->expect_object());
        if (auto weight = TRY(block->optional_unsigned("weight"))) {
            if (*weight != 0 && (*weight < 10 || *weight > 1000))
                return std::unexpected(
                    TRY(block->child("weight")).error("must be between 10 and 1000"));
            if (*weight != 0) resources.blkio_weight = static_cast<uint16_t>(*weight);
        }
        resources.blkio_leaf_weight = block->has("leafWeight");
        // major and minor of one entry of a per-device list.
        auto device_of = [](const JsonAt& entry) -> Result<std::pair<int64_t, int64_t>> {
            TRY(entry.expect_object());
            int64_t major = TRY(TRY(entry.child("major")).integer());
            int64_t minor = TRY(TRY(entry.child("minor")).integer());
            if (major < 0 || minor < 0)
                return std::unexpected(entry.error("major and minor must not be negative"));
            return std::pair{major, minor};
        };
        if (auto devices = block->optional_child("weightDevice")) {
            for (const JsonAt& entry : TRY(devices->array())) {
                auto [major, minor] = TRY(device_of(entry));
                if (entry.has("leafWeight")) resources.blkio_leaf_weight = true;
                auto weight = TRY(entry.optional_unsigned("weight"));
                if (!weight) continue;  // a leafWeight alone
                if (*weight < 10 || *weight > 1000)
                    return std::unexpected(
                        TRY(entry.child("weight")).error("must be between 10 and 1000"));
                resources.blkio_weight_devices.push_back(
                    {major, minor, static_cast<uint16_t>(*weight)});
            }
        }
        auto& throttles = resources.blkio_throttles;
        for (auto [key, list] : {std::pair{"throttleReadBpsDevice", &throttles.read_bps},
                                 std::pair{"throttleWriteBpsDevice", &throttles.write_bps},
                                 std::pair{"throttleReadIOPSDevice", &throttles.read_iops},
                                 std::pair{"throttleWriteIOPSDevice", &throttles.write_iops}}) {
            auto devices = block->optional_child(key);
            if (!devices) continue;
            for (const JsonAt& entry : TRY(devices->array())) {
                auto [major, minor] = TRY(device_of(entry));
                uint64_t rate = TRY(TRY(entry.child("rate")).unsigned_integer());
                list->push_back({major, minor, rate});
            }
        }
    }
    if (auto devices = at.optional_child("devices"))
        resources.devices = TRY(parse_device_rules(*devices));
    if (auto unified = at.optional_child("unified")) {
        TRY(unified->expect_object());
        for (const auto& [key, value] : unified->value().items()) {
            JsonAt entry(value, json_path(unified->path(), key));
            if (key.empty() || key.find('/') != std::string::npos || key[0] == '.')
                return std::unexpected(entry.error("must name a file of the cgroup"));
            resources.unified[key] = TRY(entry.string());
        }
    }
    if (auto limits = at.optional_child("hugepageLimits")) {
        for (const JsonAt& entry : TRY(limits->array())) {
            TRY(entry.expect_object());
            JsonAt size_at = TRY(entry.child("pageSize"));
            std::string size = TRY(size_at.string());
            // The kernel's names: a number and KB, MB or GB ("2MB", "1GB", "64KB").
            size_t digits = 0;
            while (digits < size.size() && size[digits] >= '0' && size[digits] <= '9')
                ++digits;
            const std::string unit = size.substr(digits);
            if (digits == 0 || (unit != "KB" && unit != "MB" && unit != "GB"))
                return std::unexpected(size_at.error("must be a size like \"2MB\" or \"1GB\""));
            resources.hugepage_limits.push_back(
                {size, TRY(TRY(entry.child("limit")).unsigned_integer())});
        }
    }
    if (auto network = at.optional_child("network")) {
        TRY(network->expect_object());
        resources.network.class_id = TRY(network->optional_integer_in<uint32_t>("classID"));
        if (auto priorities = network->optional_child("priorities"))
            for (const JsonAt& entry : TRY(priorities->array())) {
                TRY(entry.expect_object());
                JsonAt name_at = TRY(entry.child("name"));
                std::string name = TRY(name_at.string());
                if (name.empty() || name.find_first_of(" \n/") != std::string::npos)
                    return std::unexpected(name_at.error("must be an interface name"));
                resources.network.priorities.emplace_back(
                    name, TRY(TRY(entry.child("priority")).integer_in<uint32_t>()));
            }
    }
    if (auto rdma = at.optional_child("rdma")) {
        TRY(rdma->expect_object());
        for (const auto& [device, value] : rdma->value().items()) {
            JsonAt entry(value, json_path(rdma->path(), device));
            if (device.empty() || device.find_first_of(" \n=") != std::string::npos)
                return std::unexpected(entry.error("must be named after an RDMA device"));
            TRY(entry.expect_object());
            resources.rdma_limits.push_back(
                {device, TRY(entry.optional_integer_in<uint32_t>("hcaHandles")),
                 TRY(entry.optional_integer_in<uint32_t>("hcaObjects"))});
        }
    }
    return resources;
}

Result<std::map<std::string, std::string>> parse_string_map(const JsonAt& at) {
    TRY(at.expect_object());
    std::map<std::string, std::string> map;
    for (const auto& [key, value] : at.value().items())
        map[key] = TRY(JsonAt(value, json_path(at.path(), key)).string());
    return map;
}

Result<std::vector<std::string>> parse_absolute_paths(const JsonAt& at) {
    std::vector<std::string> paths = TRY(at.string_array());
    for (size_t i = 0; i < paths.size(); ++i)
        if (paths[i].empty() || paths[i][0] != '/' || relative_clean_path_has_dotdot(paths[i]))
            return std::unexpected(JsonAt(at.value()[i], json_path(at.path(), i))
                                       .error("must be an absolute path without \"..\""));
    return paths;
}

}  // namespace

const char* namespace_name(NamespaceType type) {
    for (const auto& ns : kNamespaces)
        if (ns.type == type) return ns.name;
    return "?";
}

int namespace_clone_flag(NamespaceType type) {
    for (const auto& ns : kNamespaces)
        if (ns.type == type) return ns.flag;
    return 0;
}

const Namespace* Linux::find_namespace(NamespaceType type) const {
    for (const auto& ns : namespaces)
        if (ns.type == type) return &ns;
    return nullptr;
}

bool Linux::creates_user_namespace() const {
    const Namespace* user = find_namespace(NamespaceType::user);
    return user && user->path.empty();
}

Result<Resources> parse_resources_object(const Json& resources) {
    return parse_resources(JsonAt(resources, ""));
}

Json device_rules_json(const std::vector<DeviceRule>& rules) {
    Json list = Json::array();
    for (const DeviceRule& rule : rules) {
        Json item = {
            {"allow", rule.allow}, {"type", std::string(1, rule.type)}, {"access", rule.access}};
        if (rule.major) item["major"] = *rule.major;
        if (rule.minor) item["minor"] = *rule.minor;
        list.push_back(std::move(item));
    }
    return list;
}

Result<Linux> parse_linux(const JsonAt& at) {
    TRY(at.expect_object());
    Linux linux_config;
    if (auto namespaces = at.optional_child("namespaces"))
        linux_config.namespaces = TRY(parse_namespaces(*namespaces));
    if (auto devices = at.optional_child("devices"))
        linux_config.devices = TRY(parse_devices(*devices));
    linux_config.cgroups_path = TRY(at.optional_string("cgroupsPath")).value_or("");
    if (!linux_config.cgroups_path.empty()) {
        auto path_at = TRY(at.child("cgroupsPath"));
        // "slice:prefix:name" is for the systemd driver, which checks it (the runtime refuses it
        // without --systemd-cgroup): unit names have no "/" and so no "..".
        bool systemd_form = linux_config.cgroups_path.find(':') != std::string::npos;
        if (!systemd_form && relative_clean_path_has_dotdot(linux_config.cgroups_path))
            return std::unexpected(path_at.error("must not contain \"..\""));
        // A cgroup name is a directory name; a newline in one would also split every message
        // and log line that names it.
        if (std::any_of(linux_config.cgroups_path.begin(), linux_config.cgroups_path.end(),
                        [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
            return std::unexpected(path_at.error("must not contain control characters"));
    }
    if (auto resources = at.optional_child("resources"))
        linux_config.resources = TRY(parse_resources(*resources));
    if (auto propagation = at.optional_child("rootfsPropagation")) {
        linux_config.rootfs_propagation = TRY(propagation->string());
        if (!linux_config.rootfs_propagation.empty() &&
            propagation_flags(linux_config.rootfs_propagation) == 0)
            return std::unexpected(
                propagation->error(fmt::format("unknown propagation \"{}\" (shared, slave, private "
                                               "or unbindable, optionally r-prefixed)",
                                               linux_config.rootfs_propagation)));
    }
    if (auto masked = at.optional_child("maskedPaths"))
        linux_config.masked_paths = TRY(parse_absolute_paths(*masked));
    if (auto readonly = at.optional_child("readonlyPaths"))
        linux_config.readonly_paths = TRY(parse_absolute_paths(*readonly));
    if (auto sysctl = at.optional_child("sysctl")) {
        linux_config.sysctl = TRY(parse_string_map(*sysctl));
        for (const auto& [key, value] : linux_config.sysctl)
            if (key.empty() || key.find("..") != std::string::npos ||
                key.find('/') != std::string::npos || key.front() == '.' || key.back() == '.')
                return std::unexpected(JsonAt(sysctl->value()[key], json_path(sysctl->path(), key))
                                           .error("is not a valid sysctl name"));
    }
    if (auto offsets = at.optional_child("timeOffsets")) {
        TRY(offsets->expect_object());
        for (const auto& [clock, value] : offsets->value().items()) {
            JsonAt entry(value, json_path(offsets->path(), clock));
            if (clock != "monotonic" && clock != "boottime")
                return std::unexpected(entry.error("unknown clock (monotonic or boottime)"));
            TRY(entry.expect_object());
            linux_config.time_offsets_seconds[clock] =
                TRY(entry.optional_integer("secs")).value_or(0);
            uint64_t nanoseconds = TRY(entry.optional_unsigned("nanosecs")).value_or(0);
            if (nanoseconds >= 1000000000)
                return std::unexpected(
                    TRY(entry.child("nanosecs")).error("must be below 1000000000"));
            linux_config.time_offsets_nanoseconds[clock] = static_cast<uint32_t>(nanoseconds);
        }
    }
    if (auto mappings = at.optional_child("uidMappings"))
        linux_config.uid_mappings = TRY(parse_id_mappings(*mappings));
    if (auto mappings = at.optional_child("gidMappings"))
        linux_config.gid_mappings = TRY(parse_id_mappings(*mappings));
    if (auto seccomp = at.optional_child("seccomp")) {
        // Validated and compiled by the security module (linux/security_plan).
        TRY(seccomp->expect_object());
        linux_config.seccomp = seccomp->value();
    }
    if (auto personality = at.optional_child("personality")) {
        TRY(personality->expect_object());
        std::string domain = TRY(TRY(personality->child("domain")).string());
        if (domain == "LINUX")
            linux_config.personality = PER_LINUX;
        else if (domain == "LINUX32")
            linux_config.personality = PER_LINUX32;
        else
            return std::unexpected(
                TRY(personality->child("domain")).error("must be \"LINUX\" or \"LINUX32\""));
        // The spec defines no flag names yet; a flag this runtime does not know would be
        // silently lost.
        if (!TRY(personality->optional_string_array("flags")).empty())
            return std::unexpected(TRY(personality->child("flags")).error("is not supported yet"));
    }
    linux_config.mount_label = TRY(at.optional_string("mountLabel")).value_or("");
    if (auto policy = at.optional_child("memoryPolicy"))
        linux_config.memory_policy = TRY(parse_memory_policy(*policy));
    TRY(reject_if_present(at, {"intelRdt"}));
    return linux_config;
}

Result<> validate_cross_references(const Spec& spec) {
    const Linux& l = spec.linux_config;
    // Without a mount namespace of its own the container shares the runtime's (as the spec says):
    // its mounts are made there, below root.path, and it is chrooted rather than pivoted.
    if (!l.find_namespace(NamespaceType::mount)) {
        if (l.creates_user_namespace())
            return fail(
                "linux.namespaces: a new user namespace needs a mount namespace too (the "
                "container's root could not mount in the runtime's)");
        if (!l.rootfs_propagation.empty())
            return fail(
                "linux.rootfsPropagation: needs a mount namespace in linux.namespaces (it would "
                "change the propagation of the runtime's own mounts)");
    }
    // A uts namespace joined by path is the container's to name, as a new one is; without one the
    // name would be the host's.
    if (!spec.hostname.empty() && !l.find_namespace(NamespaceType::uts))
        return fail("hostname: setting a hostname needs a uts namespace in linux.namespaces");
    if (!spec.domainname.empty() && !l.find_namespace(NamespaceType::uts))
        return fail("domainname: setting a domainname needs a uts namespace in linux.namespaces");
    bool has_mappings = !l.uid_mappings.empty() || !l.gid_mappings.empty();
    if (l.creates_user_namespace()) {
        // The init becomes root of the namespace before it builds the rootfs (as runc's does),
        // so root must be mapped; the process's own ids must be too.
        if (l.uid_mappings.empty() || l.gid_mappings.empty())
            return fail("linux.{}: a new user namespace needs both uid and gid mappings",
                        l.uid_mappings.empty() ? "uidMappings" : "gidMappings");
        if (!host_id_of(l.uid_mappings, 0) || !host_id_of(l.gid_mappings, 0))
            return fail(
                "linux.{}: container id 0 must be mapped (the runtime sets the "
                "container up as its root)",
                host_id_of(l.uid_mappings, 0) ? "gidMappings" : "uidMappings");
        if (spec.process) {
            const User& user = spec.process->user;
            if (!host_id_of(l.uid_mappings, user.uid))
                return fail("process.user.uid: {} is not mapped by linux.uidMappings", user.uid);
            if (!host_id_of(l.gid_mappings, user.gid))
                return fail("process.user.gid: {} is not mapped by linux.gidMappings", user.gid);
            for (size_t i = 0; i < user.additional_gids.size(); ++i)
                if (!host_id_of(l.gid_mappings, user.additional_gids[i]))
                    return fail(
                        "process.user.additionalGids[{}]: {} is not mapped by "
                        "linux.gidMappings",
                        i, user.additional_gids[i]);
        }
    } else if (has_mappings) {
        return fail("linux.{}: id mappings need a new user namespace in linux.namespaces",
                    l.uid_mappings.empty() ? "gidMappings" : "uidMappings");
    }
    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        const Mount& mount = spec.mounts[i];
        if (!mount.idmap) continue;
        if (!l.creates_user_namespace() &&
            (mount.uid_mappings.empty() || mount.gid_mappings.empty()))
            return fail(
                "mounts[{}]: an idmapped mount without its own uidMappings and "
                "gidMappings takes the container's, which needs a new user namespace",
                i);
    }
    const Namespace* time = l.find_namespace(NamespaceType::time);
    if (!l.time_offsets_seconds.empty() && (!time || !time->path.empty()))
        return fail("linux.timeOffsets: needs a new time namespace in linux.namespaces");
    for (const auto& [key, value] : l.sysctl) {
        bool net = key.rfind("net.", 0) == 0;
        bool ipc = key.rfind("kernel.msg", 0) == 0 || key.rfind("kernel.sem", 0) == 0 ||
                   key.rfind("kernel.shm", 0) == 0 || key.rfind("fs.mqueue.", 0) == 0;
        bool uts_key = key == "kernel.hostname" || key == "kernel.domainname";
        const Namespace* needed = net   ? l.find_namespace(NamespaceType::network)
                                  : ipc ? l.find_namespace(NamespaceType::ipc)
                                        : l.find_namespace(NamespaceType::uts);
        if (!net && !ipc && !uts_key)
            return fail("linux.sysctl.{}: is not namespaced; setting it would change the host",
                        key);
        if (!needed)
            return fail("linux.sysctl.{}: needs a {} namespace in linux.namespaces", key,
                        net   ? "network"
                        : ipc ? "ipc"
                              : "uts");
    }
    return {};
}

}  // namespace vessel::container::spec
