#include "cli/output.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace vessel::cli {
namespace {

TEST(CliOutput, FormatsAreTheFourNamed) {
    EXPECT_EQ(format_named("table"), Format::table);
    EXPECT_EQ(format_named("json"), Format::json);
    EXPECT_EQ(format_named("yaml"), Format::yaml);
    EXPECT_EQ(format_named("csv"), Format::csv);
    EXPECT_EQ(format_named("xml"), std::nullopt);
    EXPECT_EQ(format_names.size(), 4u);
}

TEST(CliOutput, CsvQuotesWhatWouldSplitAField) {
    EXPECT_EQ(csv_text({"NAME", "IPV4"}, {{"c1", "10.0.0.2, 10.0.0.3"}, {"say \"hi\"", ""}}),
              "NAME,IPV4\r\n"
              "c1,\"10.0.0.2, 10.0.0.3\"\r\n"
              "\"say \"\"hi\"\"\",\r\n");
    EXPECT_EQ(csv_text({"A"}, {{"line\nbreak"}}), "A\r\n\"line\nbreak\"\r\n");
}

TEST(CliOutput, YamlReadsBackAsTheSameValues) {
    Json listing = Json::array({{{"name", "c1"},
                                 {"status", "running"},
                                 {"snapshots", 2},
                                 {"ipv4", Json::array({"10.0.0.2"})},
                                 {"config", {{"limits.memory", "64MiB"}, {"user.flag", "true"}}},
                                 {"last_exit", nullptr},
                                 {"frozen", false}}});
    auto text = yaml_text(listing);
    auto back = YAML::Load(text);
    ASSERT_TRUE(back.IsSequence()) << text;
    EXPECT_EQ(back[0]["name"].as<std::string>(), "c1");
    EXPECT_EQ(back[0]["snapshots"].as<int>(), 2);
    EXPECT_EQ(back[0]["ipv4"][0].as<std::string>(), "10.0.0.2");
    EXPECT_TRUE(back[0]["last_exit"].IsNull());
    EXPECT_FALSE(back[0]["frozen"].as<bool>());
    // A string that reads as a boolean stays a string: quoted.
    EXPECT_NE(text.find("\"true\""), std::string::npos) << text;
    EXPECT_EQ(back[0]["config"]["user.flag"].Tag(), "!");
}

}  // namespace
}  // namespace vessel::cli
