// The device cgroup of real containers: a config that gives no device rules gets runc's standard
// set (deny everything, allow null, zero, full, random, urandom, tty, console, ptmx and the ptys,
// and mknod without use), never the host's "a *:* rwm"; only a rule of the config allows more.
#include "busybox_fixture.h"

namespace vessel {
namespace {

class DevicesTest : public BusyboxContainerTest {
  protected:
    void SetUp() override {
        BusyboxContainerTest::SetUp();
        if (IsSkipped()) return;
        if (!path_exists("/sys/fs/cgroup/devices/devices.list"))
            GTEST_SKIP() << "the host has no cgroup v1 devices controller (on cgroup v2, device "
                            "rules need eBPF)";
        // CAP_MKNOD, so that only the device cgroup stands between the process and a device.
        Json caps = {"CAP_MKNOD", "CAP_DAC_OVERRIDE"};
        config_["process"]["capabilities"] = {
            {"bounding", caps}, {"effective", caps}, {"permitted", caps}};
        config_["linux"]["resources"].erase("devices");
    }

    // devices.list of the container's cgroup, read on the host while it runs.
    std::string device_list_while_running() {
        config_["process"]["args"] = {"sleep", "60"};
        EXPECT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
        EXPECT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
        std::string list =
            slurp("/sys/fs/cgroup/devices" + cgroup_parent_ + "/" + id_ + "/devices.list");
        EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
        return list;
    }
};

TEST_F(DevicesTest, ConfigWithoutRulesGetsOnlyTheStandardSet) {
    std::string list = device_list_while_running();
    EXPECT_EQ(list.find("a *:* rwm"), std::string::npos) << list;
    for (const char* line :
         {"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
          "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"})
        EXPECT_NE(list.find(std::string(line) + "\n"), std::string::npos) << line << " in\n"
                                                                          << list;
    expect_nothing_left();
}

TEST_F(DevicesTest, NodesMadeInsideCannotBeUsed) {
    // /dev/kmsg (the host's kernel log) and a loop device: both may be made, neither opened.
    auto result = run_container(
        {"sh", "-c",
         "mknod /dev/k c 1 11 && mknod /dev/d b 7 0 && echo made; "
         "echo vessel-devices-test > /dev/k || echo kmsg-refused; "
         "head -c 1 /dev/d >/dev/null || echo disk-refused; "
         "echo x > /dev/null && head -c 1 /dev/urandom >/dev/null && echo standard-ok"});
    EXPECT_EQ(result.out, "made\nkmsg-refused\ndisk-refused\nstandard-ok\n") << result.err;
    EXPECT_NE(result.err.find("Operation not permitted"), std::string::npos) << result.err;
    expect_nothing_left();
}

TEST_F(DevicesTest, AConfigRuleCanAllowEverything) {
    config_["linux"]["resources"]["devices"] = {{{"allow", true}, {"access", "rwm"}}};
    std::string list = device_list_while_running();
    EXPECT_EQ(list, "a *:* rwm\n");
    expect_nothing_left();
}

TEST_F(DevicesTest, ListedDevicesAreUsableUnderDenyAll) {
    config_["linux"]["resources"]["devices"] = {{{"allow", false}, {"access", "rwm"}}};
    config_["linux"]["devices"] = {
        {{"path", "/dev/net/tun"}, {"type", "c"}, {"major", 10}, {"minor", 200}}};
    auto result = run_container({"head", "-c", "0", "/dev/net/tun"});
    EXPECT_EQ(result.code, 0) << result.err;
    expect_nothing_left();
}

// update's rules add to the container's, as v1 writes do: the new ones reach devices.list, and the
// state keeps the whole list (which a v2 update compiles into the replacing program).
TEST_F(DevicesTest, UpdateAddsRulesAndTheStateKeepsTheWholeList) {
    config_["process"]["args"] = {"sleep", "60"};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    std::string list_file = "/sys/fs/cgroup/devices" + cgroup_parent_ + "/" + id_ + "/devices.list";
    EXPECT_EQ(slurp(list_file).find("c 1:11 w"), std::string::npos);
    ASSERT_TRUE(write_file_atomic(
        dir_ + "/devices.json",
        R"({"devices": [{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]})"));
    auto updated = invoke({"update", "--resources", dir_ + "/devices.json", id_});
    EXPECT_EQ(updated.code, 0) << updated.err;
    EXPECT_NE(slurp(list_file).find("c 1:11 w\n"), std::string::npos) << slurp(list_file);
    Json rules = Json::parse(slurp(root_ + "/" + id_ + "/state.json"))["deviceRules"];
    ASSERT_TRUE(rules.is_array()) << rules.dump();
    ASSERT_GE(rules.size(), 3u);
    EXPECT_EQ(rules.front(), (Json{{"allow", false}, {"type", "a"}, {"access", "rwm"}}));
    EXPECT_EQ(rules.back(),
              (Json{{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "w"}}));

    // A bad rule changes nothing, the record included.
    ASSERT_TRUE(
        write_file_atomic(dir_ + "/bad.json", R"({"devices": [{"allow": true, "type": "x"}]})"));
    auto bad = invoke({"update", "--resources", dir_ + "/bad.json", id_});
    EXPECT_NE(bad.code, 0);
    EXPECT_NE(bad.err.find("devices[0].type"), std::string::npos) << bad.err;
    EXPECT_EQ(Json::parse(slurp(root_ + "/" + id_ + "/state.json"))["deviceRules"], rules);
    EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

}  // namespace
}  // namespace vessel
