#include "container/linux/capabilities.h"

#include <linux/capability.h>

#include <gtest/gtest.h>

namespace vessel::container {
namespace {

constexpr CapabilityMask bit(int capability) {
    return CapabilityMask{1} << capability;
}

// Parses `text` as the value of process.capabilities with a kernel whose last capability is `last`.
Result<CapabilitySets> parse(const std::string& text, int last = CAP_LAST_CAP) {
    Json document = Json::parse(text);
    return parse_capabilities(JsonAt(document, "process.capabilities"), last);
}

TEST(CapabilityNames, RoundTripEveryKnownCapability) {
    for (int cap = 0; cap <= known_last_capability(); ++cap) {
        auto name = capability_name(cap);
        ASSERT_TRUE(name.has_value()) << cap;
        EXPECT_TRUE(name->starts_with("CAP_")) << *name;
        EXPECT_EQ(capability_from_name(*name), cap) << *name;
    }
    EXPECT_EQ(capability_name(CAP_NET_ADMIN), "CAP_NET_ADMIN");
    EXPECT_EQ(capability_name(CAP_SYS_RESOURCE), "CAP_SYS_RESOURCE");
    EXPECT_EQ(capability_name(CAP_CHECKPOINT_RESTORE), "CAP_CHECKPOINT_RESTORE");
    EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
}

TEST(CapabilityNames, RejectUnknownNumbersAndSpellings) {
    EXPECT_FALSE(capability_name(-1));
    EXPECT_FALSE(capability_name(known_last_capability() + 1));
    EXPECT_FALSE(capability_from_name("CAP_FOO"));
    EXPECT_FALSE(capability_from_name("NET_ADMIN"));      // OCI names carry the prefix
    EXPECT_FALSE(capability_from_name("cap_net_admin"));  // and are upper case
    EXPECT_FALSE(capability_from_name(""));
}

TEST(KernelLastCapability, MatchesProc) {
    auto last = kernel_last_capability();
    ASSERT_TRUE(last) << last.error().message();
    EXPECT_GE(*last, CAP_AUDIT_READ);  // every supported kernel has at least 37
}

TEST(ParseCapabilities, AllFiveSets) {
    auto sets = parse(R"({
        "bounding": ["CAP_NET_ADMIN", "CAP_KILL", "CAP_CHOWN"],
        "effective": ["CAP_KILL"],
        "permitted": ["CAP_KILL", "CAP_CHOWN"],
        "inheritable": ["CAP_CHOWN"],
        "ambient": ["CAP_CHOWN"]})");
    ASSERT_TRUE(sets) << sets.error().message();
    EXPECT_EQ(sets->bounding, bit(CAP_NET_ADMIN) | bit(CAP_KILL) | bit(CAP_CHOWN));
    EXPECT_EQ(sets->effective, bit(CAP_KILL));
    EXPECT_EQ(sets->permitted, bit(CAP_KILL) | bit(CAP_CHOWN));
    EXPECT_EQ(sets->inheritable, bit(CAP_CHOWN));
    EXPECT_EQ(sets->ambient, bit(CAP_CHOWN));
}

TEST(ParseCapabilities, AbsentAndNullSetsAreEmpty) {
    auto sets = parse(R"({"bounding": null})");
    ASSERT_TRUE(sets) << sets.error().message();
    EXPECT_EQ(*sets, CapabilitySets{});
}

TEST(ParseCapabilities, HighCapabilitiesUseTheUpperWord) {
    auto sets = parse(R"({"bounding": ["CAP_CHECKPOINT_RESTORE", "CAP_BPF"]})");
    ASSERT_TRUE(sets) << sets.error().message();
    EXPECT_EQ(sets->bounding, bit(40) | bit(39));
}

TEST(ParseCapabilities, UnknownNameNamesTheEntry) {
    auto sets = parse(R"({"bounding": ["CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW", "CAP_FOO"]})");
    ASSERT_FALSE(sets);
    EXPECT_EQ(sets.error().message(),
              "process.capabilities.bounding[3]: unknown capability \"CAP_FOO\"");
}

TEST(ParseCapabilities, CapabilityAboveTheKernelsLastIsAnError) {
    auto sets = parse(R"({"permitted": ["CAP_KILL"], "effective": ["CAP_BPF"]})", 38);
    ASSERT_FALSE(sets);
    EXPECT_EQ(sets.error().message(),
              "process.capabilities.effective[0]: CAP_BPF is not supported by the running kernel "
              "(its last capability is 38)");
}

TEST(ParseCapabilities, WrongTypesNameThePath) {
    auto not_object = parse(R"(["CAP_KILL"])");
    ASSERT_FALSE(not_object);
    EXPECT_EQ(not_object.error().message(), "process.capabilities: must be an object");

    auto not_array = parse(R"({"ambient": "CAP_KILL"})");
    ASSERT_FALSE(not_array);
    EXPECT_EQ(not_array.error().message(), "process.capabilities.ambient: must be an array");

    auto not_string = parse(R"({"inheritable": ["CAP_KILL", 5]})");
    ASSERT_FALSE(not_string);
    EXPECT_EQ(not_string.error().message(),
              "process.capabilities.inheritable[1]: must be a string");
}

TEST(ParseCapabilities, EffectiveMustBePermitted) {
    auto sets = parse(R"({"effective": ["CAP_KILL", "CAP_NET_RAW"], "permitted": ["CAP_KILL"]})");
    ASSERT_FALSE(sets);
    EXPECT_EQ(sets.error().message(),
              "process.capabilities.effective: CAP_NET_RAW is not in the permitted set (effective "
              "capabilities must also be permitted)");
}

TEST(ParseCapabilities, AmbientMustBePermittedAndInheritable) {
    auto sets = parse(R"({"permitted": ["CAP_KILL"], "ambient": ["CAP_KILL"]})");
    ASSERT_FALSE(sets);
    EXPECT_EQ(sets.error().message(),
              "process.capabilities.ambient: CAP_KILL must also be in the permitted and "
              "inheritable sets to be ambient");
}

TEST(ParseCapabilities, ReadsTheKernelsLastCapabilityItself) {
    Json document = Json::parse(R"({"bounding": ["CAP_CHOWN"]})");
    auto sets = parse_capabilities(JsonAt(document, "process.capabilities"));
    ASSERT_TRUE(sets) << sets.error().message();
    EXPECT_EQ(sets->bounding, bit(CAP_CHOWN));
}

TEST(DefaultCapabilities, MatchRuncSpec) {
    Json defaults = default_capabilities_json();
    const Json expected_names =
        Json::array({"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"});
    EXPECT_EQ(defaults["bounding"], expected_names);
    EXPECT_EQ(defaults["effective"], expected_names);
    EXPECT_EQ(defaults["permitted"], expected_names);
    EXPECT_EQ(defaults["inheritable"], Json::array());
    EXPECT_EQ(defaults["ambient"], Json::array());

    auto sets = parse_capabilities(JsonAt(defaults, "process.capabilities"), CAP_LAST_CAP);
    ASSERT_TRUE(sets) << sets.error().message();
    const CapabilityMask mask = bit(CAP_AUDIT_WRITE) | bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE);
    EXPECT_EQ(*sets, (CapabilitySets{.bounding = mask, .effective = mask, .permitted = mask}));
}

TEST(CapabilitiesToJson, IsTheInverseOfParsing) {
    CapabilitySets sets{.bounding = bit(CAP_SYS_ADMIN) | bit(CAP_BPF) | bit(CAP_CHOWN),
                        .effective = bit(CAP_CHOWN),
                        .permitted = bit(CAP_CHOWN) | bit(CAP_BPF),
                        .inheritable = bit(CAP_BPF),
                        .ambient = bit(CAP_BPF)};
    Json json = capabilities_to_json(sets);
    auto parsed = parse_capabilities(JsonAt(json, "process.capabilities"), CAP_LAST_CAP);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(*parsed, sets);
}

TEST(CurrentCapabilities, ReadsThisThreadsSets) {
    auto sets = current_capabilities();
    ASSERT_TRUE(sets) << sets.error().message();
    // The bounding set is never empty for a test process, and effective is within permitted.
    EXPECT_NE(sets->bounding, 0u);
    EXPECT_EQ(sets->effective & ~sets->permitted, 0u);
}

}  // namespace
}  // namespace vessel::container
