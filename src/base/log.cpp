#include "base/log.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <time.h>

#include <nlohmann/json.hpp>

#include "base/file.h"

namespace vessel {

namespace {

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warning:
            return "warning";
        case LogLevel::error:
            return "error";
    }
    return "info";
}

std::string rfc3339_now() {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    tm utc{};
    ::gmtime_r(&now.tv_sec, &utc);
    char date[32];
    ::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
    return fmt::format("{}.{:09d}Z", date, now.tv_nsec);
}

}  // namespace

Result<LogFormat> parse_log_format(std::string_view name) {
    if (name == "text") return LogFormat::text;
    if (name == "json") return LogFormat::json;
    return fail("unknown log format '{}' (use text or json)", name);
}

std::string single_line(std::string_view text) {
    std::string line;
    line.reserve(text.size());
    for (unsigned char c : text) {
        if (c == '\n')
            line += "\\n";
        else if (c == '\t')
            line += "\\t";
        else if (c < 0x20 || c == 0x7f)
            line += fmt::format("\\x{:02x}", c);
        else
            line += static_cast<char>(c);
    }
    return line;
}

Logger::Logger(UniqueFd sink, LogFormat format, LogLevel threshold)
    : owned_(std::move(sink)), fd_(owned_.get()), format_(format), threshold_(threshold) {}

Logger Logger::borrowing(int fd, LogFormat format, LogLevel threshold) {
    Logger logger;
    logger.fd_ = fd;
    logger.format_ = format;
    logger.threshold_ = threshold;
    return logger;
}

Result<Logger> Logger::to_file(const std::string& path, LogFormat format, LogLevel threshold) {
    auto fd = TRY(open_file(path, O_WRONLY | O_CREAT | O_APPEND, 0644));
    return Logger(std::move(fd), format, threshold);
}

void Logger::write(LogLevel level, std::string_view message) const {
    if (level < threshold_) return;
    std::string line;
    if (format_ == LogFormat::json) {
        nlohmann::json record = {
            {"level", level_name(level)}, {"msg", std::string(message)}, {"time", rfc3339_now()}};
        line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    } else {
        line = fmt::format("{} {}: {}\n", rfc3339_now(), level_name(level), single_line(message));
    }
    // One write per record keeps lines whole when several processes append to one log.
    (void)write_all(fd_, line);
}

}  // namespace vessel
