// The agent's root growth: the superblock as mkfs.ext4 writes it, and when there is something to
// grow. Touching a mounted filesystem needs root: grow_root_mount_test.cpp.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <vector>

#include "agent/grow_root.h"
#include "base/file.h"
#include "base/process.h"

namespace vessel::agent {
namespace {

class Ext4Image : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/vessel-grow-root-test-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    // The superblock of a new ext4 image of `bytes` with blocks of `block_size`.
    std::vector<uint8_t> superblock_of(uint64_t bytes, int block_size,
                                       const std::vector<std::string>& extra = {}) {
        auto image = dir_ + "/fs.img";
        EXPECT_TRUE(write_file_atomic(image, ""));
        EXPECT_EQ(::truncate(image.c_str(), static_cast<off_t>(bytes)), 0);
        std::vector<std::string> argv = {"/sbin/mkfs.ext4", "-q", "-F", "-b",
                                         std::to_string(block_size)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back(image);
        auto made = run_checked(argv);
        EXPECT_TRUE(made) << made.error().message();
        auto content = read_file(image);
        EXPECT_TRUE(content);
        return std::vector<uint8_t>(content->begin() + 1024, content->begin() + 2048);
    }

    std::string dir_;
};

TEST_F(Ext4Image, SuperblockGeometryAsMkfsWroteIt) {
    auto geometry = parse_ext4_superblock(superblock_of(64ull << 20, 4096));
    ASSERT_TRUE(geometry) << geometry.error().message();
    EXPECT_EQ(geometry->block_size, 4096u);
    EXPECT_EQ(geometry->block_count, (64ull << 20) / 4096);

    geometry = parse_ext4_superblock(superblock_of(8ull << 20, 1024));
    ASSERT_TRUE(geometry) << geometry.error().message();
    EXPECT_EQ(geometry->block_size, 1024u);
    EXPECT_EQ(geometry->block_count, (8ull << 20) / 1024);
}

TEST_F(Ext4Image, SuperblockWithoutThe64bitFeature) {
    auto geometry = parse_ext4_superblock(superblock_of(16ull << 20, 4096, {"-O", "^64bit"}));
    ASSERT_TRUE(geometry) << geometry.error().message();
    EXPECT_EQ(geometry->block_count, (16ull << 20) / 4096);
}

TEST(Ext4Superblock, HighHalfOfTheBlockCountOnlyWith64bit) {
    std::array<uint8_t, 1024> superblock{};
    superblock[0x38] = 0x53;  // magic 0xEF53
    superblock[0x39] = 0xef;
    superblock[0x18] = 2;     // 4096-byte blocks
    superblock[0x04] = 0x10;  // low half: 16
    superblock[0x150] = 1;    // high half: 1
    auto geometry = parse_ext4_superblock(superblock);
    ASSERT_TRUE(geometry);
    EXPECT_EQ(geometry->block_count, 16u);
    superblock[0x60] = 0x80;  // INCOMPAT_64BIT
    geometry = parse_ext4_superblock(superblock);
    ASSERT_TRUE(geometry);
    EXPECT_EQ(geometry->block_count, (1ull << 32) + 16);
}

TEST(Ext4Superblock, RefusesWhatIsNotOne) {
    std::array<uint8_t, 1024> superblock{};
    EXPECT_EQ(parse_ext4_superblock(superblock).error().message(),
              "not ext4 (superblock magic 0x0000)");
    superblock[0x38] = 0x53;
    superblock[0x39] = 0xef;
    superblock[0x18] = 7;
    EXPECT_EQ(parse_ext4_superblock(superblock).error().message(),
              "ext4 block size 1024 << 7 is out of range");
    EXPECT_EQ(parse_ext4_superblock(std::span(superblock).first(100)).error().message(),
              "the superblock is 100 bytes, not 1024");
}

TEST(GrownBlockCount, FillsTheDeviceAndNeverShrinks) {
    Ext4Geometry fs{.block_size = 4096, .block_count = 65536};  // 256 MiB
    EXPECT_EQ(grown_block_count(fs, 1ull << 30), 262144u);
    // A device that is not a whole number of blocks: the partial block is left out.
    EXPECT_EQ(grown_block_count(fs, (512ull << 20) + 4095), 131072u);
    EXPECT_EQ(grown_block_count(fs, 256ull << 20), std::nullopt);
    EXPECT_EQ(grown_block_count(fs, (256ull << 20) + 4095), std::nullopt);
    EXPECT_EQ(grown_block_count(fs, 128ull << 20), std::nullopt);
}

TEST(GrowFilesystem, LeavesWhatIsNotExt4Alone) {
    auto grown = grow_filesystem("/proc");
    ASSERT_TRUE(grown) << grown.error().message();
    EXPECT_EQ(*grown, std::nullopt);
}

}  // namespace
}  // namespace vessel::agent
