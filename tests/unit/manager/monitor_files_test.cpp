// The files monitors leave in an instance directory, the database's numbers, and cancellable runs:
// what a restarted vesseld reads to learn the truth, and how work for a departed client stops.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "base/file.h"
#include "manager/cancel.h"
#include "manager/instance/monitor.h"
#include "manager/store/store.h"
#include "temp_dir.h"

namespace vessel::manager {
namespace {

using MonitorFilesTest = testing::TempDirTest;

void write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

TEST_F(MonitorFilesTest, ExitStatusOutOfRangeIsAnErrorNamingTheField) {
    write(path("exit.json"), R"({"code": 4294967296, "signal": 0})");
    auto exit = read_exit_status(dir_);
    ASSERT_FALSE(exit);
    EXPECT_NE(exit.error().message().find("exit.json.code: must be an integer from -2147483648 to "
                                          "2147483647"),
              std::string::npos)
        << exit.error().message();
    write(path("exit.json"), R"({"code": 3, "signal": 0})");
    EXPECT_EQ(read_exit_status(dir_).value()->code, 3);
    write(path("exit.json"), R"({"code": 1e999})");
    EXPECT_FALSE(read_exit_status(dir_));
}

TEST_F(MonitorFilesTest, PayloadPidOutOfRangeIsAnError) {
    write(path("payload.json"), R"({"pid": 1099511627776, "start_time": 5})");
    auto payload = read_payload_identity(dir_);
    ASSERT_FALSE(payload);
    EXPECT_NE(payload.error().message().find("payload.json.pid: must be an integer"),
              std::string::npos)
        << payload.error().message();
}

TEST_F(MonitorFilesTest, TheLockTellsWhetherAMonitorLives) {
    EXPECT_FALSE(monitor_holds_lock(dir_));
    auto lock = open_file(path("monitor.lock"), O_RDWR | O_CREAT, 0600);
    ASSERT_TRUE(lock);
    EXPECT_FALSE(monitor_holds_lock(dir_));
    ASSERT_EQ(::flock(lock->get(), LOCK_EX | LOCK_NB), 0);
    EXPECT_TRUE(monitor_holds_lock(dir_));
    lock->reset();
    EXPECT_FALSE(monitor_holds_lock(dir_));
    write(path("monitor-pid.json"), fmt::format(R"({{"pid": {}, "start_time": 7}})", ::getpid()));
    auto identity = read_monitor_identity(dir_);
    ASSERT_TRUE(identity && *identity);
    EXPECT_EQ((*identity)->pid, ::getpid());
    EXPECT_EQ((*identity)->start_time, 7u);
}

TEST_F(MonitorFilesTest, StoredNumbersMustFitTheirFields) {
    {
        auto store = Store::open(path("vessel.db"));
        ASSERT_TRUE(store);
        ASSERT_TRUE((*store)->insert_instance(
            {.name = "c1", .kind = InstanceKind::container, .image = "x"}));
    }
    {
        auto db = Database::open(path("vessel.db"));
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->execute("UPDATE instances SET pid = 9999999999 WHERE name = 'c1'"));
    }
    auto store = Store::open(path("vessel.db"));
    ASSERT_TRUE(store);
    auto found = (*store)->find_instance("c1");
    ASSERT_FALSE(found);
    EXPECT_NE(found.error().message().find("instance c1: pid: 9999999999 is out of range"),
              std::string::npos)
        << found.error().message();
}

bool process_exists(pid_t pid) {
    return ::kill(pid, 0) == 0;
}

TEST_F(MonitorFilesTest, ARunEndsWhenItsClientHangsUp) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    UniqueFd server_end(pair[0]), client_end(pair[1]);
    pid_t program = 0;
    std::thread client([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        client_end.reset();
    });
    auto began = std::chrono::steady_clock::now();
    auto ran = run_cancellable({.argv = {"sleep", "100"},
                                .timeout = std::chrono::seconds(60),
                                .stop =
                                    [&](Child& child) {
                                        program = child.pid();
                                        (void)child.signal(SIGKILL);
                                    }},
                               Cancellation(server_end.get()));
    client.join();
    ASSERT_FALSE(ran);
    EXPECT_EQ(ran.error().code(), ECANCELED);
    EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(3));
    ASSERT_GT(program, 0);
    EXPECT_FALSE(process_exists(program));
}

TEST_F(MonitorFilesTest, ARunWithItsClientStillThereCompletes) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    UniqueFd server_end(pair[0]), client_end(pair[1]);
    auto ran = run_cancellable(
        {.argv = {"sh", "-c", "cat; printf '\\377' >&2"}, .stdin_data = std::string("in\0put", 6)},
        Cancellation(server_end.get()));
    ASSERT_TRUE(ran) << ran.error().message();
    EXPECT_EQ(ran->out, std::string("in\0put", 6));
    EXPECT_EQ(ran->err, "\xff");
}

TEST_F(MonitorFilesTest, ARunThatFloodsItsOutputIsStopped) {
    auto ran = run_cancellable({.argv = {"yes"}, .max_output_bytes = 1 << 20}, Cancellation());
    ASSERT_FALSE(ran);
    EXPECT_EQ(ran.error().code(), EFBIG);
}

}  // namespace
}  // namespace vessel::manager
