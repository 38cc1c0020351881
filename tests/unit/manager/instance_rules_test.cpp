#include <gtest/gtest.h>

#include "manager/instance/limits.h"
#include "manager/instance/name.h"

namespace vessel::manager {
namespace {

TEST(InstanceName, AcceptsDnsLabels) {
    for (std::string name :
         {std::string("c1"), std::string("web-server"), std::string("a"), std::string(63, 'a')})
        EXPECT_TRUE(validate_instance_name(name)) << name;
}

TEST(InstanceName, RejectsWithTheReason) {
    EXPECT_EQ(validate_instance_name("").error().message(), "instance name must not be empty");
    EXPECT_EQ(validate_instance_name("1abc").error().message(),
              "instance name 1abc must start with a lower-case letter");
    EXPECT_EQ(validate_instance_name("a/b").error().message(),
              "instance name a/b may only hold a-z, 0-9 and '-'");
    EXPECT_FALSE(validate_instance_name("../etc"));
    EXPECT_FALSE(validate_instance_name("Upper"));
    EXPECT_FALSE(validate_instance_name("trailing-"));
    EXPECT_FALSE(validate_instance_name(std::string(64, 'a')));
}

TEST(InstanceName, EditDistance) {
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(edit_distance("same", "same"), 0u);
}

TEST(InstanceName, SuggestsCloseNamesClosestFirst) {
    std::vector<std::string> known = {"web1", "web2", "database", "c1"};
    EXPECT_EQ(close_names("web", known), (std::vector<std::string>{"web1", "web2"}));
    EXPECT_EQ(close_names("databse", known), std::vector<std::string>{"database"});
    EXPECT_TRUE(close_names("zzzzzz", known).empty());
    EXPECT_EQ(not_found_message("instance", "c2", known),
              "instance c2 not found (did you mean c1?)");
    EXPECT_EQ(not_found_message("instance", "nothing", {}), "instance nothing not found");
}

TEST(Limits, MemorySizes) {
    EXPECT_EQ(*parse_memory_size("64MiB"), 64ull << 20);
    EXPECT_EQ(*parse_memory_size("1GiB"), 1ull << 30);
    EXPECT_EQ(*parse_memory_size("500MB"), 500000000ull);
    EXPECT_EQ(*parse_memory_size("8388608"), 8388608ull);
    EXPECT_EQ(parse_memory_size("64XB").error().message(),
              "64XB: unknown unit XB (use B, kB, KiB, MB, MiB, GB, GiB, TB, TiB)");
    EXPECT_FALSE(parse_memory_size("lots"));
    EXPECT_FALSE(parse_memory_size("-1MiB"));
    EXPECT_FALSE(parse_memory_size("1KiB"));  // below the 4MiB floor
    EXPECT_FALSE(parse_memory_size("99999999999999TiB"));
}

TEST(Limits, CpuQuota) {
    EXPECT_EQ(*parse_cpu_quota("1"), 100000u);
    EXPECT_EQ(*parse_cpu_quota("0.5"), 50000u);
    EXPECT_FALSE(parse_cpu_quota("0"));
    EXPECT_FALSE(parse_cpu_quota("two"));
    EXPECT_FALSE(parse_cpu_quota("nan"));
}

TEST(Limits, FromConfig) {
    Json config = {{"limits.memory", "64MiB"},
                   {"limits.cpu", "0.5"},
                   {"limits.processes", "100"},
                   {"user.note", "x"}};
    auto limits = limits_from_config(config);
    ASSERT_TRUE(limits) << limits.error().message();
    EXPECT_EQ(limits->memory_bytes, 64ull << 20);
    EXPECT_EQ(limits->cpu_quota_us, 50000u);
    EXPECT_EQ(limits->processes, 100u);
    EXPECT_EQ(limits_from_config({{"limits.memroy", "1GiB"}}).error().message(),
              "unknown config key limits.memroy (known: limits.memory, limits.cpu, "
              "limits.processes, user.*)");
    EXPECT_EQ(limits_from_config({{"limits.processes", "0"}}).error().message(),
              "limits.processes: 0: must be a positive integer");
    EXPECT_FALSE(limits_from_config({{"limits.memory", 5}}));
}

}  // namespace
}  // namespace vessel::manager
