// linux.seccomp.listenerPath on real containers: the test is the seccomp agent. It receives the
// notify descriptor with the container process state and answers the container's system calls.
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <thread>

#include "base/fd_passing.h"
#include "busybox_fixture.h"

namespace vessel {
namespace {

// Answers every notified system call of up to `connections` container processes with EXDEV,
// keeping what each sent with its descriptor.
class Agent {
  public:
    Agent(const std::string& socket_path, int connections) {
        socket_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{.sun_family = AF_UNIX, .sun_path = {}};
        std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
        bound_ =
            ::bind(socket_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
            ::listen(socket_.get(), 4) == 0;
        thread_ = std::thread([this, connections] { serve(connections); });
    }
    ~Agent() {
        // Wakes an accept that will never complete, then waits for the threads.
        ::shutdown(socket_.get(), SHUT_RDWR);
        thread_.join();
        for (auto& answering : answering_)
            answering.join();
    }

    bool bound() const { return bound_; }
    std::vector<Json> messages() {
        std::lock_guard lock(mutex_);
        return messages_;
    }
    int answered() const { return answered_; }

  private:
    void serve(int connections) {
        for (int i = 0; i < connections; ++i) {
            UniqueFd connection(::accept4(socket_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!connection) return;
            auto received = receive_fd(connection.get());
            if (!received || !received->second) return;
            std::lock_guard lock(mutex_);
            messages_.push_back(Json::parse(received->first, nullptr, false));
            // Each process's filter is answered on its own, as a real agent would.
            answering_.emplace_back([this, notify = std::move(received->second)] {
                answer_until_closed(notify.get());
            });
        }
    }

    // Until every process using the filter has gone (POLLHUP).
    void answer_until_closed(int notify_fd) {
        for (;;) {
            pollfd waiting{.fd = notify_fd, .events = POLLIN, .revents = 0};
            if (::poll(&waiting, 1, 30000) <= 0 || !(waiting.revents & POLLIN)) return;
            seccomp_notif request{};
            if (::ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) continue;
            seccomp_notif_resp response{.id = request.id, .val = 0, .error = -EXDEV, .flags = 0};
            // Counted before the answer goes: once it has, the container's call returns and the
            // test may read the count before this thread runs again.
            ++answered_;
            if (::ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &response) != 0) --answered_;
        }
    }

    UniqueFd socket_;
    bool bound_ = false;
    std::thread thread_;
    std::vector<std::thread> answering_;  // joined after thread_, which adds to it
    std::mutex mutex_;
    std::vector<Json> messages_;
    std::atomic<int> answered_ = 0;
};

class SeccompNotifyTest : public BusyboxContainerTest {
  protected:
    void use_listener(const std::string& socket_path) {
        config_["linux"]["seccomp"] = {
            {"defaultAction", "SCMP_ACT_ALLOW"},
            {"listenerPath", socket_path},
            {"listenerMetadata", "agent-test"},
            {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}}}}};
    }
};

TEST_F(SeccompNotifyTest, TheAgentAnswersTheContainersSystemCalls) {
    std::string socket_path = dir_ + "/agent.sock";
    Agent agent(socket_path, 2);
    ASSERT_TRUE(agent.bound());
    use_listener(socket_path);
    config_["process"]["args"] = {"sleep", "60"};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    ASSERT_EQ(invoke({"run", "-d", "--bundle", bundle_, id_}).code, 0);
    auto exec = invoke({"exec", id_, "sh", "-c", "mkdir /tmp/made; echo status=$?"});
    EXPECT_EQ(exec.code, 0) << exec.err;
    EXPECT_NE(exec.out.find("status=1"), std::string::npos) << exec.out;
    EXPECT_NE(exec.err.find("Invalid cross-device link"), std::string::npos) << exec.err;
    EXPECT_FALSE(path_exists(bundle_ + "/rootfs/tmp/made"));  // the kernel never ran it
    EXPECT_GE(agent.answered(), 1);

    auto messages = agent.messages();
    ASSERT_EQ(messages.size(), 2u);
    // The init's descriptor, while it is being created, then exec's.
    EXPECT_EQ(messages[0]["fds"], Json::array({"seccompFd"}));
    EXPECT_EQ(messages[0]["metadata"], "agent-test");
    EXPECT_EQ(messages[0]["state"]["id"], id_);
    EXPECT_EQ(messages[0]["state"]["status"], "creating");
    EXPECT_EQ(messages[0]["pid"], messages[0]["state"]["pid"]);
    EXPECT_EQ(messages[1]["state"]["status"], "running");
    EXPECT_NE(messages[1]["pid"], messages[0]["pid"]);
    EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

TEST_F(SeccompNotifyTest, AMissingAgentFailsTheCreateCleanly) {
    use_listener(dir_ + "/nobody-listens.sock");
    auto result = run_container({"true"});
    EXPECT_EQ(result.code, 1);
    EXPECT_NE(result.err.find("linux.seccomp.listenerPath: connecting to the seccomp listener at"),
              std::string::npos)
        << result.err;
    expect_nothing_left();
}

}  // namespace
}  // namespace vessel
