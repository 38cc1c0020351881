// Runs the benchmark ELF on Vessel's RISC-V machine and prints the retired-instruction count the
// workload recorded from minstret. The benchmark workload is deterministic (no timer or
// time-dependent branch), so this is also the number QEMU executes for the same ELF; the run script
// divides it by each engine's time.
#include <fmt/format.h>

#include <cstdio>

#include "vm/riscv_virt/bare_machine.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        fmt::print(stderr, "usage: riscv-bench-count ELF\n");
        return 1;
    }
    auto machine = vessel::riscv_virt::BareMachine::create(argv[1], 64ull << 20);
    if (!machine) {
        fmt::print(stderr, "riscv-bench-count: {}\n", machine.error().message());
        return 1;
    }
    int status = (*machine)->run(std::chrono::minutes(10));
    if (status != 0) {
        fmt::print(stderr, "riscv-bench-count: workload exited with status {}\n", status);
        return 1;
    }
    // start.S stores minstret at bench_result (link.ld) just before reporting.
    constexpr uint64_t kResultAddress = vessel::riscv_virt::kRamBase + 0x400000;
    auto retired = (*machine)->memory().load<uint64_t>(kResultAddress);
    if (!retired || *retired == 0) {
        fmt::print(stderr, "riscv-bench-count: the workload did not record its instret\n");
        return 1;
    }
    fmt::print("{}\n", *retired);
    return 0;
}
