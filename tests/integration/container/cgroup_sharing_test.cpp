// A container's cgroupsPath may name a cgroup that existed before it. Such a cgroup may hold the
// host's processes, so the runtime refuses one that does (and the host's root cgroup outright),
// and kill --all, ps and delete never reach a process that is not the container's.
#include <signal.h>
#include <sys/wait.h>

#include "busybox_fixture.h"

namespace vessel {
namespace {

class CgroupSharingTest : public BusyboxContainerTest {
  protected:
    void TearDown() override {
        if (host_process_ > 0) {
            ::kill(host_process_, SIGKILL);
            ::waitpid(host_process_, nullptr, 0);
        }
        BusyboxContainerTest::TearDown();
        for (const auto& directory : shared_directories_)
            ::rmdir(directory.c_str());
        for (const auto& hierarchy : list_directory("/sys/fs/cgroup"))
            ::rmdir(("/sys/fs/cgroup/" + hierarchy + cgroup_parent_).c_str());
    }

    // An existing cgroup "<parent>/shared" in every hierarchy, made before the container.
    std::string make_shared_cgroup() {
        std::string path = cgroup_parent_ + "/shared";
        for (const auto& hierarchy : list_directory("/sys/fs/cgroup")) {
            std::string root = "/sys/fs/cgroup/" + hierarchy;
            if (!path_exists(root + "/cgroup.procs")) continue;
            EXPECT_TRUE(make_directories(root + path));
            shared_directories_.push_back(root + path);
            // A new cpuset takes no process until it has cpus and mems: the parent's, level by
            // level.
            if (hierarchy != "cpuset") continue;
            for (const auto& level : {cgroup_parent_, path})
                for (const char* file : {"cpuset.cpus", "cpuset.mems"})
                    EXPECT_TRUE(
                        write_existing_file(root + level + "/" + file, slurp(root + "/" + file)));
        }
        return path;
    }

    // A host process (not the container's) moved into the pids hierarchy's shared cgroup.
    void put_host_process_in(const std::string& path) {
        host_process_ = ::fork();
        if (host_process_ == 0) {
            ::execl("/bin/sleep", "sleep", "300", nullptr);
            ::_exit(127);
        }
        ASSERT_GT(host_process_, 0);
        ASSERT_TRUE(write_existing_file("/sys/fs/cgroup/pids" + path + "/cgroup.procs",
                                        std::to_string(host_process_)));
    }

    bool host_process_alive() {
        int status = 0;
        return ::waitpid(host_process_, &status, WNOHANG) == 0;
    }

    void detach(const std::string& id, const Json& config) {
        ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config.dump()));
        auto started = invoke({"run", "--detach", "--bundle", bundle_, id});
        ASSERT_EQ(started.code, 0) << started.err;
    }

    pid_t host_process_ = 0;
    std::vector<std::string> shared_directories_;
};

TEST_F(CgroupSharingTest, TheRootCgroupIsRefused) {
    for (const char* path : {"/", "/./", "//"}) {
        config_["linux"]["cgroupsPath"] = path;
        auto result = run_container({"true"});
        EXPECT_EQ(result.code, 1) << path;
        EXPECT_EQ(result.err,
                  "vessel-runc: config.json: linux.cgroupsPath: \"/\" is the host's root cgroup, "
                  "which holds every process; a container needs a cgroup of its own\n")
            << path;
        expect_nothing_left();
    }
}

TEST_F(CgroupSharingTest, ACgroupHoldingOtherProcessesIsRefused) {
    std::string path = make_shared_cgroup();
    put_host_process_in(path);
    config_["linux"]["cgroupsPath"] = path;
    auto result = run_container({"true"});
    EXPECT_EQ(result.code, 1);
    EXPECT_NE(result.err.find("config.json: linux.cgroupsPath: /sys/fs/cgroup/"), std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find(fmt::format(
                  "already holds 1 process that is not the container's (pid {})", host_process_)),
              std::string::npos)
        << result.err;
    EXPECT_TRUE(host_process_alive());
    for (const auto& directory : shared_directories_)
        EXPECT_TRUE(path_exists(directory)) << directory << " was not the runtime's to remove";
    EXPECT_TRUE(list_directory(root_).empty());
}

TEST_F(CgroupSharingTest, KillAllAndDeleteLeaveProcessesThatMerelyShareTheCgroup) {
    std::string path = make_shared_cgroup();
    config_["linux"]["cgroupsPath"] = path;
    config_["process"]["args"] = {"sleep", "300"};
    detach(id_, config_);
    // Moved in after create, as a host administrator might.
    put_host_process_in(path);
    auto listed = invoke({"ps", "--format", "json", id_});
    EXPECT_EQ(listed.out.find(std::to_string(host_process_)), std::string::npos) << listed.out;
    EXPECT_EQ(invoke({"kill", "--all", id_, "KILL"}).code, 0);
    auto removed = invoke({"delete", "--force", id_});
    EXPECT_EQ(removed.code, 0) << removed.err;
    EXPECT_TRUE(host_process_alive());
    for (const auto& directory : shared_directories_)
        EXPECT_TRUE(path_exists(directory)) << directory << " was not the runtime's to remove";
    EXPECT_TRUE(list_directory(root_).empty());
}

TEST_F(CgroupSharingTest, AContainerJoiningAPodMayShareItsCgroupButDeletesOnlyItself) {
    // The pod: a container with its own pid namespace and cgroup.
    std::string pod = id_ + "-pod";
    config_["process"]["args"] = {"sleep", "300"};
    detach(pod, config_);
    auto state = parse_json(invoke({"state", pod}).out, "state").value();
    pid_t pod_init = state["pid"].get<pid_t>();
    // A second container joining the pod's pid namespace and cgroup.
    Json member = config_;
    for (auto& ns : member["linux"]["namespaces"])
        if (ns["type"] == "pid") ns["path"] = fmt::format("/proc/{}/ns/pid", pod_init);
    detach(id_, member);
    auto removed = invoke({"delete", "--force", id_});
    EXPECT_EQ(removed.code, 0) << removed.err;
    auto pod_state = parse_json(invoke({"state", pod}).out, "state");
    ASSERT_TRUE(pod_state);
    EXPECT_EQ((*pod_state)["status"], "running") << "the pod's init was killed with its member";
    // ...and still in the cgroup it shares.
    EXPECT_NE(
        slurp(fmt::format("/proc/{}/cgroup", pod_init))
            .find(fmt::format(":pids:{}\n", config_["linux"]["cgroupsPath"].get<std::string>())),
        std::string::npos)
        << slurp(fmt::format("/proc/{}/cgroup", pod_init));
    EXPECT_EQ(invoke({"delete", "--force", pod}).code, 0);
    expect_nothing_left();
}

}  // namespace
}  // namespace vessel
