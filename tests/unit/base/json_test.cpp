#include "base/json.h"

#include <gtest/gtest.h>

namespace vessel {
namespace {

TEST(Json, ParseErrorNamesSourceAndOffset) {
    auto parsed = parse_json("{\"a\": }", "config.json");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().message(), "config.json: invalid JSON at byte 7");
}

TEST(Json, PathsJoinKeysAndIndexes) {
    EXPECT_EQ(json_path("", "process"), "process");
    EXPECT_EQ(json_path("process", "args"), "process.args");
    EXPECT_EQ(json_path("process.args", size_t{2}), "process.args[2]");
}

TEST(Json, TypedGettersNameThePath) {
    Json document = Json::parse(R"({"process": {"args": ["sh", 3], "user": {"uid": -1}}})");
    JsonAt root(document, "");
    auto process = root.child("process").value();
    auto args = process.child("args").value().string_array();
    ASSERT_FALSE(args);
    EXPECT_EQ(args.error().message(), "process.args[1]: must be a string");
    auto uid = process.child("user").value().optional_unsigned("uid");
    ASSERT_FALSE(uid);
    EXPECT_EQ(uid.error().message(), "process.user.uid: must be an unsigned integer");
    auto missing = process.child("cwd");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message(), "process.cwd: is required");
}

TEST(Json, OptionalGettersTreatNullAsAbsent) {
    Json document = Json::parse(R"({"hostname": null, "n": 5, "flag": true})");
    JsonAt root(document, "");
    EXPECT_FALSE(root.optional_string("hostname").value().has_value());
    EXPECT_EQ(root.optional_integer("n").value().value(), 5);
    EXPECT_EQ(root.optional_boolean("flag").value().value(), true);
    EXPECT_TRUE(root.optional_string_array("env").value().empty());
    EXPECT_FALSE(root.optional_string("n"));
}

// nlohmann reports a number no double can hold by throwing out_of_range, which used to escape
// parse_json and abort vessel-runc; it is an error naming the value's path now.
TEST(Json, NumbersTooLargeForAnyTypeNameTheirPath) {
    auto exponent = parse_json(R"({"process": {"user": {"uid": 1e999, "gid": 0}}})", "config.json");
    ASSERT_FALSE(exponent);
    EXPECT_EQ(exponent.error().message(),
              "config.json: process.user.uid: number 1e999 is out of range");
    std::string digits(5000, '7');
    auto long_integer = parse_json(R"({"a": [1, {"b": [)" + digits + "]}]}", "vm.json");
    ASSERT_FALSE(long_integer);
    EXPECT_EQ(long_integer.error().message(),
              "vm.json: a[1].b[0]: number 77777777777777777777... is out of range");
    auto top_level = parse_json("-1e400", "body");
    ASSERT_FALSE(top_level);
    EXPECT_EQ(top_level.error().message(), "body: number -1e400 is out of range");
}

TEST(Json, IntegersAreRangeCheckedIntoTheirTargetType) {
    Json document = Json::parse(
        R"({"uid": 4294967296, "ok": 4294967295, "neg": -1, "big": 18446744073709551615,
            "float": 1.5, "small": -129})");
    JsonAt root(document, "cfg");
    auto uid = root.optional_integer_in<uint32_t>("uid");
    ASSERT_FALSE(uid);
    EXPECT_EQ(uid.error().message(), "cfg.uid: must be an integer from 0 to 4294967295");
    EXPECT_EQ(root.optional_integer_in<uint32_t>("ok").value().value(), 4294967295u);
    EXPECT_FALSE(root.optional_integer_in<uint32_t>("neg"));
    EXPECT_EQ(root.optional_integer_in<int>("neg").value().value(), -1);
    EXPECT_FALSE(root.optional_integer_in<int64_t>("big"));
    EXPECT_EQ(root.optional_integer_in<uint64_t>("big").value().value(), UINT64_MAX);
    EXPECT_FALSE(root.optional_integer_in<int>("float"));
    auto small = root.optional_integer_in<int8_t>("small");
    ASSERT_FALSE(small);
    EXPECT_EQ(small.error().message(), "cfg.small: must be an integer from -128 to 127");
    EXPECT_FALSE(root.optional_integer_in<int>("absent").value().has_value());
}

}  // namespace
}  // namespace vessel
