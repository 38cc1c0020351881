#include "program_generator.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "assembler.h"
#include "body_generator.h"
#include "encoding.h"

namespace vessel::riscv::difftest {

namespace {

// Data pages: mostly readable and writable, some read-only, execute-only (readable with MXR
// only), write-only (reserved: a page fault), a non-leaf at the last level, or not mapped.
uint8_t data_flags(SplitMix& random) {
    static constexpr uint8_t kinds[] = {pte::V | pte::R | pte::W,
                                        pte::V | pte::R | pte::W,
                                        pte::V | pte::R | pte::W,
                                        pte::V | pte::R | pte::W | pte::A | pte::D,
                                        pte::V | pte::R | pte::W | pte::A,
                                        pte::V | pte::R,
                                        pte::V | pte::X,
                                        pte::V | pte::W,
                                        pte::V,
                                        0};
    return kinds[random.below(std::size(kinds))];
}

// Body pages are always executable (sequential code never runs into a fault); writable ones take
// the stores of self-modifying code directly, the others only through the write aliases.
uint8_t body_flags(SplitMix& random) {
    static constexpr uint8_t kinds[] = {pte::V | pte::R | pte::W | pte::X,
                                        pte::V | pte::R | pte::W | pte::X, pte::V | pte::R | pte::X,
                                        pte::V | pte::X,
                                        pte::V | pte::R | pte::W | pte::X | pte::A | pte::D};
    return kinds[random.below(std::size(kinds))];
}

// Snippet pages: executable or not, mapped or not.
uint8_t snippet_flags(SplitMix& random) {
    static constexpr uint8_t kinds[] = {pte::V | pte::R | pte::W | pte::X, pte::V | pte::R | pte::X,
                                        pte::V | pte::R | pte::W, 0};
    return kinds[random.below(std::size(kinds))];
}

}  // namespace

Setup random_setup(uint64_t seed) {
    SplitMix random{seed ^ 0x5e7u};
    Setup setup;
    setup.seed = seed;
    static constexpr Priv privs[] = {Priv::machine, Priv::supervisor, Priv::user};
    setup.priv = privs[random.below(3)];
    setup.paging = random.below(3) != 0;
    // Delegable: misaligned and access faults, illegal instruction, breakpoint, page faults.
    static constexpr uint32_t delegable[] = {1u << 1, 1u << 2, 1u << 3,  1u << 4,  1u << 5,
                                             1u << 6, 1u << 7, 1u << 12, 1u << 13, 1u << 15};
    if (random.below(2))
        for (uint32_t bit : delegable)
            if (random.below(2)) setup.medeleg |= bit;
    constexpr uint64_t fs = 3ull << 13, mprv = 1ull << 17, sum = 1ull << 18, mxr = 1ull << 19,
                       tvm = 1ull << 20, tw = 1ull << 21;
    if (random.below(10)) setup.mstatus |= fs;
    if (random.below(3) == 0) setup.mstatus |= sum;
    if (random.below(4) == 0) setup.mstatus |= mxr;
    if (random.below(20) == 0) setup.mstatus |= mprv;
    if (random.below(8) == 0) setup.mstatus |= tvm;
    if (random.below(8) == 0) setup.mstatus |= tw;
    static constexpr uint32_t rounding[] = {0, 1, 2, 3, 4, 0, 0, 5, 7};
    setup.fcsr = static_cast<uint32_t>(random.below(32)) |
                 (rounding[random.below(std::size(rounding))] << 5);
    setup.scounteren = static_cast<uint32_t>(random.below(8));
    for (unsigned page = 0; page < kCodePages; ++page) {
        bool body = page < kBodyPages;
        setup.code_s[page] = body ? body_flags(random) : snippet_flags(random);
        setup.code_u[page] = body ? body_flags(random) : snippet_flags(random);
    }
    for (unsigned page = 0; page < kDataPages; ++page) {
        setup.data_s[page] = data_flags(random);
        setup.data_u[page] = data_flags(random);
    }
    static constexpr uint8_t megas[] = {0, pte::V | pte::R | pte::W,
                                        pte::V | pte::R | pte::W | pte::U, pte::V | pte::R};
    setup.mega = megas[random.below(std::size(megas))];
    return setup;
}

Program generate_program(uint64_t seed, const Features& features) {
    Setup setup = random_setup(seed);
    return BodyGenerator(setup, seed, features).generate();
}

Program assembled_program(const Setup& setup, std::vector<uint8_t> body) {
    Program program;
    program.setup = setup;
    program.body = std::move(body);
    program.finish_offset = static_cast<uint32_t>(program.body.size());
    Assembler tail(kCode + program.body.size());
    tail.li(kA7, kEcallFinish);
    tail.word(enc::kEcall);
    std::vector<uint8_t> end = tail.finish();
    program.body.insert(program.body.end(), end.begin(), end.end());
    for (uint32_t offset = 0; offset < program.body.size();) {
        program.instructions.push_back(offset);
        offset += (program.body[offset] & 3) == 3 ? 4 : 2;
    }
    return program;
}

Program explicit_program(const Setup& setup, std::span<const Placed> instructions) {
    uint32_t end = 0;
    for (const Placed& placed : instructions)
        end = std::max(end, placed.offset + ((placed.encoding & 3) == 3 ? 4u : 2u));
    end = (end + 1) & ~1u;
    Assembler a(kCode);
    while (a.size() < end)
        a.half(enc::kCNop);
    std::vector<uint8_t> body = a.finish();
    for (const Placed& placed : instructions) {
        unsigned length = (placed.encoding & 3) == 3 ? 4 : 2;
        std::memcpy(body.data() + placed.offset, &placed.encoding, length);
    }
    return assembled_program(setup, std::move(body));
}

std::vector<Placed> placed_instructions(const Program& program) {
    std::vector<Placed> placed;
    for (uint32_t offset : program.instructions) {
        if (offset >= program.finish_offset) break;
        uint32_t encoding = 0;
        unsigned length = (program.body[offset] & 3) == 3 ? 4 : 2;
        std::memcpy(&encoding, program.body.data() + offset, length);
        if (encoding == enc::kNop || encoding == enc::kCNop) continue;
        placed.push_back({offset, encoding});
    }
    return placed;
}

}  // namespace vessel::riscv::difftest
