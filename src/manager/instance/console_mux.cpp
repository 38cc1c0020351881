#include "manager/instance/console_mux.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "base/file.h"

namespace vessel::manager {

Result<ConsoleMux> ConsoleMux::open(const std::string& log_path, const std::string& socket_path) {
    ConsoleMux mux;
    mux.master_.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!mux.master_) return fail_errno("console: open a pty");
    if (::grantpt(mux.master_.get()) != 0 || ::unlockpt(mux.master_.get()) != 0)
        return fail_errno("console: unlock the pty");
    char name[64];
    if (::ptsname_r(mux.master_.get(), name, sizeof name) != 0)
        return fail_errno("console: name the pty");
    mux.slave_.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!mux.slave_) return fail_errno(fmt::format("console: open {}", name));
    // The payload sets its own modes (vessel-vmm makes it raw); start from a line without echo
    // so nothing the client types comes back twice before it does.
    termios modes{};
    if (::tcgetattr(mux.slave_.get(), &modes) == 0) {
        ::cfmakeraw(&modes);
        ::tcsetattr(mux.slave_.get(), TCSANOW, &modes);
    }
    ::fcntl(mux.master_.get(), F_SETFL, O_NONBLOCK);
    mux.log_ = TRY(open_file(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600));

    sockaddr_un address{.sun_family = AF_UNIX, .sun_path = {}};
    if (socket_path.size() >= sizeof address.sun_path)
        return fail("console: socket path {} is too long", socket_path);
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    ::unlink(socket_path.c_str());
    mux.listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!mux.listener_) return fail_errno("console: socket");
    // Root only from the start: bound under a umask that leaves no window with a wider mode.
    mode_t old_mask = ::umask(0177);
    int bound = ::bind(mux.listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::umask(old_mask);
    if (bound != 0 || ::listen(mux.listener_.get(), 2) != 0)
        return fail_errno("console: listen on " + socket_path);
    mux.socket_path_ = socket_path;
    return mux;
}

void ConsoleMux::pump_output() {
    char buffer[16384];
    for (;;) {
        ssize_t got = ::read(master_.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return;  // EAGAIN, or EIO once the payload closed its end
        (void)write_all(log_.get(), std::string_view(buffer, static_cast<size_t>(got)));
        if (client_ &&
            !write_all(client_.get(), std::string_view(buffer, static_cast<size_t>(got))))
            client_.reset();  // a client that stopped reading is detached, never waited for
    }
}

void ConsoleMux::attach_client() {
    // Non-blocking: a client that stops reading is dropped rather than stalling the copy.
    UniqueFd accepted(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (accepted) client_ = std::move(accepted);
}

void ConsoleMux::pump_input() {
    char buffer[4096];
    ssize_t got = ::read(client_.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) return;
    if (got <= 0) {
        client_.reset();
        return;
    }
    // The terminal's input side is small; a blocked write would stall the output copy, so what
    // does not fit now is dropped, as a serial line drops what its UART cannot take.
    (void)::write(master_.get(), buffer, static_cast<size_t>(got));
}

void ConsoleMux::serve_until_exit(int payload_pidfd) {
    for (;;) {
        pollfd fds[4] = {{master_.get(), POLLIN, 0},
                         {listener_.get(), POLLIN, 0},
                         {payload_pidfd, POLLIN, 0},
                         {client_ ? client_.get() : -1, POLLIN, 0}};
        int ready = ::poll(fds, 4, -1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) break;
        if (fds[0].revents & POLLIN) pump_output();
        if (fds[1].revents & POLLIN) attach_client();
        if (fds[3].revents) pump_input();
        if (fds[2].revents) break;
        // POLLHUP on the master without the payload gone: its end is closed but it lives on
        // (it closed its stdio); wait for its exit without spinning.
        if ((fds[0].revents & POLLHUP) && !(fds[0].revents & POLLIN)) {
            pollfd exit_only{payload_pidfd, POLLIN, 0};
            ::poll(&exit_only, 1, -1);
            break;
        }
    }
    pump_output();
    client_.reset();
    listener_.reset();
    ::unlink(socket_path_.c_str());
}

}  // namespace vessel::manager
