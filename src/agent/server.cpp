#include "agent/server.h"

#include "base/fd_passing.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

// After <sys/socket.h>: the riscv64 cross headers' copy uses struct sockaddr without including it.
#include <linux/vm_sockets.h>

#include <cstring>
#include <thread>

#include "agent/exec.h"
#include "agent/files.h"
#include "agent/guest_state.h"
#include "agent/protocol.h"
#include "agent/reply.h"
#include "base/file.h"
#include "base/json.h"
#include "base/log.h"

namespace vessel::agent {

namespace {

using namespace std::chrono_literals;

// A client that connects and never sends its request would otherwise keep a child forever.
constexpr timeval request_timeout{.tv_sec = 60, .tv_usec = 0};
// How long the accept loop sleeps at most before reaping finished connection children.
constexpr int reap_interval_ms = 1000;

Result<UniqueFd> try_listen_vsock(uint32_t port) {
    int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno("socket(AF_VSOCK)");
    UniqueFd listener(fd);
    sockaddr_vm address{};
    address.svm_family = AF_VSOCK;
    address.svm_cid = VMADDR_CID_ANY;
    address.svm_port = port;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        return fail_errno(fmt::format("bind vsock port {}", port));
    if (::listen(fd, 64) != 0) return fail_errno(fmt::format("listen on vsock port {}", port));
    return listener;
}

void set_receive_timeout(int fd, timeval timeout) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
}

void reap_children() {
    int status;
    while (::waitpid(-1, &status, WNOHANG) > 0) {
    }
}

// Reads the request and runs its operation. Shutdown closes `connection` before the guest goes
// down.
Result<> run_request(UniqueFd& connection, PowerActions& power) {
    auto frame = TRY(read_frame(connection.get()));
    if (!frame) return {};  // connected and left without asking anything
    set_receive_timeout(connection.get(), {});
    if (frame->type != FrameType::request)
        return fail("the first frame must be a request, not {}", frame_type_name(frame->type));
    auto json = TRY(frame_json(*frame));
    JsonAt request(json, "request");
    auto op = TRY(TRY(request.child("op")).string());
    int fd = connection.get();
    if (op == "ping") return reply_ok(fd, {{"version", protocol_version}});
    if (op == "exec") return run_exec(fd, request);
    if (op == "push") return run_push(fd, request);
    if (op == "pull") return run_pull(fd, request);
    if (op == "info") return run_info(fd);
    if (op == "shutdown") return run_shutdown(connection, request, power);
    return fail("unknown operation \"{}\"", single_line(op));
}

}  // namespace

void log_failure(std::string_view message) {
    std::string line = "vessel-agent: " + single_line(message) + "\n";
    (void)write_all(2, line);
}

Result<UniqueFd> listen_vsock(uint32_t port, std::chrono::milliseconds patience) {
    auto deadline = std::chrono::steady_clock::now() + patience;
    for (;;) {
        auto listener = try_listen_vsock(port);
        if (listener) return listener;
        int code = listener.error().code();
        bool not_there_yet = code == EAFNOSUPPORT || code == EADDRNOTAVAIL || code == ENODEV;
        if (!not_there_yet) return listener;
        if (std::chrono::steady_clock::now() >= deadline) {
            listener.error().context(
                fmt::format("no vsock transport after {} s",
                            std::chrono::duration_cast<std::chrono::seconds>(patience).count()));
            return listener;
        }
        std::this_thread::sleep_for(100ms);
    }
}

Result<UniqueFd> listen_unix(const std::string& path) {
    if (path.empty()) return fail("unix socket path is empty");
    struct stat info {};
    if (::lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode)) ::unlink(path.c_str());
    return vessel::listen_unix(path, 64);
}

void serve_connection(UniqueFd connection, PowerActions& power) {
    set_receive_timeout(connection.get(), request_timeout);
    auto result = run_request(connection, power);
    if (result) return;
    log_failure(result.error().message());
    // The host may be gone already (the usual reason for an error midway): nothing to do then.
    if (connection)
        (void)write_json_frame(connection.get(), FrameType::reply, error_reply(result.error()));
}

Result<> serve(int listener, PowerActions& power) {
    for (;;) {
        reap_children();
        pollfd waiting{.fd = listener, .events = POLLIN, .revents = 0};
        int ready = ::poll(&waiting, 1, reap_interval_ms);
        if (ready < 0 && errno != EINTR) return fail_errno("poll the listening socket");
        if (ready <= 0) continue;
        int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            int code = errno;
            if (code == EBADF || code == EINVAL || code == ENOTSOCK || code == EOPNOTSUPP)
                return fail_errno("accept");
            if (code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM) {
                log_failure(fmt::format("accept: {}", std::strerror(code)));
                std::this_thread::sleep_for(100ms);
            }
            continue;  // the connection went away before it was accepted, or EINTR
        }
        UniqueFd connection(fd);
        pid_t pid = ::fork();
        if (pid < 0) {
            log_failure(fmt::format("fork for a connection: {}", std::strerror(errno)));
            continue;
        }
        if (pid == 0) {
            ::close(listener);
            serve_connection(std::move(connection), power);
            // _exit: the child shares the parent's atexit handlers and stdio buffers, which are
            // the parent's to run and flush.
            ::_exit(0);
        }
    }
}

}  // namespace vessel::agent
