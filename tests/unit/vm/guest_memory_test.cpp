#include "vm/memory/guest_memory.h"

#include <array>

#include <gtest/gtest.h>

namespace vessel::vm {
namespace {

constexpr uint64_t kBase = 0x8000'0000;
constexpr uint64_t kSize = 1 << 20;

GuestMemory one_region() {
    RamLayout layout[] = {{kBase, kSize}};
    return GuestMemory::create(layout).value();
}

TEST(GuestMemory, ScalarRoundTripIsLittleEndian) {
    auto memory = one_region();
    ASSERT_TRUE(memory.store<uint32_t>(kBase + 8, 0x11223344));
    EXPECT_EQ(memory.load<uint8_t>(kBase + 8).value(), 0x44);
    EXPECT_EQ(memory.load<uint32_t>(kBase + 8).value(), 0x11223344u);
}

TEST(GuestMemory, RejectsAccessesOutsideOrStraddlingRam) {
    auto memory = one_region();
    EXPECT_FALSE(memory.load<uint8_t>(kBase - 1));
    EXPECT_FALSE(memory.load<uint8_t>(kBase + kSize));
    EXPECT_FALSE(memory.load<uint64_t>(kBase + kSize - 4));  // straddles the end
    EXPECT_TRUE(memory.load<uint64_t>(kBase + kSize - 8));
    // Lengths chosen so that gpa + length wraps around 2^64 must not pass the check.
    EXPECT_EQ(memory.host_pointer(kBase + 16, UINT64_MAX - 8), nullptr);
    EXPECT_EQ(memory.host_pointer(UINT64_MAX, 2), nullptr);
    std::array<uint8_t, 16> buffer{};
    auto failed = memory.read(kBase + kSize - 8, buffer);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().message(), "guest range 0x800ffff8+0x10 is not RAM");
}

TEST(GuestMemory, ValidatesLayout) {
    RamLayout unaligned[] = {{kBase + 1, kSize}};
    EXPECT_FALSE(GuestMemory::create(unaligned));
    RamLayout empty[] = {{kBase, 0}};
    EXPECT_FALSE(GuestMemory::create(empty));
    RamLayout overlapping[] = {{kBase + kSize / 2, kSize}, {kBase, kSize}};
    auto result = GuestMemory::create(overlapping);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message(), "guest RAM regions at 0x80000000 and 0x80080000 overlap");
    RamLayout wrapping[] = {{0xffff'ffff'ffff'f000, 0x2000}};
    EXPECT_FALSE(GuestMemory::create(wrapping));
}

TEST(GuestMemory, TwoRegionsWithAHole) {
    RamLayout layout[] = {{0, 0x10000}, {0x100000, 0x10000}};
    auto memory = GuestMemory::create(layout).value();
    EXPECT_TRUE(memory.store<uint8_t>(0xffff, 1));
    EXPECT_FALSE(memory.store<uint16_t>(0xffff, 1));
    EXPECT_FALSE(memory.store<uint8_t>(0x20000, 1));
    EXPECT_TRUE(memory.store<uint8_t>(0x10ffff, 1));
}

TEST(MemorySize, ParsesUnits) {
    EXPECT_EQ(parse_memory_size("256M").value(), 256ull << 20);
    EXPECT_EQ(parse_memory_size("1G").value(), 1ull << 30);
    EXPECT_EQ(parse_memory_size("4096").value(), 4096u);
    EXPECT_EQ(parse_memory_size("64k").value(), 64u << 10);
    EXPECT_EQ(parse_memory_size("12X").error().message(),
              "invalid memory size '12X': unknown unit 'X'");
    EXPECT_FALSE(parse_memory_size("M"));
    EXPECT_FALSE(parse_memory_size("99999999999999999G"));
}

}  // namespace
}  // namespace vessel::vm
