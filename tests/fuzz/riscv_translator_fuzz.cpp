// The translator against the interpreter: a fuzz-chosen set-up (privilege, paging, delegation,
// registers and data, from the differential tester's generator) and a straight-line body of
// fuzz-chosen instruction words, run on a hart of each engine from identical state; any
// difference in the trap log, RAM, registers, pc, instret or privilege is a finding.
//
// Control flow and SYSTEM instructions (branches, jumps, CSRs, xRET, WFI, ECALL) become nops, so
// every body ends: the tester's trap handlers resume after whatever else traps. A body can still
// wreck the handlers' own state (a store through a register that points at them); a program that
// then hangs on both engines is no finding, one that hangs on one engine only is.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fuzz_input.h"
#include "riscv/difftest/engine_runner.h"
#include "riscv/difftest/program_generator.h"

using namespace vessel::riscv::difftest;

namespace {

constexpr unsigned kMaxInstructions = 256;
constexpr uint32_t kNop = 0x00000013;  // addi x0, x0, 0
constexpr uint32_t kCompressedNop = 0x0001;

bool changes_control_flow(uint32_t word) {
    if ((word & 3) == 3) {
        switch (word & 0x7f) {
            case 0x63:  // branches
            case 0x67:  // jalr
            case 0x6f:  // jal
            case 0x73:  // SYSTEM: ecall, ebreak, CSRs, xRET, WFI, sfence.vma
                return true;
            default:
                return false;
        }
    }
    uint32_t funct3 = (word >> 13) & 7;
    if ((word & 3) == 1) return funct3 == 5 || funct3 == 6 || funct3 == 7;  // c.j, c.beqz, c.bnez
    // c.jr, c.jalr and c.ebreak: quadrant 2, funct3 4, rs2 0.
    return (word & 3) == 2 && funct3 == 4 && ((word >> 2) & 0x1f) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    vessel::fuzz::FuzzInput input(data, size);
    Setup setup = random_setup(input.take<uint32_t>());
    std::vector<Placed> body;
    uint32_t offset = 0;
    while (!input.empty() && body.size() < kMaxInstructions) {
        uint32_t word = input.take<uint32_t>();
        bool wide = (word & 3) == 3;
        if (!wide) word &= 0xffff;
        if (changes_control_flow(word)) word = wide ? kNop : kCompressedNop;
        body.push_back({offset, word});
        offset += wide ? 4 : 2;
    }
    Program program = explicit_program(setup, body);
    // Kept across inputs: faulting in two machines' RAM costs more than running a program.
    static DifferentialRunner runner;
    auto outcomes = runner.run(program.image(), {.deadline = std::chrono::milliseconds(2000)});
    if (outcomes.first.finished != outcomes.second.finished) {
        // The deadline is wall-clock time: one engine out of time while the other finished may
        // be a busy machine (a fuzzer under nice got no CPU for two seconds), not a hang. Only
        // a second run with ten times the time tells.
        outcomes = runner.run(program.image(), {.deadline = std::chrono::milliseconds(20000)});
    }
    const auto& [interpreter, translator] = outcomes;
    if (!interpreter.finished && !translator.finished) return 0;
    std::string difference = compare(interpreter, translator);
    if (!difference.empty()) {
        std::fprintf(stderr, "interpreter and translator differ:\n%s\n", difference.c_str());
        std::abort();
    }
    return 0;
}
