// virtio-console's one port: what the guest transmits reaches the host output whole, host input
// waits for receive buffers and fills them in order, and the input buffer is bounded.
#include <mutex>

#include "virtio_driver.h"
#include "vm/devices/virtio/console.h"

namespace vessel::vm::virtio {
namespace {

using testing::TestDriver;

class ConsoleTest : public ::testing::Test {
  protected:
    void SetUp() override {
        console_ = ConsoleDevice::create([this](std::span<const uint8_t> bytes) {
                       std::lock_guard lock(mutex_);
                       output_.append(bytes.begin(), bytes.end());
                   }).value();
        harness_.attach(*console_);
        harness_.bring_up({&receive_, &transmit_});
    }
    std::string output() {
        std::lock_guard lock(mutex_);
        return output_;
    }

    GuestMemory ram_ = testing::make_ram();
    TestDriver receive_{ram_, 8, 0};
    TestDriver transmit_{ram_, 8, 1};
    std::unique_ptr<ConsoleDevice> console_;
    testing::TransportHarness harness_{ram_};
    std::mutex mutex_;
    std::string output_;
    static constexpr uint64_t kOut = TestDriver::kBuffers, kIn = TestDriver::kBuffers + 0x1000;
};

TEST_F(ConsoleTest, TransmittedBytesReachTheHost) {
    std::string text = "hello from hvc0\n";
    ASSERT_TRUE(ram_.write(kOut, std::span(reinterpret_cast<const uint8_t*>(text.data()), 10)));
    ASSERT_TRUE(
        ram_.write(kOut + 0x100, std::span(reinterpret_cast<const uint8_t*>(text.data()) + 10, 6)));
    transmit_.set_descriptor(0, {kOut, 10, descriptor::next, 1});
    transmit_.set_descriptor(1, {kOut + 0x100, 6, 0, 0});
    transmit_.make_available(0);
    harness_.notify(1);
    ASSERT_TRUE(transmit_.wait_used(1));
    EXPECT_EQ(output(), text);
}

TEST_F(ConsoleTest, InputWaitsForReceiveBuffersAndFillsThemInOrder) {
    std::string typed = "ls -l\n";
    EXPECT_EQ(
        console_->receive(std::span(reinterpret_cast<const uint8_t*>(typed.data()), typed.size())),
        typed.size());
    // No buffer yet: nothing is used.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(receive_.used_index(), 0);
    receive_.set_descriptor(0, {kIn, 4, descriptor::write, 0});
    receive_.set_descriptor(1, {kIn + 0x10, 64, descriptor::write, 0});
    receive_.make_available(0);
    receive_.make_available(1);
    harness_.notify(0);
    ASSERT_TRUE(receive_.wait_used(2));
    EXPECT_EQ(receive_.used_element(0), std::make_pair(0u, 4u));
    EXPECT_EQ(receive_.used_element(1), std::make_pair(1u, 2u));
    char first[4], second[2];
    ASSERT_TRUE(ram_.read(kIn, std::span(reinterpret_cast<uint8_t*>(first), 4)));
    ASSERT_TRUE(ram_.read(kIn + 0x10, std::span(reinterpret_cast<uint8_t*>(second), 2)));
    EXPECT_EQ(std::string(first, 4) + std::string(second, 2), typed);
}

TEST_F(ConsoleTest, InputArrivingAfterTheBuffersIsDeliveredAtOnce) {
    receive_.set_descriptor(0, {kIn, 64, descriptor::write, 0});
    receive_.make_available(0);
    harness_.notify(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::string typed = "late\n";
    EXPECT_EQ(console_->receive(std::span(reinterpret_cast<const uint8_t*>(typed.data()),
                                          typed.size())),
              typed.size());
    ASSERT_TRUE(receive_.wait_used(1));
    EXPECT_EQ(receive_.used_element(0), std::make_pair(0u, 5u));
}

TEST_F(ConsoleTest, InputBeyondTheBufferIsLeftToTheCaller) {
    std::vector<uint8_t> flood(ConsoleDevice::kInputBuffer + 100, 'x');
    EXPECT_EQ(console_->receive(flood), ConsoleDevice::kInputBuffer);
    EXPECT_EQ(console_->receive(flood), 0u);
}

}  // namespace
}  // namespace vessel::vm::virtio
