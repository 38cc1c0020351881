#include "container/runtime/sync.h"

#include <sys/socket.h>

#include <cerrno>

namespace vessel::container::runtime {

Result<std::pair<SyncChannel, SyncChannel>> SyncChannel::make_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
        return fail_errno("socketpair");
    return std::pair{SyncChannel(UniqueFd(fds[0])), SyncChannel(UniqueFd(fds[1]))};
}

Result<> SyncChannel::send(SyncTag tag, std::string_view payload) const {
    std::string packet(1, static_cast<char>(tag));
    packet += payload;
    ssize_t sent;
    do {
        sent = ::send(fd_.get(), packet.data(), packet.size(), MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) return fail_errno("send to the container's init");
    return {};
}

Result<SyncMessage> SyncChannel::receive() const {
    char buffer[8192];
    ssize_t received;
    do {
        received = ::recv(fd_.get(), buffer, sizeof buffer, 0);
    } while (received < 0 && errno == EINTR);
    if (received < 0) return fail_errno("receive from the container's init");
    if (received == 0) return fail_errno(EPIPE, "the other side closed the sync channel");
    return SyncMessage{static_cast<SyncTag>(buffer[0]),
                       std::string(buffer + 1, static_cast<size_t>(received - 1))};
}

}  // namespace vessel::container::runtime
