#include "manager/api/server.h"

#include "base/fd_passing.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "base/json.h"

namespace vessel::manager::http {

namespace {

Result<sockaddr_un> unix_address(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path)
        return fail("socket path {} must be 1 to {} bytes long", path, sizeof address.sun_path - 1);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return address;
}

}  // namespace

Response error_response(int status, std::string_view message) {
    Json body = {{"type", "error"}, {"error", message}, {"error_code", status}};
    return Response{.status = status, .body = body.dump()};
}

Result<std::unique_ptr<Server>> Server::listen(ServerOptions options, Handler handler) {
    auto address = TRY(unix_address(options.socket_path));
    if (auto live = connect_unix(options.socket_path); live)
        return fail_errno(EADDRINUSE, fmt::format("another vesseld is already listening on {}",
                                                  options.socket_path));
    // Only a socket is ever replaced: a regular file at that path is someone else's.
    struct stat existing {};
    if (::lstat(options.socket_path.c_str(), &existing) == 0) {
        if (!S_ISSOCK(existing.st_mode))
            return fail_errno(EEXIST,
                              fmt::format("{} exists and is not a socket", options.socket_path));
        ::unlink(options.socket_path.c_str());
    }
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener) return fail_errno("socket");
    // bind() creates the file with the umask applied; narrow it so the socket is never briefly
    // reachable by others, then set the exact mode.
    mode_t old_umask = ::umask(0177);
    int bound = ::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    int bind_errno = errno;
    ::umask(old_umask);
    if (bound != 0) return fail_errno(bind_errno, fmt::format("bind {}", options.socket_path));
    if (::chmod(options.socket_path.c_str(), options.socket_mode) != 0)
        return fail_errno(fmt::format("chmod {}", options.socket_path));
    if (::listen(listener.get(), 128) != 0) return fail_errno("listen");
    UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake) return fail_errno("eventfd");
    return std::unique_ptr<Server>(
        new Server(std::move(options), std::move(handler), std::move(listener), std::move(wake)));
}

Server::Server(ServerOptions options, Handler handler, UniqueFd listener, UniqueFd wake)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      listener_(std::move(listener)),
      wake_(std::move(wake)) {}

Server::~Server() {
    stop();
    std::list<Worker> workers;
    {
        std::lock_guard lock(workers_mutex_);
        for (auto& worker : workers_)
            if (!worker.done) ::shutdown(worker.fd, SHUT_RDWR);
        workers.splice(workers.end(), workers_);
    }
    for (auto& worker : workers)
        worker.thread.join();
    ::unlink(options_.socket_path.c_str());
}

void Server::stop() {
    stopping_ = true;
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
}

Result<> Server::serve() {
    while (!stopping_) {
        pollfd watch[2] = {{.fd = listener_.get(), .events = POLLIN, .revents = 0},
                           {.fd = wake_.get(), .events = POLLIN, .revents = 0}};
        if (::poll(watch, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return fail_errno("poll");
        }
        if (watch[1].revents != 0) break;
        UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!fd) {
            if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
            return fail_errno("accept");
        }
        timeval idle{.tv_sec = options_.idle_timeout_seconds, .tv_usec = 0};
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);

        std::lock_guard lock(workers_mutex_);
        for (auto it = workers_.begin(); it != workers_.end();) {
            if (it->done) {
                it->thread.join();
                it = workers_.erase(it);
            } else {
                ++it;
            }
        }
        if (workers_.size() >= options_.max_connections) {
            Connection busy(std::move(fd));
            (void)busy.write_response(error_response(503, "too many connections"), false);
            continue;
        }
        auto& worker = workers_.emplace_back();
        worker.fd = fd.get();
        worker.thread = std::thread([this, &worker, conn = fd.release()] {
            Connection connection(UniqueFd(conn), options_.limits);
            handle_connection(connection);
            // Marked done before the descriptor closes, so that ~Server never shuts down a
            // number that another thread has reused.
            std::lock_guard done_lock(workers_mutex_);
            worker.done = true;
        });
    }
    return {};
}

void Server::handle_connection(Connection& connection) {
    while (!stopping_) {
        auto request = connection.read_request();
        if (!request) {
            const auto& problem = request.error();
            if (problem.status != 0)
                (void)connection.write_response(error_response(problem.status, problem.message),
                                                false);
            return;
        }
        if (!*request) return;
        Response response;
        try {
            response = handler_(**request);
        } catch (const std::exception& e) {
            // Handlers return errors as values; this only guards the server against a bug.
            response = error_response(500, fmt::format("internal error: {}", e.what()));
        }
        bool keep_alive = (*request)->keep_alive && !response.stream;
        if (!connection.write_response(response, keep_alive) || !keep_alive) return;
    }
}

}  // namespace vessel::manager::http
