// A small structured logger. Each program creates one Logger and passes it down by reference: there
// is no process-wide logger to mutate. The JSON format matches what runc writes with
// --log-format json ({"level","msg","time"}), because containerd and Podman parse it for errors.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel {

enum class LogLevel { debug, info, warning, error };
enum class LogFormat { text, json };

Result<LogFormat> parse_log_format(std::string_view name);

// The text with control characters escaped ("\n", "\x1b"), so that a message quoting untrusted
// input (a path with a newline, a terminal escape) stays one line and cannot forge another.
std::string single_line(std::string_view text);

class Logger {
  public:
    // Logs to standard error.
    Logger() = default;
    // Logs to an owned descriptor (a --log file).
    Logger(UniqueFd sink, LogFormat format, LogLevel threshold);
    // Logs to a descriptor owned elsewhere.
    static Logger borrowing(int fd, LogFormat format, LogLevel threshold);

    static Result<Logger> to_file(const std::string& path, LogFormat format, LogLevel threshold);

    void set_threshold(LogLevel threshold) { threshold_ = threshold; }
    LogLevel threshold() const { return threshold_; }
    LogFormat format() const { return format_; }

    void write(LogLevel level, std::string_view message) const;

    template <typename... Args>
    void debug(fmt::format_string<Args...> f, Args&&... args) const {
        if (threshold_ <= LogLevel::debug)
            write(LogLevel::debug, fmt::format(f, std::forward<Args>(args)...));
    }
    template <typename... Args>
    void info(fmt::format_string<Args...> f, Args&&... args) const {
        if (threshold_ <= LogLevel::info)
            write(LogLevel::info, fmt::format(f, std::forward<Args>(args)...));
    }
    template <typename... Args>
    void warning(fmt::format_string<Args...> f, Args&&... args) const {
        if (threshold_ <= LogLevel::warning)
            write(LogLevel::warning, fmt::format(f, std::forward<Args>(args)...));
    }
    template <typename... Args>
    void error(fmt::format_string<Args...> f, Args&&... args) const {
        write(LogLevel::error, fmt::format(f, std::forward<Args>(args)...));
    }

  private:
    UniqueFd owned_;
    int fd_ = 2;
    LogFormat format_ = LogFormat::text;
    LogLevel threshold_ = LogLevel::warning;
};

}  // namespace vessel
