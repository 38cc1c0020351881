// User namespaces on real containers: root-created ones with id mappings, idmapped mounts, and
// rootless containers started by an unprivileged user (nobody), with and without newuidmap.
#include <sys/stat.h>

#include "busybox_fixture.h"

namespace vessel {
namespace {

constexpr uint32_t kNobody = 65534;

Json range_mapping(uint32_t container_id, uint32_t host_id, uint32_t size) {
    return Json::array({{{"containerID", container_id}, {"hostID", host_id}, {"size", size}}});
}

uid_t owner_of(const std::string& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
    return info.st_uid;
}

// Root inside is host uid 100000 and up: the container's root is no one on the host.
class UserNamespaceTest : public BusyboxContainerTest {
  protected:
    void SetUp() override {
        BusyboxContainerTest::SetUp();
        if (IsSkipped()) return;
        // The init builds the rootfs as the namespace's root (host uid 100000): it must be able
        // to reach the bundle, as with runc.
        ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
        config_["linux"]["namespaces"].push_back({{"type", "user"}});
        config_["linux"]["uidMappings"] = range_mapping(0, 100000, 65536);
        config_["linux"]["gidMappings"] = range_mapping(0, 100000, 65536);
    }

    // A host directory with a file owned by host root, mounted at `destination`.
    std::string host_directory(const std::string& name, const Json& options,
                               const std::string& destination) {
        std::string path = dir_ + "/" + name;
        EXPECT_TRUE(make_directories(path));
        EXPECT_EQ(::chmod(path.c_str(), 0777), 0);
        EXPECT_TRUE(write_file_atomic(path + "/owned-by-root", "secret\n", 0644));
        config_["mounts"].push_back({{"destination", destination},
                                     {"type", "bind"},
                                     {"source", path},
                                     {"options", options}});
        return path;
    }
};

TEST_F(UserNamespaceTest, RootInsideIsAnUnprivilegedHostUser) {
    std::string shared = host_directory("shared", {"rbind"}, "/tmp");
    auto result = run_container(
        {"sh", "-c",
         "id -u; cat /proc/self/uid_map; touch /tmp/made; echo x >> /tmp/owned-by-root || echo "
         "refused"});
    ASSERT_EQ(result.code, 0) << result.err;
    EXPECT_EQ(result.out.substr(0, 2), "0\n");
    EXPECT_NE(result.out.find("0     100000      65536"), std::string::npos) << result.out;
    // What container root makes belongs to uid 100000 on the host, and host root's files are
    // not container root's to change.
    EXPECT_EQ(owner_of(shared + "/made"), 100000u);
    EXPECT_NE(result.out.find("refused"), std::string::npos) << result.out;
    EXPECT_EQ(slurp(shared + "/owned-by-root"), "secret\n");
    expect_nothing_left();
}

TEST_F(UserNamespaceTest, DeviceNodesAreTheHostsAndWork) {
    auto result = run_container(
        {"sh", "-c", "echo discarded > /dev/null && stat -c '%t:%T' /dev/null /dev/zero"});
    ASSERT_EQ(result.code, 0) << result.err;
    EXPECT_EQ(result.out, "1:3\n1:5\n");
}

TEST_F(UserNamespaceTest, ExecJoinsTheUserNamespace) {
    config_["process"]["args"] = {"sleep", "60"};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    ASSERT_EQ(invoke({"run", "-d", "--bundle", bundle_, id_}).code, 0);
    auto as_root = invoke({"exec", id_, "sh", "-c", "id -u; cat /proc/self/uid_map"});
    ASSERT_EQ(as_root.code, 0) << as_root.err;
    EXPECT_EQ(as_root.out.substr(0, 2), "0\n");
    EXPECT_NE(as_root.out.find("100000"), std::string::npos) << as_root.out;
    auto as_user = invoke({"exec", "--user", "1000:1000", id_, "id"});
    ASSERT_EQ(as_user.code, 0) << as_user.err;
    EXPECT_EQ(as_user.out, "uid=1000 gid=1000\n");
    EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

TEST_F(UserNamespaceTest, BadMappingsFailBeforeAnythingExists) {
    config_["linux"]["uidMappings"].push_back({{"containerID", 10}, {"hostID", 0}, {"size", 1}});
    auto overlap = run_container({"true"});
    EXPECT_EQ(overlap.code, 1);
    EXPECT_NE(overlap.err.find("linux.uidMappings[1]: its container ids overlap those of entry 0"),
              std::string::npos)
        << overlap.err;
    expect_nothing_left();

    config_["linux"]["uidMappings"] = range_mapping(0, 100000, 65536);
    config_["process"]["user"]["uid"] = 70000;
    auto unmapped = run_container({"true"});
    EXPECT_EQ(unmapped.code, 1);
    EXPECT_NE(unmapped.err.find("process.user.uid: 70000 is not mapped by linux.uidMappings"),
              std::string::npos)
        << unmapped.err;
    expect_nothing_left();
}

TEST_F(UserNamespaceTest, IdmappedMountShowsTheSourceAsTheContainerWouldOwnIt) {
    std::string data = host_directory("data", {"rbind", "idmap"}, "/tmp");
    auto result = run_container(
        {"sh", "-c",
         "stat -c %u /tmp/owned-by-root && echo changed >> /tmp/owned-by-root && touch /tmp/new"});
    ASSERT_EQ(result.code, 0) << result.err;
    // Host root's file is container root's through the mount, and what container root makes
    // there is host root's: no chown of the source needed.
    EXPECT_EQ(result.out, "0\n");
    EXPECT_EQ(slurp(data + "/owned-by-root"), "secret\nchanged\n");
    EXPECT_EQ(owner_of(data + "/new"), 0u);
    expect_nothing_left();
}

TEST_F(BusyboxContainerTest, MountLevelMappingsNeedNoUserNamespace) {
    std::string data = dir_ + "/data";
    ASSERT_TRUE(make_directories(data));
    ASSERT_TRUE(write_file_atomic(data + "/file", "x", 0644));
    ASSERT_EQ(::chown((data + "/file").c_str(), 1000, 1000), 0);
    config_["mounts"].push_back({{"destination", "/tmp"},
                                 {"type", "bind"},
                                 {"source", data},
                                 {"options", {"rbind", "ro"}},
                                 {"uidMappings", range_mapping(1000, 5000, 1)},
                                 {"gidMappings", range_mapping(1000, 6000, 1)}});
    auto result = run_container({"stat", "-c", "%u:%g", "/tmp/file"});
    ASSERT_EQ(result.code, 0) << result.err;
    EXPECT_EQ(result.out, "5000:6000\n");
    expect_nothing_left();
}

// vessel-runc run by nobody: the bundle and state are theirs to reach; no cgroup is delegated.
class RootlessTest : public BusyboxContainerTest {
  protected:
    void SetUp() override {
        BusyboxContainerTest::SetUp();
        if (IsSkipped()) return;
        ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
        ASSERT_TRUE(make_directories(root_));
        ASSERT_EQ(::chown(root_.c_str(), kNobody, kNobody), 0);
        ASSERT_EQ(::chown(bundle_.c_str(), kNobody, kNobody), 0);
        runner_prefix_ = {"setpriv", "--reuid=65534",  "--regid=65534", "--clear-groups", "env",
                          "-u",      "XDG_RUNTIME_DIR"};
        auto spec = invoke({"spec", "--rootless", "--bundle", bundle_});
        ASSERT_EQ(spec.code, 0) << spec.err;
        config_ = Json::parse(slurp(bundle_ + "/config.json"));
    }

    // As nobody in a private mount namespace whose /etc/subuid and /etc/subgid give nobody the
    // host ids 200000-265535 (the host's files stay as they are).
    void grant_subordinate_ids() {
        std::string ids = dir_ + "/subids";
        ASSERT_TRUE(write_file_atomic(ids, "nobody:200000:65536\n", 0644));
        std::string script = fmt::format(
            "mount --bind {0} /etc/subuid && mount --bind {0} /etc/subgid && exec \"$@\"", ids);
        std::vector<std::string> prefix{"unshare", "-m", "sh", "-c", script, "sh"};
        prefix.insert(prefix.end(), runner_prefix_.begin(), runner_prefix_.end());
        runner_prefix_ = prefix;
    }
};

TEST_F(RootlessTest, TheRootlessSpecRunsForAnUnprivilegedUser) {
    auto result = run_container({"sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map"});
    ASSERT_EQ(result.code, 0) << result.err;
    EXPECT_EQ(result.out.substr(0, 2), "0\n");
    EXPECT_NE(result.out.find("0      65534          1"), std::string::npos) << result.out;
    expect_nothing_left();
}

TEST_F(RootlessTest, ExecAndDeleteWorkWithoutACgroup) {
    config_["process"]["args"] = {"sleep", "60"};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    ASSERT_EQ(invoke({"run", "-d", "--bundle", bundle_, id_}).code, 0);
    auto state = invoke({"state", id_});
    ASSERT_EQ(state.code, 0) << state.err;
    EXPECT_EQ(Json::parse(state.out)["status"], "running");
    auto exec = invoke({"exec", id_, "id", "-u"});
    ASSERT_EQ(exec.code, 0) << exec.err;
    EXPECT_EQ(exec.out, "0\n");
    auto ps = invoke({"ps", id_});
    EXPECT_EQ(ps.code, 1);
    EXPECT_NE(ps.err.find("the container has no cgroup"), std::string::npos) << ps.err;
    EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

TEST_F(RootlessTest, LimitsWithoutADelegatedCgroupAreAnError) {
    config_["linux"]["resources"] = {{"memory", {{"limit", 64 << 20}}}};
    auto result = run_container({"true"});
    EXPECT_EQ(result.code, 1);
    EXPECT_NE(result.err.find("linux.cgroupsPath"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("Permission denied"), std::string::npos) << result.err;
    expect_nothing_left();
}

TEST_F(RootlessTest, SubordinateIdsComeThroughNewuidmap) {
    ASSERT_TRUE(path_exists("/usr/bin/newuidmap")) << "make deps installs uidmap";
    grant_subordinate_ids();
    Json wide = Json::array({{{"containerID", 0}, {"hostID", kNobody}, {"size", 1}},
                             {{"containerID", 1}, {"hostID", 200000}, {"size", 65536}}});
    config_["linux"]["uidMappings"] = wide;
    config_["linux"]["gidMappings"] = wide;
    config_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10}}};
    auto result = run_container({"sh", "-c", "id; cat /proc/self/uid_map"});
    ASSERT_EQ(result.code, 0) << result.err;
    EXPECT_NE(result.out.find("uid=1000 gid=1000 groups=10"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("1     200000      65536"), std::string::npos) << result.out;
    expect_nothing_left();
}

TEST_F(RootlessTest, IdsThatAreNotTheUsersAreRefusedByName) {
    config_["linux"]["uidMappings"] = range_mapping(0, 300000, 10);
    config_["linux"]["gidMappings"] = range_mapping(0, 300000, 10);
    auto result = run_container({"true"});
    EXPECT_EQ(result.code, 1);
    EXPECT_NE(result.err.find("newgidmap refused the mapping"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("/etc/subgid"), std::string::npos) << result.err;
    expect_nothing_left();
}

TEST_F(RootlessTest, AStateRootOwnedBySomeoneElseIsRefused) {
    ASSERT_EQ(::chown(root_.c_str(), 0, 0), 0);
    auto result = run_container({"true"});
    EXPECT_EQ(result.code, 1);
    EXPECT_NE(result.err.find("is not a directory owned by uid 65534"), std::string::npos)
        << result.err;
}

}  // namespace
}  // namespace vessel
