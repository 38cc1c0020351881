// Page-table walker tests: page tables are built in real guest memory, then translated.
#include "vm/riscv/mmu.h"

#include <gtest/gtest.h>

namespace vessel::riscv {
namespace {

constexpr uint64_t kRam = 0x80000000;
constexpr uint64_t kRoot = kRam + 0x10000;  // root table
constexpr uint64_t kMid = kRam + 0x11000;
constexpr uint64_t kLeafTable = kRam + 0x12000;
constexpr uint64_t kTop = kRam + 0x13000;  // Sv48 root

uint64_t table_pte(uint64_t table) {
    return ((table >> 12) << 10) | pte::V;
}
uint64_t leaf_pte(uint64_t paddr, uint64_t flags) {
    return ((paddr >> 12) << 10) | pte::V | flags;
}

class MmuTest : public ::testing::Test {
  protected:
    void SetUp() override {
        vm::RamLayout layout[] = {{kRam, 16 << 20}};
        auto created = vm::GuestMemory::create(layout);
        ASSERT_TRUE(created);
        memory_.emplace(std::move(*created));
    }
    void put(uint64_t table, uint64_t index, uint64_t entry) {
        ASSERT_TRUE(memory_->store<uint64_t>(table + 8 * index, entry));
    }
    uint64_t pte_at(uint64_t table, uint64_t index) {
        return *memory_->load<uint64_t>(table + 8 * index);
    }
    WalkResult walk(uint64_t satp, uint64_t vaddr, Access access, Priv priv = Priv::supervisor,
                    bool sum = false, bool mxr = false) {
        return translate(*memory_, WalkRequest{satp, priv, sum, mxr}, vaddr, access);
    }
    static uint64_t sv39(uint64_t root) { return (satp_mode::sv39 << 60) | (root >> 12); }
    static uint64_t sv48(uint64_t root) { return (satp_mode::sv48 << 60) | (root >> 12); }

    std::optional<vm::GuestMemory> memory_;
};

TEST_F(MmuTest, BareAndMachineModeAreIdentity) {
    auto bare = walk(0, 0x1234567890, Access::load);
    EXPECT_TRUE(bare.ok);
    EXPECT_EQ(bare.paddr, 0x1234567890u);
    auto machine = walk(sv39(kRoot), 0xdead000, Access::store, Priv::machine);
    EXPECT_TRUE(machine.ok);
    EXPECT_EQ(machine.paddr, 0xdead000u);
}

TEST_F(MmuTest, Sv39FourKilobytePageSetsAccessedAndDirty) {
    // VA 0x40201000: VPN2 = 1, VPN1 = 1, VPN0 = 1.
    put(kRoot, 1, table_pte(kMid));
    put(kMid, 1, table_pte(kLeafTable));
    put(kLeafTable, 1, leaf_pte(kRam + 0x200000, pte::R | pte::W));
    auto loaded = walk(sv39(kRoot), 0x40201abc, Access::load);
    ASSERT_TRUE(loaded.ok);
    EXPECT_EQ(loaded.paddr, kRam + 0x200abc);
    EXPECT_EQ(pte_at(kLeafTable, 1) & (pte::A | pte::D), pte::A);
    auto stored = walk(sv39(kRoot), 0x40201000, Access::store);
    ASSERT_TRUE(stored.ok);
    EXPECT_EQ(pte_at(kLeafTable, 1) & (pte::A | pte::D), pte::A | pte::D);
}

TEST_F(MmuTest, Sv39MegapageAndGigapage) {
    put(kRoot, 2, table_pte(kMid));
    put(kMid, 3, leaf_pte(kRam + 0x400000, pte::R | pte::X | pte::A));
    auto mega = walk(sv39(kRoot), 0x80600000 + 0x12345, Access::fetch);
    ASSERT_TRUE(mega.ok);
    EXPECT_EQ(mega.paddr, kRam + 0x400000 + 0x12345);
    put(kRoot, 3, leaf_pte(0x80000000, pte::R | pte::A));
    auto giga = walk(sv39(kRoot), 0xc0000000 + 0x3456789, Access::load);
    ASSERT_TRUE(giga.ok);
    EXPECT_EQ(giga.paddr, 0x80000000u + 0x3456789);
}

TEST_F(MmuTest, MisalignedSuperpageFaults) {
    put(kRoot, 2, table_pte(kMid));
    put(kMid, 0, leaf_pte(kRam + 0x1000, pte::R));  // 2 MiB page on a 4 KiB boundary
    auto result = walk(sv39(kRoot), 0x80000000, Access::load);
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.fault_cause, cause::load_page_fault);
}

TEST_F(MmuTest, PermissionFaultsHaveTheAccessTypesCause) {
    put(kRoot, 0, table_pte(kMid));
    put(kMid, 0, table_pte(kLeafTable));
    put(kLeafTable, 0, leaf_pte(kRam, pte::R));                    // read-only
    put(kLeafTable, 1, leaf_pte(kRam, pte::X));                    // execute-only
    put(kLeafTable, 2, leaf_pte(kRam, pte::R | pte::W | pte::U));  // user page
    put(kLeafTable, 3, leaf_pte(kRam, pte::W));                    // W without R: reserved
    put(kLeafTable, 4, 0);                                         // invalid
    uint64_t satp = sv39(kRoot);
    EXPECT_EQ(walk(satp, 0x0000, Access::store).fault_cause, cause::store_page_fault);
    EXPECT_EQ(walk(satp, 0x0000, Access::fetch).fault_cause, cause::fetch_page_fault);
    EXPECT_FALSE(walk(satp, 0x1000, Access::load).ok);
    EXPECT_TRUE(walk(satp, 0x1000, Access::load, Priv::supervisor, false, true).ok);  // MXR
    EXPECT_TRUE(walk(satp, 0x1000, Access::fetch).ok);
    // Supervisor access to a user page needs SUM, and never allows fetch.
    EXPECT_EQ(walk(satp, 0x2000, Access::load).fault_cause, cause::load_page_fault);
    EXPECT_TRUE(walk(satp, 0x2000, Access::load, Priv::supervisor, true).ok);
    EXPECT_FALSE(walk(satp, 0x2000, Access::fetch, Priv::supervisor, true).ok);
    EXPECT_TRUE(walk(satp, 0x2000, Access::store, Priv::user).ok);
    // User access to a supervisor page.
    EXPECT_EQ(walk(satp, 0x0000, Access::load, Priv::user).fault_cause, cause::load_page_fault);
    EXPECT_EQ(walk(satp, 0x3000, Access::load).fault_cause, cause::load_page_fault);
    EXPECT_EQ(walk(satp, 0x4000, Access::store).fault_cause, cause::store_page_fault);
}

TEST_F(MmuTest, NonCanonicalAddressesFault) {
    put(kRoot, 0, table_pte(kMid));
    EXPECT_EQ(walk(sv39(kRoot), 0x0000004000000000, Access::load).fault_cause,
              cause::load_page_fault);
    EXPECT_EQ(walk(sv39(kRoot), 0x8000000000000000, Access::fetch).fault_cause,
              cause::fetch_page_fault);
    EXPECT_EQ(walk(sv48(kTop), 0x0000800000000000, Access::store).fault_cause,
              cause::store_page_fault);
}

TEST_F(MmuTest, Sv48FourLevelWalkAndHighHalf) {
    // VA 0xffff800000001000: VPN3 = 256, VPN2 = 0, VPN1 = 0, VPN0 = 1.
    put(kTop, 256, table_pte(kRoot));
    put(kRoot, 0, table_pte(kMid));
    put(kMid, 0, table_pte(kLeafTable));
    put(kLeafTable, 1, leaf_pte(kRam + 0x5000, pte::R | pte::W | pte::A | pte::D));
    auto result = walk(sv48(kTop), 0xffff800000001008, Access::store);
    ASSERT_TRUE(result.ok);
    EXPECT_EQ(result.paddr, kRam + 0x5008);
    // The same VA is not canonical for Sv39.
    EXPECT_FALSE(walk(sv39(kRoot), 0xffff800000001008, Access::store).ok);
}

TEST_F(MmuTest, NonLeafWithAccessedBitAndLevelZeroPointerFault) {
    put(kRoot, 0, table_pte(kMid) | pte::A);
    EXPECT_FALSE(walk(sv39(kRoot), 0x1000, Access::load).ok);
    put(kRoot, 0, table_pte(kMid));
    put(kMid, 0, table_pte(kLeafTable));
    put(kLeafTable, 0, table_pte(kRam));  // pointer at the last level
    EXPECT_FALSE(walk(sv39(kRoot), 0x0, Access::load).ok);
}

TEST_F(MmuTest, PageTableOutsideRamIsAnAccessFault) {
    put(kRoot, 0, table_pte(0x1000000));  // points below RAM
    auto result = walk(sv39(kRoot), 0x1000, Access::store);
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.fault_cause, cause::store_access);
    auto root_outside = walk(sv39(0x40000000), 0x1000, Access::fetch);
    EXPECT_EQ(root_outside.fault_cause, cause::fetch_access);
}

TEST_F(MmuTest, ReservedHighBitsFault) {
    put(kRoot, 0, table_pte(kMid));
    put(kMid, 0, table_pte(kLeafTable));
    put(kLeafTable, 0, leaf_pte(kRam, pte::R) | (uint64_t{1} << 61));  // PBMT without Svpbmt
    EXPECT_FALSE(walk(sv39(kRoot), 0x0, Access::load).ok);
}

}  // namespace
}  // namespace vessel::riscv
