// Harts on separate host threads: LR/SC and AMOs on shared words stay exact under contention, a
// hart idling in WFI sleeps (it does not spin) and request_stop() wakes and ends it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

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
    vm::RamLayout layout[] = {{kRam, 1 << 20}};
    auto memory = vm::GuestMemory::create(layout);
    ASSERT_TRUE(memory);
    ASSERT_TRUE(memory->write(
        kRam, std::span(reinterpret_cast<const uint8_t*>(kProgram), sizeof(kProgram))));
    vm::Bus bus;
    Clock clock;
    CodePages code_pages(*memory);
    MachineContext machine{*memory, bus, clock, code_pages};

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

}  // namespace
}  // namespace vessel::riscv
