// The Sdtrig trigger module's CSR semantics (WARL legalisation, who may write what) and matching,
// without a hart. tests/guest/riscv/triggers.S checks the same from a guest, through the CSRs.
#include "vm/riscv/triggers.h"

#include <gtest/gtest.h>

namespace vessel::riscv {
namespace {

using Writer = TriggerModule::Writer;
constexpr uint64_t kMcontrol = TriggerModule::kTypeMcontrol << TriggerModule::kTypeShift;
constexpr uint64_t kMcontrol6 = TriggerModule::kTypeMcontrol6 << TriggerModule::kTypeShift;
constexpr uint64_t kDisabled = TriggerModule::kTypeDisabled << TriggerModule::kTypeShift;
constexpr uint64_t kDmode = TriggerModule::kDmode;
constexpr uint64_t kM = TriggerModule::kM, kS = TriggerModule::kS, kU = TriggerModule::kU;
constexpr uint64_t kExecute = TriggerModule::kExecute, kLoad = TriggerModule::kLoad,
                   kStore = TriggerModule::kStore, kChain = TriggerModule::kChain;
constexpr uint64_t kActionDebugger = uint64_t{1} << TriggerModule::kActionShift;

constexpr uint64_t match(unsigned kind) {
    return uint64_t{kind} << TriggerModule::kMatchShift;
}
constexpr uint64_t size6(unsigned code) {
    return uint64_t{code} << 16;
}

TEST(Triggers, ResetStateAndTinfo) {
    TriggerModule triggers;
    EXPECT_EQ(triggers.tselect(), 0u);
    for (unsigned i = 0; i < TriggerModule::kCount; ++i) {
        EXPECT_EQ(triggers.tdata1_at(i), kDisabled);
        EXPECT_EQ(triggers.tdata2_at(i), 0u);
    }
    // Version 1 (Sdtrig 1.0); types 2, 6 and 15.
    EXPECT_EQ(triggers.tinfo(), (uint64_t{1} << 24) | (1 << 2) | (1 << 6) | (1 << 15));
    EXPECT_EQ(triggers.tdata3(), 0u);
    EXPECT_FALSE(triggers.watches_execute());
    EXPECT_FALSE(triggers.watches_data());
}

TEST(Triggers, TselectKeepsOnlyExistingIndexes) {
    TriggerModule triggers;
    triggers.write_tselect(3);
    EXPECT_EQ(triggers.tselect(), 3u);
    triggers.write_tselect(4);
    EXPECT_EQ(triggers.tselect(), 3u) << "a past-the-end index must not read back";
    triggers.write_tselect(~uint64_t{0});
    EXPECT_EQ(triggers.tselect(), 3u);
}

TEST(Triggers, ZeroAndUnsupportedTypesDisable) {
    TriggerModule triggers;
    triggers.write_tdata1(kMcontrol6 | kM | kExecute, Writer::machine);
    EXPECT_TRUE(triggers.watches_execute());
    triggers.write_tdata1(0, Writer::machine);
    EXPECT_EQ(triggers.tdata1(), kDisabled);
    EXPECT_FALSE(triggers.watches_execute());
    for (uint64_t type : {1, 3, 4, 5, 7, 12, 0}) {
        triggers.write_tdata1((type << 60) | kM | kExecute, Writer::machine);
        EXPECT_EQ(triggers.tdata1(), kDisabled) << "type " << type;
    }
}

TEST(Triggers, Mcontrol6FieldsRoundTrip) {
    TriggerModule triggers;
    uint64_t value = kMcontrol6 | kM | kS | kU | kExecute | kLoad | kStore |
                     match(TriggerModule::match_lt) | size6(5);
    triggers.write_tdata1(value, Writer::machine);
    EXPECT_EQ(triggers.tdata1(), value);
    triggers.write_tdata2(0xffffffff80001234, Writer::machine);
    EXPECT_EQ(triggers.tdata2(), 0xffffffff80001234) << "tdata2 holds any address";
}

TEST(Triggers, UnsupportedFieldsReadBackLegal) {
    TriggerModule triggers;
    // mcontrol6: uncertain (26), vs (24), vu (23), select (21), uncertainen (5), a reserved match
    // (6), a 48-bit size (4), a trace action (2), dmode and action 1 from M-mode.
    uint64_t asked = kMcontrol6 | kDmode | (uint64_t{1} << 26) | (uint64_t{1} << 24) |
                     (uint64_t{1} << 23) | (uint64_t{1} << 21) | (uint64_t{1} << 5) | match(6) |
                     size6(4) | (uint64_t{2} << 12) | kM | kStore;
    triggers.write_tdata1(asked, Writer::machine);
    EXPECT_EQ(triggers.tdata1(), kMcontrol6 | kM | kStore);
    triggers.write_tdata1(kMcontrol6 | kActionDebugger | kM | kStore, Writer::machine);
    EXPECT_EQ(triggers.tdata1(), kMcontrol6 | kM | kStore) << "action 1 needs dmode";
    // mcontrol: maskmax reads 63 (NAPOT up to 2^63), select (19) and timing (18) read 0, the
    // hit bit (20) and sizelo/sizehi are kept.
    uint64_t mcontrol = kMcontrol | (uint64_t{1} << 20) | (uint64_t{1} << 19) |
                        (uint64_t{1} << 18) | (uint64_t{1} << 21) | (uint64_t{1} << 16) |
                        match(TriggerModule::match_napot) | kU | kLoad;
    triggers.write_tdata1(mcontrol, Writer::machine);
    EXPECT_EQ(triggers.tdata1(), kMcontrol | (uint64_t{63} << 53) | (uint64_t{1} << 20) |
                                     (uint64_t{1} << 21) | (uint64_t{1} << 16) |
                                     match(TriggerModule::match_napot) | kU | kLoad);
}

TEST(Triggers, DebuggerTriggersAreOutOfMachineModesReach) {
    TriggerModule triggers;
    uint64_t debugger = kMcontrol6 | kDmode | kActionDebugger | kM | kExecute;
    triggers.write_tdata1_at(1, debugger, Writer::debugger);
    triggers.write_tdata2_at(1, 0x80000000, Writer::debugger);
    EXPECT_EQ(triggers.tdata1_at(1), debugger);
    triggers.write_tselect(1);
    triggers.write_tdata1(0, Writer::machine);
    triggers.write_tdata2(0x1234, Writer::machine);
    EXPECT_EQ(triggers.tdata1(), debugger);
    EXPECT_EQ(triggers.tdata2(), 0x80000000u);
    // A guest reset keeps them; a full one does not.
    triggers.reset(true);
    EXPECT_EQ(triggers.tdata1_at(1), debugger);
    triggers.reset(false);
    EXPECT_EQ(triggers.tdata1_at(1), kDisabled);
}

TEST(Triggers, ChainsStopAtTheLastTriggerAndAtTheDebuggers) {
    TriggerModule triggers;
    triggers.write_tdata1_at(3, kMcontrol6 | kChain | kM | kLoad, Writer::machine);
    EXPECT_FALSE(triggers.tdata1_at(3) & kChain) << "nothing to chain to after the last";
    triggers.write_tdata1_at(2, kMcontrol6 | kDmode | kM | kLoad, Writer::debugger);
    triggers.write_tdata1_at(1, kMcontrol6 | kChain | kM | kLoad, Writer::machine);
    EXPECT_FALSE(triggers.tdata1_at(1) & kChain) << "a guest chain into a debugger's trigger";
    // The debugger may not take the end of a chain the guest started.
    triggers.write_tdata1_at(0, kMcontrol6 | kChain | kM | kLoad, Writer::machine);
    ASSERT_TRUE(triggers.tdata1_at(0) & kChain);
    uint64_t before = triggers.tdata1_at(1);
    triggers.write_tdata1_at(1, kMcontrol6 | kDmode | kM | kStore, Writer::debugger);
    EXPECT_EQ(triggers.tdata1_at(1), before);
}

TEST(Triggers, NapotTdata2RevealsMaskmax) {
    TriggerModule triggers;
    triggers.write_tdata1(kMcontrol6 | match(TriggerModule::match_napot) | kM | kLoad,
                          Writer::machine);
    triggers.write_tdata2(~uint64_t{0}, Writer::machine);
    // maskmax6 = index of the most significant 0, plus 1 = 63.
    EXPECT_EQ(triggers.tdata2(), ~(uint64_t{1} << 62));
}

TEST(Triggers, AddressMatches) {
    struct Case {
        unsigned match;
        uint64_t tdata2;
        uint64_t address;
        bool fires;
    } cases[] = {
        {TriggerModule::match_equal, 0x1000, 0x1000, true},
        {TriggerModule::match_equal, 0x1000, 0x1001, false},
        {TriggerModule::match_not_equal, 0x1000, 0x1001, true},
        {TriggerModule::match_napot, 0x1003, 0x1007, true},  // 8 bytes at 0x1000
        {TriggerModule::match_napot, 0x1003, 0x1008, false},
        {TriggerModule::match_not_napot, 0x1003, 0x1008, true},
        {TriggerModule::match_ge, 0x1000, 0x1000, true},
        {TriggerModule::match_ge, 0x1000, 0xfff, false},
        {TriggerModule::match_lt, 0x1000, 0xfff, true},
        {TriggerModule::match_lt, 0x1000, 0x1000, false},
        // Mask low: (address[31:0] & tdata2[63:32]) == tdata2[31:0].
        {TriggerModule::match_mask_low, 0x0000ff0000001200, 0xabcd1234, true},
        {TriggerModule::match_mask_low, 0x0000ff0000001200, 0xabcd2234, false},
        {TriggerModule::match_not_mask_low, 0x0000ff0000001200, 0xabcd2234, true},
        // Mask high: (address[63:32] & tdata2[63:32]) == tdata2[31:0].
        {TriggerModule::match_mask_high, 0xffff000000001234, 0x1234000000000000, false},
        {TriggerModule::match_mask_high, 0xffff0000ffff0000, 0xffff123400000000, true},
        {TriggerModule::match_not_mask_high, 0xffff0000ffff0000, 0xffff123400000000, false},
    };
    for (const Case& c : cases) {
        TriggerModule triggers;
        triggers.write_tdata1(kMcontrol6 | match(c.match) | kM | kExecute, Writer::machine);
        triggers.write_tdata2(c.tdata2, Writer::machine);
        auto hit = triggers.match(Access::fetch, c.address, 4, Priv::machine, true);
        EXPECT_EQ(hit.has_value(), c.fires) << "match " << c.match << " tdata2 " << std::hex
                                            << c.tdata2 << " address " << c.address;
        if (hit) {
            EXPECT_EQ(hit->address, c.address);
        }
    }
}

TEST(Triggers, AccessKindPrivilegeAndSizeFilters) {
    TriggerModule triggers;
    triggers.write_tdata1(kMcontrol6 | kS | kStore | size6(3), Writer::machine);  // 32-bit stores
    triggers.write_tdata2(0x2000, Writer::machine);
    EXPECT_TRUE(triggers.watches_data());
    EXPECT_FALSE(triggers.watches_execute());
    EXPECT_TRUE(triggers.match(Access::store, 0x2000, 4, Priv::supervisor, true));
    EXPECT_FALSE(triggers.match(Access::load, 0x2000, 4, Priv::supervisor, true));
    EXPECT_FALSE(triggers.match(Access::fetch, 0x2000, 4, Priv::supervisor, true));
    EXPECT_FALSE(triggers.match(Access::store, 0x2000, 4, Priv::machine, true));
    EXPECT_FALSE(triggers.match(Access::store, 0x2000, 4, Priv::user, true));
    EXPECT_FALSE(triggers.match(Access::store, 0x2000, 8, Priv::supervisor, true));
    EXPECT_FALSE(triggers.match(Access::store, 0x2000, 2, Priv::supervisor, true));
    // An execute trigger of size 16 bits matches compressed instructions only; an unknown
    // length (a fetch that faults) matches only size "any".
    triggers.write_tdata1(kMcontrol | (uint64_t{2} << 16) | kU | kExecute, Writer::machine);
    EXPECT_TRUE(triggers.match(Access::fetch, 0x2000, 2, Priv::user, true));
    EXPECT_FALSE(triggers.match(Access::fetch, 0x2000, 4, Priv::user, true));
    EXPECT_FALSE(triggers.match(Access::fetch, 0x2000, 0, Priv::user, true));
}

TEST(Triggers, EveryByteOfAnAccessIsACompareValue) {
    TriggerModule triggers;
    triggers.write_tdata1(kMcontrol6 | kM | kLoad, Writer::machine);
    triggers.write_tdata2(0x3005, Writer::machine);
    auto hit = triggers.match(Access::load, 0x3000, 8, Priv::machine, true);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->address, 0x3005u) << "tval is the byte that matched";
    EXPECT_FALSE(triggers.match(Access::load, 0x3006, 8, Priv::machine, true));
    // An instruction's only compare value is its address.
    triggers.write_tdata1(kMcontrol6 | kM | kExecute, Writer::machine);
    EXPECT_FALSE(triggers.match(Access::fetch, 0x3004, 4, Priv::machine, true));
}

TEST(Triggers, ChainedRangeFiresOnlyWhenEveryTriggerMatches) {
    TriggerModule triggers;
    triggers.write_tdata1_at(0, kMcontrol6 | match(TriggerModule::match_ge) | kChain | kM | kStore,
                             Writer::machine);
    triggers.write_tdata2_at(0, 0x4010, Writer::machine);
    triggers.write_tdata1_at(1, kMcontrol6 | match(TriggerModule::match_lt) | kM | kStore,
                             Writer::machine);
    triggers.write_tdata2_at(1, 0x4020, Writer::machine);
    EXPECT_FALSE(triggers.match(Access::store, 0x4000, 8, Priv::machine, true));
    EXPECT_FALSE(triggers.match(Access::store, 0x4020, 8, Priv::machine, true));
    auto hit = triggers.match(Access::store, 0x400c, 8, Priv::machine, true);
    ASSERT_TRUE(hit) << "an access overlapping the range's start";
    EXPECT_EQ(hit->address, 0x4010u);
    // Both triggers of the chain say they fired (mcontrol6 hit0 = 1: before the instruction).
    EXPECT_TRUE(triggers.tdata1_at(0) & (uint64_t{1} << 22));
    EXPECT_TRUE(triggers.tdata1_at(1) & (uint64_t{1} << 22));
}

TEST(Triggers, NativeTriggersHonourTheReentrancyGateButTheDebuggersDoNot) {
    TriggerModule triggers;
    triggers.write_tdata1_at(0, kMcontrol6 | kM | kExecute, Writer::machine);
    triggers.write_tdata2_at(0, 0x5000, Writer::machine);
    EXPECT_FALSE(triggers.match(Access::fetch, 0x5000, 4, Priv::machine, false));
    auto native = triggers.match(Access::fetch, 0x5000, 4, Priv::machine, true);
    ASSERT_TRUE(native);
    EXPECT_EQ(native->action, TriggerModule::kActionBreakpoint);
    triggers.write_tdata1_at(1, kMcontrol6 | kDmode | kActionDebugger | kM | kExecute,
                             Writer::debugger);
    triggers.write_tdata2_at(1, 0x5000, Writer::debugger);
    // Both fire: the debugger's action wins.
    auto both = triggers.match(Access::fetch, 0x5000, 4, Priv::machine, false);
    ASSERT_TRUE(both);
    EXPECT_EQ(both->action, TriggerModule::kActionDebugger);
}

}  // namespace
}  // namespace vessel::riscv
