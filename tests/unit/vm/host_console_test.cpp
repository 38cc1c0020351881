#include "vm/devices/host_console.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "base/file.h"

namespace vessel::vm {
namespace {

struct Recorder {
    std::mutex mutex;
    std::string input;
    std::string quit;
    size_t accept_limit = SIZE_MAX;

    HostConsole::Handlers handlers() {
        return {.input =
                    [this](std::span<const uint8_t> bytes) {
                        std::lock_guard lock(mutex);
                        size_t taken = std::min(bytes.size(), accept_limit);
                        input.append(bytes.begin(), bytes.begin() + taken);
                        return taken;
                    },
                .quit =
                    [this](std::string why) {
                        std::lock_guard lock(mutex);
                        quit = why;
                    }};
    }

    // Polls until `done` holds (the console delivers on its own thread).
    template <typename Predicate>
    bool wait_for(Predicate done) {
        for (int i = 0; i < 400; ++i) {
            {
                std::lock_guard lock(mutex);
                if (done()) return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return false;
    }
};

TEST(HostConsole, WritesGuestOutputToAFile) {
    std::string path = ::testing::TempDir() + "/console-output";
    {
        auto console = HostConsole::open(path, false);
        ASSERT_TRUE(console) << console.error().message();
        for (char c : std::string("boot\n"))
            console->write(static_cast<uint8_t>(c));
    }
    EXPECT_EQ(read_file(path).value(), "boot\n");
}

TEST(HostConsole, ForwardsPipeInputAndRetriesWhatTheGuestRefused) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    Recorder recorder;
    recorder.accept_limit = 1;  // a guest FIFO with room for one byte at a time
    {
        auto console = HostConsole::open(::testing::TempDir() + "/out1", true, fds[0]);
        ASSERT_TRUE(console) << console.error().message();
        ASSERT_TRUE(console->start(recorder.handlers()));
        ASSERT_EQ(write(fds[1], "ls\x01x\n", 5), 5);
        // Not a terminal: Ctrl-A is an ordinary byte.
        EXPECT_TRUE(recorder.wait_for([&] { return recorder.input == "ls\x01x\n"; }));
        EXPECT_TRUE(recorder.quit.empty());
    }
    close(fds[0]);
    close(fds[1]);
}

TEST(HostConsole, RawModeOnATerminalCtrlAXQuitsAndTheModeIsRestored) {
    int master = -1, slave = -1;
    ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
    termios before{};
    ASSERT_EQ(tcgetattr(slave, &before), 0);
    ASSERT_TRUE(before.c_lflag & ICANON);
    Recorder recorder;
    {
        auto console = HostConsole::open(::testing::TempDir() + "/out2", true, slave);
        ASSERT_TRUE(console) << console.error().message();
        termios during{};
        ASSERT_EQ(tcgetattr(slave, &during), 0);
        EXPECT_FALSE(during.c_lflag & ICANON);
        EXPECT_FALSE(during.c_lflag & ECHO);
        ASSERT_TRUE(console->start(recorder.handlers()));
        // Ctrl-A Ctrl-A sends one Ctrl-A to the guest; Ctrl-A x quits.
        ASSERT_EQ(write(master,
                        "a\x01\x01"
                        "b\x01x",
                        6),
                  6);
        EXPECT_TRUE(recorder.wait_for([&] { return recorder.quit == "Ctrl-A x"; }));
        EXPECT_EQ(recorder.input,
                  "a\x01"
                  "b");
    }
    termios after{};
    ASSERT_EQ(tcgetattr(slave, &after), 0);
    EXPECT_TRUE(after.c_lflag & ICANON);
    EXPECT_TRUE(after.c_lflag & ECHO);
    close(master);
    close(slave);
}

TEST(HostConsole, TerminationSignalBecomesAQuitRequest) {
    Recorder recorder;
    auto console = HostConsole::open(::testing::TempDir() + "/out3", false);
    ASSERT_TRUE(console) << console.error().message();
    ASSERT_TRUE(console->start(recorder.handlers()));
    ASSERT_EQ(kill(getpid(), SIGTERM), 0);  // blocked in this thread: goes to the signalfd
    EXPECT_TRUE(recorder.wait_for([&] { return !recorder.quit.empty(); }));
    EXPECT_EQ(recorder.quit, strsignal(SIGTERM));
}

}  // namespace
}  // namespace vessel::vm
