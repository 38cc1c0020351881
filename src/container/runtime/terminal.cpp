#include "container/runtime/terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "base/unique_fd.h"
#include "container/runtime/signals.h"

namespace vessel::container::runtime {

namespace {

// Raw mode on our terminal for as long as the relay runs.
class RawMode {
  public:
    explicit RawMode(int fd) : fd_(fd) {
        if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
        termios raw = saved_;
        ::cfmakeraw(&raw);
        active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
    }
    ~RawMode() {
        if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
    }
    RawMode(const RawMode&) = delete;
    RawMode& operator=(const RawMode&) = delete;

  private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

void copy_window_size(int from, int to) {
    winsize size{};
    if (::ioctl(from, TIOCGWINSZ, &size) == 0) ::ioctl(to, TIOCSWINSZ, &size);
}

bool write_all(int fd, const char* data, size_t size) {
    while (size > 0) {
        ssize_t written = ::write(fd, data, size);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return false;
        data += written;
        size -= static_cast<size_t>(written);
    }
    return true;
}

// Copies what the pty has to stdout; false once the pty has nothing more to give.
bool pump_output(int master) {
    char buffer[4096];
    ssize_t got = ::read(master, buffer, sizeof buffer);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (got <= 0) return false;  // EIO: every holder of the pty's other side has gone
    return write_all(1, buffer, static_cast<size_t>(got));
}

}  // namespace

Result<ExitStatus> relay_terminal(int master, int pidfd, const Logger& log) {
    RawMode raw(0);
    copy_window_size(0, master);
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
    ChildWatch watch(pidfd, log);
    bool input_open = true;
    for (;;) {
        pollfd fds[4] = {{pidfd, POLLIN, 0},
                         {master, POLLIN, 0},
                         {input_open ? 0 : -1, POLLIN, 0},
                         {watch.fd(), POLLIN, 0}};
        if (::poll(fds, 4, -1) < 0) {
            if (errno == EINTR) continue;
            return fail_errno("relay the container's terminal");
        }
        if (fds[1].revents) pump_output(master);
        if (fds[2].revents) {
            char buffer[4096];
            ssize_t got = ::read(0, buffer, sizeof buffer);
            if (got > 0) {
                write_all(master, buffer, static_cast<size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                // End of our input: the terminal's end-of-file character, so a reader in
                // canonical mode sees it as a terminal user's Ctrl-D.
                input_open = false;
                write_all(master, "\x04", 1);
            }
        }
        if (fds[3].revents) {
            if (int signal = watch.next_signal(); signal == SIGWINCH)
                copy_window_size(0, master);
            else if (signal != 0)
                watch.forward(signal);
        }
        if (fds[0].revents) break;
    }
    // The process has exited: what it wrote last is still in the pty.
    while (pump_output(master)) {
        pollfd more{master, POLLIN, 0};
        if (::poll(&more, 1, 50) <= 0) break;
    }
    return reap_pidfd(pidfd);
}

}  // namespace vessel::container::runtime
