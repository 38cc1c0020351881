// The fixed part of every differential-test program: the M-mode prologue that puts the hart in
// the Setup's state, the M and S trap handlers that log each trap (cause, epc, tval, status,
// instret, fcsr, every x and f register) and resume after it, the snippets the body calls, the
// Sv39 page tables, and the data. The body is the only generated code.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "layout.h"

namespace vessel::riscv::difftest {

// What the M handler does for an ecall, by a7: resume after it, switch privilege (a6: the new
// privilege, a5: where to continue) or end the program.
enum EcallRequest : uint64_t { kEcallResume = 0, kEcallSwitch = 1, kEcallFinish = 2 };

// Registers the generated body may not write at random: the two data pointers (sp and s0, the
// compressed forms' bases), the loop counter (s1), the round counter (s2), the checksum that
// folds in values before later code overwrites them (s3), the ecall request (a7) and the
// generator's two scratch registers (t5, t6).
inline constexpr unsigned kSp = 2, kS0 = 8, kS1 = 9, kA5 = 15, kA6 = 16, kA7 = 17, kS2 = 18,
                          kS3 = 19, kT5 = 30, kT6 = 31;
inline constexpr unsigned kRa = 1, kT0 = 5, kT1 = 6, kT2 = 7;

// Where sp and s0 point when the body starts (and after every privilege switch).
inline constexpr uint64_t kSpData = kData + 0x4000, kS0Data = kData + 0x9000;
// The snippets: at the start of each snippet page `addi a0, a0, 1; c.addi a1, 3; ret`, and at
// +0x800 `addi a2, a2, 5; ret`, called with jalr ra.
inline constexpr uint64_t kSnippetSecond = 0x800;

std::array<uint64_t, 32> initial_x(const Setup& setup);
std::array<uint64_t, 32> initial_f(const Setup& setup);

// The whole RAM image (kRamBytes from kRam) with `body` at kCode. The body must fit its pages.
std::vector<uint8_t> build_image(const Setup& setup, std::span<const uint8_t> body);

// The fixed generator the bulk contents come from: it must never change, or every recorded
// regression case would describe another program.
struct SplitMix {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t bound) { return next() % bound; }
};

}  // namespace vessel::riscv::difftest
