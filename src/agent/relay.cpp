#include "agent/relay.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/protocol.h"
#include "base/json.h"
#include "base/log.h"

namespace vessel::agent {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr size_t output_chunk = 64 * 1024;
// Once the program is reaped, a background child may still hold its output open: what is already
// there is worth sending, an open-ended wait is not.
constexpr auto drain_after_exit = 200ms;
// Without a pidfd (kernels before 5.3), how often the program is checked for its end.
constexpr int exit_check_ms = 50;

// Moves bytes between the connection and the program until the program has ended and its
// output is drained, then sends the exit frame.
class Relay {
  public:
    Relay(int connection, RelayedProgram program, std::string where)
        : connection_(connection), program_(std::move(program)), where_(std::move(where)) {}

    Result<> run() {
        auto result = relay();
        if (!result && !status_) kill_program();
        return result;
    }

  private:
    Result<> relay() {
        std::vector<char> buffer(output_chunk);
        for (;;) {
            bool drained = !program_.output && !program_.errors;
            if (status_ && (drained || Clock::now() >= drain_deadline_)) break;

            pollfd fds[5];
            nfds_t count = 0;
            auto add = [&](int fd, short events) {
                fds[count] = {.fd = fd, .events = events, .revents = 0};
                return static_cast<int>(count++);
            };
            // Host input is read only once the previous chunk is in the program: the host's
            // writes block instead of the agent buffering without bound. Hang-ups are still
            // reported with no events asked for.
            int host = add(connection_, pending_.empty() ? POLLIN : 0);
            int input =
                program_.input && !pending_.empty() ? add(program_.input.get(), POLLOUT) : -1;
            int output = program_.output ? add(program_.output.get(), POLLIN) : -1;
            int errors = program_.errors ? add(program_.errors.get(), POLLIN) : -1;
            int exited = !status_ && program_.pidfd ? add(program_.pidfd.get(), POLLIN) : -1;

            int timeout = -1;
            if (status_) {
                auto left =
                    std::chrono::ceil<std::chrono::milliseconds>(drain_deadline_ - Clock::now());
                timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
            } else if (!program_.pidfd) {
                timeout = exit_check_ms;
            }
            int ready = ::poll(fds, count, timeout);
            if (ready < 0 && errno == EINTR) continue;
            if (ready < 0) return fail_errno(where_ + ": poll");

            if (!status_ && (exited < 0 ? !program_.pidfd : fds[exited].revents != 0))
                TRY(check_exit());
            if (output >= 0 && fds[output].revents != 0)
                TRY(forward_output(program_.output, FrameType::output, buffer));
            if (errors >= 0 && fds[errors].revents != 0)
                TRY(forward_output(program_.errors, FrameType::error_output, buffer));
            if (input >= 0 && fds[input].revents != 0) flush_input();
            short host_events = fds[host].revents;
            if (host_events != 0) {
                if (fds[host].events & POLLIN)
                    TRY(read_host_frame());
                else if (host_events & (POLLHUP | POLLERR))
                    TRY(host_gone());
            }
        }
        Json end = WIFSIGNALED(*status_) ? Json{{"signal", WTERMSIG(*status_)}}
                                         : Json{{"code", WEXITSTATUS(*status_)}};
        return with_context(write_json_frame(connection_, FrameType::exit, end), where_);
    }

    Result<> check_exit() {
        int status;
        pid_t got = ::waitpid(program_.pid, &status, WNOHANG);
        if (got < 0 && errno != EINTR) return fail_errno(where_ + ": waitpid");
        if (got == program_.pid) {
            status_ = status;
            drain_deadline_ = Clock::now() + drain_after_exit;
        }
        return {};
    }

    Result<> forward_output(UniqueFd& fd, FrameType type, std::vector<char>& buffer) {
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n > 0)
            return with_context(
                write_frame(connection_, type,
                            std::string_view(buffer.data(), static_cast<size_t>(n))),
                where_ + ": send output");
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return {};
        // End of file, or EIO from a terminal master once every slave descriptor is closed.
        if (program_.tty) {
            // The master stays open until the end all the same: closing it hangs the terminal
            // up, and the SIGHUP would kill a program that closed its descriptors but has not
            // exited yet.
            hung_up_terminal_ = std::move(fd);
            close_input();
        }
        fd.reset();
        return {};
    }

    void close_input() {
        program_.input.reset();
        pending_.clear();
        pending_offset_ = 0;
    }

    void flush_input() {
        while (pending_offset_ < pending_.size()) {
            ssize_t n = ::write(program_.input.get(), pending_.data() + pending_offset_,
                                pending_.size() - pending_offset_);
            if (n > 0) {
                pending_offset_ += static_cast<size_t>(n);
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && errno == EAGAIN) {
                return;
            } else {
                // EPIPE: the program closed its input; what the host sends from now on is dropped.
                close_input();
                return;
            }
        }
        pending_.clear();
        pending_offset_ = 0;
    }

    Result<> read_host_frame() {
        auto frame = read_frame(connection_);
        if (!frame) return std::unexpected(frame.error().context(where_));
        if (!*frame) return host_gone();
        auto& [type, payload] = **frame;
        switch (type) {
            case FrameType::input:
                if (program_.input && !input_ended_) {
                    pending_ = std::move(payload);
                    pending_offset_ = 0;
                    flush_input();
                }
                return {};
            case FrameType::input_end:
                if (input_ended_ || !program_.input) return {};
                input_ended_ = true;
                // A terminal has no end of input of its own: its EOF character is the nearest
                // thing (it ends a read at the start of a line).
                if (program_.tty) {
                    pending_.assign(1, '\x04');
                    pending_offset_ = 0;
                    flush_input();
                } else {
                    close_input();
                }
                return {};
            case FrameType::signal: {
                auto json = TRY_CTX(frame_json(**frame), "{}", where_);
                auto number = TRY_CTX(JsonAt(json, "signal").child("signal"), "{}", where_);
                auto signal = TRY_CTX(number.integer_in<int>(), "{}", where_);
                if (signal < 1 || signal > SIGRTMAX)
                    return fail("{}: signal {} does not exist", where_, signal);
                // After the reap the group number may be reused: nothing of ours to signal.
                if (status_) return {};
                if (program_.signal)
                    program_.signal(signal);
                else
                    ::kill(-program_.pid, signal);
                return {};
            }
            case FrameType::resize: {
                auto json = TRY_CTX(frame_json(**frame), "{}", where_);
                JsonAt at(json, "resize");
                auto rows = TRY_CTX(TRY_CTX(at.child("rows"), "{}", where_).integer_in<uint16_t>(),
                                    "{}", where_);
                auto cols = TRY_CTX(TRY_CTX(at.child("cols"), "{}", where_).integer_in<uint16_t>(),
                                    "{}", where_);
                winsize size{.ws_row = rows, .ws_col = cols, .ws_xpixel = 0, .ws_ypixel = 0};
                if (program_.tty && program_.output)
                    ::ioctl(program_.output.get(), TIOCSWINSZ, &size);
                return {};
            }
            default:
                return fail("{}: unexpected {} frame from the host", where_, frame_type_name(type));
        }
    }

    Result<> host_gone() {
        if (status_) return fail("{}: the host closed the connection", where_);
        kill_program();
        return fail("{}: the host closed the connection before the program ended", where_);
    }

    // The program's whole group, so that nothing it started keeps running for a host that left.
    void kill_program() {
        if (status_) return;
        if (program_.kill)
            program_.kill();
        else
            ::kill(-program_.pid, SIGKILL);
        int status;
        while (::waitpid(program_.pid, &status, 0) < 0 && errno == EINTR) {
        }
        status_ = status;
    }

    int connection_;
    RelayedProgram program_;
    std::string where_;
    std::string pending_;
    size_t pending_offset_ = 0;
    bool input_ended_ = false;
    std::optional<int> status_;
    Clock::time_point drain_deadline_;
    UniqueFd hung_up_terminal_;
};

}  // namespace

Result<> set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return fail_errno("set O_NONBLOCK");
    return {};
}

Result<> relay_program(int connection, RelayedProgram program, std::string where) {
    return Relay(connection, std::move(program), std::move(where)).run();
}

}  // namespace vessel::agent
