#include "base/log.h"

#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "base/file.h"
#include "base/json.h"

namespace vessel {
namespace {

std::string capture(LogFormat format, LogLevel threshold, void (*emit)(const Logger&)) {
    int pipe_fds[2];
    EXPECT_EQ(::pipe(pipe_fds), 0);
    {
        Logger logger(UniqueFd(pipe_fds[1]), format, threshold);
        emit(logger);
    }
    return read_fd(pipe_fds[0]).value();
}

TEST(Logger, JsonRecordsHaveRuncShape) {
    std::string out = capture(LogFormat::json, LogLevel::info, [](const Logger& logger) {
        logger.error("container {} failed", "c1");
    });
    auto record = parse_json(out, "log").value();
    EXPECT_EQ(record["level"], "error");
    EXPECT_EQ(record["msg"], "container c1 failed");
    EXPECT_TRUE(record["time"].get<std::string>().ends_with("Z"));
}

TEST(Logger, ThresholdFiltersLowerLevels) {
    std::string out = capture(LogFormat::text, LogLevel::warning, [](const Logger& logger) {
        logger.debug("hidden");
        logger.info("hidden too");
        logger.warning("shown");
    });
    EXPECT_EQ(out.find("hidden"), std::string::npos);
    EXPECT_NE(out.find("warning: shown"), std::string::npos);
}

TEST(Logger, UnknownFormatIsAnError) {
    EXPECT_EQ(parse_log_format("json").value(), LogFormat::json);
    EXPECT_EQ(parse_log_format("xml").error().message(),
              "unknown log format 'xml' (use text or json)");
}

TEST(Logger, TextRecordsStayOneLineWhateverTheMessage) {
    std::string out = capture(LogFormat::text, LogLevel::info, [](const Logger& logger) {
        logger.error("mkdir /sys/fs/cgroup/a\nfake: record\x1b[2J");
    });
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    EXPECT_TRUE(out.ends_with("error: mkdir /sys/fs/cgroup/a\\nfake: record\\x1b[2J\n")) << out;
}

TEST(SingleLine, EscapesControlCharactersOnly) {
    EXPECT_EQ(single_line("a\tb\nc\x7f\x01 \xc3\xa9"), "a\\tb\\nc\\x7f\\x01 \xc3\xa9");
}

}  // namespace
}  // namespace vessel
