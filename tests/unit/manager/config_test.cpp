// The typed instance config (src/manager/instance/config.h): made only by parsing, so one in hand
// is valid for its kind; keys come back as they were spelled, and their meaning is typed.
#include "manager/instance/config.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace vessel::manager {
namespace {

TEST(InstanceConfig, KeysKeepTheirSpellingAndTheirMeaningIsTyped) {
    auto config = InstanceConfig::parse(InstanceKind::vm, {{"limits.memory", "500MB"},
                                                           {"limits.cpu", "0.5"},
                                                           {"limits.disk", "2GiB"},
                                                           {"boot.agent_timeout", "12"},
                                                           {"user.owner", "ops"}});
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->value_of("limits.memory"), "500MB");
    EXPECT_EQ(config->limits().memory_bytes, 500000000u);
    EXPECT_EQ(config->limits().cpu_quota_us, 50000u);
    EXPECT_EQ(config->limits().disk_bytes, 2ull << 30);
    EXPECT_EQ(config->agent_timeout(), std::chrono::seconds(12));
    EXPECT_EQ(config->value_of("user.owner"), "ops");
    EXPECT_EQ(config->value_of("limits.processes"), std::nullopt);
    EXPECT_EQ(config->to_json(), (Json{{"limits.memory", "500MB"},
                                       {"limits.cpu", "0.5"},
                                       {"limits.disk", "2GiB"},
                                       {"boot.agent_timeout", "12"},
                                       {"user.owner", "ops"}}));
    EXPECT_TRUE(InstanceConfig{}.limits().empty());
}

TEST(InstanceConfig, WhatDoesNotParseOrFitTheKindIsRefusedNamingTheKey) {
    auto refused = [](InstanceKind kind, const Json& keys) {
        auto config = InstanceConfig::parse(kind, keys);
        EXPECT_FALSE(config);
        if (config) return std::string();
        EXPECT_EQ(config.error().code(), EINVAL);
        return config.error().innermost();
    };
    EXPECT_EQ(refused(InstanceKind::vm, Json::array()), "config: must be an object of strings");
    EXPECT_EQ(refused(InstanceKind::vm, {{"limits.memory", 64}}),
              "config key limits.memory: value must be a string");
    EXPECT_EQ(refused(InstanceKind::vm, {{"limits.memroy", "1GiB"}}),
              "unknown config key limits.memroy (known: limits.memory, limits.cpu, "
              "limits.processes, limits.disk, boot.agent_timeout, user.*)");
    EXPECT_EQ(refused(InstanceKind::container, {{"boot.agent_timeout", "5"}}),
              "boot.agent_timeout applies to VMs only: a container has no guest agent");
    EXPECT_EQ(refused(InstanceKind::vm, {{"limits.cpu", "many"}}).substr(0, 11), "limits.cpu:");
}

TEST(InstanceConfig, AChangeSetsAndRemovesKeysAndIsCheckedWhole) {
    auto config = *InstanceConfig::parse(InstanceKind::container,
                                         {{"limits.memory", "64MiB"}, {"limits.cpu", "1"}});
    auto changed = config.changed(InstanceKind::container,
                                  {{"limits.memory", "128MiB"}, {"limits.cpu", nullptr}});
    ASSERT_TRUE(changed) << changed.error().message();
    EXPECT_EQ(changed->to_json(), (Json{{"limits.memory", "128MiB"}}));
    EXPECT_EQ(changed->limits().memory_bytes, 128u << 20);
    EXPECT_EQ(changed->limits().cpu_quota_us, std::nullopt);
    // Removing a key that is not set is no error; setting a bad one is, and changes nothing.
    EXPECT_TRUE(config.changed(InstanceKind::container, {{"user.x", nullptr}}));
    auto bad = config.changed(InstanceKind::container, {{"limits.disk", "1GiB"}});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code(), EINVAL);
    EXPECT_EQ(config.value_of("limits.memory"), "64MiB");
}

}  // namespace
}  // namespace vessel::manager
