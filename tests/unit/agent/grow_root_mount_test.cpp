// The agent's online growth of a mounted ext4, as in a guest whose disk the host grew: an image
// made smaller than its file, on a loop device, mounted. Needs root (loop devices, mount). The
// growth itself needs CAP_SYS_RESOURCE, which these hosts lack: it is checked where the agent
// really runs, in a guest (manager_vm_config_e2e: launch with limits.disk, then df and e2fsck).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/loop.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "agent/grow_root.h"
#include "base/file.h"
#include "base/process.h"

namespace vessel::agent {
namespace {

// A loop device over a file, detached on destruction.
class LoopDevice {
  public:
    static Result<LoopDevice> attach(const std::string& file) {
        auto control = TRY(open_file("/dev/loop-control", O_RDWR | O_CLOEXEC));
        auto backing = TRY(open_file(file, O_RDWR | O_CLOEXEC));
        // Another process (a test running beside this one) can take the free device between
        // GET_FREE and SET_FD: EBUSY then means "ask for another one", as losetup does.
        for (int attempt = 0;; ++attempt) {
            int number = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
            if (number < 0) return fail_errno("LOOP_CTL_GET_FREE");
            auto path = fmt::format("/dev/loop{}", number);
            auto device = TRY(open_file(path, O_RDWR | O_CLOEXEC));
            if (::ioctl(device.get(), LOOP_SET_FD, backing.get()) == 0)
                return LoopDevice(std::move(path), std::move(device));
            if (errno != EBUSY || attempt == 20)
                return fail_errno(fmt::format("LOOP_SET_FD {}", path));
        }
    }
    LoopDevice(LoopDevice&&) noexcept = default;
    ~LoopDevice() {
        if (device_) (void)::ioctl(device_.get(), LOOP_CLR_FD);
    }
    const std::string& path() const { return path_; }

  private:
    LoopDevice(std::string path, UniqueFd device)
        : path_(std::move(path)), device_(std::move(device)) {}
    std::string path_;
    UniqueFd device_;
};

// A mount, lazily unmounted on destruction.
class Mount {
  public:
    Mount(const std::string& device, const std::string& target) : target_(target) {
        mounted_ = ::mount(device.c_str(), target.c_str(), "ext4", 0, nullptr) == 0;
    }
    ~Mount() {
        if (mounted_) ::umount2(target_.c_str(), MNT_DETACH);
    }
    bool mounted() const { return mounted_; }

  private:
    std::string target_;
    bool mounted_ = false;
};

class GrowMounted : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(::geteuid(), 0u) << "these tests attach loop devices and mount: run as root";
        // Mount in a mount namespace of this test process alone: tests running beside it that
        // check the host's mount table for leftovers (ContainerTest) must not see its mount.
        ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << std::strerror(errno);
        ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0)
            << std::strerror(errno);
        char pattern[] = "/tmp/vessel-grow-mount-test-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        image_ = dir_ + "/disk.img";
        mount_point_ = dir_ + "/mnt";
        ASSERT_TRUE(make_directories(mount_point_));
    }
    void TearDown() override {
        std::error_code ignored;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
    }

    // An ext4 of `fs_bytes` at the start of a file of `file_bytes`: a disk the host grew.
    void make_image(uint64_t fs_bytes, uint64_t file_bytes) {
        ASSERT_TRUE(write_file_atomic(image_, ""));
        ASSERT_EQ(::truncate(image_.c_str(), static_cast<off_t>(fs_bytes)), 0);
        auto made = run_checked({"/sbin/mkfs.ext4", "-q", "-F", "-b", "4096", image_});
        ASSERT_TRUE(made) << made.error().message();
        ASSERT_EQ(::truncate(image_.c_str(), static_cast<off_t>(file_bytes)), 0);
    }

    std::string dir_, image_, mount_point_;
};

TEST_F(GrowMounted, AFilesystemThatFillsItsDeviceIsLeftAlone) {
    make_image(32ull << 20, 32ull << 20);
    auto loop = LoopDevice::attach(image_);
    ASSERT_TRUE(loop) << loop.error().message();
    Mount mount(loop->path(), mount_point_);
    ASSERT_TRUE(mount.mounted()) << strerror(errno);
    auto grown = grow_filesystem(mount_point_);
    ASSERT_TRUE(grown) << grown.error().message();
    EXPECT_FALSE(grown->has_value());
}

TEST_F(GrowMounted, WithoutCapSysResourceItSaysWhyItCannotGrow) {
    make_image(32ull << 20, 64ull << 20);
    auto loop = LoopDevice::attach(image_);
    ASSERT_TRUE(loop) << loop.error().message();
    Mount mount(loop->path(), mount_point_);
    ASSERT_TRUE(mount.mounted()) << strerror(errno);
    // In a child, so that the dropped capability stays out of the test process.
    auto channel = make_pipe();
    ASSERT_TRUE(channel);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        channel->read.reset();
        __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        __user_cap_data_struct data[2] = {};
        if (::syscall(SYS_capget, &header, data) != 0) ::_exit(90);
        data[CAP_SYS_RESOURCE / 32].effective &= ~(1u << (CAP_SYS_RESOURCE % 32));
        if (::syscall(SYS_capset, &header, data) != 0) ::_exit(91);
        auto grown = grow_filesystem(mount_point_);
        if (grown) ::_exit(92);
        (void)write_all(channel->write.get(), grown.error().message());
        ::_exit(grown.error().code() == EPERM ? 0 : 93);
    }
    channel->write.reset();
    auto message = read_fd(channel->read.get());
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << (message ? *message : "");
    ASSERT_TRUE(message);
    EXPECT_EQ(*message, "resize the ext4 filesystem on " + loop->path() +
                            " from 8192 to 16384 blocks: Operation not permitted");
}

TEST_F(GrowMounted, NoDeviceNodeIsNamed) {
    make_image(32ull << 20, 64ull << 20);
    auto loop = LoopDevice::attach(image_);
    ASSERT_TRUE(loop) << loop.error().message();
    Mount mount(loop->path(), mount_point_);
    ASSERT_TRUE(mount.mounted()) << strerror(errno);
    // A /dev without the node (the guest's devtmpfs always has it): the error says which device.
    ASSERT_TRUE(make_directories(dir_ + "/emptydev"));
    auto grown = grow_filesystem(mount_point_, dir_ + "/emptydev");
    ASSERT_FALSE(grown);
    EXPECT_NE(grown.error().message().find("no block device 7:"), std::string::npos)
        << grown.error().message();
}

}  // namespace
}  // namespace vessel::agent
