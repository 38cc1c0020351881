#include "vm/devices/bus.h"

#include <gtest/gtest.h>

namespace vessel::vm {
namespace {

class Recorder : public BusDevice {
  public:
    uint64_t read(uint64_t offset, unsigned size) override { return offset * 100 + size; }
    void write(uint64_t offset, unsigned size, uint64_t value) override {
        last_offset = offset;
        last_size = size;
        last_value = value;
    }
    uint64_t last_offset = 0, last_value = 0;
    unsigned last_size = 0;
};

TEST(Bus, DispatchesWithOffsetsRelativeToTheWindow) {
    Bus bus;
    Recorder uart, test;
    ASSERT_TRUE(bus.attach(0x1000'0000, 0x100, uart, "uart"));
    ASSERT_TRUE(bus.attach(0x10'0000, 0x1000, test, "test"));
    uint64_t value = 0;
    ASSERT_TRUE(bus.read(0x1000'0005, 1, value));
    EXPECT_EQ(value, 501u);
    ASSERT_TRUE(bus.write(0x10'0000, 4, 0x5555));
    EXPECT_EQ(test.last_offset, 0u);
    EXPECT_EQ(test.last_size, 4u);
    EXPECT_EQ(test.last_value, 0x5555u);
}

TEST(Bus, MissesOutsideWindowsAndStraddlingAccesses) {
    Bus bus;
    Recorder device;
    ASSERT_TRUE(bus.attach(0x1000, 0x100, device, "dev"));
    uint64_t value = 0;
    EXPECT_FALSE(bus.read(0xfff, 1, value));
    EXPECT_FALSE(bus.read(0x1100, 1, value));
    EXPECT_FALSE(bus.read(0x10fc, 8, value));  // starts inside, ends outside
    EXPECT_TRUE(bus.read(0x10f8, 8, value));
    EXPECT_FALSE(bus.write(UINT64_MAX, 8, 0));
}

TEST(Bus, RejectsOverlapsNamingBothDevices) {
    Bus bus;
    Recorder a, b;
    ASSERT_TRUE(bus.attach(0x1000, 0x100, a, "plic"));
    auto overlap = bus.attach(0x10f0, 0x100, b, "uart");
    ASSERT_FALSE(overlap);
    EXPECT_EQ(overlap.error().message(), "device uart at 0x10f0 overlaps plic at 0x1000");
    EXPECT_FALSE(bus.attach(0x0f00, 0x101, b, "low"));
    EXPECT_TRUE(bus.attach(0x0f00, 0x100, b, "adjacent"));
    EXPECT_FALSE(bus.attach(0x5000, 0, b, "empty"));
}

}  // namespace
}  // namespace vessel::vm
