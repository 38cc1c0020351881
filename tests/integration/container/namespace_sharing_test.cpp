// Namespaces a config does not make new (runtime-spec: a type not listed is the runtime's; one
// with a path is joined): a container without a mount namespace runs chrooted in the runtime's,
// with its mounts made below its rootfs there and gone after delete; a mount or uts namespace
// joined by path is the container's to build its root in or to name.
#include <sys/mount.h>

#include "busybox_fixture.h"

namespace vessel {
namespace {

std::string namespace_of(const std::string& proc_file) {
    char target[64] = {};
    ssize_t length = ::readlink(proc_file.c_str(), target, sizeof target - 1);
    return length > 0 ? std::string(target, static_cast<size_t>(length)) : "";
}

void drop_namespace(Json& config, const std::string& type) {
    Json kept = Json::array();
    for (const auto& ns : config["linux"]["namespaces"])
        if (ns["type"] != type) kept.push_back(ns);
    config["linux"]["namespaces"] = kept;
}

// A namespace kept alive by a bind mount on a file, as `ip netns` or Kubernetes' pause pods do.
class PersistentNamespace {
  public:
    PersistentNamespace(const std::string& path, const std::string& unshare_flag) : path_(path) {
        EXPECT_TRUE(write_file_atomic(path_, ""));
        auto made = run_capture({"unshare", unshare_flag + "=" + path_, "true"});
        EXPECT_TRUE(made && made->status.success()) << (made ? made->err : made.error().message());
    }
    ~PersistentNamespace() { ::umount2(path_.c_str(), MNT_DETACH); }
    const std::string& path() const { return path_; }
    std::string inode() const {
        struct stat info {};
        return ::stat(path_.c_str(), &info) == 0 ? std::to_string(info.st_ino) : "";
    }

  private:
    std::string path_;
};

class NamespaceSharingTest : public BusyboxContainerTest {};

TEST_F(NamespaceSharingTest, WithoutAMountNamespaceTheContainerIsChrootedInTheRuntimes) {
    drop_namespace(config_, "mount");
    config_["mounts"].push_back({{"destination", "/scratch"},
                                 {"type", "tmpfs"},
                                 {"source", "tmpfs"},
                                 {"options", {"size=1m"}}});
    config_["process"]["args"] = {"sleep", "60"};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    // Its mounts are in our namespace, below its rootfs only.
    std::string mounts = slurp("/proc/self/mountinfo");
    EXPECT_NE(mounts.find(bundle_ + "/rootfs/scratch "), std::string::npos) << mounts;
    EXPECT_NE(mounts.find(bundle_ + "/rootfs/proc "), std::string::npos) << mounts;
    // exec lands in the same root: the rootfs, not the host's; the masks hold.
    auto inside = invoke({"exec", id_, "sh", "-c",
                          "readlink /proc/self/ns/mnt; ls /; wc -c < /proc/keys; "
                          "touch /scratch/x && echo scratch-writable"});
    EXPECT_EQ(inside.code, 0) << inside.err;
    EXPECT_EQ(inside.out, namespace_of("/proc/self/ns/mnt") +
                              "\nbin\ndev\netc\nproc\nscratch\nsys\ntmp\n0\nscratch-writable\n");
    EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

TEST_F(NamespaceSharingTest, WithoutAMountNamespaceAFailedCreateLeavesNoMount) {
    drop_namespace(config_, "mount");
    config_["mounts"].push_back(
        {{"destination", "/data"}, {"type", "bind"}, {"source", "/nonexistent-vessel"}});
    auto result = run_container({"true"});
    EXPECT_EQ(result.code, 1);
    EXPECT_NE(result.err.find("(/data): open /nonexistent-vessel: No such file or directory"),
              std::string::npos)
        << result.err;
    expect_nothing_left();
}

TEST_F(NamespaceSharingTest, WithoutAMountNamespaceWhatWouldReachTheHostIsRefused) {
    drop_namespace(config_, "mount");
    config_["linux"]["rootfsPropagation"] = "rshared";
    auto result = run_container({"true"});
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.err,
              "vessel-runc: config.json: linux.rootfsPropagation: needs a mount namespace in "
              "linux.namespaces (it would change the propagation of the runtime's own mounts)\n");
    expect_nothing_left();
}

TEST_F(NamespaceSharingTest, AMountNamespaceJoinedByPathGetsTheContainersRoot) {
    {
        PersistentNamespace mount_ns(dir_ + "/mnt-ns", "--mount");
        drop_namespace(config_, "mount");
        config_["linux"]["namespaces"].push_back({{"type", "mount"}, {"path", mount_ns.path()}});
        auto result = run_container({"sh", "-c", "stat -L -c %i /proc/self/ns/mnt; ls /"});
        EXPECT_EQ(result.code, 0) << result.err;
        EXPECT_EQ(result.out, mount_ns.inode() + "\nbin\ndev\netc\nproc\nsys\ntmp\n");
        // Our own namespace saw none of it.
        EXPECT_EQ(slurp("/proc/self/mountinfo").find(bundle_ + "/rootfs"), std::string::npos);
    }
    expect_nothing_left();
}

TEST_F(NamespaceSharingTest, AHostnameNamesAUtsNamespaceJoinedByPath) {
    {
        PersistentNamespace uts_ns(dir_ + "/uts-ns", "--uts");
        drop_namespace(config_, "uts");
        config_["linux"]["namespaces"].push_back({{"type", "uts"}, {"path", uts_ns.path()}});
        config_["hostname"] = "joined-uts";
        auto host_before = run_capture({"hostname"});
        auto result = run_container({"cat", "/proc/sys/kernel/hostname"});
        EXPECT_EQ(result.code, 0) << result.err;
        EXPECT_EQ(result.out, "joined-uts\n");
        auto seen = run_capture({"nsenter", "--uts=" + uts_ns.path(), "hostname"});
        ASSERT_TRUE(seen && seen->status.success());
        EXPECT_EQ(seen->out, "joined-uts\n");
        auto host_after = run_capture({"hostname"});
        ASSERT_TRUE(host_before && host_after);
        EXPECT_EQ(host_after->out, host_before->out);
    }
    expect_nothing_left();
}

TEST_F(NamespaceSharingTest, AHostnameWithoutAUtsNamespaceIsRefused) {
    drop_namespace(config_, "uts");
    config_["hostname"] = "would-rename-the-host";
    auto result = run_container({"true"});
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.err,
              "vessel-runc: config.json: hostname: setting a hostname needs a uts namespace in "
              "linux.namespaces\n");
    expect_nothing_left();
}

}  // namespace
}  // namespace vessel
