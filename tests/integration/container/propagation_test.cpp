// Mount propagation between a container and the host, as Kubernetes asks for it: a bind mount
// with `rshared` and rootfsPropagation `rshared` (Bidirectional: a mount the container makes
// below it appears on the host), `rslave` (HostToContainer: only the host's mounts go in), and the
// default, where nothing crosses. None of the container's own mounts (rootfs, /proc, /dev) may
// reach the host in any of them.
#include <sys/mount.h>

#include "busybox_fixture.h"

namespace vessel {
namespace {

class PropagationTest : public BusyboxContainerTest {
  protected:
    void SetUp() override {
        BusyboxContainerTest::SetUp();
        if (IsSkipped()) return;
        // A shared mount on the host, as kubelet's volume directories are.
        volume_ = dir_ + "/volume";
        ASSERT_TRUE(make_directories(volume_ + "/from-container"));
        ASSERT_TRUE(make_directories(volume_ + "/from-host"));
        ASSERT_EQ(::mount(volume_.c_str(), volume_.c_str(), nullptr, MS_BIND, nullptr), 0);
        ASSERT_EQ(::mount(nullptr, volume_.c_str(), nullptr, MS_SHARED, nullptr), 0);
        mounts_before_ = slurp("/proc/self/mountinfo");
        // The container may mount (CAP_SYS_ADMIN, no seccomp filter): only propagation decides.
        Json caps = {"CAP_SYS_ADMIN"};
        config_["process"]["capabilities"] = {
            {"bounding", caps}, {"effective", caps}, {"permitted", caps}};
        config_["linux"].erase("seccomp");
    }

    void TearDown() override {
        for (const char* below : {"/from-container", "/from-host"})
            ::umount2((volume_ + below).c_str(), MNT_DETACH);
        ::umount2(volume_.c_str(), MNT_DETACH);
        BusyboxContainerTest::TearDown();
    }

    // Starts a container with the volume at /volume, lets the host mount below it, and reports
    // what each side sees: "host:<container's mount seen on the host> container:<host's seen>".
    std::string crossings(const std::string& volume_propagation,
                          const std::string& rootfs_propagation) {
        config_["mounts"].push_back({{"destination", "/volume"},
                                     {"type", "bind"},
                                     {"source", volume_},
                                     {"options", {"rbind", volume_propagation}}});
        if (!rootfs_propagation.empty()) config_["linux"]["rootfsPropagation"] = rootfs_propagation;
        config_["process"]["args"] = {
            "sh", "-c",
            "mount -t tmpfs inside /volume/from-container 2>/volume/.mount.err; touch "
            "/volume/.mounted; "
            "while [ ! -e /volume/from-host/.go ]; do sleep 0.05; done; "
            "grep -c ' /volume/from-host ' /proc/self/mountinfo; sleep 60"};
        EXPECT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
        auto started = invoke({"run", "--detach", "--bundle", bundle_, id_});
        EXPECT_EQ(started.code, 0) << started.err;
        for (int i = 0; i < 200 && !path_exists(volume_ + "/.mounted"); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        EXPECT_EQ(slurp(volume_ + "/.mount.err"), "");
        std::string host_view = slurp("/proc/self/mountinfo");
        bool seen_on_host = host_view.find(" " + volume_ + "/from-container ") != std::string::npos;
        // No mount of the container's own reaches the host, whatever the propagation.
        EXPECT_EQ(host_view.find(bundle_ + "/rootfs"), std::string::npos) << host_view;
        EXPECT_EQ(::mount("outside", (volume_ + "/from-host").c_str(), "tmpfs", 0, nullptr), 0);
        EXPECT_TRUE(write_file_atomic(volume_ + "/from-host/.go", ""));
        auto seen =
            invoke({"exec", id_, "grep", "-c", " /volume/from-host ", "/proc/self/mountinfo"});
        EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
        for (const char* below : {"/from-container", "/from-host"})
            ::umount2((volume_ + below).c_str(), MNT_DETACH);
        expect_nothing_left();
        return fmt::format("host:{} container:{}", seen_on_host ? "yes" : "no",
                           seen.out == "1\n" ? "yes" : "no");
    }

    std::string volume_;
};

TEST_F(PropagationTest, BidirectionalMountsCrossBothWays) {
    EXPECT_EQ(crossings("rshared", "rshared"), "host:yes container:yes");
}

TEST_F(PropagationTest, HostToContainerMountsOnlyComeIn) {
    EXPECT_EQ(crossings("rslave", "rslave"), "host:no container:yes");
}

TEST_F(PropagationTest, PrivateMountsCrossNeither) {
    EXPECT_EQ(crossings("rprivate", ""), "host:no container:no");
}

}  // namespace
}  // namespace vessel
