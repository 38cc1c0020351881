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

}  // namespace
}  // namespace vessel
