// The connection model: ping, info, shutdown through the injected PowerActions, and what a bad
// first frame does (an error reply, and the agent keeps serving).
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "agent/server.h"
#include "agent_harness.h"
#include "base/file.h"
#include "base/process.h"

namespace vessel::agent::testing {
namespace {

using namespace std::chrono_literals;

TEST(AgentServer, PingRepliesWithTheProtocolVersion) {
    AgentHarness agent;
    auto fd = agent.connect();
    send_json(fd.get(), FrameType::request, {{"op", "ping"}});
    auto reply = receive_reply(fd.get());
    EXPECT_EQ(reply["ok"], true);
    EXPECT_EQ(reply["version"], protocol_version);
    // One operation per connection: the agent closes after it.
    auto after = read_frame(fd.get());
    ASSERT_TRUE(after);
    EXPECT_FALSE(after->has_value());
}

TEST(AgentServer, UnknownOperationIsNamed) {
    AgentHarness agent;
    auto reply = request(agent, {{"op", "teleport"}});
    EXPECT_EQ(reply["ok"], false);
    EXPECT_NE(reply["error"].get<std::string>().find("teleport"), std::string::npos) << reply;
    reply = request(agent, {{"no-op", 1}});
    EXPECT_EQ(reply["ok"], false);
    EXPECT_NE(reply["error"].get<std::string>().find("op"), std::string::npos) << reply;
}

// Each bad opening gets an error reply (or a close) and the next connection is served as usual.
TEST(AgentServer, BadFirstFramesAreRefusedAndTheAgentKeepsServing) {
    AgentHarness agent;
    auto expect_error_then_ping = [&](std::string_view bytes, std::string_view expected) {
        auto fd = agent.connect();
        (void)write_all(fd.get(), bytes);
        auto reply = receive_reply(fd.get());
        EXPECT_EQ(reply["ok"], false);
        EXPECT_NE(reply.value("error", "").find(expected), std::string::npos) << reply;
        EXPECT_EQ(request(agent, {{"op", "ping"}})["ok"], true);
    };
    // Unknown frame type.
    expect_error_then_ping(std::string("\xee\x00\x00\x00\x00", 5), "unknown frame type 238");
    // A length over the limit: refused before anything is allocated or read.
    expect_error_then_ping(std::string("\x01\xff\xff\xff\x7f", 5), "over the limit");
    // Not a request.
    expect_error_then_ping(encode_frame(FrameType::input, "hello"), "must be a request");
    // A request that is not JSON, and one that is not an object.
    expect_error_then_ping(encode_frame(FrameType::request, "{op: ping"), "request frame");
    expect_error_then_ping(encode_frame(FrameType::request, "[1, 2]"), "not a JSON object");
    // A connection closed inside the header gets nothing; the agent carries on.
    {
        auto fd = agent.connect();
        (void)write_all(fd.get(), std::string("\x01\x05", 2));
        ::shutdown(fd.get(), SHUT_WR);
        auto frame = read_frame(fd.get());
        ASSERT_TRUE(frame);
    }
    EXPECT_EQ(request(agent, {{"op", "ping"}})["ok"], true);
}

TEST(AgentServer, ConnectionsAreServedConcurrently) {
    AgentHarness agent;
    // A client that connected and said nothing must not hold up the next one.
    auto silent = agent.connect();
    auto busy = agent.connect();
    send_json(busy.get(), FrameType::request, {{"op", "exec"}, {"argv", {"sleep", "5"}}});
    EXPECT_EQ(receive_reply(busy.get())["ok"], true);
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(request(agent, {{"op", "ping"}})["ok"], true);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST(AgentServer, InfoDescribesTheMachine) {
    AgentHarness agent;
    auto reply = request(agent, {{"op", "info"}});
    ASSERT_EQ(reply["ok"], true) << reply;
    char hostname[256] = {};
    ::gethostname(hostname, sizeof hostname - 1);
    EXPECT_EQ(reply["hostname"], hostname);
    EXPECT_GT(reply["memory"]["total"].get<uint64_t>(), 0u);
    EXPECT_LE(reply["memory"]["available"].get<uint64_t>(),
              reply["memory"]["total"].get<uint64_t>());
    EXPECT_FALSE(reply["kernel"].get<std::string>().empty());
    EXPECT_FALSE(reply["arch"].get<std::string>().empty());
    EXPECT_GE(reply["cpus"].get<int>(), 1);
    EXPECT_GT(reply["uptime_s"].get<double>(), 0);
    EXPECT_EQ(reply["load"].size(), 3u);
    EXPECT_TRUE(reply["os"].is_object());
    EXPECT_TRUE(reply["addresses"].is_array());
    for (const auto& address : reply["addresses"]) {
        EXPECT_NE(address["interface"], "lo");
        EXPECT_TRUE(address["family"] == "inet" || address["family"] == "inet6") << address;
    }
    ASSERT_TRUE(reply["disks"].is_array());
    for (const auto& disk : reply["disks"])
        EXPECT_GE(disk["total"].get<uint64_t>(), disk["free"].get<uint64_t>()) << disk;
}

TEST(AgentServer, ShutdownRepliesThenAsksThePowerActions) {
    AgentHarness agent;
    auto fd = agent.connect();
    send_json(fd.get(), FrameType::request, {{"op", "shutdown"}});
    EXPECT_EQ(receive_reply(fd.get())["ok"], true);
    auto after = read_frame(fd.get());
    ASSERT_TRUE(after);
    EXPECT_FALSE(after->has_value()) << "the connection is closed after the reply";
    for (int i = 0; i < 100 && agent.power_requests().empty(); ++i)
        std::this_thread::sleep_for(20ms);
    EXPECT_EQ(agent.power_requests(), "poweroff\n");

    EXPECT_EQ(request(agent, {{"op", "shutdown"}, {"action", "reboot"}})["ok"], true);
    for (int i = 0; i < 100 && agent.power_requests().size() <= 9; ++i)
        std::this_thread::sleep_for(20ms);
    EXPECT_EQ(agent.power_requests(), "poweroff\nreboot\n");

    auto bad = request(agent, {{"op", "shutdown"}, {"action", "hibernate"}});
    EXPECT_EQ(bad["ok"], false);
    EXPECT_NE(bad.value("error", "").find("hibernate"), std::string::npos) << bad;
}

// The built program, as the guest starts it but on a unix socket: shutdown is pretend there.
TEST(AgentProgram, ServesAUnixSocketAndOnlyPretendsToShutDown) {
    AgentHarness scratch;
    std::string path = scratch.dir() + "/program.sock";
    int err_pipe[2];
    ASSERT_EQ(::pipe2(err_pipe, O_CLOEXEC), 0);
    UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
    auto child = spawn({.argv = {VESSEL_AGENT_BINARY, "--listen", "unix:" + path},
                        .stderr_fd = err_write.get(),
                        .search_path = false});
    ASSERT_TRUE(child) << child.error().message();
    err_write.reset();
    for (int i = 0; i < 200 && ::access(path.c_str(), F_OK) != 0; ++i)
        std::this_thread::sleep_for(10ms);

    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    send_json(fd.get(), FrameType::request, {{"op", "shutdown"}});
    EXPECT_EQ(receive_reply(fd.get())["ok"], true);

    // Still alive and serving after the pretend shutdown.
    UniqueFd again(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::connect(again.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    send_json(again.get(), FrameType::request, {{"op", "ping"}});
    EXPECT_EQ(receive_reply(again.get())["version"], protocol_version);

    ASSERT_TRUE(child->signal(SIGTERM));
    (void)child->wait();
    auto log = read_fd(err_read.get()).value_or("");
    EXPECT_NE(log.find("vessel-agent: test mode"), std::string::npos) << log;
    EXPECT_NE(log.find("poweroff"), std::string::npos) << log;
}

TEST(AgentProgram, RefusesBadArguments) {
    auto ran = run_capture({VESSEL_AGENT_BINARY, "--listen", "tcp:1"});
    ASSERT_TRUE(ran);
    EXPECT_EQ(ran->status.code, 2);
    EXPECT_NE(ran->err.find("vessel-agent: --listen tcp:1"), std::string::npos) << ran->err;
    ran = run_capture({VESSEL_AGENT_BINARY, "--end", "halt"});
    ASSERT_TRUE(ran);
    EXPECT_EQ(ran->status.code, 2);
    EXPECT_NE(ran->err.find("--end halt: must be poweroff or reboot"), std::string::npos);
}

// --end ends every other process and powers the machine off: run by anything but a guest's init
// (here, on the host running the tests) it must refuse before doing anything.
TEST(AgentProgram, EndIsRefusedUnlessItIsTheInit) {
    auto ran = run_capture({VESSEL_AGENT_BINARY, "--end", "poweroff"});
    ASSERT_TRUE(ran);
    EXPECT_EQ(ran->status.code, 2);
    EXPECT_NE(ran->err.find("--end is for the guest's init (pid 1) only"), std::string::npos)
        << ran->err;
}

}  // namespace
}  // namespace vessel::agent::testing
