#include "manager/cancel.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "base/unique_fd.h"

namespace vessel::manager {

bool Cancellation::requested() const {
    if (fd_ < 0) return false;
    pollfd watch{.fd = fd_, .events = poll_events, .revents = 0};
    return ::poll(&watch, 1, 0) > 0 && signalled(watch.revents);
}

Error Cancellation::error(std::string_view what) const {
    return Error(fmt::format("{}: cancelled, the client went away", what), ECANCELED);
}

Result<CapturedOutput> run_cancellable(const CancellableRun& run, const Cancellation& cancel) {
    auto out = TRY(make_pipe());
    auto err = TRY(make_pipe());
    auto in = TRY(make_pipe());
    auto child = TRY(spawn({.argv = run.argv,
                            .stdin_fd = in.read.get(),
                            .stdout_fd = out.write.get(),
                            .stderr_fd = err.write.get()}));
    in.read.reset();
    out.write.reset();
    err.write.reset();
    ::fcntl(in.write.get(), F_SETFL, O_NONBLOCK);
    std::string_view pending_input = run.stdin_data;
    if (pending_input.empty()) in.write.reset();

    auto stop_child = [&] {
        if (run.stop)
            run.stop(child);
        else
            (void)child.signal(SIGKILL);
        (void)child.wait();
    };
    CapturedOutput captured;
    auto deadline = std::chrono::steady_clock::now() + run.timeout;
    while (out.read || err.read || in.write) {
        pollfd fds[4];
        UniqueFd* owners[4] = {};
        nfds_t count = 0;
        for (UniqueFd* fd : {&out.read, &err.read}) {
            if (*fd) {
                fds[count] = {.fd = fd->get(), .events = POLLIN, .revents = 0};
                owners[count++] = fd;
            }
        }
        if (in.write) {
            fds[count] = {.fd = in.write.get(), .events = POLLOUT, .revents = 0};
            owners[count++] = &in.write;
        }
        fds[count++] = {.fd = cancel.fd(), .events = Cancellation::poll_events, .revents = 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            stop_child();
            return fail_errno(ETIMEDOUT, fmt::format("{} did not finish within {} s", run.argv[0],
                                                     run.timeout.count() / 1000));
        }
        int ready = ::poll(fds, count, static_cast<int>(left.count()));
        if (ready < 0) {
            if (errno == EINTR) continue;
            int saved = errno;
            stop_child();
            return fail_errno(saved, "poll");
        }
        if (Cancellation::signalled(fds[count - 1].revents)) {
            stop_child();
            return std::unexpected(cancel.error(run.argv[0]));
        }
        for (nfds_t i = 0; i + 1 < count; ++i) {
            if (fds[i].revents == 0) continue;
            if (owners[i] == &in.write) {
                ssize_t n = ::write(in.write.get(), pending_input.data(), pending_input.size());
                if (n > 0) pending_input.remove_prefix(static_cast<size_t>(n));
                // EPIPE: the program does not read its input; what it printed still counts.
                if (n < 0 && errno != EAGAIN && errno != EINTR) pending_input = {};
                if (pending_input.empty()) in.write.reset();
                continue;
            }
            char buffer[16384];
            ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0) {
                auto& sink = owners[i] == &out.read ? captured.out : captured.err;
                if (sink.size() + static_cast<size_t>(n) > run.max_output_bytes) {
                    stop_child();
                    return fail_errno(EFBIG, fmt::format("{} wrote more than {} MiB of output",
                                                         run.argv[0], run.max_output_bytes >> 20));
                }
                sink.append(buffer, static_cast<size_t>(n));
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                owners[i]->reset();
            }
        }
    }
    // Both outputs closed: the program is ending (or has handed its pipes on); it still may not
    // outlive the client or the deadline.
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            stop_child();
            return fail_errno(ETIMEDOUT, fmt::format("{} did not finish within {} s", run.argv[0],
                                                     run.timeout.count() / 1000));
        }
        pollfd fds[2] = {{.fd = child.pidfd(), .events = POLLIN, .revents = 0},
                         {.fd = cancel.fd(), .events = Cancellation::poll_events, .revents = 0}};
        int ready = ::poll(fds, 2, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready > 0 && Cancellation::signalled(fds[1].revents) && fds[0].revents == 0) {
            stop_child();
            return std::unexpected(cancel.error(run.argv[0]));
        }
        if (ready > 0 && fds[0].revents != 0) break;
        if (ready < 0) break;
    }
    captured.status = TRY(child.wait());
    return captured;
}

}  // namespace vessel::manager
