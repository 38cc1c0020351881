// Harts on separate host threads: LR/SC and AMOs on shared words stay exact under contention, a
// hart idling in WFI sleeps (it does not spin) and request_stop() wakes and ends it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "test_machine.h"
#include "vm/riscv/hart.h"

namespace vessel::riscv {
namespace {

constexpr uint64_t kRam = 0x80000000;
constexpr uint64_t kCounters = kRam + 0x1000;  // +0: LR/SC word, +8: AMO doubleword
constexpr uint64_t kDone = kRam + 0x2000;

// Assembled with riscv64-unknown-elf-as from:
//   loop: lr.w t0,(a0); addi t0,t0,1; sc.w t1,t0,(a0); bnez t1,loop
//         amoadd.d zero,a3,(a4); addi a1,a1,-1; bnez a1,loop
//         amoadd.w zero,a3,(a2)
//   spin: wfi; j spin
constexpr uint32_t kProgram[] = {0x100522af, 0x00128293, 0x1855232f, 0xfe031ae3, 0x00d7302f,
                                 0xfff58593, 0xfe0594e3, 0x00d6202f, 0x10500073, 0xffdff06f};

TEST(HartSmp, AtomicsAreExactAcrossThreadsAndWfiSleepsUntilStopped) {
    TestMachine test_machine;
    ASSERT_TRUE(test_machine.load(kProgram));
    const vm::GuestMemory* memory = &test_machine.memory;
    const MachineContext& machine = test_machine.context;

    constexpr unsigned kHarts = 3;
    constexpr uint64_t kIterations = 20000;
    std::vector<std::unique_ptr<Hart>> harts;
    for (unsigned id = 0; id < kHarts; ++id) {
        auto hart = std::make_unique<Hart>(machine, id);
        hart->reset(kRam, Priv::machine);
        hart->set_reg(10, kCounters);      // a0
        hart->set_reg(11, kIterations);    // a1
        hart->set_reg(12, kDone);          // a2
        hart->set_reg(13, 1);              // a3
        hart->set_reg(14, kCounters + 8);  // a4
        harts.push_back(std::move(hart));
    }
    std::vector<std::thread> threads;
    for (auto& hart : harts)
        threads.emplace_back([&hart] { hart->run(); });

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (memory->load<uint32_t>(kDone).value_or(0) != kHarts &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(memory->load<uint32_t>(kDone).value_or(0), kHarts);

    // Every hart is now in WFI with nothing enabled: asleep, so it retires nothing more.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (auto& hart : harts)
        hart->request_stop();
    for (auto& thread : threads)
        thread.join();
    for (unsigned id = 0; id < kHarts; ++id) {
        EXPECT_EQ(harts[id]->pc(), kRam + 9 * 4) << "hart " << id << " is past its WFI";
        // 7 per iteration (more when an SC lost its reservation), the final AMO and the WFI.
        EXPECT_GE(harts[id]->instret(), kIterations * 7 + 2);
    }
    EXPECT_EQ(memory->load<uint32_t>(kCounters).value(), kHarts * kIterations);
    EXPECT_EQ(memory->load<uint64_t>(kCounters + 8).value(), kHarts * kIterations);
}

// The store-buffering litmus test: each hart sets its flag, executes `fence rw,rw` and reads the
// other's flag. RISC-V forbids both harts reading 0 in the same round; an x86-64 host, whose store
// buffer lets a load pass an earlier store, shows it within a few thousand rounds unless the
// interpreter turns the fence into a host barrier. Assembled with riscv64-unknown-elf-as from:
//   (a0 my flag, a1 the other's, a2 round barrier, a3 my results, a4 rounds, a5 done counter)
//         li s0, 0; li s1, 0
//   loop: addi s1, s1, 2; li t0, 1; amoadd.w zero, t0, (a2)
//   1:    lw t1, 0(a2); blt t1, s1, 1b           # both harts start the round together
//         sd t0, 0(a0); fence rw, rw; ld t2, 0(a1)
//         add t3, a3, s0; sb t2, 0(t3)
//         addi s1, s1, 2; amoadd.w zero, t0, (a2)
//   2:    lw t1, 0(a2); blt t1, s1, 2b           # both have read before either clears
//         sd zero, 0(a0); addi s0, s0, 1; blt s0, a4, loop
//         amoadd.w zero, t0, (a5)
//   3:    j 3b
constexpr uint32_t kStoreBuffering[] = {
    0x00000413, 0x00000493, 0x00248493, 0x00100293, 0x0056202f, 0x00062303, 0xfe934ee3,
    0x00553023, 0x0330000f, 0x0005b383, 0x00868e33, 0x007e0023, 0x00248493, 0x0056202f,
    0x00062303, 0xfe934ee3, 0x00053023, 0x00140413, 0xfce440e3, 0x0057a02f, 0x0000006f};

TEST(HartSmp, FenceRwRwForbidsStoreBufferingAcrossThreads) {
    constexpr uint64_t kRounds = 100000;
    constexpr uint64_t kFlags = kRam + 0x1000, kBarrier = kRam + 0x2000, kDoneCount = kRam + 0x3000;
    constexpr uint64_t kResults[2] = {kRam + 0x10000, kRam + 0x10000 + kRounds};
    TestMachine test_machine;
    ASSERT_TRUE(test_machine.load(kStoreBuffering));
    const vm::GuestMemory* memory = &test_machine.memory;
    const MachineContext& machine = test_machine.context;
    std::vector<std::unique_ptr<Hart>> harts;
    for (unsigned id = 0; id < 2; ++id) {
        auto hart = std::make_unique<Hart>(machine, id);
        hart->reset(kRam, Priv::machine);
        hart->set_reg(10, kFlags + 64 * id);        // a0: own flag, its own cache line
        hart->set_reg(11, kFlags + 64 * (1 - id));  // a1
        hart->set_reg(12, kBarrier);                // a2
        hart->set_reg(13, kResults[id]);            // a3
        hart->set_reg(14, kRounds);                 // a4
        hart->set_reg(15, kDoneCount);              // a5
        harts.push_back(std::move(hart));
    }
    std::vector<std::jthread> threads;
    for (auto& hart : harts)
        threads.emplace_back([&hart] { hart->run(); });
    struct Stop {
        std::vector<std::unique_ptr<Hart>>& harts;
        ~Stop() {
            for (auto& hart : harts)
                hart->request_stop();
        }
    } stop{harts};

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (memory->load<uint32_t>(kDoneCount).value_or(0) != 2 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(memory->load<uint32_t>(kDoneCount).value_or(0), 2u);
    uint64_t both_zero = 0;
    for (uint64_t round = 0; round < kRounds; ++round)
        if (memory->load<uint8_t>(kResults[0] + round).value() == 0 &&
            memory->load<uint8_t>(kResults[1] + round).value() == 0)
            ++both_zero;
    EXPECT_EQ(both_zero, 0u) << "rounds in which both harts missed the other's store";
}

}  // namespace
}  // namespace vessel::riscv
