#include "container/linux/seccomp_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "base/file.h"

namespace vessel::container {
namespace {

namespace fs = std::filesystem;

class SeccompCache : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = fs::temp_directory_path() / "vessel-seccomp-cache-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
        cache_ = root_ + "/cache";
        json_ = default_seccomp_profile_json();
        profile_ = parse_seccomp(JsonAt(json_, "linux.seccomp")).value();
        reference_ = compile_seccomp(profile_).value();
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(root_, ignored);
    }

    static bool same_program(const CompiledSeccomp& a, const CompiledSeccomp& b) {
        return a.flags == b.flags && a.uses_notify == b.uses_notify &&
               a.program.size() == b.program.size() &&
               std::memcmp(a.program.data(), b.program.data(),
                           a.program.size() * sizeof(sock_filter)) == 0;
    }

    std::vector<fs::path> entries() const {
        std::vector<fs::path> found;
        for (const auto& entry : fs::directory_iterator(cache_))
            found.push_back(entry.path());
        return found;
    }

    std::string root_, cache_;
    Json json_;
    SeccompProfile profile_;
    CompiledSeccomp reference_;
};

TEST_F(SeccompCache, MissCompilesAndStoresThenHitReturnsTheSameProgram) {
    auto first = compile_seccomp_cached(json_, profile_, cache_);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_FALSE(first->from_cache);
    EXPECT_TRUE(same_program(first->compiled, reference_));
    ASSERT_EQ(entries().size(), 1u);
    struct stat info {};
    ASSERT_EQ(::stat(cache_.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0700u);

    auto second = compile_seccomp_cached(json_, profile_, cache_);
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_TRUE(second->from_cache);
    EXPECT_TRUE(same_program(second->compiled, reference_));
}

TEST_F(SeccompCache, DifferentProfilesGetDifferentEntries) {
    ASSERT_TRUE(compile_seccomp_cached(json_, profile_, cache_));
    Json other = Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]})");
    auto other_profile = parse_seccomp(JsonAt(other, "linux.seccomp")).value();
    auto result = compile_seccomp_cached(other, other_profile, cache_);
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_FALSE(result->from_cache);
    EXPECT_TRUE(same_program(result->compiled, compile_seccomp(other_profile).value()));
    EXPECT_EQ(entries().size(), 2u);
}

TEST_F(SeccompCache, AnEntryForAnotherKeyIsNotUsed) {
    ASSERT_TRUE(compile_seccomp_cached(json_, profile_, cache_));
    // Replace the entry with one whose key differs (as a hash collision or a forgery would).
    auto path = entries().front();
    auto data = read_file(path).value();
    data[data.find("defaultAction")] = 'X';
    ASSERT_TRUE(write_file_atomic(path, data, 0600));
    auto result = compile_seccomp_cached(json_, profile_, cache_);
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_FALSE(result->from_cache);
    EXPECT_TRUE(same_program(result->compiled, reference_));
}

TEST_F(SeccompCache, TruncatedEntryIsRecompiled) {
    ASSERT_TRUE(compile_seccomp_cached(json_, profile_, cache_));
    auto path = entries().front();
    auto data = read_file(path).value();
    ASSERT_TRUE(write_file_atomic(path, data.substr(0, data.size() - 3), 0600));
    auto result = compile_seccomp_cached(json_, profile_, cache_);
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_FALSE(result->from_cache);
    EXPECT_TRUE(same_program(result->compiled, reference_));
    // ... and the good program is stored again.
    EXPECT_TRUE(compile_seccomp_cached(json_, profile_, cache_)->from_cache);
}

TEST_F(SeccompCache, ADirectoryOthersCanWriteIsNotTrusted) {
    ASSERT_EQ(::mkdir(cache_.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(cache_.c_str(), 0777), 0);
    for (int i = 0; i < 2; ++i) {
        auto result = compile_seccomp_cached(json_, profile_, cache_);
        ASSERT_TRUE(result) << result.error().message();
        EXPECT_FALSE(result->from_cache);
        EXPECT_TRUE(same_program(result->compiled, reference_));
    }
    EXPECT_TRUE(entries().empty());
}

TEST_F(SeccompCache, AnEntryOthersCanWriteIsNotTrusted) {
    ASSERT_TRUE(compile_seccomp_cached(json_, profile_, cache_));
    ASSERT_EQ(::chmod(entries().front().c_str(), 0666), 0);
    EXPECT_FALSE(compile_seccomp_cached(json_, profile_, cache_)->from_cache);
}

TEST_F(SeccompCache, AnUnusableCacheDirectoryStillCompiles) {
    auto result = compile_seccomp_cached(json_, profile_, root_ + "/missing-parent/cache");
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_FALSE(result->from_cache);
    EXPECT_TRUE(same_program(result->compiled, reference_));
}

}  // namespace
}  // namespace vessel::container
