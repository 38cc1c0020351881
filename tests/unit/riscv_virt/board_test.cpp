// The RISC-V board's parts without booting anything: PLIC claim/complete, the Linux Image header
// and RAM layout, the generated device tree, and the SBI's answers to well-formed and hostile
// calls.
#include <gtest/gtest.h>

extern "C" {
#include <libfdt.h>
}

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../riscv/test_engine.h"
#include "vm/boot/riscv_image.h"
#include "vm/riscv_virt/device_tree.h"
#include "vm/riscv_virt/plic.h"
#include "vm/riscv_virt/sbi.h"

namespace vessel::riscv_virt {
namespace {

constexpr uint64_t kRam = 0x80000000;

struct Board {
    Board(unsigned count = 2)
        : memory(make_memory()), code_pages(std::move(*riscv::CodePages::create(memory))) {
        for (unsigned i = 0; i < count; ++i) {
            harts.push_back(std::make_unique<riscv::Hart>(context, i));
            list.push_back(harts.back().get());
        }
    }
    static vm::GuestMemory make_memory() {
        vm::RamLayout layout[] = {{kRam, 1 << 20}};
        return std::move(*vm::GuestMemory::create(layout));
    }
    vm::GuestMemory memory;
    vm::Bus bus;
    riscv::Clock clock;
    riscv::CodePages code_pages;
    riscv::MachineContext context{memory, bus, clock, code_pages, riscv::engine_under_test()};
    std::vector<std::unique_ptr<riscv::Hart>> harts;
    std::vector<riscv::Hart*> list;
};

constexpr uint64_t kClaimS0 = 0x201004, kThresholdS0 = 0x201000, kEnableS0 = 0x2080;

// ctest runs these tests a second time (NAME.jit) for the translator: its harts must get it.
TEST(Board, HartsRunTheEngineTheTestRunAsksFor) {
    Board board(1);
    EXPECT_EQ(board.harts[0]->engine(), riscv::engine_under_test());
}

TEST(Plic, ClaimsOnlyEnabledSourcesAboveThresholdAndRependsLevelOnComplete) {
    Board board;
    Plic plic(board.list);
    plic.line(10).set_level(true);
    EXPECT_EQ(plic.read(0x1000, 4), 1u << 10);  // pending
    EXPECT_EQ(plic.read(kClaimS0, 4), 0u);      // not enabled, priority 0
    plic.write(kEnableS0, 4, 1u << 10);
    EXPECT_EQ(plic.read(kClaimS0, 4), 0u);  // priority 0 never interrupts
    plic.write(4 * 10, 4, 1);
    plic.write(kThresholdS0, 4, 1);
    EXPECT_EQ(plic.read(kClaimS0, 4), 0u);  // priority must exceed the threshold
    plic.write(kThresholdS0, 4, 0);
    EXPECT_EQ(plic.read(kClaimS0, 4), 10u);
    EXPECT_EQ(plic.read(kClaimS0, 4), 0u);  // in service: not pending again
    plic.write(kClaimS0, 4, 10);            // complete with the line still high
    EXPECT_EQ(plic.read(kClaimS0, 4), 10u);
    plic.line(10).set_level(false);
    plic.write(kClaimS0, 4, 10);
    EXPECT_EQ(plic.read(kClaimS0, 4), 0u);
}

TEST(Plic, IgnoresOutOfRangeRegistersAndSources) {
    Board board(1);
    Plic plic(board.list);
    plic.set_source_level(0, true);
    plic.set_source_level(5000, true);
    plic.write(0x200000 + 0x1000 * 7, 4, 1);  // context that does not exist
    plic.write(0x2000 + 0x80 * 9, 4, ~0u);    // enables of a context that does not exist
    plic.write(kClaimS0 - 0x1000, 4, 4000);   // completing a source that does not exist
    EXPECT_EQ(plic.read(0x5ffffc, 4), 0u);
    EXPECT_EQ(plic.read(0x1000, 4), 0u);
    EXPECT_EQ(plic.read(0x1, 4), 0u);  // misaligned
}

std::vector<uint8_t> image_with(uint64_t text_offset, uint64_t image_size) {
    std::vector<uint8_t> image(0x1000);
    std::memcpy(image.data() + 8, &text_offset, 8);
    std::memcpy(image.data() + 16, &image_size, 8);
    std::memcpy(image.data() + 0x38, "RSC\x05", 4);
    return image;
}

TEST(LinuxImage, ParsesTheHeaderAndRejectsOthers) {
    auto header = vm::parse_riscv_image_header(image_with(0x200000, 0x500000));
    ASSERT_TRUE(header);
    EXPECT_EQ(header->text_offset, 0x200000u);
    EXPECT_EQ(header->image_size, 0x500000u);
    std::vector<uint8_t> elf(0x1000);
    std::memcpy(elf.data(),
                "\x7f"
                "ELF",
                4);
    auto not_image = vm::parse_riscv_image_header(elf);
    ASSERT_FALSE(not_image);
    EXPECT_NE(not_image.error().message().find("not a RISC-V Linux Image"), std::string::npos);
    EXPECT_FALSE(vm::parse_riscv_image_header(std::vector<uint8_t>(0x20)));
    EXPECT_FALSE(vm::parse_riscv_image_header(image_with(0x1000, 0x100)));
}

TEST(LinuxImage, PlacesInitrdAndDeviceTreeAtTheTopOrFailsWhenRamIsShort) {
    vm::RiscvImageHeader header{0x200000, 0x600000};
    auto layout = vm::plan_riscv_boot_layout(kRam, 64 << 20, header, 0x400000, 0x100001);
    ASSERT_TRUE(layout);
    EXPECT_EQ(layout->kernel, kRam + 0x200000);
    EXPECT_EQ(layout->dtb, kRam + (64 << 20) - vm::kDtbMaxSize);
    EXPECT_EQ(layout->initrd_end - layout->initrd, 0x100001u);
    EXPECT_LE(layout->initrd_end, layout->dtb);
    EXPECT_GE(layout->initrd, layout->kernel_end);
    EXPECT_EQ(layout->initrd % 4096, 0u);
    auto short_ram = vm::plan_riscv_boot_layout(kRam, 16 << 20, header, 0x400000, 12 << 20);
    ASSERT_FALSE(short_ram);
    EXPECT_NE(short_ram.error().message().find("too small"), std::string::npos);
    EXPECT_FALSE(
        vm::plan_riscv_boot_layout(kRam, 8 << 20, vm::RiscvImageHeader{0x200000, 0x800000}, 0, 0));
}

TEST(DeviceTree, HoldsWhatLinuxBindsDriversFrom) {
    DeviceTreeInputs inputs{4, kRam, 256 << 20, "console=ttyS0", 0x8f000000, 0x8f100000, false};
    auto blob = build_device_tree(inputs);
    ASSERT_TRUE(blob);
    const void* fdt = blob->data();
    ASSERT_EQ(fdt_check_header(fdt), 0);
    int chosen = fdt_path_offset(fdt, "/chosen");
    ASSERT_GE(chosen, 0);
    EXPECT_STREQ(static_cast<const char*>(fdt_getprop(fdt, chosen, "bootargs", nullptr)),
                 "console=ttyS0");
    EXPECT_STREQ(static_cast<const char*>(fdt_getprop(fdt, chosen, "stdout-path", nullptr)),
                 "/soc/serial@10000000");
    EXPECT_GE(fdt_path_offset(fdt, "/cpus/cpu@3/interrupt-controller"), 0);
    EXPECT_LT(fdt_path_offset(fdt, "/cpus/cpu@4"), 0);
    EXPECT_GE(fdt_path_offset(fdt, "/memory@80000000"), 0);
    int uart = fdt_path_offset(fdt, "/soc/serial@10000000");
    ASSERT_GE(uart, 0);
    EXPECT_EQ(
        fdt32_to_cpu(*static_cast<const fdt32_t*>(fdt_getprop(fdt, uart, "interrupts", nullptr))),
        10u);
    int length = 0;
    int plic = fdt_path_offset(fdt, "/soc/plic@c000000");
    ASSERT_GE(plic, 0);
    ASSERT_NE(fdt_getprop(fdt, plic, "interrupts-extended", &length), nullptr);
    EXPECT_EQ(length, 4 * 4 * 4);  // per hart: <intc 11> <intc 9>
    EXPECT_GE(fdt_path_offset(fdt, "/poweroff"), 0);
    EXPECT_LT(fdt_path_offset(fdt, "/soc/clint@2000000"), 0);  // only for M-mode firmware
}

// Linux credits /chosen/rng-seed to its RNG at boot (CONFIG_RANDOM_TRUST_BOOTLOADER): without
// one, an emulated guest gathers entropy slowly and its crng stays uninitialised long after /init.
// Each build takes 64 fresh bytes from the host.
TEST(DeviceTree, ChosenCarriesAFreshRngSeed) {
    DeviceTreeInputs inputs{1, kRam, 256 << 20, "", 0, 0, false};
    auto seed_of = [](const std::vector<uint8_t>& blob) {
        const void* fdt = blob.data();
        int length = 0;
        const void* seed = fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "rng-seed", &length);
        if (!seed) return std::vector<uint8_t>{};
        auto* bytes = static_cast<const uint8_t*>(seed);
        return std::vector<uint8_t>(bytes, bytes + length);
    };
    auto first = seed_of(build_device_tree(inputs).value());
    auto second = seed_of(build_device_tree(inputs).value());
    EXPECT_EQ(first.size(), 64u);
    EXPECT_EQ(second.size(), 64u);
    EXPECT_NE(first, second);
    EXPECT_NE(first, std::vector<uint8_t>(64, 0));
}

struct SbiFixture : ::testing::Test {
    Board board;
    vm::StopLatch exit;
    std::string console;
    Sbi sbi{board.memory,
            board.list,
            exit,
            {.write = [this](uint8_t byte) { console.push_back(static_cast<char>(byte)); },
             .read = nullptr}};
    riscv::Hart& hart = *board.harts[0];

    // Calls (eid, fid, args) on hart 0; returns {a0, a1}.
    std::pair<int64_t, uint64_t> call(uint64_t eid, uint64_t fid, std::vector<uint64_t> args = {}) {
        for (unsigned i = 0; i < 6; ++i)
            hart.set_reg(10 + i, i < args.size() ? args[i] : 0);
        hart.set_reg(16, fid);
        hart.set_reg(17, eid);
        EXPECT_TRUE(sbi.handle_ecall(hart));
        return {static_cast<int64_t>(hart.reg(10)), hart.reg(11)};
    }
};

TEST_F(SbiFixture, BaseReportsVersionImplementationAndExtensions) {
    EXPECT_EQ(call(0x10, 0), std::make_pair(int64_t{0}, uint64_t{2} << 24));
    EXPECT_EQ(call(0x10, 1).second, Sbi::kImplId);
    EXPECT_EQ(call(0x10, 3, {0x48534d}).second, 1u);    // HSM
    EXPECT_EQ(call(0x10, 3, {0x12345678}).second, 0u);  // unknown
    EXPECT_EQ(call(0x10, 99).first, -2);
    EXPECT_EQ(call(0x0abcdef0, 0).first, -2);  // unknown extension: NOT_SUPPORTED
}

TEST_F(SbiFixture, HostileArgumentsGetErrorsNotCrashes) {
    EXPECT_EQ(call(0x48534d, 0, {7, kRam, 0}).first, -3);    // no hart 7
    EXPECT_EQ(call(0x48534d, 0, {1, 0x1000, 0}).first, -5);  // not RAM
    EXPECT_EQ(call(0x48534d, 0, {0, kRam, 0}).first, -6);    // already started
    EXPECT_EQ(call(0x48534d, 2, {~uint64_t{0}}).first, -3);
    EXPECT_EQ(call(0x735049, 0, {1, 5}).first, -3);  // IPI to hart 5
    EXPECT_EQ(call(0x735049, 0, {~uint64_t{0}, ~uint64_t{0} - 3}).first, -3);
    EXPECT_EQ(call(0x52464e43, 1, {0x8000000000000000, 63, 0, 4096}).first, -3);
    EXPECT_EQ(call(0x4442434e, 0, {16, kRam + (1 << 20) - 8, 0}).first, -3);  // past RAM
    EXPECT_EQ(call(0x4442434e, 0, {~uint64_t{0}, kRam + (1 << 20) - 100, 0}).first, -3);
    EXPECT_EQ(call(0x4442434e, 0, {4, kRam, 1}).first, -3);
    EXPECT_EQ(call(0x53525354, 0, {9, 0}).first, -3);
    EXPECT_FALSE(exit.exit_code_by(std::chrono::steady_clock::now()));
}

TEST_F(SbiFixture, ConsoleHsmAndResetDoWhatTheyAnnounce) {
    const char text[] = "hello";
    ASSERT_TRUE(
        board.memory.write(kRam + 64, std::span(reinterpret_cast<const uint8_t*>(text), 5)));
    EXPECT_EQ(call(0x4442434e, 0, {5, kRam + 64, 0}), std::make_pair(int64_t{0}, uint64_t{5}));
    call(0x4442434e, 2, {'!'});
    call(1, 0, {'?'});  // legacy putchar
    EXPECT_EQ(console, "hello!?");
    EXPECT_EQ(call(0x48534d, 2, {1}).second, 1u);  // stopped
    EXPECT_EQ(call(0x48534d, 0, {1, kRam, 42}).first, 0);
    EXPECT_EQ(call(0x48534d, 2, {1}).second, 2u);  // start pending
    EXPECT_TRUE(sbi.wait_for_start(1));
    EXPECT_EQ(board.harts[1]->pc(), kRam);
    EXPECT_EQ(board.harts[1]->reg(10), 1u);
    EXPECT_EQ(board.harts[1]->reg(11), 42u);
    EXPECT_EQ(board.harts[1]->priv(), riscv::Priv::supervisor);
    EXPECT_EQ(call(0x53525354, 0, {1, 0}).first, 0);  // cold reboot
    EXPECT_EQ(exit.exit_code_by(std::chrono::steady_clock::now()), std::optional<int>(2));
    sbi.shut_down();
    EXPECT_FALSE(sbi.wait_for_start(1));
}

// A kernel started by the SBI finds the counter CSRs as OpenSBI leaves them: readable in S-mode
// (mcounteren) and in U-mode (scounteren). Linux without an SBI PMU driver never writes
// scounteren, and glibc's clock_gettime reads `time` in the vDSO, in U-mode: with scounteren 0
// every such call died of SIGILL.
TEST(SbiEnterSupervisor, LeavesTimeCycleAndInstretReadableInUserMode) {
    Board board(1);
    constexpr uint64_t kMailbox = kRam + 0x1000;  // +0 scause, +8 time, +16 reads done, +24 flag
    // Assembled with riscv64-unknown-elf-as -march=rv64g, linked at 0x80000000, from:
    //         la t0, handler; csrw stvec, t0; la t0, user; csrw sepc, t0
    //         sret                   # sstatus.SPP is 0: to U-mode
    //   user: csrr a5, time; csrr a6, cycle; csrr a7, instret; li t1, 1
    //         ecall                  # delegated: back to the S-mode handler, scause 8
    //   handler: csrr t2, scause; sd t2, 0(a1); sd a5, 8(a1); sd t1, 16(a1)
    //         li t3, 1; sw t3, 24(a1)
    //   spin: j spin
    constexpr uint32_t kProgram[] = {0x00000297, 0x03028293, 0x10529073, 0x00000297, 0x01028293,
                                     0x14129073, 0x10200073, 0xc01027f3, 0xc0002873, 0xc02028f3,
                                     0x00100313, 0x00000073, 0x142023f3, 0x0075b023, 0x00f5b423,
                                     0x0065b823, 0x00100e13, 0x01c5ac23, 0x0000006f};
    ASSERT_TRUE(board.memory.write(
        kRam, std::span(reinterpret_cast<const uint8_t*>(kProgram), sizeof kProgram)));
    riscv::Hart& hart = *board.harts[0];
    Sbi::enter_supervisor(hart, kRam, kMailbox);
    std::jthread thread([&hart] { hart.run(); });
    struct Stop {
        riscv::Hart& hart;
        ~Stop() { hart.request_stop(); }
    } stop{hart};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (board.memory.load<uint32_t>(kMailbox + 24).value_or(0) == 0 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(board.memory.load<uint32_t>(kMailbox + 24).value_or(0), 1u) << "never trapped";
    EXPECT_EQ(board.memory.load<uint64_t>(kMailbox).value(), 8u)
        << "scause 8 is the ecall from U-mode; 2 (illegal instruction) is a counter read that "
           "trapped";
    EXPECT_EQ(board.memory.load<uint64_t>(kMailbox + 16).value(), 1u);
    EXPECT_GT(board.memory.load<uint64_t>(kMailbox + 8).value(), 0u) << "time reads the clock";
}

// Linux frees or rewrites pages as soon as sbi_remote_sfence_vma() returns, so the call must not
// return before every target hart has dropped its translations: one busy in a loop, one asleep
// in WFI (woken to flush) and, without waiting at all, one that is not running.
TEST(SbiRemoteFence, ReturnsOnlyAfterEveryRunningTargetHasFlushed) {
    Board board(4);
    vm::StopLatch exit;
    Sbi sbi(board.memory, board.list, exit, {.write = [](uint8_t) {}, .read = nullptr});
    constexpr uint32_t kSpin[] = {0x0000006f};               // j .
    constexpr uint32_t kSleep[] = {0x10500073, 0xffdff06f};  // wfi; j -4
    auto bytes = [](std::span<const uint32_t> words) {
        return std::span(reinterpret_cast<const uint8_t*>(words.data()), words.size_bytes());
    };
    ASSERT_TRUE(board.memory.write(kRam, bytes(kSpin)));
    ASSERT_TRUE(board.memory.write(kRam + 0x100, bytes(kSleep)));
    board.harts[1]->reset(kRam, riscv::Priv::machine);
    board.harts[2]->reset(kRam + 0x100, riscv::Priv::machine);
    std::vector<std::jthread> threads;
    for (unsigned index : {1u, 2u})
        threads.emplace_back([&board, index] { board.harts[index]->run(); });
    // Stops the harts on every way out, a failed assertion included, before the threads join.
    struct StopHarts {
        Board& board;
        ~StopHarts() {
            for (unsigned index : {1u, 2u})
                board.harts[index]->request_stop();
        }
    } stop_harts{board};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // hart 2 is in WFI by now

    riscv::Hart& caller = *board.harts[0];
    for (uint64_t round = 1; round <= 50; ++round) {
        for (unsigned i = 0; i < 6; ++i)
            caller.set_reg(10 + i, 0);
        caller.set_reg(10, 0b1110);      // harts 1, 2 and 3
        caller.set_reg(16, 1);           // remote_sfence_vma, whole address space
        caller.set_reg(17, 0x52464e43);  // RFNC
        ASSERT_TRUE(sbi.handle_ecall(caller));
        ASSERT_EQ(static_cast<int64_t>(caller.reg(10)), 0);
        ASSERT_EQ(board.harts[1]->flushes_served(), round) << "busy hart";
        ASSERT_EQ(board.harts[2]->flushes_served(), round) << "hart in WFI";
    }
    EXPECT_EQ(board.harts[3]->flushes_served(), 0u) << "hart 3 never ran, nothing to wait for";
}

}  // namespace
}  // namespace vessel::riscv_virt
