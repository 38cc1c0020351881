// Interrupt-pending state that the ISA tests cannot reach because it needs the board's lines: the
// external SEIP signal must never leak into the software-writable SEIP bit of mip.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "test_machine.h"
#include "vm/riscv/hart.h"

namespace vessel::riscv {
namespace {

constexpr uint64_t kRam = 0x80000000;
// +0 go, +4 done, +8 first read, +16 second read, +24 first read done
constexpr uint64_t kMailbox = kRam + 0x1000;
constexpr uint64_t kSsip = uint64_t{1} << 1, kSeip = uint64_t{1} << 9;

// Assembled with riscv64-unknown-elf-as -march=rv64g from:
//         csrrs t0, mip, t1        # t1 = SSIP, while the PLIC holds SEIP high
//         li t3, 1; sw t3, 24(a0)
//   wait: lw t3, 0(a0); beqz t3, wait
//         csrr t2, mip             # after the line dropped
//         sd t0, 8(a0); sd t2, 16(a0); li t3, 1; sw t3, 4(a0)
//   spin: j spin
constexpr uint32_t kProgram[] = {0x344322f3, 0x00100e13, 0x01c52c23, 0x00052e03,
                                 0xfe0e0ee3, 0x344023f3, 0x00553423, 0x00753823,
                                 0x00100e13, 0x01c52223, 0x0000006f};

// OpenSBI raises SSIP for an S-mode IPI with `csrs mip, SSIP`. Were the external SEIP signal part
// of that read-modify-write (the privileged spec says only the software bit is), an IPI that
// coincided with a UART interrupt latched SEIP for good: an interrupt storm no claim can end.
TEST(HartInterrupts, CsrsOnMipDoesNotLatchTheExternalSeipSignal) {
    TestMachine test_machine;
    ASSERT_TRUE(test_machine.load(kProgram));
    const vm::GuestMemory* memory = &test_machine.memory;
    const MachineContext& machine = test_machine.context;
    Hart hart(machine, 0);
    hart.reset(kRam, Priv::machine);
    hart.set_reg(10, kMailbox);
    hart.set_reg(6, kSsip);
    hart.set_interrupt_line(irq::sei, true);
    std::jthread thread([&hart] { hart.run(); });
    struct Stop {
        Hart& hart;
        ~Stop() { hart.request_stop(); }
    } stop{hart};

    auto await_word = [&](uint64_t address) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (memory->load<uint32_t>(address).value_or(0) == 0 &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
    // Once the hart has done its csrs, the PLIC drops the line and lets the program go on.
    await_word(kMailbox + 24);
    hart.set_interrupt_line(irq::sei, false);
    ASSERT_TRUE(memory->store<uint32_t>(kMailbox, 1));
    await_word(kMailbox + 4);
    ASSERT_EQ(memory->load<uint32_t>(kMailbox + 4).value_or(0), 1u) << "the program never finished";

    uint64_t during = memory->load<uint64_t>(kMailbox + 8).value();
    uint64_t after = memory->load<uint64_t>(kMailbox + 16).value();
    EXPECT_EQ(during & kSeip, kSeip) << "a read of mip shows the external signal";
    EXPECT_EQ(after & kSsip, kSsip) << "csrs set SSIP";
    EXPECT_EQ(after & kSeip, 0u) << "SEIP stayed pending after the external line dropped";
}

}  // namespace
}  // namespace vessel::riscv
