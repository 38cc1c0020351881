// The host's side of the agent protocol: what vesseld (and the tests) use to drive a guest through
// vessel-agent. One connection per operation, made by a Connect function: through a VMM's vsock
// unix socket (the host-initiated "CONNECT <port>" handshake), or a plain unix socket for an agent
// run on the host in tests.
//
// The guest is not trusted: every read has a deadline, every frame is checked (protocol.h), output
// kept in memory is bounded, and a guest that stops answering ends the operation with ETIMEDOUT
// instead of holding a daemon thread forever.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/protocol.h"
#include "base/error.h"
#include "base/process.h"
#include "base/unique_fd.h"

namespace vessel::agent {

// Connects to `port` in the guest through a VMM's vsock socket: "CONNECT <port>\n", then "OK ..."
// back from the VMM once the guest accepted. ECONNREFUSED (or ECONNRESET) when nothing listens on
// that port in the guest yet, as when the agent has not started.
Result<UniqueFd> connect_through_vsock_socket(const std::string& socket_path, uint32_t port,
                                              std::chrono::milliseconds timeout);
// A plain unix stream socket (an agent run with --listen unix:PATH).
Result<UniqueFd> connect_unix_socket(const std::string& socket_path);

struct ExecRequest {
    std::vector<std::string> argv;
    std::vector<std::string> env;  // empty: the agent's default environment
    std::string cwd;               // empty: "/"
    uid_t uid = 0;
    gid_t gid = 0;
    bool tty = false;
    unsigned rows = 24;
    unsigned cols = 80;
};

struct CapturedExec {
    ExitStatus status;
    std::string out;
    std::string err;
};

struct ExecLimits {
    std::chrono::milliseconds timeout = std::chrono::minutes(10);
    // Past this many bytes on stdout or on stderr the program is killed and the exec fails with
    // EFBIG.
    size_t max_output_bytes = 16 * 1024 * 1024;
    // Polled beside the connection: once it reports one of cancel_events the program is ended
    // (the connection closes, and the agent kills it) and the exec fails with ECANCELED. -1: none.
    int cancel_fd = -1;
    short cancel_events = 0;
};

struct PushRequest {
    std::string path;  // absolute, in the guest
    mode_t mode = 0644;
    uid_t uid = 0;
    gid_t gid = 0;
    bool parents = false;  // create missing parent directories
};

struct FileInfo {
    mode_t mode = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    uint64_t size = 0;
};

// The request frames of exec and push.
nlohmann::json exec_request_json(const ExecRequest& request);
nlohmann::json push_request_json(const PushRequest& request);

class AgentClient {
  public:
    using Connect = std::function<Result<UniqueFd>()>;

    // `io_timeout` bounds each wait for the guest in the short operations (ping, info, a file
    // chunk); exec has its own limits.
    explicit AgentClient(Connect connect,
                         std::chrono::milliseconds io_timeout = std::chrono::seconds(10))
        : connect_(std::move(connect)), io_timeout_(io_timeout) {}

    static AgentClient through_vsock_socket(
        std::string socket_path, std::chrono::milliseconds io_timeout = std::chrono::seconds(10));

    // The agent's protocol version.
    Result<int> ping() const;
    // Waits until the agent answers a ping, trying again while the guest boots; fails with the
    // last error once `timeout` passed.
    Result<> wait_ready(std::chrono::milliseconds timeout) const;
    // The guest's state: hostname, OS, addresses, memory, CPU and disk use (see
    // docs/agent-protocol.md).
    Result<nlohmann::json> info() const;
    // Runs a program with stdin_data as its input and captures its output.
    Result<CapturedExec> exec(const ExecRequest& request, std::string_view stdin_data,
                              const ExecLimits& limits) const;
    // Writes what `source` yields until its end of file to a file in the guest (atomically: the
    // file appears whole or not at all). Returns the bytes written.
    Result<uint64_t> push(int source, const PushRequest& request) const;
    // Writes a guest file's contents to `destination`; EFBIG once more than max_bytes came.
    Result<FileInfo> pull(const std::string& path, int destination,
                          uint64_t max_bytes = UINT64_MAX) const;
    // Opens a connection and sends `request` as its first frame, leaving the rest of the
    // operation, first reply included, to the caller: for relaying a client's own stream.
    Result<UniqueFd> begin(const nlohmann::json& request) const;
    // Asks the guest to power off (or reboot) cleanly; returns once the agent accepted.
    Result<> shutdown(bool reboot) const;

  private:
    Result<UniqueFd> open() const;
    // The request, then the first reply; fails with the reply's error.
    Result<nlohmann::json> start(int connection, const nlohmann::json& request) const;
    Result<Frame> next_frame(int connection, std::string_view waiting_for) const;

    Connect connect_;
    std::chrono::milliseconds io_timeout_;
};

}  // namespace vessel::agent
