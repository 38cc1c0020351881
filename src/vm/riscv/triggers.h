// The Sdtrig trigger module of one hart (RISC-V Debug Specification 1.0): tselect, tdata1-3 and
// tinfo over four address-match triggers, each of type 2 (mcontrol), 6 (mcontrol6) or 15
// (disabled). A trigger matches instruction fetches, loads and stores by virtual address (equal,
// NAPOT, >=, <, the two mask forms and their negations; size filters; chains), filtered by the
// privilege it runs in. Its action is 0 (a breakpoint exception, for software in the guest) or 1
// (enter Debug Mode: here, stop the hart for the attached debugger). Every field the hardware does
// not implement (data-value matching, timing "after", trace and external actions, VS/VU) reads as
// its legal value: writes are legalised, never rejected.
//
// Only Debug Mode may set dmode; a trigger with dmode=1 belongs to the debugger, and M-mode writes
// to it are ignored. S- and U-mode never reach this: the CSRs are M-level (0x7a0-0x7a4), so the
// hart's CSR privilege check raises illegal instruction first.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "vm/riscv/mmu.h"

namespace vessel::riscv {

class TriggerModule {
  public:
    static constexpr unsigned kCount = 4;

    // Who writes a tdata register: M-mode software, or the debugger (Debug Mode).
    enum class Writer { machine, debugger };

    // tdata1 encodings (XLEN = 64).
    static constexpr uint64_t kTypeShift = 60;
    static constexpr uint64_t kTypeMcontrol = 2, kTypeMcontrol6 = 6, kTypeDisabled = 15;
    static constexpr uint64_t kDmode = uint64_t{1} << 59;
    static constexpr uint64_t kLoad = 1, kStore = 2, kExecute = 4, kU = 8, kS = 16, kM = 64;
    static constexpr unsigned kActionShift = 12, kMatchShift = 7;
    static constexpr uint64_t kChain = uint64_t{1} << 11;
    enum Match : unsigned {
        match_equal = 0,
        match_napot = 1,
        match_ge = 2,
        match_lt = 3,
        match_mask_low = 4,
        match_mask_high = 5,
        match_not_equal = 8,
        match_not_napot = 9,
        match_not_mask_low = 12,
        match_not_mask_high = 13,
    };
    static constexpr unsigned kActionBreakpoint = 0, kActionDebugger = 1;

    TriggerModule() { reset(false); }

    // The reset state: every trigger disabled, tselect 0. `keep_debugger` keeps the triggers a
    // debugger owns (dmode=1): a hart reset by the guest (SBI HSM start) keeps its breakpoints.
    void reset(bool keep_debugger);

    // The CSRs, through tselect.
    uint64_t tselect() const { return select_; }
    void write_tselect(uint64_t value);
    uint64_t tdata1() const { return tdata1_at(select_); }
    uint64_t tdata2() const { return tdata2_at(select_); }
    uint64_t tdata3() const { return 0; }  // textra64 with no extra conditions
    uint64_t tinfo() const;
    void write_tdata1(uint64_t value, Writer writer) { write_tdata1_at(select_, value, writer); }
    void write_tdata2(uint64_t value, Writer writer) { write_tdata2_at(select_, value, writer); }

    // The same by index (the debugger). Out-of-range indexes read 0 and ignore writes.
    uint64_t tdata1_at(unsigned index) const;
    uint64_t tdata2_at(unsigned index) const;
    void write_tdata1_at(unsigned index, uint64_t value, Writer writer);
    void write_tdata2_at(unsigned index, uint64_t value, Writer writer);

    // What the armed triggers can match: the hart checks fetches, or loads and stores, only then.
    bool watches_execute() const { return watches_execute_; }
    bool watches_data() const { return watches_data_; }

    struct Hit {
        unsigned action;   // kActionBreakpoint or kActionDebugger
        uint64_t address;  // the compare value that matched: the tval of a breakpoint exception
    };
    // Checks one access of `size` bytes at `address` (a fetch: the instruction's address and
    // length; 0 when the length is unknown) made in privilege `priv`. `native_enabled`: whether
    // action-0 triggers may fire now (the spec's reentrancy rule, decided by the hart). Sets the
    // hit bits of the triggers that fire. When both actions fire, the debugger's wins.
    std::optional<Hit> match(Access access, uint64_t address, unsigned size, Priv priv,
                             bool native_enabled);

  private:
    uint64_t legalize_tdata1(unsigned index, uint64_t value, Writer writer) const;
    // Which of the access's bytes (bit k: address + k) trigger `index` matches.
    unsigned matched_bytes(unsigned index, Access access, uint64_t address, unsigned size,
                           Priv priv) const;
    void recompute_summary();

    std::array<uint64_t, kCount> tdata1_{};
    std::array<uint64_t, kCount> tdata2_{};
    uint64_t select_ = 0;
    bool watches_execute_ = false;
    bool watches_data_ = false;
};

}  // namespace vessel::riscv
