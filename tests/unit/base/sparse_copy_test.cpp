#include "base/sparse_copy.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "base/file.h"

namespace vessel {
namespace {

class SparseCopyTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/var/tmp/vessel-sparse-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string dir_;
};

// 64 MiB with 2 MiB of data in three places, the last one short of the end: the copy has the same
// bytes, the same length, and about the same allocated size (holes stayed holes).
TEST_F(SparseCopyTest, KeepsBytesLengthAndHoles) {
    auto source = dir_ + "/disk.img";
    {
        auto fd = open_file(source, O_WRONLY | O_CREAT, 0644).value();
        ASSERT_EQ(::ftruncate(fd.get(), 64 << 20), 0);
        std::string block(1 << 20, 'a');
        ASSERT_EQ(::pwrite(fd.get(), block.data(), block.size(), 0), (ssize_t)block.size());
        block.assign(512 << 10, 'b');
        ASSERT_EQ(::pwrite(fd.get(), block.data(), block.size(), 20 << 20), (ssize_t)block.size());
        block.assign(512 << 10, 'c');
        ASSERT_EQ(::pwrite(fd.get(), block.data(), block.size(), 40 << 20), (ssize_t)block.size());
    }
    auto copy = dir_ + "/copy.img";
    ASSERT_TRUE(copy_sparse_file(source, copy, 0600));
    EXPECT_EQ(read_file(copy).value(), read_file(source).value());
    struct stat info {};
    ASSERT_EQ(::stat(copy.c_str(), &info), 0);
    EXPECT_EQ(info.st_size, 64 << 20);
    EXPECT_EQ(info.st_mode & 07777, 0600u);
    EXPECT_LT(info.st_blocks * 512, 8 << 20) << "the holes were filled";
}

TEST_F(SparseCopyTest, RefusesAnExistingTargetAndLeavesIt) {
    auto source = dir_ + "/disk.img", target = dir_ + "/taken.img";
    ASSERT_TRUE(write_file_atomic(source, "data"));
    ASSERT_TRUE(write_file_atomic(target, "precious"));
    auto copied = copy_sparse_file(source, target, 0600);
    ASSERT_FALSE(copied);
    EXPECT_EQ(copied.error().code(), EEXIST);
    EXPECT_EQ(read_file(target).value(), "precious");
}

TEST_F(SparseCopyTest, RefusesADirectoryAndLeavesNothing) {
    auto copied = copy_sparse_file(dir_, dir_ + "/copy.img", 0600);
    ASSERT_FALSE(copied);
    EXPECT_NE(copied.error().message().find("not a regular file"), std::string::npos);
    EXPECT_FALSE(path_exists(dir_ + "/copy.img"));
}

}  // namespace
}  // namespace vessel
