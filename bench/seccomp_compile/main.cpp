// Times each step of putting the default seccomp profile on a process:
//   parse    linux.seccomp JSON -> SeccompProfile
//   compile  SeccompProfile -> BPF with libseccomp (what the runtime does before clone)
//   load     seccomp(2) of the compiled program in a fresh child (what the container's init does)
//   both     compile + load in the child (what a runtime without pre-compilation would do)
//   cached   compile_seccomp_cached when the program is in the cache (a tmpfs directory)
// Usage: bench_seccomp_compile [iterations]   (default 200). Prints the median and 90th percentile
// of the wall time and of the thread's CPU time: on a shared machine the CPU time is the stable
// figure, the wall time includes waiting for a core.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

#include "container/linux/seccomp.h"
#include "container/linux/seccomp_cache.h"

namespace {

using Clock = std::chrono::steady_clock;
using vessel::Json;
using vessel::JsonAt;
namespace container = vessel::container;

double cpu_microseconds() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) * 1e6 + static_cast<double>(now.tv_nsec) / 1e3;
}

// One measurement: wall and CPU microseconds.
struct Sample {
    double wall = 0;
    double cpu = 0;
};

class Stopwatch {
  public:
    Sample elapsed() const {
        return {std::chrono::duration<double, std::micro>(Clock::now() - wall_).count(),
                cpu_microseconds() - cpu_};
    }

  private:
    Clock::time_point wall_ = Clock::now();
    double cpu_ = cpu_microseconds();
};

void print(const char* step, const std::vector<Sample>& samples) {
    std::vector<double> wall, cpu;
    for (const auto& sample : samples) {
        wall.push_back(sample.wall);
        cpu.push_back(sample.cpu);
    }
    std::sort(wall.begin(), wall.end());
    std::sort(cpu.begin(), cpu.end());
    std::printf("%-8s cpu median %8.1f us p90 %8.1f us | wall median %8.1f us p90 %8.1f us\n", step,
                cpu[cpu.size() / 2], cpu[cpu.size() * 9 / 10], wall[wall.size() / 2],
                wall[wall.size() * 9 / 10]);
}

// Runs `body` in a forked child, which measures itself and sends the figure back through a pipe:
// a filter cannot be removed once loaded, so each load needs a fresh process.
Sample timed_in_child(const std::function<Sample()>& body) {
    int fds[2];
    if (::pipe(fds) != 0) std::exit(1);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        Sample elapsed = body();
        if (::write(fds[1], &elapsed, sizeof elapsed) != sizeof elapsed) ::_exit(1);
        ::_exit(0);
    }
    ::close(fds[1]);
    Sample elapsed{-1, -1};
    if (::read(fds[0], &elapsed, sizeof elapsed) != sizeof elapsed) elapsed.wall = -1;
    ::close(fds[0]);
    ::waitpid(pid, nullptr, 0);
    if (elapsed.wall < 0) {
        std::fprintf(stderr, "child failed\n");
        std::exit(1);
    }
    return elapsed;
}

}  // namespace

int main(int argc, char** argv) {
    const int iterations = argc > 1 ? std::atoi(argv[1]) : 200;
    const std::string text = container::default_seccomp_profile_json().dump();
    const Json json = Json::parse(text);
    std::vector<Sample> parse, compile, load, both, cached;

    // Parse and compile first, in loops of their own: after a fork every heap write of the parent
    // faults on a copy-on-write page, which would be charged to whatever runs next.
    container::CompiledSeccomp compiled;
    std::optional<container::SeccompProfile> profile;
    for (int i = 0; i < iterations; ++i) {
        Stopwatch watch;
        auto parsed = container::parse_seccomp(JsonAt(json, "linux.seccomp"));
        parse.push_back(watch.elapsed());
        if (!parsed) return std::fprintf(stderr, "%s\n", parsed.error().message().c_str()), 1;
        profile = std::move(*parsed);
    }
    for (int i = 0; i < iterations; ++i) {
        Stopwatch watch;
        auto result = container::compile_seccomp(*profile);
        compile.push_back(watch.elapsed());
        if (!result) return std::fprintf(stderr, "%s\n", result.error().message().c_str()), 1;
        compiled = std::move(*result);
    }
    char cache_dir[] = "/dev/shm/vessel-bench-seccomp-XXXXXX";
    if (!::mkdtemp(cache_dir)) return std::perror("mkdtemp"), 1;
    const std::string cache = std::string(cache_dir) + "/cache";
    for (int i = 0; i <= iterations; ++i) {
        Stopwatch watch;
        auto result = container::compile_seccomp_cached(json, *profile, cache);
        if (i > 0) cached.push_back(watch.elapsed());  // the first run fills the cache
        if (!result || (i > 0 && !result->from_cache)) return std::fprintf(stderr, "no hit\n"), 1;
    }
    std::filesystem::remove_all(cache_dir);
    for (int i = 0; i < iterations; ++i) {
        load.push_back(timed_in_child([&] {
            ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            Stopwatch watch;
            if (!container::load_seccomp_filter(compiled)) return Sample{-1, -1};
            return watch.elapsed();
        }));
        both.push_back(timed_in_child([&] {
            ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            Stopwatch watch;
            if (!container::load_seccomp(*profile)) return Sample{-1, -1};
            return watch.elapsed();
        }));
    }
    std::printf("default seccomp profile: %zu BPF instructions, JSON %zu bytes\n",
                compiled.program.size(), text.size());
    print("parse", parse);
    print("compile", compile);
    print("load", load);
    print("both", both);
    print("cached", cached);
    return 0;
}
