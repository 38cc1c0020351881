// The six OCI hooks on real containers: when each runs, in which namespaces, with which state on
// stdin; failures, time-outs and bad hook paths stop create cleanly.
#include <chrono>

#include "busybox_fixture.h"

namespace vessel {
namespace {

class HooksTest : public BusyboxContainerTest {
  protected:
    void SetUp() override {
        BusyboxContainerTest::SetUp();
        if (IsSkipped()) return;
        config_["root"]["readonly"] = false;  // the in-container hooks write to its /tmp
        config_["hostname"] = "hooked";
        config_["process"]["args"] = {"sleep", "100"};
        log_ = dir_ + "/hooks.log";
        // In the runtime's namespaces: appends its name, status and pid to a host file.
        host_hook_ = write_script(
            "host-hook.sh",
            "#!/bin/sh\n"
            "state=$(cat)\n"
            "status=$(echo \"$state\" | sed -n 's/.*\"status\":\"\\([a-z]*\\)\".*/\\1/p')\n"
            "echo \"$1 $status\" >> " +
                log_ + "\n");
        // In the container's namespaces: its name and the container's hostname, in its /tmp.
        container_hook_ = write_script("container-hook.sh",
                                       "#!/bin/sh\n"
                                       "cat > /tmp/$1.json\n"
                                       "echo \"$1 $(cat /proc/sys/kernel/hostname)\" >> "
                                       "/tmp/hooks.log\n");
    }

    std::string write_script(const std::string& name, const std::string& text) {
        std::string path = dir_ + "/" + name;
        EXPECT_TRUE(write_file_atomic(path, text, 0755));
        return path;
    }

    static Json hook(const std::string& path, const std::string& name) {
        return Json{{"path", path}, {"args", {path, name}}};
    }

    Outcome create() {
        EXPECT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
        return invoke({"create", "--bundle", bundle_, id_});
    }

    std::string log_, host_hook_, container_hook_;
};

TEST_F(HooksTest, EachHookRunsAtItsStepWhereTheSpecSays) {
    config_["hooks"] = {{"prestart", {hook(host_hook_, "prestart")}},
                        {"createRuntime", {hook(host_hook_, "createRuntime")}},
                        {"createContainer", {hook(container_hook_, "createContainer")}},
                        {"startContainer", {hook(container_hook_, "startContainer")}},
                        {"poststart", {hook(host_hook_, "poststart")}},
                        {"poststop", {hook(host_hook_, "poststop")}}};
    auto created = create();
    ASSERT_EQ(created.code, 0) << created.err;
    EXPECT_EQ(slurp(log_), "prestart creating\ncreateRuntime creating\n");
    EXPECT_EQ(slurp(bundle_ + "/rootfs/tmp/hooks.log"), "createContainer hooked\n");
    auto state = parse_json(slurp(bundle_ + "/rootfs/tmp/createContainer.json"), "state");
    ASSERT_TRUE(state);
    EXPECT_EQ((*state)["id"], id_);
    EXPECT_EQ((*state)["bundle"], bundle_);
    EXPECT_GT((*state)["pid"].get<int>(), 0);

    auto started = invoke({"start", id_});
    ASSERT_EQ(started.code, 0) << started.err;
    EXPECT_EQ(slurp(bundle_ + "/rootfs/tmp/hooks.log"),
              "createContainer hooked\nstartContainer hooked\n");
    EXPECT_EQ(slurp(log_), "prestart creating\ncreateRuntime creating\npoststart running\n");

    ASSERT_EQ(invoke({"delete", "--force", id_}).code, 0);
    EXPECT_EQ(slurp(log_),
              "prestart creating\ncreateRuntime creating\npoststart running\npoststop stopped\n");
    expect_nothing_left();
}

TEST_F(HooksTest, AFailingOrHangingCreateHookLeavesNothing) {
    std::string failing = write_script("fail.sh", "#!/bin/sh\necho no network >&2\nexit 3\n");
    config_["hooks"] = {{"createRuntime", {hook(host_hook_, "first"), hook(failing, "second")}}};
    auto failed = create();
    EXPECT_EQ(failed.code, 1);
    EXPECT_NE(
        failed.err.find("hooks.createRuntime[1]: " + failing + " exited with status 3: no network"),
        std::string::npos)
        << failed.err;
    EXPECT_EQ(slurp(log_), "first creating\n");
    expect_nothing_left();

    std::string hanging = write_script("hang.sh", "#!/bin/sh\nexec sleep 100\n");
    config_["hooks"] = {{"prestart", {{{"path", hanging}, {"timeout", 1}}}}};
    auto start = std::chrono::steady_clock::now();
    auto timed_out = create();
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(timed_out.code, 1);
    EXPECT_NE(timed_out.err.find("hooks.prestart[0]: " + hanging + " timed out after 1 s"),
              std::string::npos)
        << timed_out.err;
    EXPECT_LT(took, std::chrono::seconds(10));
    expect_nothing_left();
}

TEST_F(HooksTest, BadHooksAreRefusedBeforeAnythingExists) {
    config_["hooks"] = {{"poststop", {{{"path", "relative/hook"}}}}};
    auto relative = create();
    EXPECT_EQ(relative.code, 1);
    EXPECT_NE(relative.err.find("hooks.poststop[0].path: must be an absolute path"),
              std::string::npos)
        << relative.err;
    config_["hooks"] = {{"createRuntime", {{{"path", dir_ + "/missing"}}}}};
    auto missing = create();
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.err.find("hooks.createRuntime[0].path: " + dir_ + "/missing"),
              std::string::npos)
        << missing.err;
    config_["hooks"] = {{"prestart", {{{"path", host_hook_}, {"timeout", 0}}}}};
    auto zero = create();
    EXPECT_EQ(zero.code, 1);
    EXPECT_NE(zero.err.find("hooks.prestart[0].timeout: must be a positive number of seconds"),
              std::string::npos)
        << zero.err;
    config_["hooks"] = {{"preStart", {}}};
    auto unknown = create();
    EXPECT_EQ(unknown.code, 1);
    EXPECT_NE(unknown.err.find("hooks.preStart: is not an OCI hook"), std::string::npos)
        << unknown.err;
    expect_nothing_left();
}

TEST_F(HooksTest, FailingPoststartAndPoststopOnlyWarn) {
    std::string failing = write_script("fail.sh", "#!/bin/sh\nexit 1\n");
    config_["hooks"] = {{"poststart", {hook(failing, "poststart")}},
                        {"poststop", {hook(failing, "poststop")}}};
    ASSERT_EQ(create().code, 0);
    auto started = invoke({"start", id_});
    EXPECT_EQ(started.code, 0) << started.err;
    EXPECT_NE(started.err.find("hooks.poststart[0]"), std::string::npos) << started.err;
    auto deleted = invoke({"delete", "--force", id_});
    EXPECT_EQ(deleted.code, 0) << deleted.err;
    EXPECT_NE(deleted.err.find("hooks.poststop[0]"), std::string::npos) << deleted.err;
    expect_nothing_left();
}

}  // namespace
}  // namespace vessel
