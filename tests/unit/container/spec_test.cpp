#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>

#include "base/file.h"

#include "container/spec/default_spec.h"
#include "container/spec/spec.h"

namespace vessel::container::spec {
namespace {

// A minimal valid config; tests patch one field at a time.
Json base_config() {
    return Json::parse(R"({
        "ociVersion": "1.0.2",
        "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
        "root": {"path": "rootfs"},
        "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "uts"}]}
    })");
}

std::string error_of(const Json& config) {
    auto parsed = parse_spec(config);
    if (parsed) return "(parsed)";
    return parsed.error().message();
}

TEST(SpecParse, AcceptsTheMinimalConfig) {
    auto spec = parse_spec(base_config());
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->process->args, std::vector<std::string>{"sh"});
    EXPECT_EQ(spec->root.path, "rootfs");
    EXPECT_FALSE(spec->root.readonly);
    EXPECT_EQ(spec->linux_config.namespaces.size(), 3u);
}

TEST(SpecParse, TheDefaultSpecParses) {
    auto spec = parse_spec(default_spec());
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_TRUE(spec->root.readonly);
    EXPECT_EQ(spec->hostname, "vessel");
    ASSERT_EQ(spec->mounts.size(), 7u);
    EXPECT_EQ(spec->mounts[1].data, "mode=755,size=65536k");
    EXPECT_EQ(spec->mounts[1].flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
    EXPECT_EQ(spec->mounts[5].flags,
              static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
}

TEST(SpecParse, EmptyArgsNameTheirPath) {
    Json config = base_config();
    config["process"]["args"] = Json::array();
    EXPECT_EQ(error_of(config), "process.args: must not be empty");
}

TEST(SpecParse, WrongTypesNameTheirPath) {
    Json config = base_config();
    config["process"]["args"][0] = 5;
    EXPECT_EQ(error_of(config), "process.args[0]: must be a string");
    config = base_config();
    config["process"]["user"]["uid"] = -1;
    EXPECT_EQ(error_of(config), "process.user.uid: must be an unsigned integer");
}

TEST(SpecParse, MissingRequiredFields) {
    Json config = base_config();
    config.erase("root");
    EXPECT_EQ(error_of(config), "root: is required");
    config = base_config();
    config["process"].erase("cwd");
    EXPECT_EQ(error_of(config), "process.cwd: is required");
}

TEST(SpecParse, RejectsUnsupportedVersions) {
    Json config = base_config();
    config["ociVersion"] = "2.0.0";
    EXPECT_EQ(error_of(config), "ociVersion: version \"2.0.0\" is not supported (1.0 to 1.2 are)");
}

TEST(SpecParse, CwdMustBeAbsolute) {
    Json config = base_config();
    config["process"]["cwd"] = "tmp";
    EXPECT_EQ(error_of(config), "process.cwd: must be an absolute path");
}

TEST(SpecParse, EnvEntriesNeedAnEqualsSign) {
    Json config = base_config();
    config["process"]["env"] = {"PATH=/bin", "BROKEN"};
    EXPECT_EQ(error_of(config), "process.env[1]: must have the form NAME=value");
}

TEST(SpecParse, Rlimits) {
    Json config = base_config();
    config["process"]["rlimits"] =
        Json::parse(R"([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}])");
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec);
    EXPECT_EQ(spec->process->rlimits[0].resource, RLIMIT_NOFILE);
    config["process"]["rlimits"][0]["type"] = "RLIMIT_BOGUS";
    EXPECT_EQ(error_of(config), "process.rlimits[0].type: unknown rlimit \"RLIMIT_BOGUS\"");
    config["process"]["rlimits"][0] =
        Json::parse(R"({"type": "RLIMIT_CORE", "soft": 30, "hard": 20})");
    EXPECT_EQ(error_of(config), "process.rlimits[0]: soft limit is above the hard limit");
}

TEST(SpecParse, OomScoreAdjRange) {
    Json config = base_config();
    config["process"]["oomScoreAdj"] = 1001;
    EXPECT_EQ(error_of(config), "process.oomScoreAdj: must be between -1000 and 1000");
}

TEST(SpecParse, Mounts) {
    Json config = base_config();
    config["mounts"] = Json::parse(R"([
        {"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "ro", "rslave"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m"]}])");
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_TRUE(spec->mounts[0].bind);
    EXPECT_TRUE(spec->mounts[0].recursive);
    EXPECT_EQ(spec->mounts[0].flags, static_cast<unsigned long>(MS_RDONLY));
    EXPECT_EQ(spec->mounts[0].propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
    EXPECT_EQ(spec->mounts[1].data, "size=1m");
}

TEST(SpecParse, PersonalityAndSecurityLabels) {
    Json config = base_config();
    config["linux"]["personality"] = {{"domain", "LINUX32"}, {"flags", Json::array()}};
    config["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0";
    config["process"]["apparmorProfile"] = "docker-default";
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->linux_config.personality, static_cast<unsigned long>(PER_LINUX32));
    EXPECT_EQ(spec->linux_config.mount_label, "system_u:object_r:container_file_t:s0");
    EXPECT_EQ(spec->process->apparmor_profile, "docker-default");
    config["linux"]["personality"] = {{"domain", "LINUX64"}};
    EXPECT_EQ(error_of(config), "linux.personality.domain: must be \"LINUX\" or \"LINUX32\"");
    config["linux"]["personality"] = {{"domain", "LINUX"}, {"flags", {"ADDR_NO_RANDOMIZE"}}};
    EXPECT_EQ(error_of(config), "linux.personality.flags: is not supported yet");
    config["linux"]["personality"] = {{"flags", Json::array()}};
    EXPECT_EQ(error_of(config), "linux.personality.domain: is required");
}

TEST(SpecParse, BlockIoPerDevice) {
    Json config = base_config();
    config["linux"]["resources"]["blockIO"] = Json::parse(R"({
        "leafWeight": 300,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 500}, {"major": 8, "minor": 16, "leafWeight": 20}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
        "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 100}]})");
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    const spec::Resources& r = spec->linux_config.resources;
    ASSERT_EQ(r.blkio_weight_devices.size(), 1u);  // the second gives only a leafWeight
    EXPECT_EQ(r.blkio_weight_devices[0].weight, 500);
    EXPECT_TRUE(r.blkio_leaf_weight);
    ASSERT_EQ(r.blkio_throttles.read_bps.size(), 1u);
    EXPECT_EQ(r.blkio_throttles.read_bps[0].rate, 1048576u);
    ASSERT_EQ(r.blkio_throttles.write_iops.size(), 1u);
    EXPECT_EQ(r.blkio_throttles.write_iops[0].major, 254);
    EXPECT_TRUE(r.blkio_throttles.write_bps.empty());
    config["linux"]["resources"]["blockIO"] =
        Json::parse(R"({"throttleReadBpsDevice": [{"major": -1, "minor": 0, "rate": 1}]})");
    EXPECT_EQ(error_of(config),
              "linux.resources.blockIO.throttleReadBpsDevice[0]: major and minor must not be "
              "negative");
    config["linux"]["resources"]["blockIO"] =
        Json::parse(R"({"throttleWriteBpsDevice": [{"major": 8, "minor": 0}]})");
    EXPECT_EQ(error_of(config),
              "linux.resources.blockIO.throttleWriteBpsDevice[0].rate: is required");
    config["linux"]["resources"]["blockIO"] =
        Json::parse(R"({"weightDevice": [{"major": 8, "minor": 0, "weight": 5}]})");
    EXPECT_EQ(error_of(config),
              "linux.resources.blockIO.weightDevice[0].weight: must be between 10 and 1000");
}

TEST(SpecParse, HugepageLimitsAndNetworkClasses) {
    Json config = base_config();
    config["linux"]["resources"]["hugepageLimits"] =
        Json::parse(R"([{"pageSize": "2MB", "limit": 4194304}, {"pageSize": "1GB", "limit": 0}])");
    config["linux"]["resources"]["network"] =
        Json::parse(R"({"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]})");
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    const spec::Resources& r = spec->linux_config.resources;
    ASSERT_EQ(r.hugepage_limits.size(), 2u);
    EXPECT_EQ(r.hugepage_limits[0].page_size, "2MB");
    EXPECT_EQ(r.hugepage_limits[0].limit, 4194304u);
    EXPECT_EQ(r.network.class_id, 1048577u);
    ASSERT_EQ(r.network.priorities.size(), 1u);
    EXPECT_EQ(r.network.priorities[0], (std::pair<std::string, uint32_t>{"eth0", 5}));
    config["linux"]["resources"]["hugepageLimits"] =
        Json::parse(R"([{"pageSize": "2M", "limit": 1}])");
    EXPECT_EQ(error_of(config),
              "linux.resources.hugepageLimits[0].pageSize: must be a size like \"2MB\" or "
              "\"1GB\"");
    config["linux"]["resources"].erase("hugepageLimits");
    config["linux"]["resources"]["network"] =
        Json::parse(R"({"priorities": [{"name": "eth0 1", "priority": 5}]})");
    EXPECT_EQ(error_of(config),
              "linux.resources.network.priorities[0].name: must be an interface name");
}

TEST(SpecParse, ABindMountIgnoresFilesystemOptionsAsRuncDoes) {
    // Such configs come from tools that write one option list for every mount; "bind" may come
    // after the options it makes meaningless.
    Json config = base_config();
    config["mounts"] = Json::parse(R"([{"destination": "/a", "type": "none", "source": "/x",
        "options": ["mode=755", "size=1k", "bind", "ro"]}])");
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_TRUE(spec->mounts[0].bind);
    EXPECT_EQ(spec->mounts[0].flags, static_cast<unsigned long>(MS_RDONLY));
    EXPECT_EQ(spec->mounts[0].data, "");
    EXPECT_EQ(spec->mounts[0].ignored_options, (std::vector<std::string>{"mode=755", "size=1k"}));
}

TEST(SpecParse, MountErrors) {
    Json config = base_config();
    config["mounts"] = Json::parse(R"([{"destination": "data", "type": "tmpfs"}])");
    EXPECT_EQ(error_of(config), "mounts[0].destination: must be an absolute path");
    config["mounts"] = Json::parse(R"([{"destination": "/a/../../etc", "type": "tmpfs"}])");
    EXPECT_EQ(error_of(config), "mounts[0].destination: must not contain \"..\"");
    config["mounts"] = Json::parse(R"([{"destination": "/a", "type": "bind"}])");
    EXPECT_EQ(error_of(config), "mounts[0]: a bind mount needs a source");
    config["mounts"] =
        Json::parse(R"([{"destination": "/a", "type": "tmpfs", "options": ["idmap"]}])");
    EXPECT_EQ(error_of(config), "mounts[0]: only bind mounts can be idmapped");
    config["mounts"] =
        Json::parse(R"([{"destination": "/a", "type": "tmpfs", "options": ["tmpcopyup"]}])");
    EXPECT_EQ(error_of(config), "mounts[0].options[0]: \"tmpcopyup\" is not supported yet");
}

TEST(SpecParse, Namespaces) {
    Json config = base_config();
    config["linux"]["namespaces"].push_back({{"type", "bogus"}});
    EXPECT_EQ(error_of(config), "linux.namespaces[3].type: unknown namespace type \"bogus\"");
    config = base_config();
    config["linux"]["namespaces"].push_back({{"type", "pid"}});
    EXPECT_EQ(error_of(config), "linux.namespaces[3].type: namespace \"pid\" is listed twice");
    config = base_config();
    config["linux"]["namespaces"].push_back({{"type", "network"}, {"path", "relative"}});
    EXPECT_EQ(error_of(config), "linux.namespaces[3].path: must be an absolute path");
}

// runtime-spec: a namespace type that is not listed is the runtime's.
TEST(SpecParse, WithoutAMountNamespaceTheRuntimesIsShared) {
    Json config = base_config();
    config["linux"]["namespaces"] = Json::parse(R"([{"type": "pid"}])");
    EXPECT_TRUE(parse_spec(config));
    config["linux"]["namespaces"] = Json::parse(R"([{"type": "mount", "path": "/run/ns/mnt"}])");
    EXPECT_TRUE(parse_spec(config));
    config["linux"]["namespaces"] = Json::parse(R"([{"type": "pid"}, {"type": "user"}])");
    config["linux"]["uidMappings"] =
        Json::parse(R"([{"containerID": 0, "hostID": 1000, "size": 1}])");
    config["linux"]["gidMappings"] = config["linux"]["uidMappings"];
    EXPECT_EQ(error_of(config),
              "linux.namespaces: a new user namespace needs a mount namespace too (the "
              "container's root could not mount in the runtime's)");
    config = base_config();
    config["linux"]["namespaces"] = Json::parse(R"([{"type": "pid"}])");
    config["linux"]["rootfsPropagation"] = "private";
    EXPECT_EQ(error_of(config),
              "linux.rootfsPropagation: needs a mount namespace in linux.namespaces (it would "
              "change the propagation of the runtime's own mounts)");
}

TEST(SpecParse, HostnameNeedsUtsNamespace) {
    Json config = base_config();
    config["hostname"] = "box";
    ASSERT_TRUE(parse_spec(config));
    config["linux"]["namespaces"] = Json::parse(R"([{"type": "mount"}])");
    EXPECT_EQ(error_of(config),
              "hostname: setting a hostname needs a uts namespace in linux.namespaces");
    // A joined one is the container's to name.
    config["linux"]["namespaces"] =
        Json::parse(R"([{"type": "mount"}, {"type": "uts", "path": "/run/ns/uts"}])");
    EXPECT_TRUE(parse_spec(config));
}

TEST(SpecParse, Sysctl) {
    Json config = base_config();
    config["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
    EXPECT_EQ(error_of(config),
              "linux.sysctl.net.ipv4.ip_forward: needs a network namespace in linux.namespaces");
    config["linux"]["sysctl"] = {{"vm.swappiness", "1"}};
    EXPECT_EQ(error_of(config),
              "linux.sysctl.vm.swappiness: is not namespaced; setting it would change the host");
    config["linux"]["sysctl"] = {{"kernel.hostname", "x"}};
    EXPECT_TRUE(parse_spec(config));
}

TEST(SpecParse, Resources) {
    Json config = base_config();
    config["linux"]["resources"] = Json::parse(R"({
        "memory": {"limit": 33554432, "reservation": 16777216},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 20},
        "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]})");
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    const auto& r = spec->linux_config.resources;
    EXPECT_EQ(*r.memory.limit, 33554432);
    EXPECT_EQ(*r.cpu.quota, 50000);
    EXPECT_EQ(*r.pids_limit, 20);
    ASSERT_EQ(r.devices.size(), 2u);
    EXPECT_EQ(r.devices[1].type, 'c');
    EXPECT_EQ(*r.devices[1].minor, 3);
}

TEST(SpecParse, ResourceErrors) {
    Json config = base_config();
    config["linux"]["resources"] = Json::parse(R"({"memory": {"limit": 100}})");
    EXPECT_EQ(error_of(config),
              "linux.resources.memory.limit: must be -1 (unlimited) or at least 4096 bytes");
    config["linux"]["resources"] = Json::parse(R"({"memory": {"limit": 1048576, "swap": 4096}})");
    EXPECT_EQ(
        error_of(config),
        "linux.resources.memory.swap: must not be below memory.limit (it counts memory + swap)");
    config["linux"]["resources"] = Json::parse(R"({"cpu": {"shares": 1}})");
    EXPECT_EQ(error_of(config), "linux.resources.cpu.shares: must be between 2 and 262144");
    config["linux"]["resources"] = Json::parse(R"({"cpu": {"cpus": "0-a"}})");
    EXPECT_EQ(error_of(config), "linux.resources.cpu.cpus: must be a list like \"0-2,4\"");
    config["linux"]["resources"] = Json::parse(R"({"pids": {"limit": 0}})");
    EXPECT_EQ(error_of(config), "linux.resources.pids.limit: must be -1 (unlimited) or positive");
    config["linux"]["resources"] =
        Json::parse(R"({"devices": [{"allow": true, "access": "rwx"}]})");
    EXPECT_EQ(error_of(config),
              "linux.resources.devices[0].access: must be a combination of r, w and m");
    config["linux"]["resources"] = Json::parse(R"({"rdma": {"mlx5_0": {"hcaHandles": -3}}})");
    EXPECT_EQ(error_of(config),
              "linux.resources.rdma.mlx5_0.hcaHandles: must be an integer from 0 to 4294967295");
    config["linux"]["resources"] = Json::parse(R"({"rdma": {"a b": {"hcaHandles": 3}}})");
    EXPECT_EQ(error_of(config), "linux.resources.rdma.a b: must be named after an RDMA device");
    config["linux"]["resources"] =
        Json::parse(R"({"cpu": {"idle": 2, "burst": 1000, "realtimePeriod": 1000}})");
    EXPECT_EQ(error_of(config), "linux.resources.cpu.idle: must be 0 or 1");
}

TEST(SpecParse, Devices) {
    Json config = base_config();
    config["linux"]["devices"] = Json::parse(
        R"([{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438}])");
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(*spec->linux_config.devices[0].file_mode, 0666u);
    config["linux"]["devices"][0]["path"] = "/etc/passwd";
    EXPECT_EQ(error_of(config), "linux.devices[0].path: must be a path under /dev/ without \"..\"");
    config["linux"]["devices"][0]["path"] = "/dev/x";
    config["linux"]["devices"][0]["type"] = "z";
    EXPECT_EQ(error_of(config), "linux.devices[0].type: unknown device type \"z\" (c, b, u or p)");
}

TEST(SpecParse, PathsAndPropagation) {
    Json config = base_config();
    config["linux"]["maskedPaths"] = {"/proc/kcore", "relative"};
    EXPECT_EQ(error_of(config), "linux.maskedPaths[1]: must be an absolute path without \"..\"");
    config = base_config();
    config["linux"]["rootfsPropagation"] = "sideways";
    EXPECT_EQ(
        error_of(config),
        "linux.rootfsPropagation: unknown propagation \"sideways\" (shared, slave, private or "
        "unbindable, optionally r-prefixed)");
}

TEST(SpecParse, ProcessScheduling) {
    Json config = base_config();
    config["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}};
    config["process"]["scheduler"] = {
        {"policy", "SCHED_DEADLINE"}, {"runtime", 10}, {"deadline", 20}, {"period", 30}};
    config["process"]["execCPUAffinity"] = {{"initial", "0-3,7"}, {"final", "2"}};
    auto parsed = parse_spec(config);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->process->io_priority->io_class, kIoClassIdle);
    EXPECT_EQ(parsed->process->scheduler->deadline, 20u);
    EXPECT_EQ(parsed->process->exec_cpu_affinity.initial, "0-3,7");
    auto error_with = [&](const char* key, Json value) {
        Json changed = base_config();
        changed["process"][key] = std::move(value);
        return error_of(changed);
    };
    EXPECT_EQ(error_with("ioPriority", {{"class", "IOPRIO_CLASS_NONE"}}),
              "process.ioPriority.class: unknown I/O class \"IOPRIO_CLASS_NONE\" "
              "(IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE)");
    EXPECT_EQ(error_with("ioPriority", {{"class", "IOPRIO_CLASS_BE"}, {"priority", 8}}),
              "process.ioPriority.priority: must be between 0 and 7");
    EXPECT_EQ(error_with("scheduler", {{"policy", "SCHED_FIFO"}}),
              "process.scheduler.policy: priority: must be between 1 and 99 for SCHED_FIFO and "
              "SCHED_RR");
    EXPECT_EQ(error_with("scheduler", {{"policy", "SCHED_OTHER"}, {"priority", 5}}),
              "process.scheduler.priority: priority: must be 0 except for SCHED_FIFO and "
              "SCHED_RR");
    EXPECT_EQ(error_with("scheduler", {{"policy", "SCHED_ISO"}}),
              "process.scheduler.policy: SCHED_ISO is not implemented by Linux");
    EXPECT_EQ(
        error_with("scheduler", {{"policy", "SCHED_DEADLINE"}, {"runtime", 30}, {"deadline", 20}}),
        "process.scheduler.policy: SCHED_DEADLINE needs 0 < runtime <= deadline <= period");
    EXPECT_EQ(error_with("scheduler", {{"policy", "SCHED_BATCH"}, {"flags", {"SCHED_FLAG_X"}}}),
              "process.scheduler.flags[0]: unknown flag \"SCHED_FLAG_X\" "
              "(SCHED_FLAG_RESET_ON_FORK, SCHED_FLAG_RECLAIM, SCHED_FLAG_DL_OVERRUN, "
              "SCHED_FLAG_KEEP_POLICY, SCHED_FLAG_KEEP_PARAMS, SCHED_FLAG_UTIL_CLAMP_MIN, "
              "SCHED_FLAG_UTIL_CLAMP_MAX)");
    EXPECT_EQ(error_with("execCPUAffinity", {{"initial", "0,,1"}}),
              "process.execCPUAffinity.initial: must be a list of CPUs like \"0-3,7\"");
    EXPECT_EQ(error_with("execCPUAffinity", {{"final", "5000"}}),
              "process.execCPUAffinity.final: 5000 is beyond 1024");
}

TEST(SpecParse, MemoryPolicy) {
    auto error_with = [](Json policy) {
        Json config = base_config();
        config["linux"]["memoryPolicy"] = std::move(policy);
        return error_of(config);
    };
    Json config = base_config();
    config["linux"]["memoryPolicy"] = {{"mode", "MPOL_INTERLEAVE"}, {"nodes", "0-1"}};
    auto parsed = parse_spec(config);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->linux_config.memory_policy->nodes, "0-1");
    EXPECT_EQ(error_with({{"mode", "MPOL_BIND"}}),
              "linux.memoryPolicy: nodes: is required for MPOL_BIND");
    EXPECT_EQ(error_with({{"mode", "MPOL_LOCAL"}, {"nodes", "0"}}),
              "linux.memoryPolicy.nodes: must be empty for MPOL_LOCAL");
    EXPECT_EQ(error_with({{"mode", "MPOL_BIND"}, {"nodes", "2000"}}),
              "linux.memoryPolicy.nodes: 2000 is beyond 1024");
    EXPECT_EQ(error_with({{"mode", "MPOL_BIND"},
                          {"nodes", "0"},
                          {"flags", {"MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"}}}),
              "linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude "
              "each other");
}

TEST(SpecParse, SecurityFieldsKeptRawOrRejected) {
    Json config = base_config();
    config["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN"}}};
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec);
    EXPECT_EQ(spec->process->capabilities["bounding"][0], "CAP_CHOWN");
    config["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}};
    spec = parse_spec(config);
    ASSERT_TRUE(spec);
    EXPECT_EQ(spec->linux_config.seccomp["defaultAction"], "SCMP_ACT_ALLOW");
    config["linux"]["seccomp"] = "SCMP_ACT_ALLOW";
    EXPECT_EQ(error_of(config), "linux.seccomp: must be an object");
}

// base_config() with a new user namespace mapping container ids 0-65535 to 100000-165535.
Json user_namespace_config() {
    Json config = base_config();
    config["linux"]["namespaces"].push_back({{"type", "user"}});
    config["linux"]["uidMappings"] =
        Json::parse(R"([{"containerID": 0, "hostID": 100000, "size": 65536}])");
    config["linux"]["gidMappings"] = config["linux"]["uidMappings"];
    return config;
}

TEST(SpecParse, UserNamespaceMappings) {
    auto spec = parse_spec(user_namespace_config());
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_TRUE(spec->linux_config.creates_user_namespace());
    ASSERT_EQ(spec->linux_config.uid_mappings.size(), 1u);
    EXPECT_EQ(spec->linux_config.uid_mappings[0].host_id, 100000u);
    EXPECT_EQ(spec->linux_config.gid_mappings[0].size, 65536u);
}

TEST(SpecParse, RejectsMappingsTheKernelWouldRefuse) {
    Json config = user_namespace_config();
    config["linux"]["uidMappings"].push_back({{"containerID", 100}, {"hostID", 0}, {"size", 1}});
    EXPECT_EQ(error_of(config), "linux.uidMappings[1]: its container ids overlap those of entry 0");
    config = user_namespace_config();
    config["linux"]["uidMappings"].push_back(
        {{"containerID", 70000}, {"hostID", 100005}, {"size", 1}});
    EXPECT_EQ(error_of(config), "linux.uidMappings[1]: its host ids overlap those of entry 0");
    config = user_namespace_config();
    config["linux"]["gidMappings"][0]["size"] = 0;
    EXPECT_EQ(error_of(config), "linux.gidMappings[0].size: must be at least 1");
    config["linux"]["gidMappings"][0]["size"] = -1;
    EXPECT_EQ(error_of(config), "linux.gidMappings[0].size: must be an unsigned integer");
    config = user_namespace_config();
    config["linux"]["uidMappings"][0]["hostID"] = 4294967295u;
    EXPECT_EQ(error_of(config), "linux.uidMappings[0]: the range runs past id 4294967295");
    config = user_namespace_config();
    config["linux"]["uidMappings"][0].erase("hostID");
    EXPECT_EQ(error_of(config), "linux.uidMappings[0].hostID: is required");
}

TEST(SpecParse, UserNamespaceAndMappingsGoTogether) {
    Json config = user_namespace_config();
    config["linux"].erase("gidMappings");
    EXPECT_EQ(error_of(config),
              "linux.gidMappings: a new user namespace needs both uid and gid mappings");
    config = base_config();
    config["linux"]["uidMappings"] =
        Json::parse(R"([{"containerID": 0, "hostID": 1000, "size": 1}])");
    EXPECT_EQ(error_of(config),
              "linux.uidMappings: id mappings need a new user namespace in linux.namespaces");
    config = user_namespace_config();
    config["linux"]["uidMappings"][0]["containerID"] = 1;
    EXPECT_EQ(error_of(config),
              "linux.uidMappings: container id 0 must be mapped (the runtime sets the container "
              "up as its root)");
    config = user_namespace_config();
    config["process"]["user"]["uid"] = 70000;
    EXPECT_EQ(error_of(config), "process.user.uid: 70000 is not mapped by linux.uidMappings");
    config = user_namespace_config();
    config["process"]["user"]["additionalGids"] = {5, 65536};
    EXPECT_EQ(error_of(config),
              "process.user.additionalGids[1]: 65536 is not mapped by linux.gidMappings");
    config = user_namespace_config();
    config["linux"]["namespaces"][3]["path"] = "/proc/1/ns/user";
    EXPECT_EQ(error_of(config),
              "linux.namespaces[3].path: joining an existing user namespace is not supported yet");
}

TEST(SpecParse, IdmappedMounts) {
    Json config = user_namespace_config();
    config["mounts"] = Json::parse(
        R"([{"destination": "/a", "type": "bind", "source": "/x", "options": ["rbind", "ridmap"]}])");
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_TRUE(spec->mounts[0].idmap);
    EXPECT_TRUE(spec->mounts[0].idmap_recursive);
    EXPECT_TRUE(spec->mounts[0].uid_mappings.empty());  // the container's own

    config = base_config();
    config["mounts"] = Json::parse(
        R"([{"destination": "/a", "type": "bind", "source": "/x", "options": ["idmap"]}])");
    EXPECT_EQ(error_of(config),
              "mounts[0]: an idmapped mount without its own uidMappings and gidMappings takes "
              "the container's, which needs a new user namespace");
    config["mounts"][0]["uidMappings"] =
        Json::parse(R"([{"containerID": 0, "hostID": 1000, "size": 10}])");
    EXPECT_EQ(error_of(config),
              "mounts[0]: an idmapped mount needs both uidMappings and gidMappings "
              "(gidMappings is missing)");
    config["mounts"][0]["gidMappings"] = config["mounts"][0]["uidMappings"];
    spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->mounts[0].gid_mappings[0].host_id, 1000u);
    config["mounts"][0]["uidMappings"][0]["size"] = 0;
    EXPECT_EQ(error_of(config), "mounts[0].uidMappings[0].size: must be at least 1");
}

TEST(SpecParse, CgroupsPath) {
    Json config = base_config();
    // The systemd form passes the parser whole: the runtime reads it with --systemd-cgroup and
    // refuses it without (systemd_unit_name_test, systemd_cgroup.sh).
    config["linux"]["cgroupsPath"] = "system.slice:vessel:abc";
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->linux_config.cgroups_path, "system.slice:vessel:abc");
    config["linux"]["cgroupsPath"] = "/vessel/../escape";
    EXPECT_EQ(error_of(config), "linux.cgroupsPath: must not contain \"..\"");
    // A newline used to reach the error message whole and split it in two lines.
    config["linux"]["cgroupsPath"] = "/vessel/a\nb";
    EXPECT_EQ(error_of(config), "linux.cgroupsPath: must not contain control characters");
    config["linux"]["cgroupsPath"] = "/vessel/\x1b[2J";
    EXPECT_EQ(error_of(config), "linux.cgroupsPath: must not contain control characters");
}

// Numbers that fit no JSON type used to abort vessel-runc (nlohmann's out_of_range escaped).
TEST(SpecLoad, NumbersTooLargeAreErrorsNamingTheirPath) {
    char directory[] = "/tmp/vessel-spec-XXXXXX";
    ASSERT_NE(::mkdtemp(directory), nullptr);
    std::string config = base_config().dump();
    config.replace(config.find("\"uid\":0"), 7, "\"uid\":1e999");
    ASSERT_TRUE(write_file_atomic(std::string(directory) + "/config.json", config));
    auto spec = load_spec(directory);
    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().message(),
              "config.json: process.user.uid: number 1e999 is out of range");
    config.replace(config.find("1e999"), 5, std::string(5000, '9'));
    ASSERT_TRUE(write_file_atomic(std::string(directory) + "/config.json", config));
    spec = load_spec(directory);
    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().message(),
              "config.json: process.user.uid: number 99999999999999999999... is out of range");
    ::unlink((std::string(directory) + "/config.json").c_str());
    ::rmdir(directory);
}

TEST(SpecLoad, PrefixesTheFileName) {
    auto spec = load_spec("/nonexistent-bundle");
    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().message().rfind("config.json: ", 0), 0u) << spec.error().message();
}

}  // namespace
}  // namespace vessel::container::spec
