#include "agent/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "base/file.h"
#include "base/json.h"
#include "base/log.h"

namespace vessel::agent {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

int milliseconds_until(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::clamp<long>(left.count(), 0, 1 << 30));
}

// Bounds every blocking read and write on the connection: a guest that sends half a frame and
// stops, or stops reading, makes the call fail with EAGAIN instead of blocking for ever.
Result<> bound_socket_waits(int fd, std::chrono::milliseconds limit) {
    timeval value{.tv_sec = static_cast<time_t>(limit.count() / 1000),
                  .tv_usec = static_cast<suseconds_t>((limit.count() % 1000) * 1000)};
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, sizeof value) != 0)
        return fail_errno("bound the agent connection's waits");
    return {};
}

Result<UniqueFd> unix_stream_to(const std::string& socket_path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof address.sun_path)
        return fail("socket path {} is too long", socket_path);
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket");
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        return fail_errno(fmt::format("connect to {}", socket_path));
    return fd;
}

// The VMM's answer to CONNECT, read a byte at a time so that nothing of the guest's stream that
// follows it is consumed.
Result<std::string> read_handshake_line(int fd, Clock::time_point deadline) {
    std::string line;
    while (line.size() < 64) {
        pollfd ready{.fd = fd, .events = POLLIN, .revents = 0};
        int n = ::poll(&ready, 1, milliseconds_until(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("poll");
        if (n == 0) return fail_errno(ETIMEDOUT, "no answer to CONNECT from the VMM");
        char c;
        ssize_t got = ::read(fd, &c, 1);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail_errno("read the VMM's answer to CONNECT");
        // The VMM closes the connection when nothing listens on the port in the guest.
        if (got == 0) return fail_errno(ECONNREFUSED, "the guest refused the connection");
        if (c == '\n') return line;
        line.push_back(c);
    }
    return fail("the VMM's answer to CONNECT is not a line");
}

ExitStatus exit_from_json(const json& value) {
    ExitStatus status;
    if (auto code = value.find("code"); code != value.end() && code->is_number_integer())
        status.code = std::clamp<int64_t>(code->get<int64_t>(), 0, 255);
    if (auto signal = value.find("signal"); signal != value.end() && signal->is_number_integer())
        status.signal = std::clamp<int64_t>(signal->get<int64_t>(), 0, 127);
    return status;
}

}  // namespace

Result<UniqueFd> connect_through_vsock_socket(const std::string& socket_path, uint32_t port,
                                              std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    auto fd = TRY(unix_stream_to(socket_path));
    TRY(write_all(fd.get(), fmt::format("CONNECT {}\n", port)));
    auto line = TRY(read_handshake_line(fd.get(), deadline));
    if (!line.starts_with("OK "))
        return fail("the VMM answered CONNECT {} with '{}'", port, single_line(line));
    return fd;
}

Result<UniqueFd> connect_unix_socket(const std::string& socket_path) {
    return unix_stream_to(socket_path);
}

AgentClient AgentClient::through_vsock_socket(std::string socket_path,
                                              std::chrono::milliseconds io_timeout) {
    return AgentClient(
        [socket_path = std::move(socket_path), io_timeout]() {
            return connect_through_vsock_socket(socket_path, agent_port, io_timeout);
        },
        io_timeout);
}

json exec_request_json(const ExecRequest& request) {
    json body = {{"op", "exec"},        {"argv", request.argv}, {"uid", request.uid},
                 {"gid", request.gid},  {"tty", request.tty},   {"rows", request.rows},
                 {"cols", request.cols}};
    if (!request.env.empty()) body["env"] = request.env;
    if (!request.cwd.empty()) body["cwd"] = request.cwd;
    return body;
}

json push_request_json(const PushRequest& request) {
    return {{"op", "push"},       {"path", request.path}, {"mode", request.mode & 07777},
            {"uid", request.uid}, {"gid", request.gid},   {"parents", request.parents}};
}

Result<UniqueFd> AgentClient::begin(const json& request) const {
    auto connection = TRY(open());
    TRY(write_json_frame(connection.get(), FrameType::request, request));
    return connection;
}

Result<UniqueFd> AgentClient::open() const {
    auto fd = TRY(connect_());
    TRY(bound_socket_waits(fd.get(), io_timeout_));
    return fd;
}

Result<Frame> AgentClient::next_frame(int connection, std::string_view waiting_for) const {
    auto frame = read_frame(connection);
    if (!frame) {
        if (frame.error().code() == EAGAIN)
            return fail_errno(ETIMEDOUT,
                              fmt::format("the guest agent did not send {} in time", waiting_for));
        return std::unexpected(frame.error());
    }
    if (!*frame)
        return fail_errno(ECONNRESET, fmt::format("the guest agent closed the connection before {}",
                                                  waiting_for));
    return std::move(**frame);
}

Result<json> AgentClient::start(int connection, const json& request) const {
    TRY(write_json_frame(connection, FrameType::request, request));
    auto frame = TRY(next_frame(connection, "its reply"));
    if (frame.type != FrameType::reply)
        return fail("the guest agent sent a {} frame where a reply was due",
                    frame_type_name(frame.type));
    auto reply = TRY(frame_json(frame));
    TRY(check_reply(reply));
    return reply;
}

Result<int> AgentClient::ping() const {
    auto connection = TRY(open());
    auto reply = TRY(start(connection.get(), {{"op", "ping"}}));
    return TRY(JsonAt(reply, "ping reply").optional_integer_in<int>("version")).value_or(0);
}

Result<> AgentClient::wait_ready(std::chrono::milliseconds timeout) const {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto answered = ping();
        if (answered) return {};
        if (Clock::now() >= deadline)
            return fail_errno(ETIMEDOUT,
                              fmt::format("the guest agent did not answer within {} s "
                                          "(last: {})",
                                          timeout.count() / 1000, answered.error().message()));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

Result<json> AgentClient::info() const {
    auto connection = TRY(open());
    auto reply = TRY(start(connection.get(), {{"op", "info"}}));
    reply.erase("ok");
    return reply;
}

Result<CapturedExec> AgentClient::exec(const ExecRequest& request, std::string_view stdin_data,
                                       const ExecLimits& limits) const {
    if (request.argv.empty()) return fail("exec: no command");
    auto deadline = Clock::now() + limits.timeout;
    auto connection = TRY(open());
    TRY(start(connection.get(), exec_request_json(request)));

    // Input goes out as the connection takes it, interleaved with reading output: the agent
    // stops reading input while the program does not consume it, and blocks on its output while
    // we do not read; writing all input first could leave both ends waiting for each other.
    std::string pending;
    size_t input_offset = 0;
    bool input_done = false;
    auto refill = [&] {
        if (!pending.empty() || input_done) return;
        if (input_offset < stdin_data.size()) {
            auto chunk = stdin_data.substr(input_offset, 256 * 1024);
            input_offset += chunk.size();
            pending = encode_frame(FrameType::input, chunk);
        } else {
            pending = encode_frame(FrameType::input_end, {});
            input_done = true;
        }
    };
    CapturedExec captured;
    for (;;) {
        refill();
        pollfd watched[2] = {
            {.fd = connection.get(),
             .events = static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)),
             .revents = 0},
            {.fd = limits.cancel_fd, .events = limits.cancel_events, .revents = 0}};
        int ready = ::poll(watched, 2, milliseconds_until(deadline));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return fail_errno("poll the agent connection");
        if (ready == 0)
            return fail_errno(ETIMEDOUT, fmt::format("exec {}: no end after {} s", request.argv[0],
                                                     limits.timeout.count() / 1000));
        if (watched[1].revents != 0)
            return fail_errno(ECANCELED, fmt::format("exec {}: cancelled", request.argv[0]));
        if ((watched[0].revents & POLLOUT) && !pending.empty()) {
            ssize_t sent = ::send(connection.get(), pending.data(), pending.size(),
                                  MSG_DONTWAIT | MSG_NOSIGNAL);
            if (sent < 0 && (errno == EPIPE || errno == ECONNRESET)) {
                // The program ended without reading all its input, and the agent finished with
                // the connection: its exit status is in what is left to read.
                pending.clear();
                input_done = true;
            } else if (sent < 0 && errno != EAGAIN && errno != EINTR) {
                return fail_errno(fmt::format("exec {}: send input", request.argv[0]));
            }
            if (sent > 0) pending.erase(0, static_cast<size_t>(sent));
        }
        if (!(watched[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        auto frame = TRY(next_frame(connection.get(), "the program's exit status"));
        switch (frame.type) {
            case FrameType::output:
            case FrameType::error_output: {
                auto& sink = frame.type == FrameType::output ? captured.out : captured.err;
                if (sink.size() + frame.payload.size() > limits.max_output_bytes)
                    return fail_errno(EFBIG, fmt::format("exec {}: more than {} bytes of output",
                                                         request.argv[0], limits.max_output_bytes));
                sink += frame.payload;
                break;
            }
            case FrameType::exit:
                captured.status = exit_from_json(TRY(frame_json(frame)));
                return captured;
            case FrameType::reply:
                TRY(check_reply(TRY(frame_json(frame))));
                return fail("exec {}: the guest agent replied again instead of an exit status",
                            request.argv[0]);
            default:
                return fail("exec {}: the guest agent sent a {} frame", request.argv[0],
                            frame_type_name(frame.type));
        }
    }
}

Result<uint64_t> AgentClient::push(int source, const PushRequest& request) const {
    auto connection = TRY(open());
    TRY(start(connection.get(), push_request_json(request)));
    std::string chunk(256 * 1024, '\0');
    for (;;) {
        ssize_t n = ::read(source, chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno(fmt::format("push {}: read the source", request.path));
        if (n == 0) break;
        auto sent = write_frame(connection.get(), FrameType::input,
                                std::string_view(chunk.data(), static_cast<size_t>(n)));
        if (!sent) {
            // The agent may have refused midway (a full disk) and said why before closing.
            if (auto frame = read_frame(connection.get());
                frame && *frame && (*frame)->type == FrameType::reply)
                if (auto reply = frame_json(**frame); reply) TRY(check_reply(*reply));
            return std::unexpected(sent.error().context(fmt::format("push {}", request.path)));
        }
    }
    TRY(write_frame(connection.get(), FrameType::input_end, {}));
    auto frame = TRY(next_frame(connection.get(), "the end of the push"));
    if (frame.type != FrameType::reply)
        return fail("push {}: the guest agent sent a {} frame", request.path,
                    frame_type_name(frame.type));
    auto reply = TRY(frame_json(frame));
    TRY(check_reply(reply));
    return TRY(JsonAt(reply, "push reply").optional_integer_in<uint64_t>("size")).value_or(0);
}

Result<FileInfo> AgentClient::pull(const std::string& path, int destination,
                                   uint64_t max_bytes) const {
    auto connection = TRY(open());
    auto reply = TRY(start(connection.get(), {{"op", "pull"}, {"path", path}}));
    JsonAt at(reply, "pull reply");
    FileInfo info{.mode = TRY(at.optional_integer_in<mode_t>("mode")).value_or(0644) & 07777,
                  .uid = TRY(at.optional_integer_in<uid_t>("uid")).value_or(0),
                  .gid = TRY(at.optional_integer_in<gid_t>("gid")).value_or(0),
                  .size = TRY(at.optional_integer_in<uint64_t>("size")).value_or(0)};
    uint64_t received = 0;
    for (;;) {
        auto frame = TRY(next_frame(connection.get(), "the end of the file"));
        if (frame.type == FrameType::output_end) return info;
        if (frame.type == FrameType::reply) {
            TRY(check_reply(TRY(frame_json(frame))));
            return fail("pull {}: the guest agent replied again before the end of the file", path);
        }
        if (frame.type != FrameType::output)
            return fail("pull {}: the guest agent sent a {} frame", path,
                        frame_type_name(frame.type));
        received += frame.payload.size();
        if (received > max_bytes)
            return fail_errno(EFBIG, fmt::format("pull {}: more than {} bytes", path, max_bytes));
        TRY(with_context(write_all(destination, frame.payload),
                         fmt::format("pull {}: write the copy", path)));
    }
}

Result<> AgentClient::shutdown(bool reboot) const {
    auto connection = TRY(open());
    TRY(start(connection.get(), {{"op", "shutdown"}, {"action", reboot ? "reboot" : "poweroff"}}));
    return {};
}

}  // namespace vessel::agent
