// The device program in the kernel: the verifier accepts what the generator emits, and a program
// on a cgroup2 directory is enforced. That holds on this hybrid host too (the kernel runs the
// cgroup2 programs of a process's unified-tree cgroup before the v1 devices controller), so a
// forked child moved into a scratch cgroup shows what a container would meet on a pure v2 host.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "base/file.h"
#include "base/process.h"
#include "child_process.h"
#include "host/cgroup/device_filter.h"
#include "host/cgroup/device_program.h"
#include "host/cgroup/drivers.h"

namespace vessel::host::cgroup {
namespace {

using container::testing::report;
using container::testing::run_in_child;

// The errno an open or mknod ends with, 0 for success.
int open_errno(const std::string& path, int flags) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
}
int mknod_errno(const std::string& path, mode_t type, unsigned major, unsigned minor) {
    ::unlink(path.c_str());
    return ::mknod(path.c_str(), type | 0600, ::makedev(major, minor)) == 0 ? 0 : errno;
}

class DeviceFilter : public ::testing::Test {
  protected:
    void SetUp() override {
        // Registered as an integration test, which runs as root.
        ASSERT_EQ(::geteuid(), 0u) << "needs root: loads BPF programs (CAP_BPF) and makes cgroups";
        auto layout = detect_layout();
        ASSERT_TRUE(layout) << layout.error().message();
        ASSERT_FALSE(layout->unified.empty())
            << "the host has no cgroup2 hierarchy mounted to attach programs to";
        path_ = "/vessel-device-filter-test-" + std::to_string(::getpid());
        cgroup_ = make_v2_cgroup(layout->unified, path_);
        auto created = cgroup_->create();
        ASSERT_TRUE(created) << created.error().message();
        directory_ = cgroup_->directories().front();
        char pattern[] = "/tmp/vessel-device-nodes-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        nodes_ = pattern;
        // A block device that opens without a program. Not the boot disk: the development VMs
        // refuse opening /dev/vda even to root in the root cgroups.
        struct stat loop {};
        ASSERT_EQ(::stat("/dev/loop0", &loop), 0) << "the host has no /dev/loop0 (loop module)";
        disk_major_ = major(loop.st_rdev);
        disk_minor_ = minor(loop.st_rdev);
    }
    void TearDown() override {
        if (cgroup_) {
            auto destroyed = cgroup_->destroy();
            EXPECT_TRUE(destroyed) << destroyed.error().message();
        }
        if (!nodes_.empty()) (void)run_capture({"rm", "-rf", nodes_});
    }

    Result<> apply(std::vector<DeviceRule> rules) {
        Resources resources;
        resources.devices = std::move(rules);
        Logger log;
        return cgroup_->apply(resources, log);
    }

    // What a process in the cgroup meets: the errno of each access ("null=0 full=1 ...", with
    // EPERM = 1 the device cgroup's refusal).
    std::string accesses() {
        auto outcome = run_in_child([&](int report_fd) {
            auto joined = write_cgroup_file(directory_, "cgroup.procs", "0");
            if (!joined) {
                report(report_fd, joined.error().message());
                return 1;
            }
            std::string disk = nodes_ + "/disk", full = nodes_ + "/full";
            // One statement each: the order of a call's arguments is unspecified.
            int null_rw = open_errno("/dev/null", O_RDWR);
            int full_r = open_errno("/dev/full", O_RDONLY);
            int mknod_disk = mknod_errno(disk, S_IFBLK, disk_major_, disk_minor_);
            int disk_r = open_errno(disk, O_RDONLY);
            int mknod_full = mknod_errno(full, S_IFCHR, 1, 7);
            int made_full_r = open_errno(full, O_RDONLY);
            report(report_fd,
                   fmt::format("null-rw={} full-r={} mknod-disk={} disk-r={} "
                               "mknod-full={} made-full-r={}",
                               null_rw, full_r, mknod_disk, disk_r, mknod_full, made_full_r));
            return 0;
        });
        EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
        return outcome.report;
    }

    std::vector<uint32_t> attached() {
        auto fd = open_file(directory_, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        EXPECT_TRUE(fd);
        if (!fd) return {};
        auto ids = attached_device_programs(fd->get());
        EXPECT_TRUE(ids) << ids.error().message();
        return ids.value_or(std::vector<uint32_t>{});
    }

    std::string path_;
    std::string directory_;
    std::string nodes_;
    unsigned disk_major_ = 0;
    unsigned disk_minor_ = 0;
    std::unique_ptr<Cgroup> cgroup_;
};

// Denies everything but /dev/null, and lets nodes of either type be made.
std::vector<DeviceRule> null_only() {
    return {{.allow = false, .type = 'a', .access = "rwm"},
            {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
            {.allow = true, .type = 'b', .access = "m"},
            {.allow = true, .type = 'c', .major = 1, .minor = 7, .access = "m"}};
}

TEST_F(DeviceFilter, TheVerifierAcceptsGeneratedPrograms) {
    std::vector<DeviceRule> many = {{.allow = false, .type = 'a', .access = "rwm"}};
    for (int minor = 0; minor < 500; ++minor)
        many.push_back({.allow = minor % 3 != 0,
                        .type = minor % 2 ? 'c' : 'b',
                        .major = 7,
                        .minor = minor,
                        .access = minor % 5 ? "rw" : "m"});
    // An "allow a" amid other rules ends the program early (nothing after it is reachable).
    std::vector<DeviceRule> allow_all_amid = null_only();
    allow_all_amid.push_back({.allow = true, .type = 'a'});
    allow_all_amid.push_back({.allow = false, .type = 'b', .major = 8, .access = "rw"});
    for (const auto& rules : {std::vector<DeviceRule>{}, null_only(), many, allow_all_amid,
                              std::vector<DeviceRule>{{.allow = true, .type = 'a'}}}) {
        auto program = device_program(rules);
        ASSERT_TRUE(program) << program.error().message();
        auto loaded = load_device_program(*program);
        ASSERT_TRUE(loaded) << loaded.error().message();
        auto id = program_id(loaded->get());
        ASSERT_TRUE(id) << id.error().message();
        EXPECT_GT(*id, 0u);
    }
}

TEST_F(DeviceFilter, ARefusedProgramReportsTheVerifiersReason) {
    // Returns without setting r0.
    std::vector<bpf_insn> program = {{.code = BPF_JMP | BPF_EXIT}};
    auto loaded = load_device_program(program);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message().find("verifier"), std::string::npos)
        << loaded.error().message();
    EXPECT_NE(loaded.error().message().find("R0 !read_ok"), std::string::npos)
        << loaded.error().message();
}

TEST_F(DeviceFilter, WithoutAProgramEverythingIsReachable) {
    EXPECT_EQ(accesses(), "null-rw=0 full-r=0 mknod-disk=0 disk-r=0 mknod-full=0 made-full-r=0");
}

TEST_F(DeviceFilter, TheDriversProgramDeniesWhatTheRulesDoNotAllow) {
    auto applied = apply(null_only());
    ASSERT_TRUE(applied) << applied.error().message();
    EXPECT_EQ(attached().size(), 1u);
    // The disk's node can be made (b m) but not opened; /dev/full's node can be made but not read.
    EXPECT_EQ(accesses(), "null-rw=0 full-r=1 mknod-disk=0 disk-r=1 mknod-full=0 made-full-r=1");

    std::vector<DeviceRule> no_mknod = null_only();
    no_mknod.resize(2);
    applied = apply(no_mknod);
    ASSERT_TRUE(applied) << applied.error().message();
    EXPECT_EQ(accesses(), "null-rw=0 full-r=1 mknod-disk=1 disk-r=2 mknod-full=1 made-full-r=2");
}

TEST_F(DeviceFilter, AReplacementIsAttachedBeforeTheOldProgramGoes) {
    ASSERT_TRUE(apply(null_only()));
    std::vector<uint32_t> before = attached();
    ASSERT_EQ(before.size(), 1u);

    std::vector<DeviceRule> with_full = null_only();
    with_full.push_back({.allow = true, .type = 'c', .major = 1, .minor = 7, .access = "r"});
    auto applied = apply(with_full);
    ASSERT_TRUE(applied) << applied.error().message();
    std::vector<uint32_t> after = attached();
    ASSERT_EQ(after.size(), 1u);
    EXPECT_NE(after.front(), before.front());
    EXPECT_EQ(accesses(), "null-rw=0 full-r=0 mknod-disk=0 disk-r=1 mknod-full=0 made-full-r=0");
}

TEST_F(DeviceFilter, ABadRuleFailsNamingTheFieldAndKeepsTheOldProgram) {
    ASSERT_TRUE(apply(null_only()));
    std::vector<uint32_t> before = attached();
    std::vector<DeviceRule> bad = null_only();
    bad.push_back({.allow = true, .type = 'c', .major = -1, .access = "r"});
    auto applied = apply(bad);
    ASSERT_FALSE(applied);
    EXPECT_NE(applied.error().message().find("linux.resources.devices"), std::string::npos)
        << applied.error().message();
    EXPECT_EQ(attached(), before);
}

// Without the privilege to load a program the container must not be created at all: a create that
// went on would give it every device node it can make.
TEST_F(DeviceFilter, WithoutThePrivilegeToLoadItApplyFailsNamingTheField) {
    auto outcome = run_in_child([&](int report_fd) {
        __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        __user_cap_data_struct data[2] = {};
        if (::syscall(SYS_capget, &header, data) != 0) return 2;
        for (int cap : {CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_PERFMON})
            data[cap / 32].effective &= ~(1u << (cap % 32));
        if (::syscall(SYS_capset, &header, data) != 0) return 3;
        auto applied = apply(null_only());
        report(report_fd, applied ? std::string("applied") : applied.error().message());
        return 0;
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_NE(outcome.report.find("linux.resources.devices"), std::string::npos) << outcome.report;
    EXPECT_NE(outcome.report.find("CAP_BPF"), std::string::npos) << outcome.report;
    EXPECT_TRUE(attached().empty());
}

}  // namespace
}  // namespace vessel::host::cgroup
