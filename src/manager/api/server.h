// The API's listener: a unix socket (mode 0600 by default, so only root talks to vesseld) and one
// thread per connection, bounded in number. Stopping shuts every connection down and joins.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "base/error.h"
#include "base/unique_fd.h"
#include "manager/api/http.h"

namespace vessel::manager::http {

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
    std::string socket_path;
    mode_t socket_mode = 0600;
    Limits limits;
    size_t max_connections = 128;
    // A connection idle this long between requests is closed (slow clients cannot pin threads).
    int idle_timeout_seconds = 60;
};

// The JSON error body every failure uses: {"type":"error","error":...,"error_code":...}.
Response error_response(int status, std::string_view message);

class Server {
  public:
    // Binds and listens; replaces a stale socket file left by a dead daemon, but refuses when a
    // live daemon answers on it.
    static Result<std::unique_ptr<Server>> listen(ServerOptions options, Handler handler);
    ~Server();

    // Accepts until stop() is called from another thread.
    Result<> serve();
    void stop();

  private:
    Server(ServerOptions options, Handler handler, UniqueFd listener, UniqueFd wake);
    void handle_connection(Connection& connection);

    struct Worker {
        std::thread thread;
        int fd = -1;
        bool done = false;
    };

    ServerOptions options_;
    Handler handler_;
    UniqueFd listener_;
    UniqueFd wake_;  // eventfd that interrupts serve()
    std::atomic<bool> stopping_{false};
    std::mutex workers_mutex_;
    std::list<Worker> workers_;
};

}  // namespace vessel::manager::http
