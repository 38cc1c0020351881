// The hart's debug path as a debugger drives it: single steps (a jump to itself included), its own
// breakpoints, triggers with the debugger's action on stores and AMOs, a halt out of WFI, and
// memory through the hart's translation without touching A/D bits. Runs on whichever engine the
// test machine has: the debug path is the interpreter's either way.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "test_machine.h"
#include "vm/riscv/hart.h"

namespace vessel::riscv {
namespace {

constexpr uint64_t kRam = TestMachine::kRamBase;
constexpr uint64_t kData = kRam + 0x1000;
constexpr unsigned kA0 = 10, kA1 = 11, kT1 = 6, kT2 = 7;

// Assembled with riscv64-unknown-elf-as -march=rv64gc (.option norvc).
//   li a0, 1; addi a0, a0, 1; 1: j 1b
constexpr uint32_t kStepProgram[] = {0x00100513, 0x00150513, 0x0000006f};
//   li t1, 42; sd t1, 8(a1); ld t2, 8(a1); 1: j 1b
constexpr uint32_t kStoreProgram[] = {0x02a00313, 0x0065b423, 0x0085b383, 0x0000006f};
//   1: wfi; j 1b
constexpr uint32_t kWfiProgram[] = {0x10500073, 0xffdff06f};
//   li t1, 5; amoadd.d t2, t1, (a1); 1: j 1b
constexpr uint32_t kAmoProgram[] = {0x00500313, 0x0065b3af, 0x0000006f};

constexpr uint64_t kDebuggerTrigger =
    (TriggerModule::kTypeMcontrol6 << TriggerModule::kTypeShift) | TriggerModule::kDmode |
    (uint64_t{TriggerModule::kActionDebugger} << TriggerModule::kActionShift) | TriggerModule::kM |
    TriggerModule::kS | TriggerModule::kU;

// Records every stop; stops the hart for good after `limit` of them.
struct Recorder : DebugListener {
    struct Seen {
        DebugStop stop;
        uint64_t pc;
        uint64_t instret;
    };
    std::vector<Seen> seen;
    size_t limit = 1;
    void hart_stopped(Hart& hart, const DebugStop& stop) override {
        seen.push_back({stop, hart.pc(), hart.instret()});
        if (seen.size() >= limit) hart.request_stop();
    }
};

// Runs the hart on a thread until it stops itself; a hart that never stops fails the test
// instead of hanging it.
void run_until_stopped(Hart& hart) {
    auto done = std::async(std::launch::async, [&hart] { hart.run(); });
    if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        hart.request_stop();
        done.wait();
        FAIL() << "the hart never stopped for the debugger";
    }
}

struct DebugHart {
    explicit DebugHart(std::span<const uint32_t> program) : hart(machine.context, 0) {
        EXPECT_TRUE(machine.load(program));
        hart.reset(kRam, Priv::machine);
        hart.set_reg(kA1, kData);
        hart.set_debug_listener(&recorder);
    }
    TestMachine machine;
    Hart hart;
    Recorder recorder;
};

TEST(HartDebug, SingleStepsRunOneInstructionEachEvenAJumpToItself) {
    DebugHart test(kStepProgram);
    test.hart.set_debug_step(true, true);
    test.recorder.limit = 5;
    run_until_stopped(test.hart);
    ASSERT_EQ(test.recorder.seen.size(), 5u);
    uint64_t expected_pc[] = {kRam + 4, kRam + 8, kRam + 8, kRam + 8, kRam + 8};
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(test.recorder.seen[i].stop.kind, DebugStopKind::step);
        EXPECT_EQ(test.recorder.seen[i].pc, expected_pc[i]) << "step " << i;
        EXPECT_EQ(test.recorder.seen[i].instret, i + 1) << "step " << i;
    }
    EXPECT_EQ(test.hart.reg(kA0), 2u);
}

TEST(HartDebug, BreakpointStopsBeforeItsInstructionWithoutPatchingMemory) {
    DebugHart test(kStoreProgram);
    uint32_t before = test.machine.memory.load<uint32_t>(kRam + 8).value();
    test.hart.set_debug_breakpoints({kRam + 8});
    run_until_stopped(test.hart);
    ASSERT_EQ(test.recorder.seen.size(), 1u);
    EXPECT_EQ(test.recorder.seen[0].stop.kind, DebugStopKind::breakpoint);
    EXPECT_EQ(test.recorder.seen[0].pc, kRam + 8);
    EXPECT_EQ(test.machine.memory.load<uint64_t>(kData + 8).value(), 42u) << "the store ran";
    EXPECT_EQ(test.hart.reg(kT2), 0u) << "the load did not";
    EXPECT_EQ(test.machine.memory.load<uint32_t>(kRam + 8).value(), before);
    uint8_t byte = 0;
    EXPECT_EQ(test.hart.debug_read_memory(kRam + 8, std::span(&byte, 1)), 1u);
    EXPECT_EQ(byte, before & 0xff);
}

TEST(HartDebug, StoreWatchpointStopsBeforeTheStoreWithTheMatchedByte) {
    DebugHart test(kStoreProgram);
    // The doubleword store at kData + 8 covers the watched byte kData + 12.
    test.hart.write_trigger(0, kDebuggerTrigger | TriggerModule::kStore, kData + 12);
    ASSERT_TRUE(test.hart.triggers().tdata1_at(0) & TriggerModule::kDmode);
    run_until_stopped(test.hart);
    ASSERT_EQ(test.recorder.seen.size(), 1u);
    const DebugStop& stop = test.recorder.seen[0].stop;
    EXPECT_EQ(stop.kind, DebugStopKind::trigger);
    EXPECT_EQ(stop.access, Access::store);
    EXPECT_EQ(stop.address, kData + 12);
    EXPECT_EQ(test.recorder.seen[0].pc, kRam + 4);
    EXPECT_EQ(test.recorder.seen[0].instret, 1u);
    EXPECT_EQ(test.machine.memory.load<uint64_t>(kData + 8).value(), 0u) << "stored anyway";
}

TEST(HartDebug, AmoIsBothALoadAndAStoreForTriggers) {
    for (uint64_t kind : {TriggerModule::kLoad, TriggerModule::kStore}) {
        DebugHart test(kAmoProgram);
        ASSERT_TRUE(test.machine.memory.store<uint64_t>(kData, 10));
        test.hart.write_trigger(0, kDebuggerTrigger | kind, kData);
        run_until_stopped(test.hart);
        ASSERT_EQ(test.recorder.seen.size(), 1u);
        EXPECT_EQ(test.recorder.seen[0].stop.access,
                  kind == TriggerModule::kLoad ? Access::load : Access::store);
        EXPECT_EQ(test.recorder.seen[0].pc, kRam + 4);
        EXPECT_EQ(test.machine.memory.load<uint64_t>(kData).value(), 10u);
    }
}

TEST(HartDebug, ExecuteTriggerForTheDebuggerStopsAtTheInstruction) {
    DebugHart test(kStepProgram);
    test.hart.write_trigger(2, kDebuggerTrigger | TriggerModule::kExecute, kRam + 4);
    run_until_stopped(test.hart);
    ASSERT_EQ(test.recorder.seen.size(), 1u);
    EXPECT_EQ(test.recorder.seen[0].stop.kind, DebugStopKind::trigger);
    EXPECT_EQ(test.recorder.seen[0].stop.access, Access::fetch);
    EXPECT_EQ(test.recorder.seen[0].pc, kRam + 4);
    EXPECT_EQ(test.hart.reg(kA0), 1u);
}

TEST(HartDebug, HaltRequestFromAnotherThreadEndsWfi) {
    DebugHart test(kWfiProgram);
    auto done = std::async(std::launch::async, [&] { test.hart.run(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // into its WFI
    test.hart.request_debug_halt();
    ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "the halt request did not reach the sleeping hart";
    ASSERT_EQ(test.recorder.seen.size(), 1u);
    EXPECT_EQ(test.recorder.seen[0].stop.kind, DebugStopKind::halted);
}

TEST(HartDebug, DisarmingReturnsToTheNormalPath) {
    DebugHart test(kStepProgram);
    test.hart.set_debug_step(true, true);
    test.hart.set_debug_step(false, false);
    test.hart.set_debug_breakpoints({});
    // Nothing armed: the hart runs its loop until a stop from outside, never calling the listener.
    auto done = std::async(std::launch::async, [&] { test.hart.run(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    test.hart.request_stop();
    done.wait();
    EXPECT_TRUE(test.recorder.seen.empty());
    EXPECT_EQ(test.hart.reg(kA0), 2u);
}

TEST(HartDebug, MemoryThroughTheHartsTranslationLeavesAccessedBitsAlone) {
    DebugHart test(kStepProgram);
    // Sv39: one 4 KiB page at virtual 0x40000000 -> kData, readable, A clear.
    uint64_t root = kRam + 0x10000, level1 = kRam + 0x11000, level0 = kRam + 0x12000;
    auto pointer_to = [](uint64_t table) { return ((table >> 12) << 10) | pte::V; };
    ASSERT_TRUE(test.machine.memory.store<uint64_t>(root + 1 * 8, pointer_to(level1)));
    ASSERT_TRUE(test.machine.memory.store<uint64_t>(level1 + 0, pointer_to(level0)));
    uint64_t leaf = ((kData >> 12) << 10) | pte::V | pte::R | pte::W;
    ASSERT_TRUE(test.machine.memory.store<uint64_t>(level0 + 0, leaf));
    ASSERT_TRUE(test.machine.memory.store<uint64_t>(kData, 0x1122334455667788));
    ASSERT_TRUE(test.hart.debug_write_csr(0x180, (satp_mode::sv39 << 60) | (root >> 12)));
    test.hart.debug_set_priv(Priv::supervisor);

    uint8_t bytes[8] = {};
    EXPECT_EQ(test.hart.debug_read_memory(0x40000000, bytes), 8u);
    EXPECT_EQ(bytes[0], 0x88);
    EXPECT_EQ(test.machine.memory.load<uint64_t>(level0).value(), leaf) << "A/D were set";
    // A read running off the mapped page is short; an unmapped one fails whole.
    uint8_t across[16] = {};
    EXPECT_EQ(test.hart.debug_read_memory(0x40000ff8, across), 8u);
    EXPECT_EQ(test.hart.debug_read_memory(0x50000000, bytes), 0u);
    const uint8_t patch[2] = {0xaa, 0xbb};
    EXPECT_EQ(test.hart.debug_write_memory(0x40000000, patch), 2u);
    EXPECT_EQ(test.machine.memory.load<uint16_t>(kData).value(), 0xbbaa);
    // In M-mode addresses are physical; outside RAM nothing is read.
    test.hart.debug_set_priv(Priv::machine);
    EXPECT_EQ(test.hart.debug_read_memory(kData, bytes), 8u);
    EXPECT_EQ(test.hart.debug_read_memory(0x1000, bytes), 0u);
}

TEST(HartDebug, DebuggerCsrAccessSeesTriggersAsDebugMode) {
    DebugHart test(kStepProgram);
    uint64_t value = 0;
    ASSERT_TRUE(test.hart.debug_write_csr(0x7a0, 1));
    ASSERT_TRUE(test.hart.debug_write_csr(0x7a1, kDebuggerTrigger | TriggerModule::kExecute));
    ASSERT_TRUE(test.hart.debug_read_csr(0x7a1, value));
    EXPECT_EQ(value, kDebuggerTrigger | TriggerModule::kExecute);
    EXPECT_FALSE(test.hart.debug_write_csr(0xf14, 5)) << "mhartid is read-only";
    EXPECT_FALSE(test.hart.debug_read_csr(0x7a5, value)) << "no tcontrol";
}

}  // namespace
}  // namespace vessel::riscv
