#include "manager/tls/tls_relay.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "manager/tls/certificate.h"

namespace vessel::manager::tls {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t buffer_limit = 256 * 1024;
constexpr size_t read_size = 16 * 1024;

Result<> set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return fail_errno("fcntl O_NONBLOCK");
    return {};
}

int poll_milliseconds(Clock::time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<int64_t>(left, 0, 1000));
}

bool stop_requested(int stop) {
    if (stop < 0) return false;
    pollfd fd{.fd = stop, .events = POLLIN, .revents = 0};
    return ::poll(&fd, 1, 0) > 0;
}

// OpenSSL writes to the socket with write(2): a peer that has gone would kill a process that does
// not ignore SIGPIPE (the CLI does not). While one is alive, this thread has SIGPIPE blocked, so
// the write fails with EPIPE instead; one left pending is taken before the mask goes back.
class SigpipeBlocked {
  public:
    SigpipeBlocked() {
        sigset_t pipe;
        ::sigemptyset(&pipe);
        ::sigaddset(&pipe, SIGPIPE);
        ::pthread_sigmask(SIG_BLOCK, &pipe, &previous_);
    }
    ~SigpipeBlocked() {
        sigset_t pipe;
        ::sigemptyset(&pipe);
        ::sigaddset(&pipe, SIGPIPE);
        timespec now{};
        while (::sigtimedwait(&pipe, nullptr, &now) == SIGPIPE) {
        }
        ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }
    SigpipeBlocked(const SigpipeBlocked&) = delete;
    SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

  private:
    sigset_t previous_{};
};

// What OpenSSL wants before it can go on.
enum class Want { nothing, read, write, closed, failed };

Want want_of(SSL* session, int result) {
    switch (SSL_get_error(session, result)) {
        case SSL_ERROR_WANT_READ:
            return Want::read;
        case SSL_ERROR_WANT_WRITE:
            return Want::write;
        case SSL_ERROR_ZERO_RETURN:
            return Want::closed;
        case SSL_ERROR_SYSCALL:
            // OpenSSL 3 reports a peer that closed without close_notify as this, or as
            // SSL_R_UNEXPECTED_EOF_WHILE_READING; both end the input.
            return (errno == 0 || errno == ECONNRESET || errno == EPIPE) ? Want::closed
                                                                         : Want::failed;
        default:
            if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                ERR_clear_error();
                return Want::closed;
            }
            return Want::failed;
    }
}

}  // namespace

Result<> handshake(SSL* session, int network, std::chrono::milliseconds timeout, int stop) {
    SigpipeBlocked quiet;
    TRY(set_nonblocking(network));
    auto deadline = Clock::now() + timeout;
    while (true) {
        ERR_clear_error();
        errno = 0;
        int result = SSL_do_handshake(session);
        if (result == 1) return {};
        auto want = want_of(session, result);
        if (want != Want::read && want != Want::write) {
            if (want == Want::closed) return fail_errno(ECONNRESET, "TLS handshake: peer closed");
            return openssl_error("TLS handshake", ECONNABORTED);
        }
        if (Clock::now() >= deadline)
            return fail_errno(ETIMEDOUT, "TLS handshake did not finish in time");
        pollfd fds[2] = {{.fd = network,
                          .events = static_cast<short>(want == Want::read ? POLLIN : POLLOUT),
                          .revents = 0},
                         {.fd = stop, .events = POLLIN, .revents = 0}};
        if (::poll(fds, stop >= 0 ? 2 : 1, poll_milliseconds(deadline)) < 0 && errno != EINTR)
            return fail_errno("poll");
        if (stop >= 0 && fds[1].revents != 0) return fail_errno(ECANCELED, "TLS handshake");
    }
}

Result<> relay(SSL* session, int network, int plain, int stop, RelayOptions options) {
    SigpipeBlocked quiet;
    TRY(set_nonblocking(network));
    TRY(set_nonblocking(plain));
    std::string to_plain, to_network;
    bool network_done = false, plain_done = false, plain_shut = false;
    Want read_want = Want::nothing, write_want = Want::nothing;
    auto last_sent = Clock::now();
    char chunk[read_size];
    while (true) {
        bool progress = true;
        while (progress) {
            progress = false;
            read_want = Want::nothing;
            if (!network_done && to_plain.size() < buffer_limit) {
                ERR_clear_error();
                errno = 0;
                int n = SSL_read(session, chunk, sizeof chunk);
                if (n > 0) {
                    to_plain.append(chunk, static_cast<size_t>(n));
                    progress = true;
                } else {
                    read_want = want_of(session, n);
                    if (read_want == Want::closed) network_done = progress = true;
                    if (read_want == Want::failed)
                        return openssl_error("reading the TLS connection", ECONNABORTED);
                }
            }
            if (!to_plain.empty()) {
                ssize_t n = ::send(plain, to_plain.data(), to_plain.size(), MSG_NOSIGNAL);
                if (n > 0) {
                    to_plain.erase(0, static_cast<size_t>(n));
                    progress = true;
                } else if (errno != EAGAIN && errno != EINTR) {
                    return {};  // the plain side is gone: nothing more can be answered
                }
            }
            if (network_done && to_plain.empty() && !plain_shut) {
                ::shutdown(plain, SHUT_WR);
                plain_shut = true;
            }
            if (!plain_done && to_network.size() < buffer_limit) {
                ssize_t n = ::recv(plain, chunk, sizeof chunk, 0);
                if (n > 0) {
                    to_network.append(chunk, static_cast<size_t>(n));
                    progress = true;
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    plain_done = progress = true;
                }
            }
            write_want = Want::nothing;
            if (!to_network.empty()) {
                ERR_clear_error();
                errno = 0;
                int n = SSL_write(session, to_network.data(), static_cast<int>(to_network.size()));
                if (n > 0) {
                    to_network.erase(0, static_cast<size_t>(n));
                    last_sent = Clock::now();
                    progress = true;
                } else {
                    write_want = want_of(session, n);
                    if (write_want == Want::closed || write_want == Want::failed) return {};
                }
            }
        }
        if (plain_done && to_network.empty()) {
            // Everything the server said went out: say so, and end.
            ERR_clear_error();
            (void)SSL_shutdown(session);
            return {};
        }
        if (network_done && plain_done) return {};
        if (!to_network.empty() && Clock::now() - last_sent > options.stall_timeout)
            return fail_errno(ETIMEDOUT, "the TLS peer took nothing for too long");
        if (stop_requested(stop)) return {};

        short network_events = 0;
        for (auto want : {read_want, write_want}) {
            if (want == Want::read) network_events |= POLLIN;
            if (want == Want::write) network_events |= POLLOUT;
        }
        short plain_events = 0;
        if (!plain_done && to_network.size() < buffer_limit) plain_events |= POLLIN;
        if (!to_plain.empty()) plain_events |= POLLOUT;
        pollfd fds[3] = {{.fd = network, .events = network_events, .revents = 0},
                         {.fd = plain, .events = plain_events, .revents = 0},
                         {.fd = stop, .events = POLLIN, .revents = 0}};
        if (::poll(fds, stop >= 0 ? 3 : 2, 1000) < 0 && errno != EINTR) return fail_errno("poll");
    }
}

}  // namespace vessel::manager::tls
