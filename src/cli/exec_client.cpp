#include "cli/exec_client.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "agent/protocol.h"
#include "agent/relay.h"
#include "base/file.h"
#include "base/json.h"
#include "cli/raw_terminal.h"

namespace vessel {

namespace {

using agent::FrameType;

constexpr size_t read_chunk = 64 * 1024;
// Standard input is read only while less than this waits to go out: a program that does not
// read its input holds the client up instead of filling its memory.
constexpr size_t max_outgoing = 1 << 20;

// Signals a user sends to the program through us (a container's runtime and the agent pass them
// on); SIGWINCH is the terminal's resize.
constexpr int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

// Blocks the signals this session takes through a signalfd, and unblocks them on every way out.
// A signal this process inherited as ignored (a background job's SIGINT, nohup's SIGHUP) is
// still taken: it is meant for the program, which decides for itself (as docker's CLI does).
class SignalsTaken {
  public:
    SignalsTaken() {
        sigemptyset(&taken_);
        for (int signal : forwarded_signals)
            sigaddset(&taken_, signal);
        sigaddset(&taken_, SIGWINCH);
        ::sigprocmask(SIG_BLOCK, &taken_, &previous_mask_);
        struct sigaction default_action {};
        default_action.sa_handler = SIG_DFL;
        for (size_t i = 0; i < std::size(forwarded_signals); ++i)
            ::sigaction(forwarded_signals[i], &default_action, &previous_actions_[i]);
        fd_.reset(::signalfd(-1, &taken_, SFD_CLOEXEC | SFD_NONBLOCK));
    }
    ~SignalsTaken() {
        for (size_t i = 0; i < std::size(forwarded_signals); ++i)
            ::sigaction(forwarded_signals[i], &previous_actions_[i], nullptr);
        ::sigprocmask(SIG_SETMASK, &previous_mask_, nullptr);
    }
    SignalsTaken(const SignalsTaken&) = delete;
    SignalsTaken& operator=(const SignalsTaken&) = delete;

    int fd() const { return fd_.get(); }

  private:
    sigset_t taken_{};
    sigset_t previous_mask_{};
    struct sigaction previous_actions_[std::size(forwarded_signals)]{};
    UniqueFd fd_;
};

std::string json_frame(FrameType type, const Json& value) {
    return agent::encode_frame(type, value.dump());
}

class ExecSession {
  public:
    ExecSession(int connection, std::string early_bytes, const ExecClientOptions& options)
        : connection_(connection), options_(options), stdin_open_(options.forward_stdin) {
        decoder_.append(early_bytes);
        // Without -i the program's input is empty from the start, as with </dev/null.
        if (!options.forward_stdin) outgoing_ = agent::encode_frame(FrameType::input_end, "");
    }

    Result<int> run() {
        TRY(agent::set_nonblocking(connection_));
        SignalsTaken signals;
        std::optional<RawTerminal> raw;
        if (options_.tty) raw.emplace();
        std::vector<char> buffer(read_chunk);
        for (;;) {
            // Frames that arrived with the switch, or with the last read.
            if (auto code = TRY(take_frames())) return *code;
            pollfd fds[3] = {
                {.fd = connection_,
                 .events = static_cast<short>(POLLIN | (outgoing_.empty() ? 0 : POLLOUT)),
                 .revents = 0},
                {.fd = stdin_open_ && outgoing_.size() < max_outgoing ? 0 : -1,
                 .events = POLLIN,
                 .revents = 0},
                {.fd = signals.fd(), .events = POLLIN, .revents = 0}};
            if (::poll(fds, 3, -1) < 0) {
                if (errno == EINTR) continue;
                return fail_errno("poll");
            }
            if (fds[2].revents & POLLIN) take_signals(signals.fd());
            if (fds[0].revents & POLLOUT) TRY(send_outgoing());
            if (fds[1].revents) TRY(read_input(buffer));
            if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t n = ::read(connection_, buffer.data(), buffer.size());
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                if (n < 0) return fail_errno("exec: read from vesseld");
                if (n == 0) {
                    TRY(take_frames());
                    return fail("exec: vesseld closed the connection before the program ended");
                }
                decoder_.append(std::string_view(buffer.data(), static_cast<size_t>(n)));
            }
        }
    }

  private:
    // Handles every whole frame received; the exit code once the exit frame came.
    Result<std::optional<int>> take_frames() {
        for (;;) {
            auto frame = TRY_CTX(decoder_.next(), "exec");
            if (!frame) return std::optional<int>{};
            auto& [type, payload] = *frame;
            switch (type) {
                case FrameType::reply:
                    // The first reply says the program started; an error reply, first or in place
                    // of the exit, says why it did not or what broke.
                    TRY(agent::check_reply(TRY(agent::frame_json(*frame))));
                    break;
                case FrameType::output:
                    TRY_CTX(write_all(1, payload), "exec: standard output");
                    break;
                case FrameType::error_output:
                    TRY_CTX(write_all(2, payload), "exec: standard error");
                    break;
                case FrameType::exit: {
                    auto json = TRY(agent::frame_json(*frame));
                    JsonAt at(json, "exit");
                    if (auto signal = TRY(at.optional_integer_in<int>("signal")))
                        return std::optional<int>(128 + *signal);
                    return std::optional<int>(TRY(at.optional_integer_in<int>("code")).value_or(0));
                }
                default:
                    return fail("exec: unexpected {} frame from vesseld",
                                agent::frame_type_name(type));
            }
        }
    }

    Result<> send_outgoing() {
        ssize_t n = ::send(connection_, outgoing_.data(), outgoing_.size(), MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return {};
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            // The far end stopped reading: it ended the operation, and its last frames (an error
            // reply that says why, or the exit) are still there to read.
            outgoing_.clear();
            stdin_open_ = false;
            sending_closed_ = true;
            return {};
        }
        if (n < 0) return fail_errno("exec: write to vesseld");
        outgoing_.erase(0, static_cast<size_t>(n));
        return {};
    }

    Result<> read_input(std::vector<char>& buffer) {
        if (sending_closed_) return {};
        ssize_t n = ::read(0, buffer.data(), buffer.size());
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return {};
        if (n <= 0) {
            // End of our input (or an unreadable one): the program's input ends too; with a
            // terminal the far side types its end-of-file character.
            stdin_open_ = false;
            outgoing_ += agent::encode_frame(FrameType::input_end, "");
            return {};
        }
        outgoing_ += agent::encode_frame(FrameType::input,
                                         std::string_view(buffer.data(), static_cast<size_t>(n)));
        return {};
    }

    void take_signals(int fd) {
        signalfd_siginfo info{};
        while (::read(fd, &info, sizeof info) == sizeof info) {
            if (sending_closed_) continue;
            auto signal = static_cast<int>(info.ssi_signo);
            if (signal == SIGWINCH) {
                if (!options_.tty) continue;
                auto [rows, cols] = local_terminal_size();
                outgoing_ += json_frame(FrameType::resize, Json{{"rows", rows}, {"cols", cols}});
            } else {
                outgoing_ += json_frame(FrameType::signal, Json{{"signal", signal}});
            }
        }
    }

    int connection_;
    ExecClientOptions options_;
    bool stdin_open_;
    agent::FrameDecoder decoder_;
    std::string outgoing_;  // encoded frames not yet sent
    bool sending_closed_ = false;
};

}  // namespace

std::pair<unsigned, unsigned> local_terminal_size() {
    winsize size{};
    for (int fd : {0, 1, 2})
        if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0)
            return {size.ws_row, size.ws_col};
    return {24, 80};
}

Result<int> run_exec_session(int connection, std::string early_bytes,
                             const ExecClientOptions& options) {
    return ExecSession(connection, std::move(early_bytes), options).run();
}

}  // namespace vessel
