#include "manager/instance/streams.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "agent/protocol.h"
#include "agent/relay.h"
#include "base/json.h"
#include "base/log.h"

namespace vessel::manager {

namespace {

using agent::FrameType;

// What the agent sends too: large enough to stream well, small enough to stay far under a frame.
constexpr size_t pull_chunk = 256 * 1024;

// Bytes read from one side, waiting to be written to the other.
struct Pending {
    std::vector<char> bytes = std::vector<char>(64 * 1024);
    size_t start = 0;
    size_t end = 0;

    bool empty() const { return start == end; }
};

// Reads what `from` has into an empty buffer: false at end of file.
Result<bool> fill(int from, Pending& pending) {
    ssize_t n = ::read(from, pending.bytes.data(), pending.bytes.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (n < 0) return fail_errno("read");
    pending.start = 0;
    pending.end = static_cast<size_t>(n);
    return n > 0;
}

Result<> drain(int to, Pending& pending) {
    ssize_t n =
        ::send(to, pending.bytes.data() + pending.start, pending.end - pending.start, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return {};
    if (n < 0) return fail_errno("write");
    pending.start += static_cast<size_t>(n);
    return {};
}

}  // namespace

void send_error_reply(int connection, const Error& error) {
    (void)agent::write_json_frame(connection, FrameType::reply, agent::error_reply(error));
}

Result<> serve_push_into_root(int root_fd, const PushTarget& target, int connection) {
    auto push = TRY(PushInRoot::begin(root_fd, target.path, target.parents));
    TRY(agent::write_json_frame(connection, FrameType::reply, Json{{"ok", true}}));
    std::optional<Error> failed;
    for (;;) {
        auto frame = TRY(agent::read_frame(connection));
        if (!frame)
            return fail("push {}: the client left before the end of the file",
                        single_line(target.path));
        if (frame->type == FrameType::input) {
            if (!failed)
                if (auto written = push.write(frame->payload); !written) failed = written.error();
            continue;
        }
        if (frame->type != FrameType::input_end)
            return fail("push {}: unexpected {} frame from the client", single_line(target.path),
                        agent::frame_type_name(frame->type));
        break;
    }
    if (failed) return std::unexpected(*failed);
    auto size = TRY(push.commit(target.meta));
    return agent::write_json_frame(connection, FrameType::reply,
                                   Json{{"ok", true}, {"size", size}});
}

Result<> serve_pull_from_root(int root_fd, const std::string& path, int connection) {
    auto opened = TRY(open_for_pull(root_fd, path));
    TRY(agent::write_json_frame(connection, FrameType::reply,
                                Json{{"ok", true},
                                     {"mode", opened.meta.mode},
                                     {"uid", opened.meta.uid},
                                     {"gid", opened.meta.gid},
                                     {"size", opened.size}}));
    std::vector<char> buffer(pull_chunk);
    for (;;) {
        ssize_t n = ::read(opened.file.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno(fmt::format("pull {}: read", single_line(path)));
        if (n == 0) break;
        TRY(agent::write_frame(connection, FrameType::output,
                               std::string_view(buffer.data(), static_cast<size_t>(n))));
    }
    return agent::write_frame(connection, FrameType::output_end, "");
}

Result<> relay_agent_session(int agent, int connection) {
    TRY(agent::set_nonblocking(agent));
    TRY(agent::set_nonblocking(connection));
    Pending to_client, to_agent;
    for (;;) {
        // A side is watched only when there is something to do with it: reading into an empty
        // buffer, or writing a full one. Otherwise a hang-up, reported whatever is asked, would
        // wake the loop again and again while the other side is slow.
        pollfd fds[2] = {{.fd = agent, .events = 0, .revents = 0},
                         {.fd = connection, .events = 0, .revents = 0}};
        if (to_client.empty()) fds[0].events |= POLLIN;
        if (!to_agent.empty()) fds[0].events |= POLLOUT;
        if (to_agent.empty()) fds[1].events |= POLLIN;
        if (!to_client.empty()) fds[1].events |= POLLOUT;
        for (auto& fd : fds)
            if (fd.events == 0) fd.fd = -1;
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return fail_errno("poll");
        }
        if (fds[1].revents & POLLOUT) TRY_CTX(drain(connection, to_client), "to the client");
        if (fds[0].revents & POLLOUT) {
            // The agent stopped reading for good (it ended the operation): what it sent still
            // goes to the client, what the client sends no longer matters.
            if (!drain(agent, to_agent)) to_agent = {};
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR) && to_client.empty()) {
            auto more = fill(agent, to_client);
            if (!more) return fail_errno(more.error().code(), "the agent connection broke");
            // The agent closes once the operation ended, after its last frame: everything it sent
            // has reached the client, since it is read only into an empty buffer.
            if (!*more) return {};
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR) && to_agent.empty()) {
            auto more = fill(connection, to_agent);
            if (!more || !*more) {
                // The client left: the agent ends the operation (kills the program, removes a
                // half-pushed file) when its connection closes.
                ::shutdown(agent, SHUT_RDWR);
                return {};
            }
        }
    }
}

}  // namespace vessel::manager
