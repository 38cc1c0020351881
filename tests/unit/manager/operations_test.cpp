#include "manager/operations.h"

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace vessel::manager {
namespace {

using namespace std::chrono_literals;

class OperationsTest : public testing::TempDirTest {
  protected:
    void SetUp() override {
        TempDirTest::SetUp();
        auto opened = Store::open(path("vessel.db"));
        ASSERT_TRUE(opened) << opened.error().message();
        store_ = std::move(*opened);
    }

    std::unique_ptr<Store> store_;
    EventBus events_;
};

TEST_F(OperationsTest, AFinishedOperationLeavesMemoryAfterItsRetentionAndIsStillFound) {
    Operations operations(*store_, events_, 0ms);
    auto failed = operations.start("stop", "c1", [] -> Result<> { return fail("no such thing"); });
    ASSERT_TRUE(operations.wait(failed.id, 10s));
    EXPECT_EQ(operations.retained(), 1u);

    // The next start reaps every finished record older than the retention (here, all of them).
    auto running_gate = std::make_shared<std::atomic<bool>>(false);
    auto running = operations.start("start", "c2", [running_gate] -> Result<> {
        while (!running_gate->load())
            std::this_thread::sleep_for(1ms);
        return {};
    });
    EXPECT_EQ(operations.retained(), 1u) << "only the running operation stays in memory";

    // From the database now, with its fate intact, for find and for a waiter alike.
    auto found = operations.find(failed.id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->status, OperationStatus::failure);
    EXPECT_EQ(found->error, "no such thing");
    auto waited = operations.wait(failed.id, 10s);
    ASSERT_TRUE(waited);
    EXPECT_EQ(waited->status, OperationStatus::failure);

    // A running operation is never reaped, however old.
    auto third = operations.start("stop", "c3", [] -> Result<> { return {}; });
    ASSERT_TRUE(operations.wait(third.id, 10s));
    EXPECT_EQ(operations.find(running.id)->status, OperationStatus::running);
    running_gate->store(true);
    auto done = operations.wait(running.id, 10s);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, OperationStatus::success);
    EXPECT_EQ(operations.counts().running, 0u);
}

TEST_F(OperationsTest, ARecentlyFinishedOperationStaysInMemoryForItsWaiters) {
    Operations operations(*store_, events_, 1h);
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        auto record = operations.start("start", "c1", [] -> Result<> { return {}; });
        ASSERT_TRUE(operations.wait(record.id, 10s));
        ids.push_back(record.id);
    }
    EXPECT_EQ(operations.retained(), 3u);
    for (const auto& id : ids)
        EXPECT_EQ(operations.find(id)->status, OperationStatus::success);
}

}  // namespace
}  // namespace vessel::manager
