// linux.resources as systemd unit properties: the names and values systemd takes on each cgroup
// version, and only the limits given (an update changes no other).
#include "host/cgroup/systemd_properties.h"

#include <gtest/gtest.h>

#include <map>

namespace vessel::host::cgroup {
namespace {

std::map<std::string, UnitPropertyValue> by_name(const Resources& r, bool unified) {
    auto properties = resource_properties(r, unified);
    EXPECT_TRUE(properties) << properties.error().message();
    std::map<std::string, UnitPropertyValue> named;
    for (auto& property : properties.value_or(std::vector<UnitProperty>{}))
        named.emplace(property.name, property.value);
    return named;
}

TEST(SystemdProperties, UnifiedLimits) {
    Resources r;
    r.memory.limit = 32 << 20;
    r.memory.swap = 48 << 20;
    r.memory.reservation = 16 << 20;
    r.cpu.shares = 512;
    r.cpu.quota = 50000;
    r.cpu.period = 100000;
    r.cpu.cpus = "0-1";
    r.pids_limit = 16;
    auto p = by_name(r, true);
    EXPECT_EQ(std::get<uint64_t>(p.at("MemoryMax")), 32u << 20);
    EXPECT_EQ(std::get<uint64_t>(p.at("MemorySwapMax")), 16u << 20);  // swap alone
    EXPECT_EQ(std::get<uint64_t>(p.at("MemoryLow")), 16u << 20);
    // The weight the cgroupfs driver writes to cpu.weight for 512 shares.
    EXPECT_EQ(std::get<uint64_t>(p.at("CPUWeight")), 1 + (510 * 9999) / 262142);
    EXPECT_EQ(std::get<uint64_t>(p.at("CPUQuotaPerSecUSec")), 500000u);  // half a CPU
    EXPECT_EQ(std::get<uint64_t>(p.at("CPUQuotaPeriodUSec")), 100000u);
    EXPECT_EQ(std::get<std::vector<uint8_t>>(p.at("AllowedCPUs")), std::vector<uint8_t>{0x03});
    EXPECT_EQ(std::get<uint64_t>(p.at("TasksMax")), 16u);
    EXPECT_EQ(p.count("MemoryLimit"), 0u);
    EXPECT_EQ(p.count("CPUShares"), 0u);
}

TEST(SystemdProperties, V1Names) {
    Resources r;
    r.memory.limit = 64 << 20;
    r.memory.swap = 128 << 20;
    r.cpu.shares = 1024;
    r.cpu.cpus = "0";
    auto p = by_name(r, false);
    EXPECT_EQ(std::get<uint64_t>(p.at("MemoryLimit")), 64u << 20);
    EXPECT_EQ(std::get<uint64_t>(p.at("CPUShares")), 1024u);
    // No v1 property for swap or cpusets: the cgroupfs driver writes those files alone.
    EXPECT_EQ(p.count("MemorySwapMax"), 0u);
    EXPECT_EQ(p.count("AllowedCPUs"), 0u);
    EXPECT_EQ(p.count("MemoryMax"), 0u);
}

TEST(SystemdProperties, UnlimitedIsInfinity) {
    Resources r;
    r.memory.limit = -1;
    r.memory.swap = -1;
    r.cpu.quota = -1;
    r.pids_limit = -1;
    auto p = by_name(r, true);
    EXPECT_EQ(std::get<uint64_t>(p.at("MemoryMax")), kUnitInfinity);
    EXPECT_EQ(std::get<uint64_t>(p.at("MemorySwapMax")), kUnitInfinity);
    EXPECT_EQ(std::get<uint64_t>(p.at("CPUQuotaPerSecUSec")), kUnitInfinity);
    EXPECT_EQ(std::get<uint64_t>(p.at("TasksMax")), kUnitInfinity);
}

TEST(SystemdProperties, OnlyTheLimitsGiven) {
    Resources r;
    r.pids_limit = 32;
    auto p = by_name(r, true);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(std::get<uint64_t>(p.at("TasksMax")), 32u);
    EXPECT_TRUE(by_name(Resources{}, true).empty());
}

TEST(SystemdProperties, SmallQuotaIsRoundedUpNotToNoLimit) {
    Resources r;
    r.cpu.quota = 1;
    r.cpu.period = 1000000;
    EXPECT_EQ(std::get<uint64_t>(by_name(r, true).at("CPUQuotaPerSecUSec")), 1u);
    r.cpu.quota = 1000;
    r.cpu.period = 3000;
    EXPECT_EQ(std::get<uint64_t>(by_name(r, true).at("CPUQuotaPerSecUSec")), 333334u);
}

TEST(SystemdProperties, BadValuesNameTheField) {
    Resources r;
    r.cpu.shares = 1;
    auto properties = resource_properties(r, true);
    ASSERT_FALSE(properties);
    EXPECT_EQ(properties.error().message(), "linux.resources.cpu.shares: 1 is outside 2..262144");
    r = {};
    r.cpu.cpus = "0-x";
    properties = resource_properties(r, true);
    ASSERT_FALSE(properties);
    EXPECT_EQ(properties.error().message(),
              "linux.resources.cpu.cpus: \"0-x\": \"x\" is not a number");
}

TEST(SystemdProperties, CpuListMask) {
    EXPECT_EQ(cpu_list_mask("0").value(), std::vector<uint8_t>{0x01});
    EXPECT_EQ(cpu_list_mask("0-3,5").value(), std::vector<uint8_t>{0x2f});
    EXPECT_EQ(cpu_list_mask("9").value(), (std::vector<uint8_t>{0x00, 0x02}));
    EXPECT_EQ(cpu_list_mask("1,8-9").value(), (std::vector<uint8_t>{0x02, 0x03}));
    EXPECT_FALSE(cpu_list_mask(""));
    EXPECT_FALSE(cpu_list_mask("3-1"));
    EXPECT_FALSE(cpu_list_mask("1,,2"));
    EXPECT_FALSE(cpu_list_mask("99999"));
}

constexpr std::string_view kProcDevices =
    "Character devices:\n  1 mem\n  4 /dev/vc/0\n  5 /dev/tty\n136 pts\n\nBlock devices:\n"
    "  7 loop\n  8 sd\n254 virtblk\n";

TEST(SystemdProperties, DeviceGroupsFromProcDevices) {
    DeviceGroups groups = parse_device_groups(kProcDevices);
    EXPECT_EQ(groups.character.at(136), "pts");
    EXPECT_EQ(groups.character.at(4), "/dev/vc/0");
    EXPECT_EQ(groups.block.at(8), "sd");
    EXPECT_EQ(groups.block.count(136), 0u);
    EXPECT_EQ(groups.character.count(8), 0u);
}

DeviceAllowList allow_list(const std::vector<UnitProperty>& properties) {
    EXPECT_EQ(properties.size(), 2u);
    return std::get<DeviceAllowList>(properties.at(1).value);
}

TEST(SystemdProperties, DeviceRulesAsAnAllowList) {
    // What the runtime makes of a default config: deny all, then the standard set.
    std::vector<DeviceRule> rules = {
        {.allow = false, .type = 'a', .access = "rwm"},
        {.allow = true, .type = 'c', .access = "m"},
        {.allow = true, .type = 'b', .access = "m"},
        {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
        {.allow = true, .type = 'c', .major = 136, .access = "rwm"},
        {.allow = true, .type = 'a', .major = 8, .minor = 0, .access = "r"},
    };
    auto properties = device_properties(rules, parse_device_groups(kProcDevices));
    EXPECT_EQ(properties[0].name, "DevicePolicy");
    EXPECT_EQ(std::get<std::string>(properties[0].value), "strict");
    EXPECT_EQ(properties[1].name, "DeviceAllow");
    EXPECT_EQ(allow_list(properties), (DeviceAllowList{{"char-*", "m"},
                                                       {"block-*", "m"},
                                                       {"/dev/char/1:3", "rwm"},
                                                       {"char-pts", "rwm"},
                                                       {"/dev/char/8:0", "r"},
                                                       {"/dev/block/8:0", "r"}}));
}

TEST(SystemdProperties, DeviceRulesSystemdCannotNameAreLeftOut) {
    std::vector<DeviceRule> rules = {
        {.allow = false, .type = 'a', .access = "rwm"},
        {.allow = true, .type = 'c', .major = 99, .access = "rwm"},  // no /proc/devices name
        {.allow = true, .type = 'c', .minor = 3, .access = "rwm"},   // a minor of any major
        {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "rw"},
    };
    EXPECT_EQ(allow_list(device_properties(rules, parse_device_groups(kProcDevices))),
              (DeviceAllowList{{"/dev/char/1:5", "rw"}}));
}

TEST(SystemdProperties, DenyRulesNarrowTheList) {
    std::vector<DeviceRule> rules = {
        {.allow = false, .type = 'a', .access = "rwm"},
        {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
        {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "rwm"},
        {.allow = false, .type = 'c', .major = 1, .minor = 5, .access = "w"},
    };
    EXPECT_EQ(allow_list(device_properties(rules, {})),
              (DeviceAllowList{{"/dev/char/1:3", "rwm"}}));
    // Allow everything: systemd's own default, no list.
    auto open = device_properties({{.allow = true, .type = 'a', .access = "rwm"}}, {});
    EXPECT_EQ(std::get<std::string>(open[0].value), "auto");
    EXPECT_TRUE(allow_list(open).empty());
    // Everything but one device has no systemd form: that type goes entirely (stricter).
    auto but_one = device_properties({{.allow = true, .type = 'a', .access = "rwm"},
                                      {.allow = false, .type = 'b', .major = 8, .access = "rwm"}},
                                     {});
    EXPECT_EQ(std::get<std::string>(but_one[0].value), "strict");
    EXPECT_EQ(allow_list(but_one), (DeviceAllowList{{"char-*", "rwm"}}));
}

TEST(SystemdProperties, DeviceRulesOnlyWhenGiven) {
    Resources r;
    r.pids_limit = 5;
    EXPECT_EQ(by_name(r, true).count("DevicePolicy"), 0u);
    r.devices = {{.allow = false, .type = 'a', .access = "rwm"}};
    auto p = by_name(r, false);
    EXPECT_EQ(std::get<std::string>(p.at("DevicePolicy")), "strict");
    EXPECT_TRUE(std::get<DeviceAllowList>(p.at("DeviceAllow")).empty());
}

}  // namespace
}  // namespace vessel::host::cgroup
