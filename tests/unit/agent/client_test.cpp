// The host's AgentClient against the real agent server (agent_harness.h): what vesseld relies on
// for exec, files, state and shutdown of a VM, without a VM.
#include "agent/client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "agent_harness.h"
#include "base/file.h"

namespace vessel::agent::testing {
namespace {

AgentClient client_of(const AgentHarness& agent,
                      std::chrono::milliseconds io_timeout = std::chrono::seconds(5)) {
    auto path = agent.socket_path();
    return AgentClient([path] { return connect_unix_socket(path); }, io_timeout);
}

std::string random_bytes(size_t size) {
    std::mt19937_64 generator(42);
    std::string bytes(size, '\0');
    for (auto& byte : bytes)
        byte = static_cast<char>(generator());
    return bytes;
}

TEST(AgentClient, PingsAndReportsTheGuest) {
    AgentHarness agent;
    auto client = client_of(agent);
    EXPECT_EQ(client.ping().value(), protocol_version);
    ASSERT_TRUE(client.wait_ready(std::chrono::seconds(5)));
    auto info = client.info().value();
    EXPECT_FALSE(info.value("hostname", "").empty());
    EXPECT_GT(info["memory"].value("total", 0ull), 0ull);
    EXPECT_FALSE(info.contains("ok"));
    // The figures behind a VM's metrics: this host's, as the harness runs the agent here.
    EXPECT_GT(info.value("processes", 0ull), 1ull);
    ASSERT_TRUE(info["network"].is_array());
    for (const auto& interface : info["network"])
        EXPECT_NE(interface.value("interface", ""), "lo");
    ASSERT_TRUE(info["disk_io"].is_array());
    for (const auto& disk : info["disk_io"]) {
        EXPECT_FALSE(disk.value("device", "").starts_with("loop"));
        EXPECT_TRUE(disk["read_bytes"].is_number_unsigned());
    }
}

TEST(AgentClient, ExecCapturesOutputAndExitStatus) {
    AgentHarness agent;
    auto ran = client_of(agent)
                   .exec({.argv = {"sh", "-c", "echo out; echo err >&2; exit 7"}}, "", {})
                   .value();
    EXPECT_EQ(ran.out, "out\n");
    EXPECT_EQ(ran.err, "err\n");
    EXPECT_EQ(ran.status.code, 7);
    EXPECT_EQ(ran.status.shell_code(), 7);
}

TEST(AgentClient, ASignalThatEndsTheProgramIs128PlusItsNumber) {
    AgentHarness agent;
    auto ran = client_of(agent).exec({.argv = {"sh", "-c", "kill -TERM $$"}}, "", {}).value();
    EXPECT_EQ(ran.status.signal, SIGTERM);
    EXPECT_EQ(ran.status.shell_code(), 128 + SIGTERM);
}

// More input than any socket buffer holds, while the program answers as it reads: input and
// output must interleave or both ends wait for each other.
TEST(AgentClient, TenMebibytesOfStdinRoundTrip) {
    AgentHarness agent;
    auto input = random_bytes(10 << 20);
    auto ran = client_of(agent).exec({.argv = {"cat"}}, input, {}).value();
    EXPECT_EQ(ran.status.code, 0);
    EXPECT_TRUE(ran.out == input) << "got " << ran.out.size() << " bytes back";
}

// The program ends at once, input unread: the agent closes while input is still going out, and
// the exit status must still come back (it failed with "send input" before).
TEST(AgentClient, AProgramThatIgnoresItsInputStillReportsItsStatus) {
    AgentHarness agent;
    auto input = random_bytes(4 << 20);
    for (int round = 0; round < 5; ++round) {
        auto ran = client_of(agent).exec({.argv = {"sh", "-c", "exit 7"}}, input, {});
        ASSERT_TRUE(ran) << ran.error().message();
        EXPECT_EQ(ran->status.code, 7);
    }
}

TEST(AgentClient, AMissingProgramIsNamed) {
    AgentHarness agent;
    auto ran = client_of(agent).exec({.argv = {"no-such-program-here"}}, "", {});
    ASSERT_FALSE(ran);
    EXPECT_NE(ran.error().message().find("no-such-program-here"), std::string::npos)
        << ran.error().message();
}

TEST(AgentClient, OutputOverTheLimitEndsTheExec) {
    AgentHarness agent;
    auto ran = client_of(agent).exec({.argv = {"sh", "-c", "head -c 3000000 /dev/zero"}}, "",
                                     {.max_output_bytes = 1 << 20});
    ASSERT_FALSE(ran);
    EXPECT_EQ(ran.error().code(), EFBIG);
}

TEST(AgentClient, AnExecPastItsTimeOutFailsInTime) {
    AgentHarness agent;
    auto started = std::chrono::steady_clock::now();
    auto ran = client_of(agent).exec({.argv = {"sleep", "30"}}, "",
                                     {.timeout = std::chrono::milliseconds(300)});
    ASSERT_FALSE(ran);
    EXPECT_EQ(ran.error().code(), ETIMEDOUT);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(AgentClient, ACancelledExecEndsAtOnce) {
    AgentHarness agent;
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    UniqueFd ours(pair[0]), client_end(pair[1]);
    std::thread hang_up([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        client_end.reset();
    });
    auto ran = client_of(agent).exec({.argv = {"sleep", "30"}}, "",
                                     {.cancel_fd = ours.get(), .cancel_events = POLLRDHUP});
    hang_up.join();
    ASSERT_FALSE(ran);
    EXPECT_EQ(ran.error().code(), ECANCELED);
}

TEST(AgentClient, PushThenPullKeepsBytesAndMode) {
    AgentHarness agent;
    auto client = client_of(agent);
    auto bytes = random_bytes(20 << 20);
    auto source_path = agent.dir() + "/source";
    ASSERT_TRUE(write_file_atomic(source_path, bytes));
    auto source = open_file(source_path, O_RDONLY).value();
    auto target = agent.dir() + "/deep/er/file";
    auto pushed = client.push(
        source.get(),
        {.path = target, .mode = 0640, .uid = ::getuid(), .gid = ::getgid(), .parents = true});
    ASSERT_TRUE(pushed) << pushed.error().message();
    EXPECT_EQ(*pushed, bytes.size());
    auto copy_path = agent.dir() + "/copy";
    auto copy = open_file(copy_path, O_WRONLY | O_CREAT, 0600).value();
    auto info = client.pull(target, copy.get()).value();
    EXPECT_EQ(info.mode, 0640u);
    EXPECT_EQ(info.size, bytes.size());
    EXPECT_TRUE(read_file(copy_path).value() == bytes);
}

TEST(AgentClient, FileErrorsNameThePath) {
    AgentHarness agent;
    auto client = client_of(agent);
    auto null = open_file("/dev/null", O_RDWR).value();
    auto pushed = client.push(
        null.get(),
        {.path = agent.dir() + "/missing/dir/file", .uid = ::getuid(), .gid = ::getgid()});
    ASSERT_FALSE(pushed);
    EXPECT_NE(pushed.error().message().find("/missing"), std::string::npos)
        << pushed.error().message();
    auto pulled = client.pull(agent.dir(), null.get());
    ASSERT_FALSE(pulled);
    EXPECT_NE(pulled.error().message().find("directory"), std::string::npos)
        << pulled.error().message();
}

TEST(AgentClient, ShutdownIsAccepted) {
    AgentHarness agent;
    ASSERT_TRUE(client_of(agent).shutdown(false));
    for (int i = 0; i < 50 && agent.power_requests().empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_NE(agent.power_requests().find("poweroff"), std::string::npos);
}

// A unix socket listening in a scratch directory of its own, standing in for a guest that accepts
// and says nothing, or for a VMM's vsock socket.
class ListeningSocket {
  public:
    ListeningSocket() {
        char pattern[] = "/tmp/vessel-agent-client-XXXXXX";
        EXPECT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        path_ = dir_ + "/s";
        fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path_.c_str());
        EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        EXPECT_EQ(::listen(fd_.get(), 4), 0);
    }
    ~ListeningSocket() {
        ::unlink(path_.c_str());
        ::rmdir(dir_.c_str());
    }
    const std::string& path() const { return path_; }
    int fd() const { return fd_.get(); }

  private:
    std::string dir_;
    std::string path_;
    UniqueFd fd_;
};

// A guest that accepts and then says nothing: every wait is bounded.
TEST(AgentClient, ASilentGuestTimesOut) {
    ListeningSocket silent_guest;
    auto path = silent_guest.path();
    AgentClient client([path] { return connect_unix_socket(path); },
                       std::chrono::milliseconds(300));
    auto started = std::chrono::steady_clock::now();
    auto answered = client.ping();
    ASSERT_FALSE(answered);
    EXPECT_EQ(answered.error().code(), ETIMEDOUT) << answered.error().message();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

// The VMM's side of the vsock handshake: CONNECT, then "OK" before the guest's stream.
TEST(AgentClient, ConnectsThroughAVmmSocket) {
    ListeningSocket vmm_socket;
    const auto& path = vmm_socket.path();
    std::thread vmm([&] {
        UniqueFd peer(::accept(vmm_socket.fd(), nullptr, nullptr));
        char line[32] = {};
        size_t used = 0;
        while (used < sizeof line - 1 && ::read(peer.get(), line + used, 1) == 1 &&
               line[used] != '\n')
            ++used;
        line[used] = '\0';
        EXPECT_STREQ(line, "CONNECT 7700");
        (void)::write(peer.get(), "OK 1073741824\nrest", 18);
    });
    auto connection = connect_through_vsock_socket(path, agent_port, std::chrono::seconds(2));
    vmm.join();
    ASSERT_TRUE(connection) << connection.error().message();
    char rest[4] = {};
    EXPECT_EQ(::read(connection->get(), rest, 4), 4);
    EXPECT_EQ(std::string(rest, 4), "rest") << "the handshake ate the guest's bytes";
}

}  // namespace
}  // namespace vessel::agent::testing
