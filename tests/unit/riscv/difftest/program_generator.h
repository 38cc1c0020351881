// Random RV64GC programs for the differential tester. A program is a Setup (privilege, paging,
// page permissions, delegation, initial registers and data) and a generated body: straight-line
// runs of every RV64GC instruction kind, forward branches and jumps, bounded loops, calls into
// snippet pages, CSR accesses, deliberate traps, privilege switches, page-table changes with
// sfence.vma, and stores into code that is about to run (with and without fence.i). Every
// program terminates: branches and jumps only go forward, loops count down a register the body
// never writes, and every trap resumes after the trapping instruction.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "guest_runtime.h"
#include "layout.h"

namespace vessel::riscv::difftest {

struct Program {
    Setup setup;
    std::vector<uint8_t> body;           // at kCode
    std::vector<uint32_t> instructions;  // offset of every instruction in `body`
    uint32_t finish_offset = 0;          // the closing `li a7, 2; ecall` starts here

    std::vector<uint8_t> image() const { return build_image(setup, body); }
};

// What the generated programs may do beyond what they always do.
struct Features {
    // Every store into code is followed by fence.i before that code runs, as the ISA requires
    // for the new code to be fetched. False leaves it out half the time: the interpreter (the
    // reference) fetches what a hart's own store wrote from the next instruction on, and the
    // translator is meant to do the same.
    bool fence_i_after_code_stores = false;
};

Setup random_setup(uint64_t seed);
Program generate_program(uint64_t seed, const Features& features = {});

// One instruction of an explicit body, at an offset from kCode.
struct Placed {
    uint32_t offset;
    uint32_t encoding;  // 16-bit forms in the low half
};
// A body of exactly these instructions (c.nop between them), then the closing ecall.
Program explicit_program(const Setup& setup, std::span<const Placed> instructions);
// A body assembled at kCode (a test's own program), then the closing ecall.
Program assembled_program(const Setup& setup, std::vector<uint8_t> body);
// The instructions of a program's body before its closing ecall that are not nops.
std::vector<Placed> placed_instructions(const Program& program);

}  // namespace vessel::riscv::difftest
