// A busybox container bundle, its own --root and cgroup parent, and vessel-runc invoked as a
// separate process: the fixture of the issue-3 integration tests (security, control commands).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/file.h"
#include "base/json.h"
#include "base/process.h"
#include "container/spec/default_spec.h"

namespace vessel {

struct Outcome {
    int code = -1;
    std::string out;
    std::string err;
};

inline std::string slurp(const std::string& path) {
    auto text = read_file(path);
    return text ? *text : std::string();
}

inline std::set<std::string> list_directory(const std::string& path) {
    std::set<std::string> names;
    if (DIR* dir = ::opendir(path.c_str())) {
        while (dirent* entry = ::readdir(dir))
            if (entry->d_name[0] != '.') names.insert(entry->d_name);
        ::closedir(dir);
    }
    return names;
}

// The test's cgroup parent in every hierarchy where it exists.
inline std::set<std::string> cgroup_directories(const std::string& parent) {
    std::set<std::string> found;
    for (const auto& hierarchy : list_directory("/sys/fs/cgroup"))
        for (const auto& child : list_directory("/sys/fs/cgroup/" + hierarchy + parent))
            found.insert(hierarchy + parent + "/" + child);
    return found;
}

class BusyboxContainerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root: containers need CAP_SYS_ADMIN";
        char pattern[] = "/tmp/vessel-sec-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        bundle_ = dir_ + "/bundle";
        root_ = dir_ + "/state";
        std::string rootfs = bundle_ + "/rootfs";
        for (const char* sub : {"/bin", "/proc", "/sys", "/dev", "/tmp", "/etc"})
            ASSERT_TRUE(make_directories(rootfs + sub));
        auto copied = run_capture({"cp", "/bin/busybox", rootfs + "/bin/busybox"});
        ASSERT_TRUE(copied && copied->status.success());
        for (const char* applet : {"sh", "grep", "cat", "echo", "unshare", "mkdir", "true", "id",
                                   "sleep", "ls", "stat", "touch", "mknod", "head"})
            ASSERT_EQ(::symlink("busybox", (rootfs + "/bin/" + applet).c_str()), 0);
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        id_ = fmt::format("sec-{}-{}", info->name(), ::getpid());
        cgroup_parent_ = fmt::format("/vessel-sec-{}", ::getpid());
        config_ = container::spec::default_spec();
        config_["linux"]["cgroupsPath"] = cgroup_parent_ + "/" + id_;
        mounts_before_ = slurp("/proc/self/mountinfo");
    }

    void TearDown() override {
        if (dir_.empty()) return;
        for (const auto& id : list_directory(root_))
            invoke({"delete", "--force", id});
        for (const auto& hierarchy : list_directory("/sys/fs/cgroup"))
            ::rmdir(("/sys/fs/cgroup/" + hierarchy + cgroup_parent_).c_str());
        std::error_code ignored;  // what a failed test left is not worth a second failure
        std::filesystem::remove_all(dir_, ignored);
    }

    Outcome invoke(std::vector<std::string> arguments) {
        static int counter = 0;
        std::string out_path = fmt::format("{}/out.{}", dir_, counter);
        std::string err_path = fmt::format("{}/err.{}", dir_, counter++);
        UniqueFd out = *open_file(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        UniqueFd err = *open_file(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        UniqueFd null = *open_file("/dev/null", O_RDONLY);
        std::vector<std::string> argv = runner_prefix_;
        argv.insert(argv.end(), {VESSEL_RUNC_PATH, "--root", root_});
        argv.insert(argv.end(), arguments.begin(), arguments.end());
        auto child = spawn(SpawnOptions{.argv = argv,
                                        .env = std::nullopt,
                                        .cwd = bundle_,
                                        .stdin_fd = null.get(),
                                        .stdout_fd = out.get(),
                                        .stderr_fd = err.get()});
        EXPECT_TRUE(child) << child.error().message();
        if (!child) return {};
        auto status = child->wait_for(std::chrono::seconds(60));
        EXPECT_TRUE(status && *status) << "vessel-runc " << arguments[0] << " timed out";
        if (!status || !*status) {
            (void)child->signal(SIGKILL);
            (void)child->wait();
            return {};
        }
        return {(*status)->shell_code(), slurp(out_path), slurp(err_path)};
    }

    Outcome run_container(std::vector<std::string> args) {
        config_["process"]["args"] = args;
        EXPECT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
        return invoke({"run", "--bundle", bundle_, id_});
    }

    // "CapEff:\t0000000000000421" -> {"CapEff", 0x421}
    std::map<std::string, uint64_t> capabilities_inside() {
        auto result = run_container({"grep", "^Cap", "/proc/self/status"});
        EXPECT_EQ(result.code, 0) << result.err;
        std::map<std::string, uint64_t> sets;
        size_t position = 0;
        while (position < result.out.size()) {
            size_t end = result.out.find('\n', position);
            std::string line = result.out.substr(position, end - position);
            size_t colon = line.find(':');
            if (colon != std::string::npos)
                sets[line.substr(0, colon)] = std::stoull(line.substr(colon + 1), nullptr, 16);
            position = end == std::string::npos ? result.out.size() : end + 1;
        }
        return sets;
    }

    void expect_nothing_left() {
        EXPECT_TRUE(list_directory(root_).empty()) << "state left in " << root_;
        EXPECT_TRUE(cgroup_directories(cgroup_parent_).empty()) << "cgroup left behind";
        EXPECT_EQ(slurp("/proc/self/mountinfo"), mounts_before_);
    }

    std::string dir_, bundle_, root_, id_, cgroup_parent_, mounts_before_;
    // Put before vessel-runc's path by invoke() (to run it as another user, say).
    std::vector<std::string> runner_prefix_;
    Json config_;
};

}  // namespace vessel
