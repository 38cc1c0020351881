// The split virtqueue against well-behaved and hostile drivers: every ring a guest can write ends
// in a chain whose buffers lie in guest RAM, or in a broken queue with an error naming the rule;
// never in a crash, a hang or an access outside guest RAM.
#include <random>

#include "virtio_driver.h"

namespace vessel::vm::virtio {
namespace {

using testing::DescriptorSpec;
using testing::kRamBase;
using testing::kRamSize;
using testing::TestDriver;
namespace flag = descriptor;

class SplitQueueTest : public ::testing::Test {
  protected:
    SplitQueue make_queue(QueueFeatures features = {.indirect = true, .event_idx = true}) {
        auto queue = SplitQueue::create(ram_, driver_.layout(), 256, features);
        EXPECT_TRUE(queue) << queue.error().message();
        return std::move(*queue);
    }

    // pop() must fail with a message holding `text`, and the queue stays broken.
    void expect_broken(SplitQueue& queue, const std::string& text) {
        auto popped = queue.pop();
        ASSERT_FALSE(popped) << "a hostile ring was accepted";
        EXPECT_NE(popped.error().message().find(text), std::string::npos)
            << popped.error().message() << " (expected: " << text << ")";
        EXPECT_TRUE(queue.broken());
        EXPECT_FALSE(queue.pop());
    }

    GuestMemory ram_ = testing::make_ram();
    TestDriver driver_{ram_, 8};
    static constexpr uint64_t kBuffer = TestDriver::kBuffers;
};

TEST_F(SplitQueueTest, AChainComesOutWithItsBuffersAndGoesBackUsed) {
    auto queue = make_queue();
    driver_.set_descriptor(3, {kBuffer, 16, flag::next, 5});
    driver_.set_descriptor(5, {kBuffer + 0x100, 8, flag::next, 1});
    driver_.set_descriptor(1, {kBuffer + 0x200, 100, flag::write, 0});
    ASSERT_TRUE(ram_.write(
        kBuffer,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("0123456789abcdefXYZ"), 16)));
    driver_.make_available(3);
    auto chain = queue.pop();
    ASSERT_TRUE(chain && *chain);
    EXPECT_EQ((*chain)->head(), 3);
    EXPECT_EQ((*chain)->readable_bytes(), 24u);
    EXPECT_EQ((*chain)->writable_bytes(), 100u);
    ChainReader reader(**chain);
    char text[16];
    ASSERT_TRUE(reader.read(std::span(reinterpret_cast<uint8_t*>(text), 16)));
    EXPECT_EQ(std::string(text, 16), "0123456789abcdef");
    EXPECT_EQ(reader.remaining(), 8u);
    ChainWriter writer(**chain);
    ASSERT_TRUE(writer.write_object(uint32_t{0xabcd}));
    EXPECT_FALSE(writer.write(std::vector<uint8_t>(97)));  // only 96 left: nothing written
    EXPECT_EQ(ram_.load<uint32_t>(kBuffer + 0x200).value(), 0xabcdu);
    queue.push(3, static_cast<uint32_t>(writer.written()));
    EXPECT_EQ(driver_.used_index(), 1);
    EXPECT_EQ(driver_.used_element(0), std::make_pair(3u, 4u));
    auto none = queue.pop();
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
}

TEST_F(SplitQueueTest, IndirectTablesAreFollowed) {
    auto queue = make_queue();
    uint64_t table = kBuffer + 0x1000;
    driver_.set_descriptor(table, 0, {kBuffer, 4, flag::next, 2});
    driver_.set_descriptor(table, 2, {kBuffer + 0x10, 32, flag::write, 0});
    driver_.set_descriptor(0, {table, 48, flag::indirect, 0});
    driver_.make_available(0);
    auto chain = queue.pop();
    ASSERT_TRUE(chain && *chain) << (chain ? "" : chain.error().message());
    EXPECT_EQ((*chain)->readable_bytes(), 4u);
    EXPECT_EQ((*chain)->writable_bytes(), 32u);
}

TEST_F(SplitQueueTest, LayoutsOutsideTheRulesAreRefused) {
    auto layout = driver_.layout();
    auto refused = [&](QueueLayout bad, uint16_t max, const std::string& text) {
        auto queue = SplitQueue::create(ram_, bad, max, {});
        ASSERT_FALSE(queue);
        EXPECT_NE(queue.error().message().find(text), std::string::npos) << queue.error().message();
    };
    for (uint16_t size : {0, 3, 12, 512}) {
        auto bad = layout;
        bad.size = size;
        refused(bad, 256, "is not a power of two from 1 to 256");
    }
    auto misaligned = layout;
    misaligned.descriptors += 8;
    refused(misaligned, 256, "misaligned");
    misaligned = layout;
    misaligned.device += 2;
    refused(misaligned, 256, "misaligned");
    auto outside = layout;
    outside.device = kRamBase + kRamSize - 8;  // the used ring would run off the end of RAM
    refused(outside, 256, "outside guest RAM");
    outside = layout;
    outside.descriptors = 0xffff'ffff'ffff'fff0;  // would wrap around the address space
    refused(outside, 256, "outside guest RAM");
}

TEST_F(SplitQueueTest, ADescriptorLoopIsCaught) {
    auto queue = make_queue();
    driver_.set_descriptor(0, {kBuffer, 8, flag::next, 1});
    driver_.set_descriptor(1, {kBuffer, 8, flag::next, 0});
    driver_.make_available(0);
    expect_broken(queue, "longer than its table of 8 (a loop?)");
}

TEST_F(SplitQueueTest, ASelfLoopInAnIndirectTableIsCaught) {
    auto queue = make_queue();
    uint64_t table = kBuffer + 0x1000;
    driver_.set_descriptor(table, 1, {kBuffer, 8, flag::next, 1});
    driver_.set_descriptor(0, {table, 32, flag::indirect, 0});
    // The indirect table starts at its entry 0, which chains to 1, which loops on itself.
    driver_.set_descriptor(table, 0, {kBuffer, 8, flag::next, 1});
    driver_.make_available(0);
    expect_broken(queue, "longer than its table of 2");
}

TEST_F(SplitQueueTest, IndexesBeyondTheTableAreCaught) {
    auto queue = make_queue();
    driver_.make_available(8);
    expect_broken(queue, "descriptor head 8 is beyond the queue's size 8");

    auto second = make_queue();
    // The broken queue consumed nothing: the new one sees the same bad entry first.
    expect_broken(second, "head 8");

    ASSERT_TRUE(ram_.write(TestDriver::kAvailable, std::vector<uint8_t>(64)));
    auto third = make_queue();
    driver_.set_descriptor(2, {kBuffer, 8, flag::next, 200});
    driver_.make_available(2);
    expect_broken(third, "descriptor 2 links to 200, beyond its table of 8");
}

TEST_F(SplitQueueTest, IndirectRulesAreEnforced) {
    uint64_t table = kBuffer + 0x1000;
    struct Case {
        QueueFeatures features;
        DescriptorSpec head;
        DescriptorSpec inner;
        std::string error;
    };
    std::vector<Case> cases = {
        {{.indirect = false, .event_idx = false},
         {table, 16, flag::indirect, 0},
         {kBuffer, 8, 0, 0},
         "indirect, which was not negotiated"},
        {{.indirect = true, .event_idx = false},
         {table, 16, flag::indirect | flag::next, 1},
         {kBuffer, 8, 0, 0},
         "also has NEXT set"},
        {{.indirect = true, .event_idx = false},
         {table, 16, flag::indirect, 0},
         {table, 16, flag::indirect, 0},
         "points at another table"},
        {{.indirect = true, .event_idx = false},
         {table, 24, flag::indirect, 0},
         {kBuffer, 8, 0, 0},
         "ragged"},
        {{.indirect = true, .event_idx = false},
         {table, 0, flag::indirect, 0},
         {kBuffer, 8, 0, 0},
         "empty"},
        {{.indirect = true, .event_idx = false},
         {table, 16 * 1025, flag::indirect, 0},
         {kBuffer, 8, 0, 0},
         "larger than 1024 entries"},
        {{.indirect = true, .event_idx = false},
         {kRamBase + kRamSize - 8, 16, flag::indirect, 0},
         {kBuffer, 8, 0, 0},
         "indirect table at 0x803ffff8 (16 bytes) lies outside guest RAM"},
    };
    for (const auto& c : cases) {
        ASSERT_TRUE(ram_.write(TestDriver::kAvailable, std::vector<uint8_t>(64)));
        auto queue = SplitQueue::create(ram_, driver_.layout(), 256, c.features).value();
        driver_.set_descriptor(table, 0, c.inner);
        driver_.set_descriptor(0, c.head);
        driver_.make_available(0);
        expect_broken(queue, c.error);
    }
}

TEST_F(SplitQueueTest, BuffersOutsideGuestRamAreCaught) {
    struct Case {
        uint64_t address;
        uint32_t length;
    };
    for (auto c : {Case{kRamBase - 4, 8}, Case{kRamBase + kRamSize - 4, 8},
                   Case{0xffff'ffff'ffff'fffc, 8}, Case{0, 16}, Case{kRamBase, 0xffff'ffff}}) {
        ASSERT_TRUE(ram_.write(TestDriver::kAvailable, std::vector<uint8_t>(64)));
        auto queue = make_queue();
        driver_.set_descriptor(0, {c.address, c.length, flag::write, 0});
        driver_.make_available(0);
        expect_broken(queue, "lies outside guest RAM");
    }
}

TEST_F(SplitQueueTest, ReadableAfterWritableIsCaught) {
    auto queue = make_queue();
    driver_.set_descriptor(0, {kBuffer, 8, flag::write | flag::next, 1});
    driver_.set_descriptor(1, {kBuffer + 8, 8, 0, 0});
    driver_.make_available(0);
    expect_broken(queue, "device-readable but follows a device-writable one");
}

TEST_F(SplitQueueTest, AnAvailableIndexThatJumpsTooFarIsCaught) {
    auto queue = make_queue();
    driver_.set_descriptor(0, {kBuffer, 8, 0, 0});
    driver_.make_available(0, 9);
    expect_broken(queue, "available index 9 is 9 ahead of the device's 0");
}

TEST_F(SplitQueueTest, InterruptsFollowTheDriversWish) {
    driver_.set_descriptor(0, {kBuffer, 8, flag::write, 0});
    // Without EVENT_IDX: the NO_INTERRUPT flag.
    auto plain = make_queue({.indirect = false, .event_idx = false});
    EXPECT_FALSE(plain.needs_interrupt());  // nothing pushed yet
    driver_.make_available(0);
    ASSERT_TRUE(plain.pop().value());
    plain.push(0, 8);
    EXPECT_TRUE(plain.needs_interrupt());
    driver_.set_available_flags(flag::avail_no_interrupt);
    driver_.make_available(0);
    ASSERT_TRUE(plain.pop().value());
    plain.push(0, 8);
    EXPECT_FALSE(plain.needs_interrupt());

    // With EVENT_IDX: an interrupt when the used index passes used_event.
    ASSERT_TRUE(ram_.write(TestDriver::kAvailable, std::vector<uint8_t>(64)));
    ASSERT_TRUE(ram_.write(TestDriver::kUsed, std::vector<uint8_t>(128)));
    auto queue = make_queue();
    driver_.set_used_event(1);  // interrupt me once the second buffer is used
    for (int i = 0; i < 3; ++i) {
        driver_.make_available(0);
        ASSERT_TRUE(queue.pop().value());
        queue.push(0, 8);
        EXPECT_EQ(queue.needs_interrupt(), i == 1) << i;
    }
    // The device asks to be kicked at the next buffer, and sees one already there.
    EXPECT_FALSE(queue.enable_notification());
    EXPECT_EQ(driver_.available_event(), 3);
    driver_.make_available(0);
    EXPECT_TRUE(queue.enable_notification());
}

// Random rings for many seeds: whatever the guest writes, pop() returns a chain whose every
// buffer lies in guest RAM, or an error; writing a chain's writable part never touches bytes
// outside its writable buffers.
TEST_F(SplitQueueTest, RandomRingsNeverEscapeGuestRam) {
    const uint8_t* ram_begin = ram_.host_pointer(kRamBase, kRamSize);
    const uint8_t* ram_end = ram_begin + kRamSize;
    int chains = 0, errors = 0;
    for (uint32_t seed = 1; seed <= 2000; ++seed) {
        std::mt19937_64 random(seed);
        auto pick = [&](uint64_t n) { return random() % n; };
        ASSERT_TRUE(ram_.write(TestDriver::kAvailable, std::vector<uint8_t>(64)));
        ASSERT_TRUE(ram_.write(TestDriver::kUsed, std::vector<uint8_t>(128)));
        auto queue = make_queue({.indirect = pick(2) == 0, .event_idx = pick(2) == 0});
        uint64_t table = kBuffer + 0x2'0000;
        auto random_descriptor = [&]() {
            uint64_t address;
            switch (pick(4)) {
                case 0:
                    address = kBuffer + pick(0x1'0000);
                    break;
                case 1:
                    address = kRamBase + kRamSize - pick(64);
                    break;
                case 2:
                    address = random();
                    break;
                default:
                    address = table;
            }
            uint32_t length = pick(3) == 0 ? static_cast<uint32_t>(random()) : pick(4096);
            uint16_t flags = static_cast<uint16_t>(pick(8));
            uint16_t next = static_cast<uint16_t>(pick(3) == 0 ? random() : pick(10));
            return DescriptorSpec{address, length, flags, next};
        };
        for (uint16_t i = 0; i < 8; ++i)
            driver_.set_descriptor(i, random_descriptor());
        for (uint16_t i = 0; i < 16; ++i)
            driver_.set_descriptor(table, i, random_descriptor());
        for (int round = 0; round < 4; ++round) {
            driver_.make_available(static_cast<uint16_t>(pick(10)),
                                   static_cast<uint16_t>(pick(5) == 0 ? pick(20) : 1));
            auto popped = queue.pop();
            if (!popped) {
                ++errors;
                break;
            }
            if (!*popped) continue;
            ++chains;
            for (const auto& segment : (*popped)->segments()) {
                ASSERT_GE(segment.host, ram_begin);
                ASSERT_LE(segment.host + segment.length, ram_end);
            }
            ChainWriter writer(**popped);
            std::vector<uint8_t> filler(std::min<uint64_t>(writer.remaining(), 1 << 16), 0xa5);
            EXPECT_TRUE(writer.write(filler));
            queue.push((*popped)->head(), static_cast<uint32_t>(writer.written()));
        }
    }
    // Both outcomes happen: the generator is not degenerate.
    EXPECT_GT(chains, 100);
    EXPECT_GT(errors, 100);
}

}  // namespace
}  // namespace vessel::vm::virtio
