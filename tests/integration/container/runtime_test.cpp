// Real containers through the vessel-runc binary: busybox-static root filesystems, root, the host's
// cgroups. Each test uses its own container id, --root and cgroup path, so tests run in parallel.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "base/file.h"
#include "base/json.h"
#include "base/process.h"
#include "container/linux/security_labels.h"
#include "container/spec/default_spec.h"

namespace vessel {
namespace {

using namespace std::chrono_literals;

struct Outcome {
    int code = -1;
    std::string out;
    std::string err;
};

std::string slurp(const std::string& path) {
    auto text = read_file(path);
    return text ? *text : std::string();
}

std::set<std::string> list_directory(const std::string& path) {
    std::set<std::string> names;
    if (DIR* dir = ::opendir(path.c_str())) {
        while (dirent* entry = ::readdir(dir))
            if (entry->d_name[0] != '.') names.insert(entry->d_name);
        ::closedir(dir);
    }
    return names;
}

// Every cgroup directory on the host that belongs to this test's cgroup parent.
std::set<std::string> cgroup_directories(const std::string& parent) {
    std::set<std::string> found;
    std::vector<std::string> hierarchies{"/sys/fs/cgroup"};  // pure v2: the root is the hierarchy
    for (const auto& name : list_directory("/sys/fs/cgroup"))
        hierarchies.push_back("/sys/fs/cgroup/" + name);
    for (const auto& hierarchy : hierarchies)
        for (const auto& child : list_directory(hierarchy + parent)) {
            struct stat info {};
            std::string path = hierarchy + parent + "/" + child;
            if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) found.insert(path);
        }
    return found;
}

class ContainerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root: containers need CAP_SYS_ADMIN";
        char pattern[] = "/tmp/vessel-it-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        bundle_ = dir_ + "/bundle";
        root_ = dir_ + "/state";
        std::string rootfs = bundle_ + "/rootfs";
        for (const char* sub : {"/bin", "/proc", "/sys", "/dev", "/tmp", "/etc"})
            ASSERT_TRUE(make_directories(rootfs + sub));
        auto copied = run_capture({"cp", "/bin/busybox", rootfs + "/bin/busybox"});
        ASSERT_TRUE(copied && copied->status.success());
        auto applets = run_capture({"/bin/busybox", "--list"});
        ASSERT_TRUE(applets && applets->status.success());
        size_t position = 0;
        while (position < applets->out.size()) {
            size_t end = applets->out.find('\n', position);
            if (end == std::string::npos) end = applets->out.size();
            std::string applet = applets->out.substr(position, end - position);
            if (!applet.empty() && applet != "busybox") {
                ASSERT_EQ(::symlink("busybox", (rootfs + "/bin/" + applet).c_str()), 0);
            }
            position = end + 1;
        }
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        id_ = fmt::format("it-{}-{}", info->name(), ::getpid());
        cgroup_parent_ = fmt::format("/vessel-it-{}", ::getpid());
        config_ = container::spec::default_spec();
        config_["ociVersion"] = "1.0.2";
        config_["hostname"] = "vessel-it";
        config_["linux"]["cgroupsPath"] = cgroup_parent_ + "/" + id_;
        mounts_before_ = slurp("/proc/self/mountinfo");
    }

    void TearDown() override {
        if (dir_.empty()) return;
        // Whatever a test left running goes now, so that one failure does not leak into the next.
        for (const auto& id : list_directory(root_))
            invoke({"delete", "--force", id});
        ::rmdir(("/sys/fs/cgroup/unified" + cgroup_parent_).c_str());
        for (const auto& hierarchy : list_directory("/sys/fs/cgroup"))
            ::rmdir(("/sys/fs/cgroup/" + hierarchy + cgroup_parent_).c_str());
        std::error_code ignored;  // what a failed test left is not worth a second failure
        std::filesystem::remove_all(dir_, ignored);
    }

    void set_args(std::vector<std::string> args) { config_["process"]["args"] = args; }

    void write_config() {
        ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    }

    // Runs vessel-runc with its output in files, not pipes: a created container inherits the
    // streams and keeps them open.
    Outcome invoke(std::vector<std::string> arguments, std::chrono::milliseconds timeout = 60s) {
        static int counter = 0;
        std::string out_path = fmt::format("{}/out.{}", dir_, counter);
        std::string err_path = fmt::format("{}/err.{}", dir_, counter++);
        UniqueFd out = *open_file(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        UniqueFd err = *open_file(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        UniqueFd null = *open_file("/dev/null", O_RDONLY);
        std::vector<std::string> argv{VESSEL_RUNC_PATH, "--root", root_};
        argv.insert(argv.end(), arguments.begin(), arguments.end());
        SpawnOptions options{.argv = argv,
                             .env = std::nullopt,
                             .cwd = bundle_,
                             .stdin_fd = null.get(),
                             .stdout_fd = out.get(),
                             .stderr_fd = err.get()};
        auto child = spawn(options);
        EXPECT_TRUE(child) << child.error().message();
        if (!child) return {};
        auto status = child->wait_for(timeout);
        EXPECT_TRUE(status && *status) << "vessel-runc " << arguments[0] << " timed out";
        if (!status || !*status) {
            (void)child->signal(SIGKILL);
            (void)child->wait();
            return {};
        }
        return {(*status)->shell_code(), slurp(out_path), slurp(err_path)};
    }

    Outcome run_container(std::vector<std::string> args) {
        set_args(std::move(args));
        write_config();
        return invoke({"run", "--bundle", bundle_, id_});
    }

    std::string status_of(const std::string& id) {
        auto state = invoke({"state", id});
        if (state.code != 0) return "error: " + state.err;
        auto json = parse_json(state.out, "state");
        return json ? (*json)["status"].get<std::string>() : "unparsable";
    }

    bool wait_for_status(const std::string& id, const std::string& wanted) {
        for (int i = 0; i < 200; ++i) {
            if (status_of(id) == wanted) return true;
            std::this_thread::sleep_for(25ms);
        }
        return false;
    }

    // Nothing of ours is left: no state, no cgroups, no mounts in our namespace.
    void expect_nothing_left() {
        EXPECT_TRUE(list_directory(root_).empty()) << "state left in " << root_;
        EXPECT_TRUE(cgroup_directories(cgroup_parent_).empty())
            << "cgroup left: " << *cgroup_directories(cgroup_parent_).begin();
        EXPECT_EQ(slurp("/proc/self/mountinfo"), mounts_before_);
    }

    std::string dir_, bundle_, root_, id_, cgroup_parent_, mounts_before_;
    Json config_;
};

TEST_F(ContainerTest, RunsAsPidOneWithItsHostname) {
    auto result =
        run_container({"sh", "-c", "echo $$; hostname; cat /proc/self/cgroup | grep -c :/$"});
    EXPECT_EQ(result.code, 0) << result.err;
    EXPECT_EQ(result.out.substr(0, result.out.find('\n', result.out.find('\n') + 1) + 1),
              "1\nvessel-it\n");
    expect_nothing_left();
}

TEST_F(ContainerTest, ExitCodesArePropagated) {
    EXPECT_EQ(run_container({"sh", "-c", "exit 7"}).code, 7);
    EXPECT_EQ(run_container({"true"}).code, 0);
    // A process killed by a signal: 128 + the signal, as a shell reports it.
    auto killed = run_container({"sh", "-c", "sh -c 'kill -9 $$'; echo child=$?"});
    EXPECT_EQ(killed.out, "child=137\n");
    expect_nothing_left();
}

TEST_F(ContainerTest, MountsAreInPlace) {
    ASSERT_TRUE(make_directories(bundle_ + "/shared"));
    ASSERT_TRUE(write_file_atomic(bundle_ + "/shared/hello", "from the host\n"));
    config_["mounts"].push_back({{"destination", "/data"},
                                 {"type", "bind"},
                                 {"source", "shared"},
                                 {"options", {"mode=755", "size=1k", "rbind", "ro"}}});
    config_["mounts"].push_back({{"destination", "/scratch"},
                                 {"type", "tmpfs"},
                                 {"source", "tmpfs"},
                                 {"options", {"size=1m"}}});
    auto result = run_container(
        {"sh", "-c",
         "cat /data/hello; touch /data/x 2>/dev/null && echo data-writable || echo data-readonly; "
         "touch /scratch/x && echo scratch-writable; grep -c ' /proc .* - proc ' "
         "/proc/self/mountinfo; "
         "grep -c ' /sys ro,' /proc/self/mountinfo; ls /dev/null /dev/zero /dev/pts/ptmx; "
         "ls /sys/fs/cgroup/memory/memory.limit_in_bytes"});
    EXPECT_EQ(result.code, 0) << result.err;
    EXPECT_EQ(result.out,
              "from the "
              "host\ndata-readonly\nscratch-writable\n1\n1\n/dev/null\n/dev/pts/ptmx\n/dev/zero\n"
              "/sys/fs/cgroup/memory/memory.limit_in_bytes\n");
    expect_nothing_left();
}

TEST_F(ContainerTest, MaskedAndReadOnlyPaths) {
    // /proc/keys (a file, masked with /dev/null) exists on every kernel with keys support, unlike
    // /proc/kcore; /sys/firmware is a directory (masked with an empty read-only tmpfs).
    ASSERT_TRUE(path_exists("/proc/keys")) << "host kernel without /proc/keys";
    auto result = run_container({"sh", "-c",
                                 "wc -c < /proc/keys; ls /sys/firmware | wc -l; "
                                 "(echo 1 > /proc/sys/kernel/ns_last_pid) 2>/dev/null && echo "
                                 "sys-writable || echo sys-readonly"});
    EXPECT_EQ(result.code, 0) << result.err;
    EXPECT_EQ(result.out, "0\n0\nsys-readonly\n");
    expect_nothing_left();
}

TEST_F(ContainerTest, ReadOnlyRoot) {
    auto result = run_container(
        {"sh", "-c", "touch /newfile 2>/dev/null && echo root-writable || echo root-readonly"});
    EXPECT_EQ(result.out, "root-readonly\n");
    config_["root"]["readonly"] = false;
    result = run_container({"sh", "-c", "touch /newfile && echo root-writable; rm /newfile"});
    EXPECT_EQ(result.out, "root-writable\n");
    expect_nothing_left();
}

TEST_F(ContainerTest, ProcessSettings) {
    config_["process"]["user"] = {
        {"uid", 1000}, {"gid", 1001}, {"additionalGids", {2000}}, {"umask", 077}};
    // Lowering limits needs no privilege (raising a hard limit needs CAP_SYS_RESOURCE).
    config_["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 100}, {"hard", 200}}};
    config_["process"]["oomScoreAdj"] = 500;
    config_["process"]["env"] = {"PATH=/bin", "GREETING=hello"};
    config_["process"]["cwd"] = "/tmp";
    config_["domainname"] = "example.org";
    config_["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
    config_["root"]["readonly"] = false;
    auto result = run_container(
        {"sh", "-c",
         "id; umask; ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; echo $GREETING; pwd; "
         "cat /proc/sys/kernel/domainname /proc/sys/net/ipv4/ip_forward; grep NoNewPrivs "
         "/proc/self/status"});
    EXPECT_EQ(result.code, 0) << result.err;
    EXPECT_EQ(result.out,
              "uid=1000 gid=1001 groups=2000\n0077\n100\n200\n500\nhello\n/tmp\nexample.org\n1\n"
              "NoNewPrivs:\t1\n");
    expect_nothing_left();
}

// --preserve-fds N (runc's): the caller's descriptors 3 to 3+N-1 reach the container's process,
// and nothing above them does.
TEST_F(ContainerTest, PreserveFdsPassesTheCallersDescriptors) {
    ASSERT_TRUE(write_file_atomic(bundle_ + "/three", "on three\n"));
    ASSERT_TRUE(write_file_atomic(bundle_ + "/four", "on four\n"));
    set_args({"sh", "-c", "cat <&3; cat <&4; ls /proc/self/fd | tr '\\n' ' '"});
    write_config();
    // vessel-runc run --preserve-fds COUNT, with 3, 4 and 5 open in the caller.
    auto run_with_open_fds = [&](const char* count) {
        std::string script = fmt::format(
            "cd {} && exec 3<three 4<four 5</dev/null && exec {} --root {} run --preserve-fds {} "
            "--bundle {} {}",
            bundle_, VESSEL_RUNC_PATH, root_, count, bundle_, id_);
        auto result = run_capture({"bash", "-c", script}, std::chrono::seconds(60));
        EXPECT_TRUE(result) << result.error().message();
        return result ? *result : CapturedOutput{};
    };
    auto result = run_with_open_fds("2");
    EXPECT_EQ(result.status.shell_code(), 0) << result.err;
    // ls's own descriptor for /proc/self/fd takes 5, the first free one: the caller's 5 is closed.
    EXPECT_EQ(result.out, "on three\non four\n0 1 2 3 4 5 ");
    expect_nothing_left();
    // A count beyond what the caller has open is refused before anything exists.
    auto refused = run_with_open_fds("4");
    EXPECT_EQ(refused.status.shell_code(), 1);
    EXPECT_EQ(refused.err, "vessel-runc: --preserve-fds 4: descriptor 6 is not open\n");
    expect_nothing_left();
    // exec passes them on too.
    set_args({"sleep", "30"});
    write_config();
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    auto exec = run_capture(
        {"bash", "-c",
         fmt::format("cd {} && exec 3<three 4</dev/null && exec {} --root {} exec --preserve-fds 1 "
                     "{} sh -c \"cat <&3; ls /proc/self/fd | tr '\\\\n' ' '\"",
                     bundle_, VESSEL_RUNC_PATH, root_, id_)},
        std::chrono::seconds(60));
    ASSERT_TRUE(exec) << exec.error().message();
    EXPECT_EQ(exec->status.shell_code(), 0) << exec->err;
    EXPECT_EQ(exec->out, "on three\n0 1 2 3 4 ");
    EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

TEST_F(ContainerTest, PersonalityLinux32) {
    config_["linux"]["personality"] = {{"domain", "LINUX32"}};
    auto result = run_container({"uname", "-m"});
    EXPECT_EQ(result.code, 0) << result.err;
    EXPECT_EQ(result.out, "i686\n");
    expect_nothing_left();
}

// Security-module labels: where the host does not enable the module they are ignored, with a
// debug line each, as runc and crun do; where it does, the config is refused, since the
// container would run less confined than asked, and nothing is left behind.
TEST_F(ContainerTest, SecurityLabelsAreIgnoredOnlyWhereTheModuleIsOff) {
    const container::sys::SecurityModules modules = container::sys::detect_security_modules();
    config_["process"]["apparmorProfile"] = "vessel-test";
    config_["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0";
    config_["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0";
    config_["process"]["args"] = {"echo", "ran"};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    auto result = invoke({"--debug", "run", "--bundle", bundle_, id_});
    if (modules.apparmor || modules.selinux) {
        EXPECT_EQ(result.code, 1);
        EXPECT_NE(result.err.find("is enabled on this host and applying its labels is not "
                                  "supported yet"),
                  std::string::npos)
            << result.err;
    } else {
        EXPECT_EQ(result.code, 0) << result.err;
        EXPECT_EQ(result.out, "ran\n");
        for (const char* line : {"AppArmor is not enabled on this host: process.apparmorProfile "
                                 "\"vessel-test\" ignored",
                                 "SELinux is not enabled on this host: process.selinuxLabel",
                                 "SELinux is not enabled on this host: linux.mountLabel"})
            EXPECT_NE(result.err.find(line), std::string::npos) << line << "\n" << result.err;
    }
    expect_nothing_left();
}

TEST_F(ContainerTest, ListedDevicesAreCreatedAndAllowed) {
    config_["linux"]["devices"] = {{{"type", "c"},
                                    {"path", "/dev/extra/null"},
                                    {"major", 1},
                                    {"minor", 3},
                                    {"fileMode", 0620}}};
    auto result = run_container(
        {"sh", "-c",
         "stat -c '%F %t:%T %a' /dev/extra/null; echo hi > /dev/extra/null && echo written; "
         "(echo x > /dev/zero) 2>/dev/null && echo zero-ok"});
    EXPECT_EQ(result.code, 0) << result.err;
    EXPECT_EQ(result.out, "character special file 1:3 620\nwritten\nzero-ok\n");
    expect_nothing_left();
}

TEST_F(ContainerTest, SymlinksInTheRootfsCannotRedirectMountsToTheHost) {
    // A hostile image: /escape points at an absolute host path. The runtime must resolve it inside
    // the rootfs and create the mount point there, never on the host.
    std::string host_dir = dir_ + "/host";
    ASSERT_TRUE(make_directories(host_dir));
    ASSERT_EQ(::symlink(host_dir.c_str(), (bundle_ + "/rootfs/escape").c_str()), 0);
    config_["mounts"].push_back({{"destination", "/escape/sub"},
                                 {"type", "tmpfs"},
                                 {"source", "tmpfs"},
                                 {"options", {"size=1m"}}});
    config_["root"]["readonly"] = false;
    auto result = run_container({"sh", "-c", "touch /escape/sub/file && echo inside"});
    EXPECT_EQ(result.code, 0) << result.err;
    EXPECT_EQ(result.out, "inside\n");
    EXPECT_FALSE(path_exists(host_dir + "/sub"));
    EXPECT_TRUE(path_exists(bundle_ + "/rootfs" + host_dir + "/sub"));
    expect_nothing_left();
}

TEST_F(ContainerTest, MemoryLimitOomKillsTheAllocator) {
    config_["linux"]["resources"]["memory"] = {{"limit", 32 << 20}, {"swap", 32 << 20}};
    auto result = run_container({"sh", "-c",
                                 "awk 'BEGIN { s = \"x\"; while (1) s = s s }'; echo status=$?; "
                                 "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"});
    EXPECT_EQ(result.out, fmt::format("status=137\n{}\n", 32 << 20)) << result.err;
    expect_nothing_left();
}

TEST_F(ContainerTest, PidsLimitStopsAForkBomb) {
    config_["linux"]["resources"]["pids"] = {{"limit", 8}};
    auto result =
        run_container({"sh", "-c",
                       "for i in $(seq 1 20); do (sleep 5 &) 2>/dev/null; done; "
                       "cat /sys/fs/cgroup/pids/pids.current /sys/fs/cgroup/pids/pids.max; "
                       "kill $(pidof sleep) 2>/dev/null; true"});
    EXPECT_EQ(result.code, 0) << result.err;
    EXPECT_EQ(result.out.substr(result.out.find('\n') + 1), "8\n") << result.out;
    int current = std::atoi(result.out.c_str());
    EXPECT_LE(current, 8);
    EXPECT_GE(current, 7);  // the bomb filled the cgroup up to its limit
    expect_nothing_left();
}

TEST_F(ContainerTest, CpuQuotaVisibleInCgroupFiles) {
    config_["linux"]["resources"]["cpu"] = {
        {"quota", 50000}, {"period", 100000}, {"shares", 512}, {"burst", 20000}};
    set_args({"sleep", "30"});
    write_config();
    ASSERT_EQ(invoke({"create", "--bundle", bundle_, id_}).code, 0);
    std::string host_dir = "/sys/fs/cgroup/cpu" + cgroup_parent_ + "/" + id_;
    if (!path_exists(host_dir)) host_dir = "/sys/fs/cgroup" + cgroup_parent_ + "/" + id_;
    if (path_exists(host_dir + "/cpu.max")) {
        EXPECT_EQ(slurp(host_dir + "/cpu.max"), "50000 100000\n");
        EXPECT_EQ(slurp(host_dir + "/cpu.max.burst"), "20000\n");
    } else {
        EXPECT_EQ(slurp(host_dir + "/cpu.cfs_quota_us"), "50000\n");
        EXPECT_EQ(slurp(host_dir + "/cpu.shares"), "512\n");
        EXPECT_EQ(slurp(host_dir + "/cpu.cfs_burst_us"), "20000\n");
    }
    EXPECT_EQ(invoke({"delete", id_}).code, 0);
    // And from inside, through the container's own cgroup mount.
    auto inside = run_container({"cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"});
    EXPECT_EQ(inside.out, "50000\n") << inside.err;
    // An idle group (SCHED_IDLE for the whole container; its weight then reads as the least).
    config_["linux"]["resources"]["cpu"] = {{"idle", 1}};
    auto idle = run_container({"cat", "/sys/fs/cgroup/cpu/cpu.idle"});
    EXPECT_EQ(idle.out, "1\n") << idle.err;
    expect_nothing_left();
}

// The first whole disk of the host as "major:minor" (the throttles need a real block device;
// every machine that runs the suite boots from one).
std::string first_disk() {
    for (const auto& name : list_directory("/sys/block"))
        if (auto dev = read_file("/sys/block/" + name + "/dev"); dev && !dev->empty())
            return dev->substr(0, dev->find('\n'));
    return "";
}

// A pure cgroup v2 host (the unified hierarchy at /sys/fs/cgroup) or one with v1 controllers.
bool pure_cgroup_v2() {
    return path_exists("/sys/fs/cgroup/cgroup.controllers");
}

TEST_F(ContainerTest, BlockIoThrottles) {
    std::string disk = first_disk();
    ASSERT_FALSE(disk.empty()) << "no block device in /sys/block";
    int64_t major = std::stoll(disk.substr(0, disk.find(':')));
    int64_t minor = std::stoll(disk.substr(disk.find(':') + 1));
    config_["linux"]["resources"]["blockIO"] = {
        {"throttleReadBpsDevice", {{{"major", major}, {"minor", minor}, {"rate", 1048576}}}},
        {"throttleWriteIOPSDevice", {{{"major", major}, {"minor", minor}, {"rate", 100}}}}};
    set_args({"sleep", "30"});
    write_config();
    auto created = invoke({"create", "--bundle", bundle_, id_});
    ASSERT_EQ(created.code, 0) << created.err;
    if (pure_cgroup_v2()) {
        std::string limits = slurp("/sys/fs/cgroup" + cgroup_parent_ + "/" + id_ + "/io.max");
        EXPECT_NE(limits.find(disk + " rbps=1048576 "), std::string::npos) << limits;
        EXPECT_NE(limits.find(" wiops=100"), std::string::npos) << limits;
    } else {
        std::string dir = "/sys/fs/cgroup/blkio" + cgroup_parent_ + "/" + id_;
        EXPECT_EQ(slurp(dir + "/blkio.throttle.read_bps_device"), disk + " 1048576\n");
        EXPECT_EQ(slurp(dir + "/blkio.throttle.write_iops_device"), disk + " 100\n");
    }
    EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
    // A device the host does not have: the config fails, naming the entry, and leaves nothing.
    config_["linux"]["resources"]["blockIO"] = {
        {"throttleReadBpsDevice", {{{"major", 4095}, {"minor", 0}, {"rate", 1}}}}};
    auto refused = run_container({"true"});
    EXPECT_EQ(refused.code, 1);
    EXPECT_NE(refused.err.find("linux.resources.blockIO"), std::string::npos) << refused.err;
    expect_nothing_left();
}

// Huge page limits are limits: a host without the hugetlb controller (or the page size) fails
// create, naming the field. Network classes limit nothing: without net_cls (and on v2, which
// has none) the container runs, with a warning.
TEST_F(ContainerTest, HugepageLimitsAndNetworkClasses) {
    config_["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2MB"}, {"limit", 2 << 20}}};
    set_args({"true"});
    write_config();
    auto limited = invoke({"create", "--bundle", bundle_, id_});
    const std::string limit_file =
        pure_cgroup_v2()
            ? "/sys/fs/cgroup" + cgroup_parent_ + "/" + id_ + "/hugetlb.2MB.max"
            : "/sys/fs/cgroup/hugetlb" + cgroup_parent_ + "/" + id_ + "/hugetlb.2MB.limit_in_bytes";
    const bool host_has_it =
        pure_cgroup_v2()
            ? slurp("/sys/fs/cgroup/cgroup.controllers").find("hugetlb") != std::string::npos
            : path_exists("/sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes");
    if (host_has_it) {
        EXPECT_EQ(limited.code, 0) << limited.err;
        EXPECT_EQ(slurp(limit_file), std::to_string(2 << 20) + "\n");
        EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
    } else {
        EXPECT_EQ(limited.code, 1);
        EXPECT_NE(limited.err.find("linux.resources.hugepageLimits"), std::string::npos)
            << limited.err;
    }
    expect_nothing_left();
    config_["linux"]["resources"].erase("hugepageLimits");
    config_["linux"]["resources"]["network"] = {{"classID", 1048577}};
    auto tagged = run_container({"sh", "-c", "cat /sys/fs/cgroup/net_cls/net_cls.classid || true"});
    EXPECT_EQ(tagged.code, 0) << tagged.err;
    if (pure_cgroup_v2())
        EXPECT_NE(tagged.err.find("linux.resources.network: cgroup v2 has no net_cls"),
                  std::string::npos)
            << tagged.err;
    else if (path_exists("/sys/fs/cgroup/net_cls/net_cls.classid"))
        EXPECT_EQ(tagged.out, "1048577\n");
    else
        EXPECT_NE(
            tagged.err.find("linux.resources.network.classID: no net_cls cgroup on this host"),
            std::string::npos)
            << tagged.err;
    expect_nothing_left();
}

// kernelTCP was accepted and not applied. cgroup v1 has the limit (a kernel without it fails
// create, naming the field); v2 has none (a warning).
TEST_F(ContainerTest, KernelTcpLimit) {
    config_["linux"]["resources"]["memory"] = {{"kernelTCP", 16 << 20}};
    auto inside = run_container(
        {"sh", "-c",
         "cat /sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes 2>/dev/null || true"});
    if (pure_cgroup_v2()) {
        EXPECT_EQ(inside.code, 0) << inside.err;
        EXPECT_NE(inside.err.find("linux.resources.memory.kernelTCP: cgroup v2"), std::string::npos)
            << inside.err;
    } else if (path_exists("/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes")) {
        EXPECT_EQ(inside.code, 0) << inside.err;
        EXPECT_EQ(inside.out, std::to_string(16 << 20) + "\n");
    } else {
        EXPECT_EQ(inside.code, 1);
        EXPECT_NE(inside.err.find("memory.kmem.tcp.limit_in_bytes is missing"), std::string::npos)
            << inside.err;
    }
    expect_nothing_left();
}

TEST_F(ContainerTest, EveryStateTransition) {
    set_args({"sleep", "30"});
    write_config();
    std::string pid_file = dir_ + "/pid";
    auto created = invoke({"create", "--bundle", bundle_, "--pid-file", pid_file, id_});
    ASSERT_EQ(created.code, 0) << created.err;
    EXPECT_EQ(status_of(id_), "created");
    auto state = parse_json(invoke({"state", id_}).out, "state");
    ASSERT_TRUE(state);
    EXPECT_EQ((*state)["pid"].get<int>(), std::atoi(slurp(pid_file).c_str()));
    EXPECT_EQ((*state)["bundle"], bundle_);
    // Not yet running: sleep has not been exec'd, the init is still ours.
    EXPECT_NE(slurp(fmt::format("/proc/{}/comm", (*state)["pid"].get<int>())), "sleep\n");
    auto listed = invoke({"list", "--format", "json"});
    EXPECT_NE(listed.out.find("\"status\":\"created\""), std::string::npos) << listed.out;

    auto duplicate = invoke({"create", "--bundle", bundle_, id_});
    EXPECT_EQ(duplicate.code, 1);
    EXPECT_EQ(duplicate.err, fmt::format("vessel-runc: container \"{}\" already exists\n", id_));

    ASSERT_EQ(invoke({"start", id_}).code, 0);
    EXPECT_EQ(status_of(id_), "running");
    EXPECT_EQ(slurp(fmt::format("/proc/{}/comm", (*state)["pid"].get<int>())), "sleep\n");
    auto again = invoke({"start", id_});
    EXPECT_EQ(again.code, 1);
    EXPECT_EQ(again.err,
              fmt::format(
                  "vessel-runc: cannot start container \"{}\": it is running, not created\n", id_));
    auto refused = invoke({"delete", id_});
    EXPECT_EQ(refused.code, 1);
    EXPECT_EQ(refused.err, fmt::format("vessel-runc: cannot delete container \"{}\" that is not "
                                       "stopped: running (use --force)\n",
                                       id_));

    ASSERT_EQ(invoke({"kill", id_, "KILL"}).code, 0);
    EXPECT_TRUE(wait_for_status(id_, "stopped"));
    auto late_kill = invoke({"kill", id_, "TERM"});
    EXPECT_EQ(late_kill.code, 1);
    EXPECT_EQ(
        late_kill.err,
        fmt::format("vessel-runc: cannot signal container \"{}\": container not running\n", id_));
    ASSERT_EQ(invoke({"delete", id_}).code, 0);
    auto gone = invoke({"state", id_});
    EXPECT_EQ(gone.code, 1);
    EXPECT_EQ(gone.err, fmt::format("vessel-runc: container \"{}\" does not exist\n", id_));
    expect_nothing_left();
}

// The init joins its v1 hierarchies itself and the v2 one at clone (the fast path): from the
// host, its /proc/<pid>/cgroup must name the container's cgroup in every hierarchy that has one.
TEST_F(ContainerTest, TheInitIsInItsCgroupInEveryHierarchy) {
    set_args({"sleep", "30"});
    write_config();
    ASSERT_EQ(invoke({"create", "--bundle", bundle_, id_}).code, 0);
    auto state = parse_json(invoke({"state", id_}).out, "state");
    ASSERT_TRUE(state);
    std::string memberships = slurp(fmt::format("/proc/{}/cgroup", (*state)["pid"].get<int>()));
    std::string expected = cgroup_parent_ + "/" + id_;
    size_t checked = 0;
    for (size_t start = 0; start < memberships.size();) {
        size_t end = memberships.find('\n', start);
        std::string line = memberships.substr(start, end - start);
        start = end == std::string::npos ? memberships.size() : end + 1;
        // "4:memory:/path", "0::/path"; the named systemd hierarchy is not the runtime's.
        if (line.find(":name=") != std::string::npos) continue;
        EXPECT_EQ(line.substr(line.rfind(':') + 1), expected) << line;
        ++checked;
    }
    EXPECT_GE(checked, 1u);
    EXPECT_EQ(checked, cgroup_directories(cgroup_parent_).size()) << memberships;
    ASSERT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

TEST_F(ContainerTest, ForceDeleteOfARunningContainer) {
    set_args({"sleep", "30"});
    write_config();
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    EXPECT_EQ(status_of(id_), "running");
    EXPECT_EQ(invoke({"kill", "--all", id_, "0"}).code, 1);  // 0 is not a signal
    EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

TEST_F(ContainerTest, SignalsReachTheContainer) {
    // kill with a name, and --all.
    set_args({"sh", "-c", "trap 'exit 42' USR1; while true; do sleep 0.05; done"});
    write_config();
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    std::this_thread::sleep_for(200ms);  // let sh install its trap
    ASSERT_EQ(invoke({"kill", id_, "SIGUSR1"}).code, 0);
    EXPECT_TRUE(wait_for_status(id_, "stopped"));
    ASSERT_EQ(invoke({"delete", id_}).code, 0);
    // A foreground run forwards the signals it gets and returns the container's status.
    set_args({"sh", "-c", "trap 'exit 42' TERM; while true; do sleep 0.05; done"});
    write_config();
    std::thread killer([&] {
        std::this_thread::sleep_for(500ms);
        auto signalled = run_capture({"pkill", "-TERM", "-f", "--", "run --bundle " + bundle_ + " " + id_});
        EXPECT_TRUE(signalled) << signalled.error().message();
    });
    auto result = invoke({"run", "--bundle", bundle_, id_});
    killer.join();
    EXPECT_EQ(result.code, 42) << result.err;
    expect_nothing_left();
}

// containerd's runc shim, once a container's process has exited: `kill --all ID KILL` for what
// may be left in its cgroup, which must succeed (it answered "not running", status 1, and the pod
// could never be stopped), then `delete`. A plain kill still fails, in runc's words, which the
// shim reads as "already gone".
TEST_F(ContainerTest, TheShimsSequenceAfterTheProcessExited) {
    set_args({"sh", "-c", "exit 3"});
    write_config();
    ASSERT_EQ(invoke({"create", "--bundle", bundle_, id_}).code, 0);
    ASSERT_EQ(invoke({"start", id_}).code, 0);
    ASSERT_TRUE(wait_for_status(id_, "stopped"));
    auto all = invoke({"kill", "--all", id_, "KILL"});
    EXPECT_EQ(all.code, 0) << all.err;
    EXPECT_EQ(all.err, "");
    auto one = invoke({"kill", id_, "KILL"});
    EXPECT_EQ(one.code, 1);
    EXPECT_NE(one.err.find("container not running"), std::string::npos) << one.err;
    ASSERT_EQ(invoke({"delete", id_}).code, 0);
    auto gone = invoke({"kill", "--all", id_, "KILL"});
    EXPECT_EQ(gone.code, 1);
    EXPECT_NE(gone.err.find("does not exist"), std::string::npos) << gone.err;
    expect_nothing_left();
}

// Bad input: exit 1, one exact line, nothing left behind.
TEST_F(ContainerTest, InvalidConfigIsRejectedWithItsPath) {
    config_["process"]["args"] = Json::array();
    write_config();
    std::string log = dir_ + "/log.json";
    auto result = invoke({"--log", log, "--log-format", "json", "run", "--bundle", bundle_, id_});
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.err, "vessel-runc: config.json: process.args: must not be empty\n");
    auto logged = parse_json(slurp(log), "log");
    ASSERT_TRUE(logged) << slurp(log);
    EXPECT_EQ((*logged)["level"], "error");
    EXPECT_EQ((*logged)["msg"], "config.json: process.args: must not be empty");
    expect_nothing_left();
}

TEST_F(ContainerTest, CleanupAfterACgroupFailure) {
    config_["linux"]["resources"]["cpu"] = {{"cpus", "4000"}};
    set_args({"true"});
    write_config();
    auto result = invoke({"create", "--bundle", bundle_, id_});
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(
        result.err.rfind("vessel-runc: config.json: linux.resources.cpu.cpus: write 4000 to ", 0),
        0u)
        << result.err;
    expect_nothing_left();
}

TEST_F(ContainerTest, CleanupAfterAMountFailure) {
    config_["mounts"].push_back(
        {{"destination", "/data"}, {"type", "bind"}, {"source", "/nonexistent-vessel"}});
    set_args({"true"});
    write_config();
    auto result = invoke({"run", "--bundle", bundle_, id_});
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.err,
              "vessel-runc: config.json: mounts[7] (/data): open /nonexistent-vessel: No such file "
              "or directory\n");
    expect_nothing_left();
}

TEST_F(ContainerTest, CleanupAfterAMissingExecutable) {
    set_args({"no-such-program"});
    write_config();
    for (const char* command : {"create", "run"}) {
        auto result = invoke({command, "--bundle", bundle_, id_});
        EXPECT_EQ(result.code, 1);
        EXPECT_EQ(
            result.err,
            "vessel-runc: config.json: process.args[0]: \"no-such-program\": executable file not "
            "found in $PATH\n");
        expect_nothing_left();
    }
}

TEST_F(ContainerTest, CleanupAfterAMissingRootfs) {
    config_["root"]["path"] = "missing";
    write_config();
    auto result = invoke({"run", "--bundle", bundle_, id_});
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.err,
              fmt::format("vessel-runc: config.json: root.path: rootfs {}/missing: No such file "
                          "or directory\n",
                          bundle_));
    expect_nothing_left();
}

TEST_F(ContainerTest, CleanupAfterABadSysctl) {
    config_["linux"]["sysctl"] = {{"net.ipv4.no_such_key", "1"}};
    set_args({"true"});
    write_config();
    auto result = invoke({"run", "--bundle", bundle_, id_});
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.err.rfind("vessel-runc: config.json: linux.sysctl.net.ipv4.no_such_key: ", 0),
              0u)
        << result.err;
    expect_nothing_left();
}

TEST_F(ContainerTest, UnknownIdsAreErrors) {
    for (std::vector<std::string> command : {std::vector<std::string>{"start", "nope"},
                                             {"state", "nope"},
                                             {"kill", "nope"},
                                             {"delete", "nope"}}) {
        auto result = invoke(command);
        EXPECT_EQ(result.code, 1);
        EXPECT_EQ(result.err, "vessel-runc: container \"nope\" does not exist\n") << command[0];
    }
    auto bad_signal = invoke({"kill", "nope", "SIGBOGUS"});
    EXPECT_EQ(bad_signal.err, "vessel-runc: unknown signal \"SIGBOGUS\"\n");
}

TEST_F(ContainerTest, SpecAndFeatures) {
    std::string fresh = dir_ + "/fresh";
    ASSERT_TRUE(make_directories(fresh));
    EXPECT_EQ(invoke({"spec", "--bundle", fresh}).code, 0);
    auto written = parse_json(slurp(fresh + "/config.json"), "config.json");
    ASSERT_TRUE(written);
    EXPECT_EQ((*written)["root"]["path"], "rootfs");
    EXPECT_EQ(invoke({"spec", "--bundle", fresh}).code, 1);  // never overwrites
    auto features = parse_json(invoke({"features"}).out, "features");
    ASSERT_TRUE(features);
    EXPECT_EQ((*features)["ociVersionMax"], "1.2.0");
    EXPECT_EQ((*features)["linux"]["cgroup"]["v1"], true);
    EXPECT_EQ((*features)["linux"]["mountExtensions"]["idmap"]["enabled"], true);
    EXPECT_EQ((*features)["hooks"].size(), 6u);
    EXPECT_NE(std::find((*features)["linux"]["namespaces"].begin(),
                        (*features)["linux"]["namespaces"].end(), "user"),
              (*features)["linux"]["namespaces"].end());
}

}  // namespace
}  // namespace vessel
