// process.terminal on real containers: the pty is the process's controlling terminal and stdio,
// consoleSize sizes it, its master reaches --console-socket (as runc sends it) or, for a
// foreground run or exec, is relayed to vessel-runc's own stdio.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "base/fd_passing.h"
#include "busybox_fixture.h"

namespace vessel {
namespace {

class TerminalTest : public BusyboxContainerTest {
  protected:
    void SetUp() override {
        BusyboxContainerTest::SetUp();
        if (IsSkipped()) return;
        for (const char* applet : {"tty", "stty"})
            ASSERT_EQ(::symlink("busybox", (bundle_ + "/rootfs/bin/" + applet).c_str()), 0);
        config_["process"]["terminal"] = true;
        config_["process"]["consoleSize"] = {{"height", 40}, {"width", 100}};
    }

    void write_config() {
        ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    }

    // vessel-runc ARGS with `input` on its standard input (a file: not a terminal).
    Outcome invoke_with_input(std::vector<std::string> arguments, const std::string& input) {
        std::string in_path = dir_ + "/stdin", out_path = dir_ + "/tty.out";
        EXPECT_TRUE(write_file_atomic(in_path, input));
        UniqueFd in = *open_file(in_path, O_RDONLY);
        UniqueFd out = *open_file(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        std::vector<std::string> argv{VESSEL_RUNC_PATH, "--root", root_};
        argv.insert(argv.end(), arguments.begin(), arguments.end());
        auto child = spawn(SpawnOptions{.argv = argv,
                                        .env = std::nullopt,
                                        .cwd = bundle_,
                                        .stdin_fd = in.get(),
                                        .stdout_fd = out.get(),
                                        .stderr_fd = out.get()});
        EXPECT_TRUE(child);
        if (!child) return {};
        auto status = child->wait_for(std::chrono::seconds(30));
        EXPECT_TRUE(status && *status) << "timed out";
        if (!status || !*status) {
            (void)child->signal(SIGKILL);
            (void)child->wait();
            return {};
        }
        std::string text = slurp(out_path);
        std::erase(text, '\r');  // the pty's CR LF
        return {(*status)->shell_code(), text, text};
    }

    // A listening unix socket for --console-socket.
    UniqueFd listen_console(const std::string& path) {
        UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
        EXPECT_EQ(::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        EXPECT_EQ(::listen(socket.get(), 1), 0);
        return socket;
    }

    // Reads the pty until `marker` shows up (or 10 s pass).
    static std::string read_until(int master, const std::string& marker) {
        std::string text;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (text.find(marker) == std::string::npos &&
               std::chrono::steady_clock::now() < deadline) {
            pollfd ready{master, POLLIN, 0};
            if (::poll(&ready, 1, 100) <= 0) continue;
            char buffer[256];
            ssize_t got = ::read(master, buffer, sizeof buffer);
            if (got <= 0) break;
            text.append(buffer, static_cast<size_t>(got));
        }
        std::erase(text, '\r');
        return text;
    }
};

TEST_F(TerminalTest, ForegroundRunRelaysThePty) {
    config_["process"]["args"] = {"sh", "-c", "tty; stty size; read line; echo got=$line; exit 7"};
    write_config();
    auto ran = invoke_with_input({"run", "--bundle", bundle_, id_}, "hello\n");
    EXPECT_EQ(ran.code, 7) << ran.out;
    EXPECT_NE(ran.out.find("/dev/pts/0\n"), std::string::npos) << ran.out;
    EXPECT_NE(ran.out.find("40 100\n"), std::string::npos) << ran.out;
    EXPECT_NE(ran.out.find("got=hello\n"), std::string::npos) << ran.out;
    expect_nothing_left();
}

TEST_F(TerminalTest, ConsoleSocketReceivesTheMaster) {
    config_["process"]["args"] = {"sh", "-c", "tty; read line; echo got=$line"};
    write_config();
    std::string socket_path = dir_ + "/console.sock";
    UniqueFd listener = listen_console(socket_path);
    auto created = invoke({"create", "--console-socket", socket_path, "--bundle", bundle_, id_});
    ASSERT_EQ(created.code, 0) << created.err;
    UniqueFd connection(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(connection);
    auto received = receive_fd(connection.get());
    ASSERT_TRUE(received) << received.error().message();
    UniqueFd master = std::move(received->second);
    ASSERT_TRUE(master) << "no descriptor came with the message";

    ASSERT_EQ(invoke({"start", id_}).code, 0);
    EXPECT_NE(read_until(master.get(), "/dev/pts/0").find("/dev/pts/0"), std::string::npos);
    ASSERT_EQ(::write(master.get(), "hi\n", 3), 3);
    EXPECT_NE(read_until(master.get(), "got=hi").find("got=hi"), std::string::npos);
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto state = parse_json(invoke({"state", id_}).out, "state");
        if (state && (*state)["status"] == "stopped") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(invoke({"delete", id_}).code, 0);
    expect_nothing_left();
}

TEST_F(TerminalTest, ExecWithATerminal) {
    config_["process"]["terminal"] = false;
    config_["process"]["args"] = {"sleep", "100"};
    write_config();
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    auto ran = invoke_with_input(
        {"exec", "-t", id_, "sh", "-c", "tty; read x; echo got=$x; exit 4"}, "abc\n");
    EXPECT_EQ(ran.code, 4) << ran.out;
    EXPECT_NE(ran.out.find("/dev/pts/0\n"), std::string::npos) << ran.out;
    EXPECT_NE(ran.out.find("got=abc\n"), std::string::npos) << ran.out;
    auto detached = invoke({"exec", "-t", "-d", id_, "true"});
    EXPECT_EQ(detached.code, 1);
    EXPECT_NE(detached.err.find("--console-socket"), std::string::npos) << detached.err;
    ASSERT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

// exec's helper (it joins the namespaces) and the program it forks share one channel to the
// runtime, which reads the helper's message, the program's pid, first. A program quicker than its
// helper sent its terminal first, and exec failed with "no pid from the helper": seen under
// AddressSanitizer, whose helper is slower. The program now waits until its helper is done.
TEST_F(TerminalTest, ExecWithATerminalAlwaysHearsFromItsHelperFirst) {
    config_["process"]["terminal"] = false;
    config_["process"]["args"] = {"sleep", "100"};
    write_config();
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    for (int attempt = 0; attempt < 40; ++attempt) {
        auto ran = invoke_with_input({"exec", "-t", id_, "sh", "-c", "exit 3"}, "");
        ASSERT_EQ(ran.code, 3) << "exec number " << attempt << ": " << ran.out << ran.err;
    }
    ASSERT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

// In a user namespace the pty must belong to the process's user too: exec could not chown it
// while its ids were still the host's (unmapped) ones.
TEST_F(TerminalTest, TerminalsInAUserNamespaceBelongToTheProcessUser) {
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    Json mapping = Json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
    config_["linux"]["namespaces"].push_back({{"type", "user"}});
    config_["linux"]["uidMappings"] = mapping;
    config_["linux"]["gidMappings"] = mapping;
    config_["process"]["args"] = {"sh", "-c", "stat -c %u $(tty)"};
    write_config();
    auto ran = invoke_with_input({"run", "--bundle", bundle_, id_}, "");
    EXPECT_EQ(ran.code, 0) << ran.out;
    EXPECT_EQ(ran.out.substr(0, ran.out.find_first_of("\r\n")), "0") << ran.out;

    config_["process"]["terminal"] = false;
    config_["process"]["args"] = {"sleep", "100"};
    write_config();
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    auto exec = invoke_with_input(
        {"exec", "-t", "--user", "1000:1000", id_, "sh", "-c", "stat -c %u $(tty)"}, "");
    EXPECT_EQ(exec.code, 0) << exec.out;
    EXPECT_EQ(exec.out.substr(0, exec.out.find_first_of("\r\n")), "1000") << exec.out;
    ASSERT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

TEST_F(TerminalTest, DetachedWithoutConsoleSocketIsRefusedBeforeAnythingExists) {
    config_["process"]["args"] = {"true"};
    write_config();
    for (std::vector<std::string> command :
         {std::vector<std::string>{"create", "--bundle", bundle_, id_},
          std::vector<std::string>{"run", "--detach", "--bundle", bundle_, id_}}) {
        auto refused = invoke(command);
        EXPECT_EQ(refused.code, 1);
        EXPECT_NE(refused.err.find("process.terminal: a detached container needs --console-socket"),
                  std::string::npos)
            << refused.err;
    }
    config_["process"]["consoleSize"] = {{"height", 70000}, {"width", 80}};
    write_config();
    auto too_tall = invoke({"run", "--bundle", bundle_, id_});
    EXPECT_EQ(too_tall.code, 1);
    EXPECT_NE(too_tall.err.find("process.consoleSize"), std::string::npos) << too_tall.err;
    expect_nothing_left();
}

}  // namespace
}  // namespace vessel
