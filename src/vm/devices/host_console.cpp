#include "vm/devices/host_console.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace vessel::vm {

namespace {
constexpr uint8_t kEscape = 0x01;  // Ctrl-A
}

Result<HostConsole> HostConsole::open(const std::string& output_path, bool interactive,
                                      int input_fd) {
    HostConsole console;
    if (!output_path.empty()) {
        console.output_owned_.reset(
            ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!console.output_owned_) return fail_errno(fmt::format("console file {}", output_path));
        console.output_fd_ = console.output_owned_.get();
    }
    console.interactive_ = interactive;
    console.input_fd_ = input_fd;

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &stop_signals, &console.saved_mask_) != 0)
        return fail("pthread_sigmask failed");
    console.mask_saved_ = true;
    console.signal_fd_.reset(signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!console.signal_fd_) return fail_errno("signalfd");
    console.wake_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!console.wake_fd_) return fail_errno("eventfd");

    if (interactive && isatty(input_fd)) {
        if (tcgetattr(input_fd, &console.saved_termios_) != 0)
            return fail_errno("tcgetattr on the console input");
        termios raw = console.saved_termios_;
        cfmakeraw(&raw);
        raw.c_oflag |= OPOST | ONLCR;  // the guest writes "\n"; keep the host terminal readable
        if (tcsetattr(input_fd, TCSANOW, &raw) != 0)
            return fail_errno("tcsetattr on the console input");
        console.raw_mode_ = true;
    }
    return console;
}

HostConsole::HostConsole(HostConsole&& other) noexcept
    : output_owned_(std::move(other.output_owned_)),
      output_fd_(other.output_fd_),
      input_fd_(other.input_fd_),
      interactive_(other.interactive_),
      raw_mode_(std::exchange(other.raw_mode_, false)),
      saved_termios_(other.saved_termios_),
      saved_mask_(other.saved_mask_),
      mask_saved_(std::exchange(other.mask_saved_, false)),
      signal_fd_(std::move(other.signal_fd_)),
      wake_fd_(std::move(other.wake_fd_)) {
    if (output_owned_) output_fd_ = output_owned_.get();
}

HostConsole::~HostConsole() {
    if (thread_.joinable()) {
        uint64_t one = 1;
        (void)!::write(wake_fd_.get(), &one, sizeof(one));
        thread_.join();
    }
    if (raw_mode_) tcsetattr(input_fd_, TCSANOW, &saved_termios_);
    if (mask_saved_) {
        // Drop signals that arrived during shutdown rather than dying of them after cleanup.
        signal_fd_.reset();
        pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
    }
}

void HostConsole::write(uint8_t byte) const {
    // No retry on EINTR: the only signal a vCPU thread gets is the VMM's stop kick, and a reader
    // that stopped reading must not keep the VMM from ending.
    (void)!::write(output_fd_, &byte, 1);
}

Result<> HostConsole::start(Handlers handlers, std::function<void()> prologue) {
    thread_ = std::thread([this, handlers = std::move(handlers), prologue = std::move(prologue)] {
        if (prologue) prologue();
        input_loop(handlers);
    });
    return {};
}

void HostConsole::input_loop(Handlers handlers) {
    bool stdin_open = interactive_;
    bool escape_pending = false;
    std::vector<uint8_t> pending;  // read from the host, not yet taken by the guest
    for (;;) {
        pollfd fds[3] = {{wake_fd_.get(), POLLIN, 0},
                         {signal_fd_.get(), POLLIN, 0},
                         {stdin_open && pending.empty() ? input_fd_ : -1, POLLIN, 0}};
        // While the guest's FIFO is full, retry every few milliseconds.
        int ready = poll(fds, 3, pending.empty() ? -1 : 5);
        if (ready < 0 && errno != EINTR) return;
        if (fds[0].revents) return;
        if (fds[1].revents) {
            signalfd_siginfo info{};
            if (read(signal_fd_.get(), &info, sizeof(info)) == sizeof(info))
                handlers.quit(strsignal(static_cast<int>(info.ssi_signo)));
        }
        if (fds[2].revents) {
            uint8_t buffer[256];
            ssize_t got = read(input_fd_, buffer, sizeof(buffer));
            if (got <= 0) {
                if (got == 0 || (errno != EINTR && errno != EAGAIN)) stdin_open = false;
            } else {
                for (ssize_t i = 0; i < got; ++i) {
                    uint8_t byte = buffer[i];
                    if (escape_pending) {
                        escape_pending = false;
                        if (byte == 'x') {
                            handlers.quit("Ctrl-A x");
                            stdin_open = false;
                            break;
                        }
                        if (byte != kEscape) pending.push_back(kEscape);
                        pending.push_back(byte);
                    } else if (byte == kEscape && raw_mode_) {
                        escape_pending = true;
                    } else {
                        pending.push_back(byte);
                    }
                }
            }
        }
        if (!pending.empty()) {
            size_t taken = handlers.input(pending);
            pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(taken));
        }
    }
}

}  // namespace vessel::vm
