#include "base/error.h"

#include <gtest/gtest.h>

namespace vessel {
namespace {

Result<int> parse_positive(int value) {
    if (value <= 0) return fail("{} is not positive", value);
    return value;
}

Result<int> doubled(int value) {
    int checked = TRY(parse_positive(value));
    return checked * 2;
}

Result<int> doubled_with_context(int value) {
    int checked = TRY_CTX(parse_positive(value), "field {}", "count");
    return checked * 2;
}

Result<> void_step(bool ok) {
    if (!ok) return fail_errno(ENOENT, "open thing");
    return {};
}

Result<int> uses_void(bool ok) {
    TRY(void_step(ok));
    return 1;
}

TEST(Error, MessageJoinsContextOutsideIn) {
    Error error("must not be empty");
    error.context("process.args").context("config.json");
    EXPECT_EQ(error.message(), "config.json: process.args: must not be empty");
    EXPECT_EQ(error.innermost(), "must not be empty");
    EXPECT_EQ(error.code(), 0);
}

TEST(Error, ErrnoTextComesLast) {
    Error error("open /x", ENOENT);
    error.context("loading");
    EXPECT_EQ(error.message(), "loading: open /x: No such file or directory");
    EXPECT_EQ(error.code(), ENOENT);
}

TEST(Try, PassesValuesAndPropagatesErrors) {
    EXPECT_EQ(doubled(4).value(), 8);
    auto failed = doubled(-1);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().message(), "-1 is not positive");
}

TEST(Try, ContextIsAddedOnFailureOnly) {
    EXPECT_EQ(doubled_with_context(3).value(), 6);
    EXPECT_EQ(doubled_with_context(0).error().message(), "field count: 0 is not positive");
}

TEST(Try, WorksOnVoidResults) {
    EXPECT_EQ(uses_void(true).value(), 1);
    EXPECT_EQ(uses_void(false).error().code(), ENOENT);
}

TEST(Error, WithContextWrapsOnlyFailures) {
    EXPECT_EQ(with_context(parse_positive(1), "outer").value(), 1);
    EXPECT_EQ(with_context(parse_positive(0), "outer").error().message(),
              "outer: 0 is not positive");
}

}  // namespace
}  // namespace vessel
