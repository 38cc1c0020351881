// The API's listener: a unix socket (mode 0600 by default, so only root talks to vesseld).
//
// One thread reads every connection that is idle or still sending its request, non-blocking and
// against deadlines: a whole head within head_timeout of its first byte, a body within a time that
// grows with its length. Only a complete request gets a thread of its own (up to max_handlers), and
// a keep-alive connection comes back to the reading thread after its response. So clients that
// trickle bytes hold no thread, are dropped at their deadline with 408, and when connections run
// out the oldest unanswered one makes room: a new client is always read and served.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "manager/api/http.h"

namespace vessel::manager::http {

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
    std::string socket_path;
    mode_t socket_mode = 0600;
    Limits limits;
    // Open connections, whatever their state; past this the oldest one that is not being answered
    // is closed to make room for a new one.
    size_t max_connections = 1024;
    // Requests handled at once, one thread each; past this a complete request is answered 503.
    size_t max_handlers = 128;
    // A keep-alive connection idle this long between requests is closed.
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
    // A request's head must be complete this long after its first byte arrived...
    std::chrono::milliseconds head_timeout = std::chrono::seconds(5);
    // ...and its body within body_timeout plus one second per body_bytes_per_second.
    std::chrono::milliseconds body_timeout = std::chrono::seconds(5);
    size_t body_bytes_per_second = 64 * 1024;
    // A client must take a response at least this promptly (per stall).
    std::chrono::milliseconds send_timeout = std::chrono::seconds(30);
};

// The JSON error body every failure uses: {"type":"error","error":...,"error_code":...}.
Response error_response(int status, std::string_view message);

class Server {
  public:
    // Binds and listens; replaces a stale socket file left by a dead daemon, but refuses when a
    // live daemon answers on it.
    static Result<std::unique_ptr<Server>> listen(ServerOptions options, Handler handler);
    ~Server();

    // Accepts and reads until stop() is called from another thread.
    Result<> serve();
    void stop();
    // Serves a connection that another listener accepted (the HTTPS listener hands over the
    // plain side of each TLS connection), as if it came to the socket; its requests carry `peer`.
    void adopt(UniqueFd connection, RemotePeer peer);

  private:
    // A connection between requests or partway through one, owned by the reading thread.
    struct Reading {
        enum class Phase { idle, head, body, closing };
        UniqueFd fd;
        RequestParser parser;
        Phase phase = Phase::idle;
        std::chrono::steady_clock::time_point deadline;
        // When its current state began: the oldest is dropped first when connections run out.
        std::chrono::steady_clock::time_point since;
        size_t discarded = 0;
        bool eof = false;  // the client sent everything it will send
        std::optional<RemotePeer> peer;
    };
    struct Worker {
        std::thread thread;
        int fd = -1;
        bool done = false;
    };

    Server(ServerOptions options, Handler handler, UniqueFd listener, UniqueFd wake);
    // False when there was nothing to accept.
    bool accept_one(std::list<Reading>& reading);
    // Reads what the socket has; false when the connection is finished with.
    bool read_available(Reading& connection);
    // Parses what was read: hands a complete request to a worker (true: it left the list), answers
    // a malformed one, or updates the deadline.
    bool advance(Reading& connection);
    void refuse(Reading& connection, int status, std::string_view message);
    void handle(Reading connection, Request request);
    // Under workers_mutex_: a keep-alive connection returns to the reading thread.
    void hand_back(Reading connection);
    void reap_workers();
    size_t active_workers();

    ServerOptions options_;
    Handler handler_;
    UniqueFd listener_;
    UniqueFd wake_;  // eventfd that interrupts serve(): stop, or a connection handed back
    std::atomic<bool> stopping_{false};
    std::mutex workers_mutex_;
    std::list<Worker> workers_;
    std::vector<Reading> handed_back_;  // under workers_mutex_
};

}  // namespace vessel::manager::http
