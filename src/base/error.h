// Errors as values: every fallible function in Vessel returns Result<T>. An Error carries the errno
// that caused it (0 when the cause is not a system call) and a chain of context, innermost last, so
// that a message reads from the outside in: "config.json: process.args: must not be empty".
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <expected>
#include <string>
#include <utility>
#include <vector>

namespace vessel {

class Error {
  public:
    Error() = default;
    explicit Error(std::string message, int errno_value = 0)
        : errno_value_(errno_value), chain_{std::move(message)} {}

    // The errno of the failing system call, or 0.
    int code() const { return errno_value_; }

    // Prepends an outer layer of context ("while doing X"): context is added as the error travels
    // up.
    Error& context(std::string outer) {
        chain_.insert(chain_.begin(), std::move(outer));
        return *this;
    }

    // "outer: inner: innermost[: strerror]".
    std::string message() const;

    // Only the innermost description, without context and errno text.
    const std::string& innermost() const { return chain_.back(); }

  private:
    int errno_value_ = 0;
    std::vector<std::string> chain_;
};

// [[nodiscard]]: a Result dropped on the floor is an error nobody sees. A class of its own rather
// than an alias of std::expected, because an alias cannot carry the attribute; it is a
// std::expected in every other way.
template <typename T = void>
class [[nodiscard]] Result : public std::expected<T, Error> {
  public:
    using std::expected<T, Error>::expected;
    // Inherited constructors leave out the base's copy and move; these take a plain expected.
    Result(const std::expected<T, Error>& other) : std::expected<T, Error>(other) {}
    Result(std::expected<T, Error>&& other) : std::expected<T, Error>(std::move(other)) {}
};

inline std::unexpected<Error> fail(std::string message) {
    return std::unexpected(Error(std::move(message)));
}

template <typename... Args>
std::unexpected<Error> fail(fmt::format_string<Args...> format, Args&&... args) {
    return std::unexpected(Error(fmt::format(format, std::forward<Args>(args)...)));
}

// For a failed system call: captures errno now, before anything else can clobber it.
inline std::unexpected<Error> fail_errno(std::string what) {
    return std::unexpected(Error(std::move(what), errno));
}

inline std::unexpected<Error> fail_errno(int errno_value, std::string what) {
    return std::unexpected(Error(std::move(what), errno_value));
}

// Wraps a failed Result's error with one more layer of context; passes success through.
template <typename T>
Result<T> with_context(Result<T>&& result, std::string outer) {
    if (!result) result.error().context(std::move(outer));
    return std::move(result);
}

}  // namespace vessel

// TRY(expr): evaluates a Result; on error returns it from the enclosing function, otherwise yields
// the value. Uses a GNU statement expression, which g++ and clang accept, so the happy path reads
// straight down the page.
#define VESSEL_TRY_CONCAT_(a, b) a##b
#define VESSEL_TRY_NAME_(line) VESSEL_TRY_CONCAT_(vessel_try_result_, line)
#define TRY(...)                                                                   \
    ({                                                                             \
        auto&& VESSEL_TRY_NAME_(__LINE__) = (__VA_ARGS__);                         \
        if (!VESSEL_TRY_NAME_(__LINE__))                                           \
            return std::unexpected(std::move(VESSEL_TRY_NAME_(__LINE__).error())); \
        std::move(VESSEL_TRY_NAME_(__LINE__)).value();                             \
    })

// TRY_CTX(expr, context...): like TRY but adds a layer of context (fmt-formatted) on failure.
#define TRY_CTX(expr, ...)                                                                        \
    ({                                                                                            \
        auto&& VESSEL_TRY_NAME_(__LINE__) = (expr);                                               \
        if (!VESSEL_TRY_NAME_(__LINE__))                                                          \
            return std::unexpected(                                                               \
                std::move(VESSEL_TRY_NAME_(__LINE__).error().context(fmt::format(__VA_ARGS__)))); \
        std::move(VESSEL_TRY_NAME_(__LINE__)).value();                                            \
    })
