// Generates the body of one random program (see program_generator.h for what it covers).
#pragma once

#include <array>
#include <cstdint>

#include "assembler.h"
#include "program_generator.h"

namespace vessel::riscv::difftest {

class BodyGenerator {
  public:
    BodyGenerator(const Setup& setup, uint64_t seed, const Features& features = {});
    Program generate();

  private:
    // The body runs kRounds times (the translator translates only code that has run a few
    // times); each round may trap about kTrapsPerRound times.
    static constexpr unsigned kRounds = 24, kTrapsPerRound = 12;

    uint64_t below(uint64_t bound) { return random_.below(bound); }
    bool one_in(uint64_t n) { return random_.below(n) == 0; }

    // Registers: a destination the body may overwrite (x0 now and then: a hint), any source, the
    // compressed forms' x8..x15 (destinations only a0..a5), any f register.
    unsigned rd();
    unsigned rd_nonzero();
    unsigned rs() { return static_cast<unsigned>(below(32)); }
    unsigned rd_compressed() { return 10 + static_cast<unsigned>(below(6)); }
    unsigned rs_compressed() { return 8 + static_cast<unsigned>(below(8)); }
    unsigned fr() { return static_cast<unsigned>(below(32)); }
    uint32_t rounding_mode();

    // One item: a few instructions that belong together. `simple`: nothing that changes the
    // body's structure (privilege, loops, base registers), so a forward branch may skip it.
    void item(bool simple);
    void alu();
    void compressed_alu();
    void muldiv();
    void special_value();
    void memory();
    void compressed_memory();
    void special_access();
    void atomic();
    void fp();
    void branch_over();
    void jump_over();
    void call_snippet();
    void bad_jump();
    void csr_access();
    void status_write();
    void trap();
    void fence();
    // After a store into code: fence.i, always or half the time (Features).
    void fence_i_after_store();
    void patch_ahead();
    void patch_snippet();
    void patch_snippet_loop();
    void rebase();
    void switch_privilege();
    void switch_privilege(Priv next);
    void loop();
    void page_table_change();
    void fp_off_and_on();
    // Puts privilege, FS and the data pages' PTEs back as the round began.
    void end_round();
    // Folds a register into the checksum (s3), so that a wrong value is seen at the next trap or
    // at the end even when later code overwrites the register.
    void fold(unsigned reg);
    void fold_all();

    // A random instruction of `length` bytes that only writes a destination register (or
    // traps, now and then): what self-modifying stores write.
    uint32_t harmless_instruction(unsigned length, bool may_trap);
    // The address of physical `pa` as the body sees it now.
    uint64_t here_view(uint64_t pa) const { return view(setup_, priv_, pa); }
    // A random address inside the data pages, at least `margin` bytes from their ends.
    uint64_t data_address(uint64_t margin);
    // Whether the data page holding `pa` is accessible now (to budget traps).
    bool data_accessible(uint64_t pa, bool store) const;
    // Whether `count` more traps (each iteration of the loops around) fit the budget of the trap
    // log; if so they are counted. Every instruction that may trap asks first, and does
    // something else when told no: a loop of hundreds of iterations never traps.
    bool may_trap(unsigned count = 1);
    bool can_trap() const { return trap_budget_ >= static_cast<int>(multiplier_); }

    const Setup& setup_;
    const Features features_;
    SplitMix random_;
    Assembler a_{kCode};
    Priv priv_;
    uint64_t sp_pa_ = kSpData, s0_pa_ = kS0Data;
    // The data pages' PTE bits as the body has left them (page_table_change), and whether the
    // round changed any.
    std::array<uint8_t, kDataPages> data_s_, data_u_;
    bool ptes_changed_ = false;
    unsigned multiplier_ = kRounds;  // times the code being generated runs
    bool in_loop_ = false;
    bool fs_on_ = true;   // mstatus.FS as the body leaves it (fp_off_and_on, end_round)
    unsigned depth_ = 0;  // nesting of forward branches and jumps
    int trap_budget_ = kRounds * kTrapsPerRound;
    size_t target_bytes_ = 0;
};

}  // namespace vessel::riscv::difftest
