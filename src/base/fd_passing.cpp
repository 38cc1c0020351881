#include "base/fd_passing.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace vessel {

namespace {

// Room for one descriptor's control message.
struct OneFdControl {
    alignas(cmsghdr) char bytes[CMSG_SPACE(sizeof(int))] = {};
};

msghdr message_for(iovec& payload, OneFdControl& control) {
    msghdr message{};
    message.msg_iov = &payload;
    message.msg_iovlen = 1;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof control.bytes;
    return message;
}

}  // namespace

Result<> send_fd(int socket, int fd, std::string_view data) {
    char nothing = 0;
    iovec payload{.iov_base = data.empty() ? &nothing : const_cast<char*>(data.data()),
                  .iov_len = data.empty() ? 1 : data.size()};
    OneFdControl control;
    msghdr message = message_for(payload, control);
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
    ssize_t sent;
    do {
        sent = ::sendmsg(socket, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) return fail_errno("send a file descriptor");
    // The descriptor travels with the first bytes; the rest of a long message goes as plain data.
    for (size_t done = static_cast<size_t>(sent); done < data.size();) {
        ssize_t more = ::send(socket, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (more < 0 && errno == EINTR) continue;
        if (more <= 0) return fail_errno("send the rest of a message");
        done += static_cast<size_t>(more);
    }
    return {};
}

Result<std::pair<std::string, UniqueFd>> receive_fd(int socket) {
    char buffer[4096];
    iovec payload{.iov_base = buffer, .iov_len = sizeof buffer};
    OneFdControl control;
    msghdr message = message_for(payload, control);
    ssize_t received;
    do {
        received = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    } while (received < 0 && errno == EINTR);
    if (received < 0) return fail_errno("receive a file descriptor");
    if (received == 0) return fail_errno(EPIPE, "the other side closed the socket");
    UniqueFd fd;
    for (cmsghdr* header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header))
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
            int passed = -1;
            std::memcpy(&passed, CMSG_DATA(header), sizeof(int));
            fd = UniqueFd(passed);
        }
    return std::pair{std::string(buffer, static_cast<size_t>(received)), std::move(fd)};
}

namespace {

// A stream socket and the address of `path`, for bind or connect.
Result<std::pair<UniqueFd, sockaddr_un>> unix_socket_for(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) return fail("{}: socket path too long", path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket) return fail_errno("socket");
    return std::pair{std::move(socket), address};
}

}  // namespace

Result<UniqueFd> listen_unix(const std::string& path, int backlog) {
    auto [socket, address] = TRY(unix_socket_for(path));
    if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(socket.get(), backlog) != 0)
        return fail_errno("listen on " + path);
    return std::move(socket);
}

Result<UniqueFd> connect_unix(const std::string& path) {
    auto [socket, address] = TRY(unix_socket_for(path));
    if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        return fail_errno("connect to " + path);
    return std::move(socket);
}

}  // namespace vessel
