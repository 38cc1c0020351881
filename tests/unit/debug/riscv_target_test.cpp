// The RISC-V harts as a debug target, all-stop, with two real harts on their own threads: held at
// start, a breakpoint on one halts the other too, a step of one leaves the other stopped, a
// watchpoint names its address, Ctrl-C, the registers gdb sees, detach and shut-down.
#include "vm/debug/riscv_target.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

#include "../riscv/test_machine.h"
#include "vm/boot/vm_config.h"

namespace vessel::debug {
namespace {

using riscv::Hart;
using riscv::TestMachine;

constexpr uint64_t kRam = TestMachine::kRamBase;
constexpr uint64_t kData = kRam + 0x1000;
constexpr uint64_t kLoop1 = kRam + 8;
// hart 0 at kRam:   1: addi a0, a0, 1; j 1b
// hart 1 at kLoop1: 1: addi a2, a2, 1; sd a2, 0(a1); j 1b
constexpr uint32_t kProgram[] = {0x00150513, 0xffdff06f, 0x00160613, 0x00c5b023, 0xff9ff06f};

uint64_t as_u64(const std::optional<std::vector<uint8_t>>& bytes) {
    uint64_t value = 0;
    for (size_t i = 0; bytes && i < bytes->size(); ++i)
        value |= uint64_t{(*bytes)[i]} << (8 * i);
    return value;
}

struct TwoHarts : ::testing::Test {
    TwoHarts() {
        EXPECT_TRUE(machine.load(kProgram));
        hart0.reset(kRam, riscv::Priv::machine);
        hart1.reset(kLoop1, riscv::Priv::machine);
        hart1.set_reg(11, kData);
        target = std::move(*RiscvTarget::create(list, latch));
        target->hold_at_start();
        for (Hart* hart : list)
            threads.emplace_back([hart] { hart->run(); });
        // halt() counts a hart outside run() as stopped: let both get there first.
        while (!hart0.in_run() || !hart1.in_run())
            std::this_thread::yield();
        target->halt();
    }
    ~TwoHarts() override {
        for (Hart* hart : list)
            hart->request_stop();
        target->shut_down();
        for (auto& thread : threads)
            thread.join();
    }
    // Waits for the target's stop event (a failed wait fails the test rather than hanging it).
    std::optional<StopEvent> wait_for_stop() {
        pollfd fd{target->stop_fd(), POLLIN, 0};
        if (::poll(&fd, 1, 10000) != 1) return std::nullopt;
        return target->take_stop();
    }
    uint64_t reg(unsigned thread, unsigned regnum) {
        return as_u64(target->read_register(thread, regnum));
    }

    TestMachine machine;
    Hart hart0{machine.context, 0}, hart1{machine.context, 1};
    Hart* list[2] = {&hart0, &hart1};
    vm::StopLatch latch;
    std::unique_ptr<RiscvTarget> target;
    std::vector<std::thread> threads;
};

TEST_F(TwoHarts, HeldAtStartWithTheirRegistersVisible) {
    EXPECT_EQ(target->thread_count(), 2u);
    EXPECT_EQ(reg(0, RiscvTarget::kPc), kRam);
    EXPECT_EQ(reg(1, RiscvTarget::kPc), kLoop1);
    EXPECT_EQ(reg(1, 11), kData);
    EXPECT_EQ(reg(0, RiscvTarget::kPriv), 3u);
    EXPECT_EQ(reg(1, RiscvTarget::kFirstCsr + 0xf14), 1u) << "mhartid";
    EXPECT_EQ(target->read_register(0, RiscvTarget::kFflags)->size(), 4u);
    EXPECT_FALSE(target->read_register(0, 9999));
    EXPECT_FALSE(target->read_register(2, 0)) << "no third hart";
    EXPECT_EQ(target->g_registers().size(), 33u);
    const std::string& xml = target->target_xml();
    for (const char* feature : {"org.gnu.gdb.riscv.cpu", "org.gnu.gdb.riscv.fpu",
                                "org.gnu.gdb.riscv.csr", "<architecture>riscv:rv64"})
        EXPECT_NE(xml.find(feature), std::string::npos) << feature;
    // Writes: x0 stays zero, pc keeps 2-byte alignment, priv only takes a real mode.
    const uint8_t one[8] = {1};
    EXPECT_TRUE(target->write_register(0, 0, one));
    EXPECT_EQ(reg(0, 0), 0u);
    const uint8_t two[8] = {2};
    EXPECT_FALSE(target->write_register(0, RiscvTarget::kPriv, two));
    EXPECT_FALSE(target->write_register(0, 5, std::span(one, 4))) << "wrong size";
    uint8_t code[4];
    EXPECT_EQ(target->read_memory(1, kLoop1, code), 4u);
    EXPECT_EQ(code[0], 0x13);
}

TEST_F(TwoHarts, BreakpointOnOneHartStopsBoth) {
    ASSERT_TRUE(target->insert_breakpoint(BreakpointKind::software, kRam + 4, 1));
    std::vector<ResumeMode> run(2, ResumeMode::run);
    target->resume(run);
    auto event = wait_for_stop();
    ASSERT_TRUE(event);
    EXPECT_EQ(event->kind, StopEvent::Kind::breakpoint);
    EXPECT_EQ(event->thread, 0u);
    EXPECT_EQ(reg(0, RiscvTarget::kPc), kRam + 4);
    EXPECT_EQ(reg(0, 10), 1u);
    // Hart 1 is stopped too: its counter stands still.
    uint64_t counter = reg(1, 12);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(reg(1, 12), counter);
    // Resumed as is, the hart meets the breakpoint again before its instruction: a debugger
    // steps over it without it, as gdb does, then puts it back.
    target->resume(run);
    event = wait_for_stop();
    ASSERT_TRUE(event);
    EXPECT_EQ(reg(0, RiscvTarget::kPc), kRam + 4);
    EXPECT_EQ(reg(0, 10), 1u);
    ASSERT_TRUE(target->remove_breakpoint(BreakpointKind::software, kRam + 4, 1));
    EXPECT_FALSE(target->remove_breakpoint(BreakpointKind::software, kRam + 4, 1));
    std::vector<ResumeMode> step = {ResumeMode::step, ResumeMode::stay};
    target->resume(step);
    ASSERT_TRUE(wait_for_stop());
    ASSERT_TRUE(target->insert_breakpoint(BreakpointKind::software, kRam + 4, 1));
    target->resume(run);
    event = wait_for_stop();
    ASSERT_TRUE(event);
    EXPECT_EQ(event->kind, StopEvent::Kind::breakpoint);
    EXPECT_EQ(reg(0, 10), 2u) << "once round the loop";
}

TEST_F(TwoHarts, SteppingOneHartLeavesTheOtherStopped) {
    std::vector<ResumeMode> modes = {ResumeMode::stay, ResumeMode::step};
    target->resume(modes);
    auto event = wait_for_stop();
    ASSERT_TRUE(event);
    EXPECT_EQ(event->kind, StopEvent::Kind::step);
    EXPECT_EQ(event->thread, 1u);
    EXPECT_EQ(reg(1, RiscvTarget::kPc), kLoop1 + 4);
    EXPECT_EQ(reg(0, RiscvTarget::kPc), kRam) << "hart 0 stays where it was";
    target->resume(modes);
    ASSERT_TRUE(wait_for_stop());
    EXPECT_EQ(reg(1, RiscvTarget::kPc), kLoop1 + 8);
    EXPECT_EQ(machine.memory.load<uint64_t>(kData).value(), 1u);
}

TEST_F(TwoHarts, WatchpointNamesItsAddressAndKind) {
    ASSERT_TRUE(target->insert_breakpoint(BreakpointKind::write_watch, kData, 8));
    // The watch is a debugger trigger on each hart, which the guest cannot change.
    EXPECT_TRUE(hart0.triggers().tdata1_at(0) & riscv::TriggerModule::kDmode);
    std::vector<ResumeMode> run(2, ResumeMode::run);
    target->resume(run);
    auto event = wait_for_stop();
    ASSERT_TRUE(event);
    EXPECT_EQ(event->kind, StopEvent::Kind::watch_write);
    EXPECT_EQ(event->thread, 1u);
    EXPECT_EQ(event->address, kData);
    EXPECT_EQ(reg(1, RiscvTarget::kPc), kLoop1 + 4) << "stopped before the store";
    EXPECT_EQ(machine.memory.load<uint64_t>(kData).value(), 0u);
    // A range that is no power of two takes a chain of two triggers on each hart.
    ASSERT_TRUE(target->insert_breakpoint(BreakpointKind::access_watch, kData + 0x10, 3));
    ASSERT_TRUE(target->remove_breakpoint(BreakpointKind::access_watch, kData + 0x10, 3));
    ASSERT_TRUE(target->remove_breakpoint(BreakpointKind::write_watch, kData, 8));
    EXPECT_FALSE(hart0.triggers().tdata1_at(0) & riscv::TriggerModule::kDmode);
    // Four triggers: a fifth single-trigger point does not fit.
    for (unsigned i = 0; i < 4; ++i)
        ASSERT_TRUE(target->insert_breakpoint(BreakpointKind::hardware, kRam + 0x100 + i * 4, 1));
    EXPECT_FALSE(target->insert_breakpoint(BreakpointKind::hardware, kRam + 0x200, 1));
}

TEST_F(TwoHarts, InterruptHaltsARunningTarget) {
    std::vector<ResumeMode> run(2, ResumeMode::run);
    target->resume(run);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto raced = target->interrupt();
    EXPECT_FALSE(raced) << "nothing was armed to stop on";
    uint64_t a0 = reg(0, 10), a2 = reg(1, 12);
    EXPECT_GT(a0 + a2, 0u) << "they ran";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(reg(0, 10), a0);
    EXPECT_EQ(reg(1, 12), a2);
}

TEST_F(TwoHarts, DetachLetsThemRunWithoutBreakpoints) {
    ASSERT_TRUE(target->insert_breakpoint(BreakpointKind::software, kRam + 4, 1));
    ASSERT_TRUE(target->insert_breakpoint(BreakpointKind::read_watch, kData, 4));
    target->detach();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    target->halt();
    EXPECT_GT(reg(0, 10), 1u) << "ran past the removed breakpoint";
    EXPECT_FALSE(hart1.triggers().tdata1_at(0) & riscv::TriggerModule::kDmode);
}

TEST_F(TwoHarts, KillStopsTheMachineAndShutDownReportsItsStatus) {
    target->kill();
    auto reason = latch.reason();
    ASSERT_TRUE(reason);
    EXPECT_EQ(reason->exit_code, vm::exit_code::host_stopped);
    target->shut_down();
    auto event = target->take_stop();
    ASSERT_TRUE(event);
    EXPECT_EQ(event->kind, StopEvent::Kind::exited);
    EXPECT_EQ(event->exit_code, vm::exit_code::host_stopped);
}

}  // namespace
}  // namespace vessel::debug
