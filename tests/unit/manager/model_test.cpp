// The instance model's words (src/manager/instance/model.h): one spelling each, shared by the
// wire, the database and the logs, and the only way in from text.
#include "manager/instance/model.h"

#include <gtest/gtest.h>

namespace vessel::manager {
namespace {

TEST(InstanceModel, EveryWordReadsBackAsItself) {
    for (auto kind : {InstanceKind::container, InstanceKind::vm})
        EXPECT_EQ(instance_kind_named(name_of(kind)), kind);
    for (auto state : {InstanceState::creating, InstanceState::stopped, InstanceState::running,
                       InstanceState::frozen, InstanceState::deleting})
        EXPECT_EQ(instance_state_named(name_of(state)), state);
    for (auto status :
         {OperationStatus::running, OperationStatus::success, OperationStatus::failure})
        EXPECT_EQ(operation_status_named(name_of(status)), status);
}

TEST(InstanceModel, NoOtherSpellingReads) {
    EXPECT_EQ(name_of(InstanceKind::vm), "vm");
    EXPECT_EQ(name_of(InstanceState::frozen), "frozen");
    EXPECT_EQ(name_of(OperationStatus::failure), "failure");
    for (const char* word : {"", "VM", "virtual-machine", "container ", "Running", "paused"}) {
        EXPECT_FALSE(instance_kind_named(word)) << word;
        EXPECT_FALSE(instance_state_named(word)) << word;
        EXPECT_FALSE(operation_status_named(word)) << word;
    }
}

TEST(InstanceModel, FormattingWritesTheWord) {
    EXPECT_EQ(fmt::format("{} {} {}", InstanceKind::container, InstanceState::deleting,
                          OperationStatus::success),
              "container deleting success");
    EXPECT_EQ(fmt::format("[{:>5}]", InstanceKind::vm), "[   vm]");
}

}  // namespace
}  // namespace vessel::manager
