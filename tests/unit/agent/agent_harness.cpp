#include "agent_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

#include "agent/power.h"
#include "agent/server.h"
#include "base/file.h"

namespace vessel::agent::testing {

namespace {

// Records each request in a file: the server runs it in a connection child, so memory would not
// reach the test.
class RecordingPower final : public PowerActions {
  public:
    explicit RecordingPower(std::string path) : path_(std::move(path)) {}
    void shut_down(PowerAction action) override {
        auto fd = open_file(path_, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd) (void)write_all(fd->get(), std::string(power_action_name(action)) + "\n");
    }

  private:
    std::string path_;
};

}  // namespace

AgentHarness::AgentHarness() {
    // The test writes to connections the agent may have closed (cut-off push, bad frames).
    ::signal(SIGPIPE, SIG_IGN);
    char templ[] = "/tmp/vessel-agent-test.XXXXXX";
    char* made = ::mkdtemp(templ);
    if (made == nullptr) {
        ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
        return;
    }
    dir_ = made;
    socket_ = dir_ + "/agent.sock";
    auto listener = listen_unix(socket_);
    if (!listener) {
        ADD_FAILURE() << listener.error().message();
        return;
    }
    pid_t test = ::getpid();
    server_ = ::fork();
    if (server_ == 0) {
        // A test that dies without its destructor (a sanitizer report) must not leave the server
        // running: it holds the test's output pipe, and ctest would wait for it forever.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != test) ::_exit(1);
        RecordingPower power(dir_ + "/power-requests");
        auto served = serve(listener->get(), power);
        ::_exit(served ? 0 : 1);
    }
    if (server_ < 0) ADD_FAILURE() << "fork: " << std::strerror(errno);
}

AgentHarness::~AgentHarness() {
    if (server_ > 0) {
        ::kill(server_, SIGKILL);
        int status;
        ::waitpid(server_, &status, 0);
    }
    if (!dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
}

std::string AgentHarness::power_requests() const {
    return read_file(dir_ + "/power-requests").value_or("");
}

UniqueFd AgentHarness::connect() const {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        ADD_FAILURE() << "connect " << socket_ << ": " << std::strerror(errno);
    timeval timeout{.tv_sec = 15, .tv_usec = 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
}

void send_frame(int fd, FrameType type, std::string_view payload) {
    auto sent = write_frame(fd, type, payload);
    if (!sent) ADD_FAILURE() << sent.error().message();
}

void send_json(int fd, FrameType type, const Json& value) {
    send_frame(fd, type, value.dump());
}

std::optional<Frame> receive(int fd) {
    auto frame = read_frame(fd);
    if (!frame) {
        ADD_FAILURE() << frame.error().message();
        return std::nullopt;
    }
    return *frame;
}

Json receive_reply(int fd) {
    auto frame = receive(fd);
    if (!frame) {
        ADD_FAILURE() << "the agent closed the connection instead of replying";
        return nullptr;
    }
    if (frame->type != FrameType::reply) {
        ADD_FAILURE() << "expected a reply, got a " << frame_type_name(frame->type) << " frame";
        return nullptr;
    }
    auto json = frame_json(*frame);
    if (!json) {
        ADD_FAILURE() << json.error().message();
        return nullptr;
    }
    return *json;
}

Json request(const AgentHarness& agent, const Json& request) {
    auto fd = agent.connect();
    send_json(fd.get(), FrameType::request, request);
    return receive_reply(fd.get());
}

ExecOutcome collect_exec(int fd) {
    ExecOutcome outcome;
    for (;;) {
        auto frame = receive(fd);
        if (!frame) break;
        if (frame->type == FrameType::output) {
            outcome.out += frame->payload;
        } else if (frame->type == FrameType::error_output) {
            outcome.err += frame->payload;
        } else if (frame->type == FrameType::exit) {
            outcome.exit = frame_json(*frame).value_or(nullptr);
            break;
        } else {
            ADD_FAILURE() << "unexpected " << frame_type_name(frame->type)
                          << " frame: " << frame->payload;
            break;
        }
    }
    return outcome;
}

ExecOutcome exec(const AgentHarness& agent, const Json& request) {
    auto fd = agent.connect();
    send_json(fd.get(), FrameType::request, request);
    ExecOutcome outcome;
    outcome.reply = receive_reply(fd.get());
    if (outcome.reply.value("ok", false)) {
        auto rest = collect_exec(fd.get());
        outcome.out = std::move(rest.out);
        outcome.err = std::move(rest.err);
        outcome.exit = std::move(rest.exit);
    }
    return outcome;
}

Json push(const AgentHarness& agent, Json request, std::string_view data) {
    request["op"] = "push";
    auto fd = agent.connect();
    send_json(fd.get(), FrameType::request, request);
    auto first = receive_reply(fd.get());
    if (!first.value("ok", false)) return first;
    for (size_t offset = 0; offset < data.size(); offset += max_frame_payload)
        send_frame(fd.get(), FrameType::input, data.substr(offset, max_frame_payload));
    send_frame(fd.get(), FrameType::input_end, {});
    return receive_reply(fd.get());
}

}  // namespace vessel::agent::testing
