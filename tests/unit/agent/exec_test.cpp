// exec: output and error output, exit codes and signals, stdin with flow control, terminals, and
// the program's end when the host goes away or a background child keeps its output open.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "agent_harness.h"

namespace vessel::agent::testing {
namespace {

using namespace std::chrono_literals;

TEST(AgentExec, RelaysOutputErrorOutputAndTheExitCode) {
    AgentHarness agent;
    auto ran =
        exec(agent, {{"op", "exec"}, {"argv", {"sh", "-c", "echo out; echo err >&2; exit 3"}}});
    ASSERT_EQ(ran.reply["ok"], true) << ran.reply;
    EXPECT_GT(ran.reply["pid"].get<int>(), 0);
    EXPECT_EQ(ran.out, "out\n");
    EXPECT_EQ(ran.err, "err\n");
    EXPECT_EQ(ran.exit, Json({{"code", 3}}));
}

// The guest's boot script starts the agent in the background, so it ignores SIGINT (and the agent
// itself ignores SIGPIPE): a program it starts must not, or a forwarded Ctrl-C would not end it.
TEST(AgentExec, AProgramStartsWithNoSignalIgnored) {
    struct sigaction ignore {
    }, saved{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ignore, &saved);
    AgentHarness agent;
    ::sigaction(SIGINT, &saved, nullptr);
    auto ran = exec(agent, {{"op", "exec"}, {"argv", {"grep", "^SigIgn:", "/proc/self/status"}}});
    EXPECT_EQ(ran.out, "SigIgn:\t0000000000000000\n");
}

TEST(AgentExec, UsesTheGivenEnvironmentAndDirectory) {
    AgentHarness agent;
    auto ran = exec(agent, {{"op", "exec"},
                            {"argv", {"sh", "-c", "pwd; echo \"$GREETING\"; echo \"[$HOME]\""}},
                            {"env", {"GREETING=hello", "PATH=/usr/bin:/bin"}},
                            {"cwd", "/tmp"}});
    EXPECT_EQ(ran.out, "/tmp\nhello\n[]\n");
    // The default environment.
    ran = exec(agent, {{"op", "exec"}, {"argv", {"sh", "-c", "pwd; echo $HOME; echo $PATH"}}});
    EXPECT_EQ(ran.out, "/\n/root\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
}

TEST(AgentExec, ASignalFrameEndsTheProgramAndTheExitSaysWhichSignal) {
    AgentHarness agent;
    auto fd = agent.connect();
    send_json(fd.get(), FrameType::request, {{"op", "exec"}, {"argv", {"sleep", "30"}}});
    ASSERT_EQ(receive_reply(fd.get())["ok"], true);
    auto started = std::chrono::steady_clock::now();
    send_json(fd.get(), FrameType::signal, {{"signal", SIGTERM}});
    auto rest = collect_exec(fd.get());
    EXPECT_EQ(rest.exit, Json({{"signal", SIGTERM}}));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(AgentExec, FiveMebibytesThroughCatComeBackIntact) {
    AgentHarness agent;
    std::string data(5 << 20, '\0');
    uint32_t state = 12345;
    for (char& c : data) {
        state = state * 1103515245 + 12345;
        c = static_cast<char>(state >> 24);
    }
    auto fd = agent.connect();
    send_json(fd.get(), FrameType::request, {{"op", "exec"}, {"argv", {"cat"}}});
    ASSERT_EQ(receive_reply(fd.get())["ok"], true);
    // The host writes while it reads, as a real client must: the agent takes input only as fast
    // as cat consumes it.
    std::thread writer([&] {
        for (size_t offset = 0; offset < data.size(); offset += 100000)
            send_frame(fd.get(), FrameType::input, std::string_view(data).substr(offset, 100000));
        send_frame(fd.get(), FrameType::input_end, {});
    });
    auto rest = collect_exec(fd.get());
    writer.join();
    EXPECT_EQ(rest.exit, Json({{"code", 0}}));
    ASSERT_EQ(rest.out.size(), data.size());
    EXPECT_TRUE(rest.out == data) << "the bytes differ";
}

TEST(AgentExec, AMissingProgramIsAnErrorReplyNamingIt) {
    AgentHarness agent;
    auto ran = exec(agent, {{"op", "exec"}, {"argv", {"vessel-no-such-program"}}});
    EXPECT_EQ(ran.reply["ok"], false);
    EXPECT_EQ(ran.reply["error"], "exec vessel-no-such-program: No such file or directory");
    EXPECT_EQ(ran.reply["errno"], ENOENT);

    ran = exec(agent, {{"op", "exec"}, {"argv", {"true"}}, {"cwd", "/vessel-no-such-dir"}});
    EXPECT_EQ(ran.reply["ok"], false);
    EXPECT_EQ(ran.reply["error"],
              "exec true: chdir /vessel-no-such-dir: No such file or directory");

    ran = exec(agent, {{"op", "exec"}, {"argv", Json::array()}});
    EXPECT_EQ(ran.reply["ok"], false);
    EXPECT_NE(ran.reply.value("error", "").find("argv"), std::string::npos) << ran.reply;
}

TEST(AgentExec, ATerminalHasTheRequestedSizeAndFollowsResizes) {
    AgentHarness agent;
    auto fd = agent.connect();
    send_json(fd.get(), FrameType::request,
              {{"op", "exec"},
               {"argv", {"sh", "-c", "tty; stty size; echo $TERM; read line; stty size"}},
               {"tty", true},
               {"rows", 33},
               {"cols", 101}});
    ASSERT_EQ(receive_reply(fd.get())["ok"], true);
    // Wait for the first size before resizing, so that the two lines are unambiguous.
    std::string seen;
    while (seen.find("xterm") == std::string::npos) {
        auto frame = receive(fd.get());
        ASSERT_TRUE(frame);
        ASSERT_EQ(frame->type, FrameType::output);
        seen += frame->payload;
    }
    send_json(fd.get(), FrameType::resize, {{"rows", 40}, {"cols", 120}});
    send_frame(fd.get(), FrameType::input, "go\n");
    auto rest = collect_exec(fd.get());
    seen += rest.out;
    EXPECT_EQ(rest.exit, Json({{"code", 0}}));
    EXPECT_NE(seen.find("/dev/pts/"), std::string::npos) << seen;
    EXPECT_NE(seen.find("33 101\r\n"), std::string::npos) << seen;
    EXPECT_NE(seen.find("40 120\r\n"), std::string::npos) << seen;
}

TEST(AgentExec, InputEndOnATerminalIsEndOfFile) {
    AgentHarness agent;
    auto fd = agent.connect();
    send_json(fd.get(), FrameType::request, {{"op", "exec"}, {"argv", {"cat"}}, {"tty", true}});
    ASSERT_EQ(receive_reply(fd.get())["ok"], true);
    send_frame(fd.get(), FrameType::input, "line\n");
    send_frame(fd.get(), FrameType::input_end, {});
    auto rest = collect_exec(fd.get());
    EXPECT_EQ(rest.exit, Json({{"code", 0}})) << rest.out;
    // The terminal echoes the line, then cat prints it.
    EXPECT_EQ(rest.out, "line\r\nline\r\n");
}

TEST(AgentExec, TheHostGoingAwayKillsTheProgram) {
    AgentHarness agent;
    auto fd = agent.connect();
    send_json(fd.get(), FrameType::request, {{"op", "exec"}, {"argv", {"sleep", "30"}}});
    auto reply = receive_reply(fd.get());
    ASSERT_EQ(reply["ok"], true);
    pid_t pid = reply["pid"].get<pid_t>();
    ASSERT_EQ(::kill(pid, 0), 0);
    fd.reset();
    bool gone = false;
    for (int i = 0; i < 250 && !gone; ++i) {
        gone = ::kill(pid, 0) != 0 && errno == ESRCH;
        if (!gone) std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(gone) << "sleep (pid " << pid << ") is still running";
}

TEST(AgentExec, ABackgroundChildHoldingTheOutputDoesNotDelayTheExit) {
    AgentHarness agent;
    auto started = std::chrono::steady_clock::now();
    auto ran = exec(agent, {{"op", "exec"}, {"argv", {"sh", "-c", "sleep 3 & echo started"}}});
    EXPECT_EQ(ran.out, "started\n");
    EXPECT_EQ(ran.exit, Json({{"code", 0}}));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST(AgentExec, InputAfterTheProgramClosedItsStdinIsDropped) {
    AgentHarness agent;
    auto fd = agent.connect();
    send_json(fd.get(), FrameType::request,
              {{"op", "exec"}, {"argv", {"sh", "-c", "exec 0<&-; sleep 0.2; echo done"}}});
    ASSERT_EQ(receive_reply(fd.get())["ok"], true);
    std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 4; ++i)
        send_frame(fd.get(), FrameType::input, chunk);
    send_frame(fd.get(), FrameType::input_end, {});
    auto rest = collect_exec(fd.get());
    EXPECT_EQ(rest.out, "done\n");
    EXPECT_EQ(rest.exit, Json({{"code", 0}}));
}

}  // namespace
}  // namespace vessel::agent::testing
