// bench/container_run: `run` of /bin/true in the same busybox bundle (the default seccomp profile
// and capability set of `vessel-runc spec`) with vessel-runc, crun and runc, then `exec` of
// /bin/true into a running container of each. Interleaved (the order rotates every round),
// timing each whole command and reading its peak RSS from wait4. crun refuses hybrid cgroup
// hosts, so on such a host its child alone gets a private mount namespace with an empty file over
// /sys/fs/cgroup/unified/cgroup.controllers.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/file.h"
#include "base/json.h"
#include "base/process.h"

namespace {

using namespace vessel;

struct Runtime {
    std::string name;
    std::string binary;
    bool hybrid_workaround = false;
    std::vector<double> milliseconds;
    std::vector<long> rss_kib;
    int failures = 0;
    // exec of /bin/true into a running container.
    std::vector<double> exec_milliseconds;
    std::vector<long> exec_rss_kib;
    int exec_failures = 0;
};

double now_ms() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Runs the runtime with ARGS (after --root), output discarded; false when it failed. Elapsed
// wall time and peak RSS go to `elapsed` and `rss_kib`.
bool invoke(const Runtime& runtime, const std::string& root, std::vector<std::string> args,
            const std::string& empty_file, double& elapsed, long& rss_kib) {
    args.insert(args.begin(), {runtime.binary, "--root", root});
    std::vector<char*> argv;
    for (auto& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    double start = now_ms();
    pid_t pid = ::fork();
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        if (runtime.hybrid_workaround) {
            if (::unshare(CLONE_NEWNS) != 0 ||
                ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
                ::mount(empty_file.c_str(), "/sys/fs/cgroup/unified/cgroup.controllers", nullptr,
                        MS_BIND, nullptr) != 0)
                ::_exit(126);
        }
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    rusage usage{};
    ::wait4(pid, &status, 0, &usage);
    elapsed = now_ms() - start;
    rss_kib = usage.ru_maxrss;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// One `run`; false when it failed.
bool run_once(Runtime& runtime, const std::string& bundle, const std::string& state_root,
              const std::string& empty_file, int round) {
    std::string id = "bench-" + runtime.name + "-" + std::to_string(round);
    double elapsed = 0;
    long rss = 0;
    if (!invoke(runtime, state_root + "/" + runtime.name, {"run", "--bundle", bundle, id},
                empty_file, elapsed, rss)) {
        ++runtime.failures;
        return false;
    }
    runtime.milliseconds.push_back(elapsed);
    runtime.rss_kib.push_back(rss);
    return true;
}

// One `exec ID /bin/true` into the runtime's running container; false when it failed.
bool exec_once(Runtime& runtime, const std::string& state_root, const std::string& empty_file) {
    double elapsed = 0;
    long rss = 0;
    if (!invoke(runtime, state_root + "/" + runtime.name,
                {"exec", "bench-exec-" + runtime.name, "/bin/true"}, empty_file, elapsed, rss)) {
        ++runtime.exec_failures;
        return false;
    }
    runtime.exec_milliseconds.push_back(elapsed);
    runtime.exec_rss_kib.push_back(rss);
    return true;
}

Result<> make_bundle(const std::string& bundle, const std::string& vessel) {
    TRY(make_directories(bundle + "/rootfs/bin"));
    for (const char* dir : {"/proc", "/sys", "/dev", "/tmp"})
        TRY(make_directories(bundle + "/rootfs" + dir));
    auto copied = TRY(run_capture({"cp", "/bin/busybox", bundle + "/rootfs/bin/busybox"}));
    if (!copied.status.success()) return fail("cp busybox: {}", copied.err);
    for (const char* applet : {"sh", "true", "sleep"})
        ::symlink("busybox", (bundle + "/rootfs/bin/" + applet).c_str());
    auto spec = TRY(run_capture({vessel, "spec", "--bundle", bundle}));
    if (!spec.status.success()) return fail("vessel-runc spec: {}", spec.err);
    Json config = TRY(parse_json(TRY(read_file(bundle + "/config.json")), "config.json"));
    // 1.0.2: the newest version Debian's crun 1.8 accepts.
    config["ociVersion"] = "1.0.2";
    config["process"]["args"] = {"/bin/true"};
    TRY(write_file_atomic(bundle + "/config.json", config.dump(2)));
    // The same container, kept running for exec (config-exec.json is not a bundle file: the
    // bundle for it is a directory of its own sharing the rootfs).
    TRY(make_directories(bundle + "-exec"));
    config["root"]["path"] = bundle + "/rootfs";
    config["process"]["args"] = {"/bin/sleep", "100000"};
    return write_file_atomic(bundle + "-exec/config.json", config.dump(2));
}

void print_table(const char* what, const std::vector<Runtime>& runtimes, bool exec) {
    std::printf("%s\n%-8s %10s %10s %10s %14s %6s\n", what, "runtime", "median ms", "min ms",
                "max ms", "peak RSS MiB", "fails");
    for (const auto& runtime : runtimes) {
        const auto& ms = exec ? runtime.exec_milliseconds : runtime.milliseconds;
        const auto& rss = exec ? runtime.exec_rss_kib : runtime.rss_kib;
        long peak = rss.empty() ? 0 : *std::max_element(rss.begin(), rss.end());
        auto [low, high] = std::minmax_element(ms.begin(), ms.end());
        std::printf("%-8s %10.1f %10.1f %10.1f %14.2f %6d\n", runtime.name.c_str(), median(ms),
                    ms.empty() ? 0 : *low, ms.empty() ? 0 : *high, peak / 1024.0,
                    exec ? runtime.exec_failures : runtime.failures);
    }
    if (runtimes.size() < 2 || runtimes[1].name != "crun") return;
    const auto& vessel_ms = exec ? runtimes[0].exec_milliseconds : runtimes[0].milliseconds;
    const auto& crun_ms = exec ? runtimes[1].exec_milliseconds : runtimes[1].milliseconds;
    const auto& vessel_rss = exec ? runtimes[0].exec_rss_kib : runtimes[0].rss_kib;
    const auto& crun_rss = exec ? runtimes[1].exec_rss_kib : runtimes[1].rss_kib;
    if (vessel_ms.empty() || crun_ms.empty()) return;
    long vessel_peak = *std::max_element(vessel_rss.begin(), vessel_rss.end());
    long crun_peak = *std::max_element(crun_rss.begin(), crun_rss.end());
    std::printf("vessel/crun: wall time %.2f (target <= 0.80), peak RSS %.2f (target <= 1.00)\n",
                median(vessel_ms) / median(crun_ms),
                static_cast<double>(vessel_peak) / static_cast<double>(crun_peak));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s VESSEL_RUNC [RUNS]\n", argv[0]);
        return 2;
    }
    std::string vessel = argv[1];
    int runs = argc > 2 ? std::atoi(argv[2]) : 30;
    char pattern[] = "/tmp/vessel-bench-XXXXXX";
    if (!::mkdtemp(pattern)) return 1;
    std::string work = pattern;
    std::string bundle = work + "/bundle";
    std::string empty_file = work + "/empty";
    if (auto made = make_bundle(bundle, vessel); !made) {
        std::fprintf(stderr, "container_run: %s\n", made.error().message().c_str());
        return 1;
    }
    (void)write_file_atomic(empty_file, "");
    bool hybrid = path_exists("/sys/fs/cgroup/unified/cgroup.controllers");

    std::vector<Runtime> runtimes{{"vessel", vessel, false, {}, {}, 0}};
    for (const char* name : {"crun", "runc"}) {
        std::string found;
        for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/"})
            if (::access((std::string(dir) + name).c_str(), X_OK) == 0) {
                found = std::string(dir) + name;
                break;
            }
        if (found.empty())
            std::printf("%s: not installed, skipped\n", name);
        else
            runtimes.push_back({name, found, hybrid && std::string(name) == "crun", {}, {}, 0});
    }
    // Two warm-up rounds (page cache, first cgroup directories), then the measured ones.
    for (int round = -2; round < runs; ++round)
        for (size_t i = 0; i < runtimes.size(); ++i) {
            Runtime& runtime = runtimes[(i + static_cast<size_t>(round + 2)) % runtimes.size()];
            bool ok = run_once(runtime, bundle, work + "/state", empty_file, round + 2);
            if (round < 0 && ok) {
                runtime.milliseconds.pop_back();
                runtime.rss_kib.pop_back();
            }
        }

    char title[160];
    std::snprintf(title, sizeof title,
                  "container_run: `run` of /bin/true in a busybox bundle, %d runs each, "
                  "interleaved%s",
                  runs, hybrid ? " (hybrid cgroups: crun in a private mount namespace)" : "");
    print_table(title, runtimes, false);

    // exec: one long-running container per runtime, then `exec /bin/true` rounds.
    for (auto& runtime : runtimes) {
        double elapsed = 0;
        long rss = 0;
        if (!invoke(runtime, work + "/state/" + runtime.name,
                    {"run", "--detach", "--bundle", bundle + "-exec", "bench-exec-" + runtime.name},
                    empty_file, elapsed, rss))
            ++runtime.exec_failures;
    }
    for (int round = -2; round < runs; ++round)
        for (size_t i = 0; i < runtimes.size(); ++i) {
            Runtime& runtime = runtimes[(i + static_cast<size_t>(round + 2)) % runtimes.size()];
            bool ok = exec_once(runtime, work + "/state", empty_file);
            if (round < 0 && ok) {
                runtime.exec_milliseconds.pop_back();
                runtime.exec_rss_kib.pop_back();
            }
        }
    for (auto& runtime : runtimes) {
        double elapsed = 0;
        long rss = 0;
        (void)invoke(runtime, work + "/state/" + runtime.name,
                     {"delete", "--force", "bench-exec-" + runtime.name}, empty_file, elapsed, rss);
    }
    std::printf("\n");
    std::snprintf(title, sizeof title,
                  "container_run: `exec` of /bin/true into a running container, %d runs each",
                  runs);
    print_table(title, runtimes, true);
    if (auto removed = run_capture({"rm", "-rf", work}); !removed)
        std::fprintf(stderr, "container_run: %s\n", removed.error().message().c_str());
    return runtimes[0].failures == 0 && runtimes[0].exec_failures == 0 ? 0 : 1;
}
