#include <gtest/gtest.h>
#include <signal.h>

#include "container/runtime/signals.h"
#include "container/runtime/state.h"

namespace vessel::container::runtime {
namespace {

TEST(Signals, NamesAndNumbers) {
    EXPECT_EQ(*parse_signal("KILL"), SIGKILL);
    EXPECT_EQ(*parse_signal("SIGKILL"), SIGKILL);
    EXPECT_EQ(*parse_signal("term"), SIGTERM);
    EXPECT_EQ(*parse_signal("9"), 9);
    EXPECT_EQ(*parse_signal("RTMIN+1"), SIGRTMIN + 1);
    EXPECT_EQ(parse_signal("BOGUS").error().message(), "unknown signal \"BOGUS\"");
    EXPECT_FALSE(parse_signal("0"));
    EXPECT_FALSE(parse_signal("999"));
}

TEST(ContainerId, Validation) {
    EXPECT_TRUE(validate_id("abc-1_2.x"));
    EXPECT_FALSE(validate_id(""));
    EXPECT_FALSE(validate_id(".."));
    EXPECT_EQ(validate_id("a/b").error().message(),
              "invalid container id \"a/b\": use letters, digits, '_', '-' and '.'");
}

TEST(ProcessStartTime, OwnProcessIsAliveAndStable) {
    uint64_t first = process_start_time(::getpid());
    EXPECT_NE(first, 0u);
    EXPECT_EQ(first, process_start_time(::getpid()));
    EXPECT_EQ(process_start_time(0x3fffffff), 0u);
}

TEST(StateJson, RoundTrip) {
    ContainerState state;
    state.id = "x";
    state.pid = 42;
    state.start_time = 7;
    state.bundle = "/b";
    state.rootfs = "/b/rootfs";
    state.cgroup_path = "/vessel/x";
    state.cgroup_created = {"/sys/fs/cgroup/pids/vessel/x"};
    state.annotations = {{"k", "v"}};
    auto back = ContainerState::from_json(state.to_json());
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->pid, 42);
    EXPECT_EQ(back->cgroup_created, state.cgroup_created);
    Json oci = back->oci_state(Status::running);
    EXPECT_EQ(oci["status"], "running");
    EXPECT_EQ(oci["pid"], 42);
    EXPECT_EQ(oci["annotations"]["k"], "v");
    EXPECT_FALSE(back->oci_state(Status::stopped).contains("pid"));
}

}  // namespace
}  // namespace vessel::container::runtime
