// push and pull: large files streamed both ways, modes, missing directories, cut-off pushes that
// leave nothing behind, and the paths pull refuses.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "agent_harness.h"
#include "base/file.h"

namespace vessel::agent::testing {
namespace {

using namespace std::chrono_literals;

std::string pattern(size_t size) {
    std::string data(size, '\0');
    uint64_t state = 0x9e3779b97f4a7c15;
    for (char& c : data) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        c = static_cast<char>(state);
    }
    return data;
}

// The owner a push gives the file when the test is not root: its own.
Json owner() {
    return {{"uid", ::getuid()}, {"gid", ::getgid()}};
}

struct Pulled {
    Json reply;
    std::string data;
    bool ended = false;
};

Pulled pull(const AgentHarness& agent, const std::string& path) {
    auto fd = agent.connect();
    send_json(fd.get(), FrameType::request, {{"op", "pull"}, {"path", path}});
    Pulled pulled;
    pulled.reply = receive_reply(fd.get());
    if (!pulled.reply.value("ok", false)) return pulled;
    for (;;) {
        auto frame = receive(fd.get());
        if (!frame) break;
        if (frame->type == FrameType::output_end) {
            pulled.ended = true;
            break;
        }
        EXPECT_EQ(frame->type, FrameType::output);
        EXPECT_LE(frame->payload.size(), 256u * 1024);
        pulled.data += frame->payload;
    }
    return pulled;
}

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

TEST(AgentFiles, PushThenPullTwentyMebibytesKeepsBytesAndMode) {
    AgentHarness agent;
    auto data = pattern(20 << 20);
    std::string path = agent.dir() + "/big.bin";
    auto request = owner();
    request["path"] = path;
    request["mode"] = 0640;
    auto pushed = push(agent, request, data);
    ASSERT_EQ(pushed["ok"], true) << pushed;
    EXPECT_EQ(pushed["size"], data.size());

    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0640u);
    EXPECT_EQ(info.st_size, static_cast<off_t>(data.size()));

    auto pulled = pull(agent, path);
    ASSERT_EQ(pulled.reply["ok"], true) << pulled.reply;
    EXPECT_EQ(pulled.reply["mode"], 0640);
    EXPECT_EQ(pulled.reply["size"], data.size());
    EXPECT_EQ(pulled.reply["uid"], ::getuid());
    EXPECT_EQ(pulled.reply["gid"], ::getgid());
    EXPECT_TRUE(pulled.ended);
    ASSERT_EQ(pulled.data.size(), data.size());
    EXPECT_TRUE(pulled.data == data) << "the bytes differ";
    // Only the file itself: no temporary file beside it.
    EXPECT_EQ(entries(agent.dir()), (std::vector<std::string>{"agent.sock", "big.bin"}));
}

TEST(AgentFiles, PushReplacesAFileAndDefaultsToMode0644) {
    AgentHarness agent;
    std::string path = agent.dir() + "/config";
    ASSERT_TRUE(write_file_atomic(path, "old contents that are longer", 0600));
    auto request = owner();
    request["path"] = path;
    ASSERT_EQ(push(agent, request, "new")["ok"], true);
    EXPECT_EQ(read_file(path).value_or(""), "new");
    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0644u);
    // An empty file is a file too.
    ASSERT_EQ(push(agent, request, "")["size"], 0);
    EXPECT_EQ(read_file(path).value_or("x"), "");
}

TEST(AgentFiles, PushReplacesASymlinkInsteadOfWritingThroughIt) {
    AgentHarness agent;
    std::string target = agent.dir() + "/target";
    std::string link = agent.dir() + "/link";
    ASSERT_TRUE(write_file_atomic(target, "untouched", 0600));
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    auto request = owner();
    request["path"] = link;
    ASSERT_EQ(push(agent, request, "pushed")["ok"], true);
    EXPECT_EQ(read_file(target).value_or(""), "untouched");
    struct stat info {};
    ASSERT_EQ(::lstat(link.c_str(), &info), 0);
    EXPECT_TRUE(S_ISREG(info.st_mode));
    EXPECT_EQ(read_file(link).value_or(""), "pushed");
}

TEST(AgentFiles, PushIntoAMissingDirectoryNeedsParents) {
    AgentHarness agent;
    std::string path = agent.dir() + "/a/b/file";
    auto request = owner();
    request["path"] = path;
    auto refused = push(agent, request, "data");
    EXPECT_EQ(refused["ok"], false);
    EXPECT_EQ(refused["error"],
              "push " + path + ": the directory " + agent.dir() + "/a/b does not exist");
    EXPECT_FALSE(path_exists(agent.dir() + "/a"));

    request["parents"] = true;
    auto pushed = push(agent, request, "data");
    ASSERT_EQ(pushed["ok"], true) << pushed;
    EXPECT_EQ(read_file(path).value_or(""), "data");
    struct stat info {};
    ASSERT_EQ(::stat((agent.dir() + "/a").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0755u);
}

TEST(AgentFiles, PushRefusesADirectoryAndARelativePath) {
    AgentHarness agent;
    auto request = owner();
    request["path"] = agent.dir();
    auto refused = push(agent, request, "data");
    EXPECT_EQ(refused["ok"], false);
    EXPECT_EQ(refused["error"], "push " + agent.dir() + ": is a directory");
    request["path"] = "relative/file";
    refused = push(agent, request, "data");
    EXPECT_EQ(refused["ok"], false);
    EXPECT_NE(refused.value("error", "").find("not absolute"), std::string::npos) << refused;
}

TEST(AgentFiles, APushCutOffMidwayLeavesNothingBehind) {
    AgentHarness agent;
    std::string path = agent.dir() + "/partial.bin";
    {
        auto fd = agent.connect();
        auto request = owner();
        request["op"] = "push";
        request["path"] = path;
        send_json(fd.get(), FrameType::request, request);
        ASSERT_EQ(receive_reply(fd.get())["ok"], true);
        // The temporary file exists while the push is under way...
        send_frame(fd.get(), FrameType::input, pattern(1 << 20));
        bool temporary_seen = false;
        for (int i = 0; i < 250 && !temporary_seen; ++i) {
            for (const auto& name : entries(agent.dir()))
                temporary_seen |= name.starts_with(".partial.bin.vessel-push.");
            if (!temporary_seen) std::this_thread::sleep_for(20ms);
        }
        EXPECT_TRUE(temporary_seen);
        // ...and the host goes away before input-end.
    }
    std::vector<std::string> left;
    for (int i = 0; i < 250; ++i) {
        left = entries(agent.dir());
        if (left == std::vector<std::string>{"agent.sock"}) break;
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(left, std::vector<std::string>{"agent.sock"});
}

TEST(AgentFiles, PullRefusesDirectoriesMissingPathsAndSpecialFiles) {
    AgentHarness agent;
    auto pulled = pull(agent, agent.dir());
    EXPECT_EQ(pulled.reply["ok"], false);
    EXPECT_EQ(pulled.reply["error"], "pull " + agent.dir() + ": is a directory");

    pulled = pull(agent, agent.dir() + "/nope");
    EXPECT_EQ(pulled.reply["ok"], false);
    EXPECT_EQ(pulled.reply["error"], "pull " + agent.dir() + "/nope: No such file or directory");
    EXPECT_EQ(pulled.reply["errno"], ENOENT);

    std::string fifo = agent.dir() + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    pulled = pull(agent, fifo);
    EXPECT_EQ(pulled.reply["ok"], false);
    EXPECT_EQ(pulled.reply["error"], "pull " + fifo + ": not a regular file");
}

TEST(AgentFiles, PullFollowsSymlinksAndReadsProcFilesToTheirEnd) {
    AgentHarness agent;
    std::string target = agent.dir() + "/target";
    ASSERT_TRUE(write_file_atomic(target, "through the link", 0600));
    ASSERT_EQ(::symlink(target.c_str(), (agent.dir() + "/link").c_str()), 0);
    auto pulled = pull(agent, agent.dir() + "/link");
    ASSERT_EQ(pulled.reply["ok"], true) << pulled.reply;
    EXPECT_EQ(pulled.data, "through the link");
    EXPECT_EQ(pulled.reply["mode"], 0600);

    // /proc files say size 0 but have contents.
    pulled = pull(agent, "/proc/self/status");
    ASSERT_EQ(pulled.reply["ok"], true) << pulled.reply;
    EXPECT_NE(pulled.data.find("Pid:"), std::string::npos);
}

}  // namespace
}  // namespace vessel::agent::testing
