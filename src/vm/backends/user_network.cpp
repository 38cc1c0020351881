#include "vm/backends/user_network.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

namespace vessel::vm {

Result<std::unique_ptr<UserNetworkBackend>> UserNetworkBackend::start(
    const std::string& helper, const std::vector<PortForward>& forwards) {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0)
        return fail_errno("user-mode network: socketpair");
    UniqueFd ours(ends[0]), theirs(ends[1]);
    std::vector<std::string> argv = {helper, "--fd", std::to_string(theirs.get())};
    for (const auto& forward : forwards)
        argv.push_back(fmt::format("--hostfwd=tcp:{}-{}", forward.host_port, forward.guest_port));
    Child child = TRY_CTX(spawn(SpawnOptions{.argv = argv,
                                             .env = std::nullopt,
                                             .cwd = {},
                                             .stdin_fd = -1,
                                             .stdout_fd = -1,
                                             .stderr_fd = -1,
                                             .keep_fds = {theirs.get()},
                                             .search_path = false,
                                             .new_session = false}),
                          "user-mode network: start {}", helper);
    theirs.reset();
    auto stop = [&] {
        (void)child.signal(SIGKILL);
        (void)child.wait();
    };
    pollfd waiting{.fd = ours.get(), .events = POLLIN, .revents = 0};
    if (::poll(&waiting, 1, 10'000) <= 0) {
        stop();
        return fail("user-mode network: {} did not start", helper);
    }
    char message[512];
    ssize_t got = ::recv(ours.get(), message, sizeof message, 0);
    std::string_view answer(message, got > 0 ? static_cast<size_t>(got) : 0);
    if (answer != kUserNetworkReady) {
        stop();
        if (answer.starts_with("error: ")) return fail("{}", answer.substr(7));
        return fail("user-mode network: {} ended before it was ready", helper);
    }
    ::fcntl(ours.get(), F_SETFL, ::fcntl(ours.get(), F_GETFL) | O_NONBLOCK);
    return std::unique_ptr<UserNetworkBackend>(
        new UserNetworkBackend(std::move(ours), std::move(child)));
}

UserNetworkBackend::~UserNetworkBackend() {
    // Closing our end ends the helper; do not wait long for it.
    socket_.reset();
    if (auto ended = helper_.wait_for(std::chrono::seconds(2)); !ended || !*ended) {
        (void)helper_.signal(SIGKILL);
        (void)helper_.wait();
    }
}

Result<size_t> UserNetworkBackend::receive(std::span<const iovec> buffers) {
    msghdr message{};
    message.msg_iov = const_cast<iovec*>(buffers.data());
    message.msg_iovlen = buffers.size();
    for (;;) {
        ssize_t got = ::recvmsg(socket_.get(), &message, MSG_DONTWAIT);
        if (got >= 0) return static_cast<size_t>(got);
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return size_t{0};
        return fail_errno("user-mode network: receive");
    }
}

Result<> UserNetworkBackend::send(std::span<const iovec> frame) {
    msghdr message{};
    message.msg_iov = const_cast<iovec*>(frame.data());
    message.msg_iovlen = frame.size();
    // A full socket drops the frame, as a wire would.
    if (::sendmsg(socket_.get(), &message, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN &&
        errno != EMSGSIZE)
        return fail_errno("user-mode network: send");
    return {};
}

}  // namespace vessel::vm
