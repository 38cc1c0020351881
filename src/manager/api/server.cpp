#include "manager/api/server.h"

#include "base/fd_passing.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <algorithm>

#include "base/file.h"
#include "base/json.h"
#include "manager/json_text.h"

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
    // Messages carry program output and file names: bytes that are not UTF-8 must not turn an
    // error into another one.
    return Response{.status = status, .body = dump_json(body)};
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
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
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
        // A hang-up is also what tells long handlers (an exec, a wait) to give up.
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

namespace {

using Clock = std::chrono::steady_clock;

// How long a refused connection may keep sending before it is closed: its unread input would
// otherwise make the close a reset, and the client would never read the error.
constexpr auto linger_time = std::chrono::seconds(2);
constexpr size_t linger_bytes = 1 << 20;
constexpr int accepts_per_round = 64;

int milliseconds_until(Clock::time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 3600 * 1000));
}

}  // namespace

Result<> Server::serve() {
    std::list<Reading> reading;
    std::vector<pollfd> fds;
    std::vector<std::list<Reading>::iterator> owners;
    while (!stopping_) {
        reap_workers();
        fds.clear();
        owners.clear();
        fds.push_back({.fd = listener_.get(), .events = POLLIN, .revents = 0});
        fds.push_back({.fd = wake_.get(), .events = POLLIN, .revents = 0});
        auto nearest = Clock::now() + std::chrono::hours(1);
        for (auto it = reading.begin(); it != reading.end(); ++it) {
            fds.push_back({.fd = it->fd.get(), .events = POLLIN | POLLRDHUP, .revents = 0});
            owners.push_back(it);
            nearest = std::min(nearest, it->deadline);
        }
        if (::poll(fds.data(), fds.size(), milliseconds_until(nearest)) < 0) {
            if (errno == EINTR) continue;
            return fail_errno("poll");
        }
        auto now = Clock::now();
        for (size_t i = 0; i < owners.size(); ++i) {
            auto& connection = *owners[i];
            bool keep = true;
            if (fds[i + 2].revents != 0) keep = read_available(connection) && advance(connection);
            // Whether or not bytes came: a client that sends often but never finishes must not
            // escape its deadline.
            if (keep && connection.deadline <= now) {
                if (connection.phase == Reading::Phase::head ||
                    connection.phase == Reading::Phase::body)
                    refuse(connection, 408, "the request did not arrive in time");
                else
                    keep = false;
            }
            if (!keep) reading.erase(owners[i]);
        }
        if (fds[1].revents != 0) {
            uint64_t drained;
            (void)!::read(wake_.get(), &drained, sizeof drained);
            std::vector<Reading> returned;
            {
                std::lock_guard lock(workers_mutex_);
                returned.swap(handed_back_);
            }
            for (auto& connection : returned) {
                reading.push_back(std::move(connection));
                // A pipelined request may be buffered already.
                if (!advance(reading.back())) reading.pop_back();
            }
        }
        if (fds[0].revents != 0)
            for (int i = 0; i < accepts_per_round && !stopping_; ++i)
                if (!accept_one(reading)) break;
    }
    return {};
}

bool Server::accept_one(std::list<Reading>& reading) {
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd) return false;
    auto now = Clock::now();
    if (reading.size() + active_workers() >= options_.max_connections) {
        // Make room with the connection that has waited longest for its request (or been idle
        // longest): the new client is more likely to be someone who wants an answer now.
        auto oldest =
            std::min_element(reading.begin(), reading.end(),
                             [](const Reading& a, const Reading& b) { return a.since < b.since; });
        if (oldest == reading.end()) {
            Reading busy{.fd = std::move(fd), .parser = RequestParser(options_.limits)};
            refuse(busy, 503, "too many connections");
            return true;
        }
        reading.erase(oldest);
    }
    reading.push_back({.fd = std::move(fd),
                       .parser = RequestParser(options_.limits),
                       .phase = Reading::Phase::idle,
                       .deadline = now + options_.idle_timeout,
                       .since = now});
    return true;
}

bool Server::read_available(Reading& connection) {
    char chunk[16384];
    // A bounded amount per round, so that one fast sender cannot starve the others.
    for (int round = 0; round < 4; ++round) {
        ssize_t n = ::recv(connection.fd.get(), chunk, sizeof chunk, 0);
        if (n > 0) {
            if (connection.phase == Reading::Phase::closing) {
                connection.discarded += static_cast<size_t>(n);
                if (connection.discarded > linger_bytes) return false;
            } else {
                connection.parser.append(std::string_view(chunk, static_cast<size_t>(n)));
            }
            continue;
        }
        if (n == 0) {
            if (connection.phase == Reading::Phase::closing) return false;
            connection.eof = true;
            return true;
        }
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    return true;
}

bool Server::advance(Reading& connection) {
    if (connection.phase == Reading::Phase::closing) return true;
    auto next = connection.parser.next();
    if (!next) {
        refuse(connection, next.error().status, next.error().message);
        return true;
    }
    auto now = Clock::now();
    if (!*next) {
        if (connection.eof) {
            if (connection.parser.idle()) return false;
            refuse(connection, 400, "connection closed mid-request");
            return true;
        }
        if (auto body = connection.parser.awaited_body()) {
            if (connection.phase != Reading::Phase::body) {
                connection.phase = Reading::Phase::body;
                connection.since = now;
                connection.deadline =
                    now + options_.body_timeout +
                    std::chrono::milliseconds(*body * 1000 / options_.body_bytes_per_second);
            }
        } else if (!connection.parser.idle() && connection.phase == Reading::Phase::idle) {
            connection.phase = Reading::Phase::head;
            connection.since = now;
            connection.deadline = now + options_.head_timeout;
        }
        return true;
    }
    if (active_workers() >= options_.max_handlers) {
        refuse(connection, 503, "too many requests at once");
        return true;
    }
    handle(std::move(connection), std::move(**next));
    return false;
}

void Server::refuse(Reading& connection, int status, std::string_view message) {
    auto response = error_response(status, message);
    // A short answer into an empty socket buffer: it goes at once or not at all.
    (void)write_response(connection.fd.get(), response, false, std::chrono::milliseconds(0));
    ::shutdown(connection.fd.get(), SHUT_WR);
    connection.phase = Reading::Phase::closing;
    connection.since = Clock::now();
    connection.deadline = connection.since + linger_time;
}

void Server::handle(Reading connection, Request request) {
    std::lock_guard lock(workers_mutex_);
    auto& worker = workers_.emplace_back();
    worker.fd = connection.fd.get();
    worker.thread = std::thread([this, &worker, connection = std::move(connection),
                                 request = std::move(request)]() mutable {
        request.client = Cancellation(connection.fd.get());
        request.peer = connection.peer;
        bool keep_alive = false;
        try {
            Response response;
            try {
                response = handler_(request);
            } catch (const std::exception& e) {
                // Handlers return errors as values; this only guards the server against a bug.
                response = error_response(500, fmt::format("internal error: {}", e.what()));
            }
            if (response.upgrade) {
                // The connection leaves HTTP for good; its session runs on this thread.
                int fd = connection.fd.get();
                int flags = ::fcntl(fd, F_GETFL);
                if (flags >= 0 && ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 &&
                    write_all(fd, switching_protocols_head(response.upgrade_protocol,
                                                           response.upgrade_headers)))
                    response.upgrade(fd, connection.parser.take_buffered());
            } else {
                keep_alive = request.keep_alive && !response.stream;
                if (!write_response(connection.fd.get(), response, keep_alive,
                                    options_.send_timeout))
                    keep_alive = false;
            }
        } catch (const std::exception&) {
            // A stream that threw: the response is cut short; the connection is not reusable.
            keep_alive = false;
        }
        // Marked done before the descriptor closes or moves on, so that ~Server never shuts
        // down a number that another thread has reused.
        std::lock_guard done_lock(workers_mutex_);
        worker.done = true;
        if (keep_alive && !stopping_) hand_back(std::move(connection));
        // Either way the reading thread has something to do: join this thread, read on.
        uint64_t one = 1;
        (void)!::write(wake_.get(), &one, sizeof one);
    });
}

void Server::adopt(UniqueFd connection, RemotePeer peer) {
    int flags = ::fcntl(connection.get(), F_GETFL);
    if (flags < 0 || ::fcntl(connection.get(), F_SETFL, flags | O_NONBLOCK) != 0) return;
    Reading adopted{.fd = std::move(connection), .parser = RequestParser(options_.limits)};
    adopted.peer = std::move(peer);
    {
        std::lock_guard lock(workers_mutex_);
        hand_back(std::move(adopted));
    }
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
}

void Server::hand_back(Reading connection) {
    auto now = Clock::now();
    connection.phase = Reading::Phase::idle;
    connection.since = now;
    connection.deadline = now + options_.idle_timeout;
    handed_back_.push_back(std::move(connection));
}

void Server::reap_workers() {
    std::lock_guard lock(workers_mutex_);
    for (auto it = workers_.begin(); it != workers_.end();) {
        if (it->done) {
            it->thread.join();
            it = workers_.erase(it);
        } else {
            ++it;
        }
    }
}

size_t Server::active_workers() {
    std::lock_guard lock(workers_mutex_);
    return static_cast<size_t>(
        std::count_if(workers_.begin(), workers_.end(), [](const Worker& w) { return !w.done; }));
}

}  // namespace vessel::manager::http
