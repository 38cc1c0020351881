// bench/container_run: `run` of /bin/true in the same busybox bundle with vessel-runc, crun and
// runc, interleaved (the order rotates every round), timing each whole command and reading its
// peak RSS from wait4. crun refuses hybrid cgroup hosts, so on such a host its child alone gets a
// private mount namespace with an empty file over /sys/fs/cgroup/unified/cgroup.controllers.
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

// One `run`; false when it failed.
bool run_once(Runtime& runtime, const std::string& bundle, const std::string& state_root,
              const std::string& empty_file, int round) {
    std::string id = "bench-" + runtime.name + "-" + std::to_string(round);
    std::string root = state_root + "/" + runtime.name;
    double start = now_ms();
    pid_t pid = ::fork();
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 1);
        ::dup2(null, 2);
        if (runtime.hybrid_workaround) {
            if (::unshare(CLONE_NEWNS) != 0 ||
                ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
                ::mount(empty_file.c_str(), "/sys/fs/cgroup/unified/cgroup.controllers", nullptr,
                        MS_BIND, nullptr) != 0)
                ::_exit(126);
        }
        ::execl(runtime.binary.c_str(), runtime.binary.c_str(), "--root", root.c_str(), "run",
                "--bundle", bundle.c_str(), id.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    rusage usage{};
    ::wait4(pid, &status, 0, &usage);
    double elapsed = now_ms() - start;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ++runtime.failures;
        return false;
    }
    runtime.milliseconds.push_back(elapsed);
    runtime.rss_kib.push_back(usage.ru_maxrss);
    return true;
}

Result<> make_bundle(const std::string& bundle, const std::string& vessel) {
    TRY(make_directories(bundle + "/rootfs/bin"));
    for (const char* dir : {"/proc", "/sys", "/dev", "/tmp"})
        TRY(make_directories(bundle + "/rootfs" + dir));
    auto copied = TRY(run_capture({"cp", "/bin/busybox", bundle + "/rootfs/bin/busybox"}));
    if (!copied.status.success()) return fail("cp busybox: {}", copied.err);
    for (const char* applet : {"sh", "true"})
        ::symlink("busybox", (bundle + "/rootfs/bin/" + applet).c_str());
    auto spec = TRY(run_capture({vessel, "spec", "--bundle", bundle}));
    if (!spec.status.success()) return fail("vessel-runc spec: {}", spec.err);
    Json config = TRY(parse_json(TRY(read_file(bundle + "/config.json")), "config.json"));
    // 1.0.2: the newest version Debian's crun 1.8 accepts.
    config["ociVersion"] = "1.0.2";
    config["process"]["args"] = {"/bin/true"};
    return write_file_atomic(bundle + "/config.json", config.dump(2));
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

    std::printf(
        "container_run: `run` of /bin/true in a busybox bundle, %d runs each, interleaved%s\n",
        runs, hybrid ? " (hybrid cgroups: crun in a private mount namespace)" : "");
    std::printf("%-8s %10s %10s %10s %14s %6s\n", "runtime", "median ms", "min ms", "max ms",
                "peak RSS MiB", "fails");
    for (const auto& runtime : runtimes) {
        long peak = runtime.rss_kib.empty()
                        ? 0
                        : *std::max_element(runtime.rss_kib.begin(), runtime.rss_kib.end());
        auto [low, high] =
            std::minmax_element(runtime.milliseconds.begin(), runtime.milliseconds.end());
        std::printf("%-8s %10.1f %10.1f %10.1f %14.2f %6d\n", runtime.name.c_str(),
                    median(runtime.milliseconds), runtime.milliseconds.empty() ? 0 : *low,
                    runtime.milliseconds.empty() ? 0 : *high, peak / 1024.0, runtime.failures);
    }
    if (runtimes.size() > 1 && runtimes[1].name == "crun" && !runtimes[1].milliseconds.empty()) {
        long vessel_peak =
            *std::max_element(runtimes[0].rss_kib.begin(), runtimes[0].rss_kib.end());
        long crun_peak = *std::max_element(runtimes[1].rss_kib.begin(), runtimes[1].rss_kib.end());
        std::printf(
            "vessel/crun: wall time %.2f (target <= 0.80), peak RSS %.2f (target <= 1.00)\n",
            median(runtimes[0].milliseconds) / median(runtimes[1].milliseconds),
            static_cast<double>(vessel_peak) / static_cast<double>(crun_peak));
    }
    run_capture({"rm", "-rf", work});
    return runtimes[0].failures == 0 ? 0 : 1;
}
