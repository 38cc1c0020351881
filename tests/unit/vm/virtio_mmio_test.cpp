// The virtio-mmio transport driven the way Linux's virtio_mmio driver drives it, and the way a
// hostile one might: identification, feature negotiation, queue set-up, notifications, interrupts,
// DEVICE_NEEDS_RESET and reset. The device behind it is virtio-rng.
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "virtio_driver.h"
#include "vm/devices/virtio/rng.h"

namespace vessel::vm::virtio {
namespace {

using testing::DescriptorSpec;
using testing::Line;
using testing::TestDriver;
namespace reg = mmio;

class MmioTransportTest : public ::testing::Test {
  protected:
    void SetUp() override { harness_.attach(rng_); }

    uint32_t get(uint64_t offset) { return harness_.get(offset); }
    void set(uint64_t offset, uint32_t value) { harness_.set(offset, value); }
    void negotiate(uint64_t features) { harness_.negotiate(features); }
    void set_up_queue(const QueueLayout& layout) { harness_.set_up_queue(0, layout); }
    void driver_ok() { harness_.driver_ok(); }
    MmioTransport& transport() { return harness_.transport(); }

    GuestMemory ram_ = testing::make_ram();
    TestDriver driver_{ram_, 8};
    RngDevice rng_;
    testing::TransportHarness harness_{ram_};
    Line& line_ = harness_.line;
};

TEST_F(MmioTransportTest, IdentifiesItselfAsVersion2) {
    EXPECT_EQ(get(reg::magic), 0x74726976u);
    EXPECT_EQ(get(reg::version_register), 2u);
    EXPECT_EQ(get(reg::device_id), 4u);
    set(reg::device_features_sel, 1);
    EXPECT_EQ(get(reg::device_features), 1u);  // VERSION_1
    set(reg::device_features_sel, 0);
    EXPECT_EQ(get(reg::device_features), (1u << 28) | (1u << 29));  // INDIRECT_DESC, EVENT_IDX
    EXPECT_EQ(get(reg::queue_num_max), 256u);
    set(reg::queue_sel, 1);
    EXPECT_EQ(get(reg::queue_num_max), 0u);  // no such queue
    EXPECT_EQ(get(reg::shm_len_low), 0xffffffffu);
    EXPECT_EQ(transport().read(reg::magic, 2), 0u);  // control registers are 32-bit only
}

TEST_F(MmioTransportTest, FeaturesItDoesNotOfferOrALegacyDriverAreRefused) {
    negotiate(feature::version_1 | (1ull << 5));
    EXPECT_FALSE(get(reg::status_register) & status::features_ok);
    negotiate(feature::ring_event_idx);  // no VERSION_1: a legacy driver
    EXPECT_FALSE(get(reg::status_register) & status::features_ok);
    negotiate(feature::version_1 | feature::ring_event_idx);
    EXPECT_TRUE(get(reg::status_register) & status::features_ok);
    // DRIVER_OK without FEATURES_OK does not start the device.
    negotiate(feature::ring_event_idx);
    driver_ok();
    EXPECT_FALSE(get(reg::status_register) & status::driver_ok);
}

TEST_F(MmioTransportTest, ServesEntropyAndInterrupts) {
    negotiate(feature::version_1);
    set_up_queue(driver_.layout());
    driver_ok();
    driver_.set_descriptor(0, {TestDriver::kBuffers, 64, descriptor::write, 0});
    driver_.make_available(0);
    set(reg::queue_notify, 0);
    ASSERT_TRUE(testing::wait_until([&] { return driver_.used_index() == 1; }));
    EXPECT_EQ(driver_.used_element(0), std::make_pair(0u, 64u));
    std::vector<uint8_t> bytes(64);
    ASSERT_TRUE(ram_.read(TestDriver::kBuffers, bytes));
    EXPECT_NE(bytes, std::vector<uint8_t>(64, 0));
    ASSERT_TRUE(testing::wait_until([&] { return line_.level.load(); }));
    EXPECT_EQ(get(reg::interrupt_status), reg::interrupt_used_buffer);
    set(reg::interrupt_ack, reg::interrupt_used_buffer);
    EXPECT_EQ(get(reg::interrupt_status), 0u);
    EXPECT_FALSE(line_.level);
}

TEST_F(MmioTransportTest, NotificationsBeforeDriverOkAreDropped) {
    negotiate(feature::version_1);
    set_up_queue(driver_.layout());
    driver_.set_descriptor(0, {TestDriver::kBuffers, 64, descriptor::write, 0});
    driver_.make_available(0);
    set(reg::queue_notify, 0);
    set(reg::queue_notify, 7);  // no such queue: ignored at any time
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(driver_.used_index(), 0);
    // DRIVER_OK then serves what was already made available.
    driver_ok();
    ASSERT_TRUE(testing::wait_until([&] { return driver_.used_index() == 1; }));
}

TEST_F(MmioTransportTest, ABadQueueLayoutNeedsAReset) {
    negotiate(feature::version_1);
    auto layout = driver_.layout();
    layout.size = 3;
    set_up_queue(layout);
    EXPECT_FALSE(get(reg::queue_ready));
    EXPECT_TRUE(get(reg::status_register) & status::device_needs_reset);
    // A reset clears it, and a good layout then works.
    negotiate(feature::version_1);
    EXPECT_FALSE(get(reg::status_register) & status::device_needs_reset);
    set_up_queue(driver_.layout());
    EXPECT_TRUE(get(reg::queue_ready));
}

TEST_F(MmioTransportTest, AHostileRingNeedsAResetAndTheDeviceRecovers) {
    negotiate(feature::version_1);
    set_up_queue(driver_.layout());
    driver_ok();
    driver_.set_descriptor(0, {TestDriver::kBuffers, 8, descriptor::next | descriptor::write, 0});
    driver_.make_available(0);
    set(reg::queue_notify, 0);
    ASSERT_TRUE(testing::wait_until(
        [&] { return get(reg::status_register) & status::device_needs_reset; }));
    EXPECT_TRUE(get(reg::interrupt_status) & reg::interrupt_config_change);
    EXPECT_EQ(driver_.used_index(), 0);
    // Reset, fresh rings, and it serves again.
    set(reg::status_register, 0);
    EXPECT_EQ(get(reg::status_register), 0u);
    EXPECT_EQ(get(reg::interrupt_status), 0u);
    driver_.clear_rings();
    negotiate(feature::version_1);
    set_up_queue(driver_.layout());
    driver_ok();
    driver_.set_descriptor(0, {TestDriver::kBuffers, 8, descriptor::write, 0});
    driver_.make_available(0);
    set(reg::queue_notify, 0);
    ASSERT_TRUE(testing::wait_until([&] { return driver_.used_index() == 1; }));
}

TEST_F(MmioTransportTest, TheLayoutCannotChangeUnderARunningQueue) {
    negotiate(feature::version_1);
    set_up_queue(driver_.layout());
    set(reg::queue_num, 2);
    set(reg::queue_desc_low, 0);
    driver_ok();
    driver_.set_descriptor(0, {TestDriver::kBuffers, 8, descriptor::write, 0});
    driver_.make_available(0);
    set(reg::queue_notify, 0);
    ASSERT_TRUE(testing::wait_until([&] { return driver_.used_index() == 1; }));
}

TEST_F(MmioTransportTest, AGuestThatNeverStopsRefillingCannotHoldTheIoThread) {
    negotiate(feature::version_1);
    set_up_queue(driver_.layout());
    driver_ok();
    driver_.set_descriptor(0, {TestDriver::kBuffers, 1, descriptor::write, 0});
    // A second watch on the same loop: it must still get its turn while the guest floods.
    auto other = EventFd::create().value();
    std::atomic<int> other_runs{0};
    auto token = harness_.loop()
                     .watch(other.fd(), EPOLLIN, [&](uint32_t) { other.drain(), ++other_runs; })
                     .value();
    std::atomic<bool> flooding{true};
    std::thread guest([&] {
        while (flooding) {
            // Keep one buffer available whenever the device has taken the last.
            if (driver_.available_index() == driver_.used_index()) driver_.make_available(0);
        }
    });
    set(reg::queue_notify, 0);
    other.signal();
    bool served = testing::wait_until([&] { return other_runs > 0; });
    flooding = false;
    guest.join();
    harness_.loop().unwatch(token);
    EXPECT_TRUE(served);
}

}  // namespace
}  // namespace vessel::vm::virtio
