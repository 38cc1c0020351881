#include "base/file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace vessel {
namespace {

class TempDir : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/vessel-test-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string dir_;
};

using FileTest = TempDir;

TEST_F(FileTest, AtomicWriteThenRead) {
    std::string path = dir_ + "/state.json";
    ASSERT_TRUE(write_file_atomic(path, "first"));
    ASSERT_TRUE(write_file_atomic(path, "second"));
    EXPECT_EQ(read_file(path).value(), "second");
    // No temporary is left beside it.
    int entries = 0;
    for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator(dir_))
        ++entries;
    EXPECT_EQ(entries, 1);
}

TEST_F(FileTest, ReadMissingFileNamesPathAndErrno) {
    auto missing = read_file(dir_ + "/absent");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ENOENT);
    EXPECT_NE(missing.error().message().find("absent"), std::string::npos);
}

TEST_F(FileTest, MakeDirectoriesIsIdempotentAndRejectsFiles) {
    ASSERT_TRUE(make_directories(dir_ + "/a/b/c"));
    ASSERT_TRUE(make_directories(dir_ + "/a/b/c"));
    EXPECT_TRUE(std::filesystem::is_directory(dir_ + "/a/b/c"));
    ASSERT_TRUE(write_file_atomic(dir_ + "/f", "x"));
    EXPECT_FALSE(make_directories(dir_ + "/f"));
    EXPECT_FALSE(make_directories(dir_ + "/f/g"));
}

TEST_F(FileTest, WriteExistingDoesNotCreate) {
    EXPECT_FALSE(write_existing_file(dir_ + "/nope", "1"));
    EXPECT_FALSE(path_exists(dir_ + "/nope"));
}

}  // namespace
}  // namespace vessel
