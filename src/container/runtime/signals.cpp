#include "container/runtime/signals.h"

#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <string>

#include "base/file.h"

namespace vessel::container::runtime {

namespace {

struct SignalName {
    const char* name;
    int number;
};

constexpr std::array kSignals{
    SignalName{"HUP", SIGHUP},   SignalName{"INT", SIGINT},       SignalName{"QUIT", SIGQUIT},
    SignalName{"ILL", SIGILL},   SignalName{"TRAP", SIGTRAP},     SignalName{"ABRT", SIGABRT},
    SignalName{"IOT", SIGIOT},   SignalName{"BUS", SIGBUS},       SignalName{"FPE", SIGFPE},
    SignalName{"KILL", SIGKILL}, SignalName{"USR1", SIGUSR1},     SignalName{"SEGV", SIGSEGV},
    SignalName{"USR2", SIGUSR2}, SignalName{"PIPE", SIGPIPE},     SignalName{"ALRM", SIGALRM},
    SignalName{"TERM", SIGTERM}, SignalName{"STKFLT", SIGSTKFLT}, SignalName{"CHLD", SIGCHLD},
    SignalName{"CONT", SIGCONT}, SignalName{"STOP", SIGSTOP},     SignalName{"TSTP", SIGTSTP},
    SignalName{"TTIN", SIGTTIN}, SignalName{"TTOU", SIGTTOU},     SignalName{"URG", SIGURG},
    SignalName{"XCPU", SIGXCPU}, SignalName{"XFSZ", SIGXFSZ},     SignalName{"VTALRM", SIGVTALRM},
    SignalName{"PROF", SIGPROF}, SignalName{"WINCH", SIGWINCH},   SignalName{"IO", SIGIO},
    SignalName{"POLL", SIGPOLL}, SignalName{"PWR", SIGPWR},       SignalName{"SYS", SIGSYS},
};

}  // namespace

Result<int> parse_signal(std::string_view text) {
    int number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error == std::errc() && end == text.data() + text.size()) {
        if (number < 1 || number > SIGRTMAX) return fail("invalid signal number {}", number);
        return number;
    }
    std::string name;
    for (char c : text)
        name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
    for (const auto& signal : kSignals)
        if (name == signal.name) return signal.number;
    if (name.rfind("RTMIN", 0) == 0 || name.rfind("RTMAX", 0) == 0) {
        bool min = name[3] == 'I';
        int offset = 0;
        std::string_view rest = std::string_view(name).substr(5);
        if (!rest.empty()) {
            auto [rest_end, rest_error] =
                std::from_chars(rest.data() + (rest[0] == '+' || rest[0] == '-'),
                                rest.data() + rest.size(), offset);
            if (rest_error != std::errc() || rest_end != rest.data() + rest.size())
                return fail("unknown signal \"{}\"", text);
            if (rest[0] == '-') offset = -offset;
        }
        int value = (min ? SIGRTMIN : SIGRTMAX) + offset;
        if (value >= SIGRTMIN && value <= SIGRTMAX) return value;
    }
    return fail("unknown signal \"{}\"", text);
}

sigset_t forwarded_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int signal : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT})
        sigaddset(&set, signal);
    return set;
}

namespace {

// The pid behind a pidfd, from its fdinfo ("Pid:\t1234"); 0 when it cannot be read.
pid_t pid_of(int pidfd) {
    auto text = read_file(fmt::format("/proc/self/fdinfo/{}", pidfd));
    if (!text) return 0;
    size_t at = text->find("\nPid:");
    if (at == std::string::npos) return 0;
    return static_cast<pid_t>(std::strtol(text->c_str() + at + 5, nullptr, 10));
}

// Group-stopped (SIGSTOP, SIGTSTP...): /proc/<pid>/stat's state is 'T'.
bool is_stopped(pid_t pid) {
    auto stat = read_file(fmt::format("/proc/{}/stat", pid));
    if (!stat) return false;
    size_t end = stat->rfind(')');
    return end != std::string::npos && end + 2 < stat->size() && (*stat)[end + 2] == 'T';
}

bool is_terminating(int signal) {
    return signal == SIGTERM || signal == SIGINT || signal == SIGHUP || signal == SIGQUIT;
}

}  // namespace

ChildWatch::ChildWatch(int pidfd, const Logger& log)
    : pidfd_(pidfd), pid_(pid_of(pidfd)), log_(log) {
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &child, &previous_mask_);
    sigset_t watched = forwarded_signals();
    sigaddset(&watched, SIGCHLD);
    signals_ = UniqueFd(::signalfd(-1, &watched, SFD_CLOEXEC | SFD_NONBLOCK));
    // A stop before SIGCHLD was blocked sent its SIGCHLD to nobody.
    release_traced_stop();
}

ChildWatch::~ChildWatch() {
    ::sigprocmask(SIG_SETMASK, &previous_mask_, nullptr);
}

int ChildWatch::next_signal() {
    signalfd_siginfo info{};
    if (::read(signals_.get(), &info, sizeof info) != sizeof info) return 0;
    if (info.ssi_signo != SIGCHLD) return static_cast<int>(info.ssi_signo);
    release_traced_stop();
    return 0;
}

void ChildWatch::forward(int signal) const {
    log_.debug("forwarding signal {} to the container", signal);
    ::syscall(SYS_pidfd_send_signal, pidfd_, signal, nullptr, 0);
    if (is_terminating(signal) && pid_ > 0 && is_stopped(pid_))
        ::syscall(SYS_pidfd_send_signal, pidfd_, SIGCONT, nullptr, 0);
}

void ChildWatch::release_traced_stop() const {
    for (;;) {
        siginfo_t info{};
        // Only stops: the exit is the caller's to reap.
        if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info,
                     WSTOPPED | WNOHANG) != 0 ||
            info.si_pid == 0 || info.si_code != CLD_TRAPPED)
            return;
        // Its breakpoints and exec traps were meant for a debugger that is not there.
        int signal = info.si_status == SIGTRAP ? 0 : info.si_status;
        log_.debug("container process {} made us its tracer; detaching (signal {})", info.si_pid,
                   signal);
        ::ptrace(PTRACE_DETACH, info.si_pid, nullptr, reinterpret_cast<void*>(intptr_t{signal}));
    }
}

Result<ExitStatus> wait_forwarding_signals(int pidfd, const Logger& log) {
    ChildWatch watch(pidfd, log);
    pollfd waiting[2] = {{.fd = pidfd, .events = POLLIN, .revents = 0},
                         {.fd = watch.fd(), .events = POLLIN, .revents = 0}};
    for (;;) {
        if (::poll(waiting, watch.fd() >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            return fail_errno("wait for the container's process");
        }
        if (waiting[0].revents) break;
        if (waiting[1].revents)
            if (int signal = watch.next_signal()) watch.forward(signal);
    }
    return reap_pidfd(pidfd);
}

Result<ExitStatus> reap_pidfd(int pidfd) {
    siginfo_t info{};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) != 0)
        return fail_errno("reap the container's process");
    return info.si_code == CLD_EXITED ? ExitStatus{.code = info.si_status, .signal = 0}
                                      : ExitStatus{.code = 0, .signal = info.si_status};
}

}  // namespace vessel::container::runtime
