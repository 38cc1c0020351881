#include "container/runtime/signals.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <charconv>
#include <string>

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

Result<ExitStatus> wait_forwarding_signals(int pidfd, const Logger& log) {
    sigset_t forwarded = forwarded_signals();
    UniqueFd signals(::signalfd(-1, &forwarded, SFD_CLOEXEC));
    pollfd waiting[2] = {{.fd = pidfd, .events = POLLIN, .revents = 0},
                         {.fd = signals.get(), .events = POLLIN, .revents = 0}};
    for (;;) {
        if (::poll(waiting, signals ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            return fail_errno("wait for the container's process");
        }
        if (waiting[0].revents) break;
        signalfd_siginfo info{};
        if (waiting[1].revents && ::read(signals.get(), &info, sizeof info) == sizeof info) {
            log.debug("forwarding signal {} to the container", info.ssi_signo);
            ::syscall(SYS_pidfd_send_signal, pidfd, info.ssi_signo, nullptr, 0);
        }
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
