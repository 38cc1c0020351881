#include <gtest/gtest.h>

#include <random>

#include "manager/api/base64.h"
#include "manager/api/server.h"
#include "manager/json_text.h"

namespace vessel::manager {
namespace {

TEST(Base64, RoundTripsEveryByteAndEveryPaddingLength) {
    std::string all;
    for (int byte = 0; byte < 256; ++byte)
        all += static_cast<char>(byte);
    std::mt19937 random(42);
    for (size_t length = 0; length < 300; ++length) {
        std::string bytes;
        for (size_t i = 0; i < length; ++i)
            bytes += all[random() % 256];
        auto decoded = base64_decode(base64_encode(bytes));
        ASSERT_TRUE(decoded) << decoded.error().message();
        ASSERT_EQ(*decoded, bytes) << length;
    }
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("f"), "Zg==");
}

TEST(Base64, RefusesWhatIsNotBase64) {
    for (const char* bad : {"Zm9", "Zm9v!mFy", "Zg=a", "=Zg=", "Z===", "Zm9vYmFy\n"})
        EXPECT_FALSE(base64_decode(bad)) << bad;
    EXPECT_EQ(base64_decode("").value(), "");
}

TEST(JsonText, InvalidUtf8IsReplacedForDisplay) {
    Json message = {{"error", std::string("bad \xff\xfe name")}};
    std::string text;
    ASSERT_NO_THROW(text = dump_json(message));
    auto parsed = parse_json(text, "dumped");
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ((*parsed)["error"], "bad \xEF\xBF\xBD\xEF\xBF\xBD name");
}

TEST(JsonText, ExactDumpNamesTheStringThatIsNotUtf8) {
    Json body = {{"command", {"echo", std::string("\xc3\x28")}}};
    auto dumped = dump_json_exact(body, "request body");
    ASSERT_FALSE(dumped);
    EXPECT_EQ(dumped.error().message(), "request body: command[1]: not valid UTF-8");
    EXPECT_EQ(dump_json_exact(Json{{"a", "h\xc3\xa9"}}, "x").value(), "{\"a\":\"h\xc3\xa9\"}");
}

TEST(JsonText, Utf8Validation) {
    EXPECT_TRUE(is_valid_utf8("plain"));
    EXPECT_TRUE(is_valid_utf8("\xe2\x82\xac \xf0\x9f\x98\x80"));
    EXPECT_FALSE(is_valid_utf8("\x80"));
    EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // a UTF-16 surrogate
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
}

// Error messages carry program output and file names; their bytes must not make the error answer
// fail in turn (it threw, and the API answered 500 without the message).
TEST(JsonText, AnErrorAnswerSurvivesBytesThatAreNotUtf8) {
    http::Response response;
    ASSERT_NO_THROW(response = http::error_response(400, "entry \xff\xfe-dev: device nodes"));
    EXPECT_EQ(response.status, 400);
    auto body = parse_json(response.body, "error body");
    ASSERT_TRUE(body) << body.error().message();
    EXPECT_NE((*body)["error"].get<std::string>().find("-dev: device nodes"), std::string::npos);
}

}  // namespace
}  // namespace vessel::manager
