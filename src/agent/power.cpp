#include "agent/power.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/guest_state.h"
#include "agent/reply.h"
#include "base/file.h"
#include "base/log.h"

namespace vessel::agent {

namespace {

using namespace std::chrono_literals;

// The flag in /proc/PID/stat that marks a kernel thread: they ignore signals and never exit, so
// they must not count as processes still running.
constexpr unsigned long kernel_thread_flag = 0x00200000;

// Whether any user process other than init and this one is still alive (zombies are dead: they
// only wait for their parent to reap them).
bool other_processes_alive() {
    struct CloseDir {
        void operator()(DIR* dir) const { ::closedir(dir); }
    };
    std::unique_ptr<DIR, CloseDir> proc(::opendir("/proc"));
    if (!proc) return false;
    pid_t self = ::getpid();
    while (dirent* entry = ::readdir(proc.get())) {
        char* end = nullptr;
        long pid = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || pid <= 1 || pid == self) continue;
        auto stat = read_file(fmt::format("/proc/{}/stat", pid));
        if (!stat) continue;  // gone in between
        // "pid (comm) state ppid pgrp session tty tpgid flags ...": comm may hold spaces and
        // parentheses, so fields are counted from the last ')'.
        auto close = stat->rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream fields(stat->substr(close + 1));
        std::string state;
        long ignored = 0;
        unsigned long flags = 0;
        fields >> state >> ignored >> ignored >> ignored >> ignored >> ignored >> flags;
        if (!fields || state == "Z" || state == "X" || (flags & kernel_thread_flag) != 0) continue;
        return true;
    }
    return false;
}

void say(const std::string& text) {
    std::string line = "vessel-agent: " + text + "\n";
    auto console = open_file("/dev/console", O_WRONLY | O_NOCTTY);
    (void)write_all(console ? console->get() : 2, line);
}

}  // namespace

const char* power_action_name(PowerAction action) {
    return action == PowerAction::reboot ? "reboot" : "poweroff";
}

bool booted_by_systemd(const std::string& root) {
    struct stat st {};
    return ::stat((root + "/run/systemd/system").c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void GuestPower::shut_down(PowerAction action) {
    if (booted_by_systemd()) {
        // systemd stops its units in their dependency order, then syncs, unmounts and powers off
        // itself. Killing every process under it instead would race its restarts of those units,
        // and stopping the agent's own service kills this process's cgroup mid-sequence.
        // SIGRTMIN+4 and +5 to pid 1 start poweroff.target and reboot.target (systemd(1)): no
        // D-Bus or systemctl needed.
        say(action == PowerAction::reboot ? "asking systemd to reboot"
                                          : "asking systemd to power off");
        if (::kill(1, action == PowerAction::reboot ? SIGRTMIN + 5 : SIGRTMIN + 4) == 0) return;
        log_failure(
            fmt::format("signal systemd: {}; shutting down without it", std::strerror(errno)));
    }
    ::sync();
    ::kill(-1, SIGTERM);
    // Interactive shells (the console's) ignore SIGTERM but end on a hang-up.
    ::kill(-1, SIGHUP);
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (other_processes_alive() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(100ms);
    ::kill(-1, SIGKILL);
    ::sync();
    // Innermost first; the kernel's own mounts stay, they hold nothing to flush.
    auto mounts = read_mounts();
    for (auto entry = mounts.rbegin(); entry != mounts.rend(); ++entry) {
        const auto& point = entry->point;
        if (point == "/" || point == "/proc" || point == "/sys" || point == "/dev") continue;
        ::umount2(point.c_str(), MNT_DETACH);
    }
    // Processes just killed may still be closing their files: EBUSY for a moment.
    for (int attempt = 0; attempt < 20; ++attempt) {
        if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0) break;
        if (errno != EBUSY) {
            log_failure(fmt::format("remount / read-only: {}", std::strerror(errno)));
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    ::sync();
    say(action == PowerAction::reboot ? "rebooting" : "powering off");
    ::reboot(action == PowerAction::reboot ? RB_AUTOBOOT : RB_POWER_OFF);
    log_failure(fmt::format("{}: {}", power_action_name(action), std::strerror(errno)));
    ::_exit(1);
}

void PretendPower::shut_down(PowerAction action) {
    log_failure(fmt::format("test mode (--listen unix:): not doing {}", power_action_name(action)));
}

Result<> run_shutdown(UniqueFd& connection, const JsonAt& request, PowerActions& power) {
    auto name = TRY_CTX(request.optional_string("action"), "shutdown").value_or("poweroff");
    PowerAction action;
    if (name == "poweroff")
        action = PowerAction::poweroff;
    else if (name == "reboot")
        action = PowerAction::reboot;
    else
        return fail("shutdown: unknown action \"{}\" (poweroff or reboot)", single_line(name));
    // The host must see the reply before the guest goes down; the shutdown goes ahead even if it
    // did not (the host asked for it either way).
    if (auto replied = reply_ok(connection.get()); !replied)
        log_failure("shutdown: " + replied.error().message());
    ::shutdown(connection.get(), SHUT_RDWR);
    connection.reset();
    power.shut_down(action);
    return {};
}

}  // namespace vessel::agent
