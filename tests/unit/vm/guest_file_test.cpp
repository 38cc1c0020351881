// Only regular files that fit in guest RAM are read into it; anything else is refused at once,
// without reading (a device) or blocking (a FIFO).
#include "vm/boot/guest_file.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "base/file.h"

namespace vessel::vm {
namespace {

class GuestFileTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/vessel-guestfile-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string dir_;
};

TEST_F(GuestFileTest, ReadsARegularFileThatFits) {
    ASSERT_TRUE(write_file_atomic(dir_ + "/image", "0123456789"));
    EXPECT_EQ(read_guest_file(dir_ + "/image", "--kernel", 10).value(), "0123456789");
    auto head = read_guest_file_head(dir_ + "/image", "--kernel", 10, 4).value();
    EXPECT_EQ(std::string(head.begin(), head.end()), "0123");
    EXPECT_EQ(read_guest_file_head(dir_ + "/image", "--kernel", 10, 4096).value().size(), 10u);
}

TEST_F(GuestFileTest, RefusesALargerFileNamingSizeAndLimit) {
    ASSERT_TRUE(write_file_atomic(dir_ + "/image", "0123456789"));
    EXPECT_EQ(read_guest_file(dir_ + "/image", "--initrd", 9).error().message(),
              "--initrd: " + dir_ + "/image is 10 bytes, larger than guest RAM (9 bytes)");
    EXPECT_EQ(read_guest_file_head(dir_ + "/image", "vm.json: bios", 9, 4).error().message(),
              "vm.json: bios: " + dir_ + "/image is 10 bytes, larger than guest RAM (9 bytes)");
}

TEST_F(GuestFileTest, RefusesDevicesAndDirectoriesWithoutReading) {
    EXPECT_EQ(read_guest_file("/dev/zero", "--bios", 1ull << 40).error().message(),
              "--bios: /dev/zero is a character device, not a regular file");
    EXPECT_EQ(read_guest_file_head("/dev/zero", "--kernel", 1ull << 40, 4096).error().message(),
              "--kernel: /dev/zero is a character device, not a regular file");
    EXPECT_EQ(read_guest_file(dir_, "--initrd", 1ull << 40).error().message(),
              "--initrd: " + dir_ + " is a directory, not a regular file");
}

TEST_F(GuestFileTest, RefusesAFifoAtOnce) {
    std::string fifo = dir_ + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(read_guest_file(fifo, "--initrd", 1ull << 30).error().message(),
              "--initrd: " + fifo + " is a FIFO, not a regular file");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(GuestFileTest, MissingFileNamesTheOption) {
    auto error = read_guest_file(dir_ + "/missing", "--kernel", 100).error();
    EXPECT_EQ(error.code(), ENOENT);
    EXPECT_EQ(error.message(), "--kernel: " + dir_ + "/missing: No such file or directory");
}

}  // namespace
}  // namespace vessel::vm
