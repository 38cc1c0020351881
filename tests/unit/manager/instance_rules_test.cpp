#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "manager/instance/limits.h"
#include "manager/instance/name.h"
#include "manager/instance/vm_driver.h"
#include "temp_dir.h"

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
              "limits.processes, limits.disk, boot.agent_timeout, user.*)");
    EXPECT_EQ(limits_from_config({{"limits.processes", "0"}}).error().message(),
              "limits.processes: 0: must be a positive integer");
    EXPECT_FALSE(limits_from_config({{"limits.memory", 5}}));
}

TEST(Limits, DiskSizes) {
    EXPECT_EQ(*parse_disk_size("256MiB"), 256ull << 20);
    EXPECT_EQ(*parse_disk_size("2GB"), 2000000000ull);
    EXPECT_EQ(*parse_disk_size("1MiB"), 1ull << 20);
    EXPECT_EQ(parse_disk_size("512KiB").error().message(), "512KiB: must be at least 1MiB");
    // A forgotten unit is a byte count, and far too small for a disk.
    EXPECT_EQ(parse_disk_size("256").error().message(), "256: must be at least 1MiB");
    EXPECT_FALSE(parse_disk_size("big"));
    EXPECT_FALSE(parse_disk_size("99999999999999TiB"));
    Json config = {{"limits.disk", "1GiB"}};
    EXPECT_EQ(limits_from_config(config)->disk_bytes, 1ull << 30);
    EXPECT_EQ(limits_from_config({{"limits.disk", "1 GiB"}}).error().message(),
              "limits.disk: 1 GiB: unknown unit  GiB (use B, kB, KiB, MB, MiB, GB, GiB, TB, TiB)");
}

TEST(Limits, SizesForPeopleAreExact) {
    EXPECT_EQ(format_size(256ull << 20), "256MiB");
    EXPECT_EQ(format_size(1536ull << 20), "1536MiB");
    EXPECT_EQ(format_size(2ull << 30), "2GiB");
    EXPECT_EQ(format_size(3ull << 40), "3TiB");
    EXPECT_EQ(format_size(1000000), "1000000B");
    EXPECT_EQ(format_size(4096), "4KiB");
    EXPECT_EQ(format_size(0), "0B");
}

TEST(Limits, RootDiskOnlyGrows) {
    EXPECT_EQ(root_disk_must_grow("v1", 256ull << 20, 1ull << 30), true);
    EXPECT_EQ(root_disk_must_grow("v1", 256ull << 20, 256ull << 20), false);
    EXPECT_EQ(root_disk_must_grow("v1", 256ull << 20, 128ull << 20).error().message(),
              "limits.disk of VM v1 cannot shrink its root disk from 256MiB to 128MiB: data would "
              "be lost");
}

TEST(Limits, AgentTimeout) {
    EXPECT_EQ(*parse_agent_timeout("5"), std::chrono::seconds(5));
    EXPECT_EQ(*parse_agent_timeout("3600"), std::chrono::seconds(3600));
    for (auto bad : {"0", "3601", "5s", "-1", "1.5", ""})
        EXPECT_EQ(parse_agent_timeout(bad).error().message(),
                  fmt::format("{}: must be a whole number of seconds from 1 to 3600", bad));
    EXPECT_EQ(agent_timeout_from_config({{"boot.agent_timeout", "12"}}).value(),
              std::chrono::seconds(12));
    EXPECT_EQ(agent_timeout_from_config({{"limits.cpu", "1"}}).value(), std::nullopt);
    EXPECT_EQ(agent_timeout_from_config({{"boot.agent_timeout", "soon"}}).error().message(),
              "boot.agent_timeout: soon: must be a whole number of seconds from 1 to 3600");
    EXPECT_EQ(validate_config_key("boot.agent_timeout", "0").error().message(),
              "boot.agent_timeout: 0: must be a whole number of seconds from 1 to 3600");
}

TEST(Limits, VmOnlyKeysAreRefusedForContainers) {
    EXPECT_EQ(validate_config_for_type(InstanceKind::container, {{"limits.disk", "1GiB"}})
                  .error()
                  .message(),
              "limits.disk applies to VMs only: a container's root is an overlay on the host's "
              "filesystem, with no size of its own");
    EXPECT_EQ(validate_config_for_type(InstanceKind::container, {{"boot.agent_timeout", "5"}})
                  .error()
                  .message(),
              "boot.agent_timeout applies to VMs only: a container has no guest agent");
    EXPECT_TRUE(validate_config_for_type(InstanceKind::vm,
                                         {{"limits.disk", "1GiB"}, {"boot.agent_timeout", "5"}}));
    // Removing a key (null) is always allowed.
    EXPECT_TRUE(validate_config_for_type(InstanceKind::container, {{"limits.disk", nullptr}}));
    EXPECT_TRUE(validate_config_for_type(InstanceKind::container, {{"limits.memory", "64MiB"}}));
}

using RootDisk = testing::TempDirTest;

TEST_F(RootDisk, GrowsSparselyAndNeverShrinks) {
    auto disk = path("root.img");
    ASSERT_TRUE(write_file_atomic(disk, std::string(4096, 'x'), 0600));
    ASSERT_EQ(::truncate(disk.c_str(), 1 << 20), 0);
    struct stat before {};
    ASSERT_EQ(::stat(disk.c_str(), &before), 0);

    ASSERT_TRUE(grow_root_disk(disk, "v1", 64ull << 20));
    struct stat after {};
    ASSERT_EQ(::stat(disk.c_str(), &after), 0);
    EXPECT_EQ(after.st_size, 64 << 20);
    // The new end is a hole: no more blocks than before.
    EXPECT_EQ(after.st_blocks, before.st_blocks);
    EXPECT_EQ(read_file(disk)->substr(0, 4096), std::string(4096, 'x'));

    ASSERT_TRUE(grow_root_disk(disk, "v1", 64ull << 20));  // already that size
    auto shrink = grow_root_disk(disk, "v1", 32ull << 20);
    ASSERT_FALSE(shrink);
    EXPECT_EQ(shrink.error().message(),
              "limits.disk of VM v1 cannot shrink its root disk from 64MiB to 32MiB: data would "
              "be lost");
    ASSERT_EQ(::stat(disk.c_str(), &after), 0);
    EXPECT_EQ(after.st_size, 64 << 20);
}

TEST_F(RootDisk, AMissingDiskOrASymlinkIsNotGrown) {
    EXPECT_EQ(grow_root_disk(path("none.img"), "v1", 64ull << 20).error().code(), ENOENT);
    ASSERT_TRUE(write_file_atomic(path("elsewhere"), "", 0600));
    ASSERT_EQ(::symlink(path("elsewhere").c_str(), path("link.img").c_str()), 0);
    EXPECT_EQ(grow_root_disk(path("link.img"), "v1", 64ull << 20).error().code(), ELOOP);
    EXPECT_EQ(*read_file(path("elsewhere")), "");
}

TEST_F(RootDisk, LimitsDiskNeedsAnImageWithADisk) {
    ImageRecord image{.fingerprint = "f", .kind = InstanceKind::vm, .path = path("image")};
    ASSERT_TRUE(make_directories(image.path));
    ASSERT_TRUE(write_file_atomic(image.path + "/metadata.json",
                                  R"({"kernel": "kernel", "initrd": "initrd"})"));
    auto command = vmm_command("vessel-vmm", image,
                               *InstanceConfig::parse(InstanceKind::vm, {{"limits.disk", "1GiB"}}),
                               "", path("v1"), std::nullopt);
    ASSERT_FALSE(command);
    EXPECT_EQ(command.error().message(),
              "limits.disk sizes a VM's root disk, and this image has none (it boots from its "
              "initramfs)");
    ASSERT_TRUE(write_file_atomic(image.path + "/metadata.json",
                                  R"({"kernel": "kernel", "disk": "disk"})"));
    command = vmm_command("vessel-vmm", image,
                          *InstanceConfig::parse(InstanceKind::vm, {{"limits.disk", "1GiB"}}), "",
                          path("v1"), std::nullopt);
    ASSERT_TRUE(command) << command.error().message();
}

}  // namespace
}  // namespace vessel::manager
