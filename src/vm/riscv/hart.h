// One emulated RV64GC hart: registers, CSRs, traps, TLBs, decoded-instruction cache and the
// interpreter loop. A hart runs on one host thread (`run()`); everything other threads may do to
// it (raise interrupt lines, write its mtimecmp, ask it to stop) is atomic and wakes it from WFI.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "vm/devices/bus.h"
#include "vm/memory/guest_memory.h"
#include "vm/riscv/clock.h"
#include "vm/riscv/code_pages.h"
#include "vm/riscv/decoder.h"
#include "vm/riscv/mmu.h"
#include "vm/riscv/triggers.h"

namespace vessel::riscv {

// Interrupt numbers (bit positions in mip/mie).
namespace irq {
inline constexpr unsigned ssi = 1, msi = 3, sti = 5, mti = 7, sei = 9, mei = 11;
}

class Hart;
namespace jit {
class Translator;
}

// The hypervisor's view of environment calls: the board installs one to implement the SBI for a
// kernel started in S-mode. Called only for ECALL from S-mode, so never on the hot path.
class EcallHandler {
  public:
    virtual ~EcallHandler() = default;
    // True when handled (the hart then continues after the ecall); false raises the exception.
    virtual bool handle_ecall(Hart& hart) = 0;
};

// --- Debugging (hart_debug.cpp) ---
// Why a hart stopped for its debugger.
enum class DebugStopKind : uint8_t {
    halted,      // the debugger asked (request_debug_halt)
    step,        // one instruction done (set_debug_step)
    breakpoint,  // a debugger breakpoint at pc (set_debug_breakpoints)
    trigger,     // a trigger with action 1 ("enter Debug Mode") matched `access` at `address`
};
struct DebugStop {
    DebugStopKind kind = DebugStopKind::halted;
    Access access = Access::fetch;
    uint64_t address = 0;
};

// The debugger's side of a hart (src/vm/debug). Called on the hart's own thread at an instruction
// boundary whenever the hart stops for the debugger; the hart runs on when it returns. While it
// blocks, the debugger may read and change the hart's state.
class DebugListener {
  public:
    virtual ~DebugListener() = default;
    virtual void hart_stopped(Hart& hart, const DebugStop& stop) = 0;
};

// How a hart runs guest code. The interpreter is the reference; the translator (x86-64 hosts)
// compiles guest blocks to host code and falls back to the interpreter for what it does not
// translate, on the same architectural state.
enum class Engine { interpreter, translator };

// Whether this host can run the translator (it emits x86-64).
inline constexpr bool kTranslatorAvailable =
#if defined(__x86_64__)
    true;
#else
    false;
#endif

// What all harts of one machine share. The board owns these and outlives its harts.
struct MachineContext {
    const vm::GuestMemory& memory;
    const vm::Bus& bus;
    const Clock& clock;
    const CodePages& code_pages;
    Engine engine = Engine::interpreter;
    // The translator's code buffer in bytes; 0 is its default (Translator::kDefaultCodeBytes).
    // Tests make it small to run the translator past its bound.
    size_t translator_code_bytes = 0;
    // The translator names each block it emits in /tmp/perf-PID.map (perf's map of JIT code), so
    // `perf report` shows guest addresses instead of anonymous code.
    bool perf_map = false;
};

class Hart {
  public:
    Hart(const MachineContext& machine, uint64_t hart_id);
    ~Hart();
    Hart(const Hart&) = delete;
    Hart& operator=(const Hart&) = delete;

    // Reset state: privilege, pc, registers zero, CSRs at their reset values.
    void reset(uint64_t pc, Priv priv);

    // Runs until request_stop(). Returns on the hart's own thread.
    void run();

    // --- Thread-safe controls ---
    void request_stop();
    bool stop_requested() const { return stop_.load(std::memory_order_relaxed); }
    // The board's interrupt lines: MSIP, MEIP and SEIP (the external SEIP is ORed with the
    // software-writable bit). MTIP comes from mtimecmp, STIP from stimecmp when Sstc is on.
    void set_interrupt_line(unsigned irq_number, bool level);
    void set_mtimecmp(uint64_t value);
    uint64_t mtimecmp() const { return mtimecmp_.load(std::memory_order_relaxed); }
    // Wakes the hart from WFI to re-evaluate (the board calls this after changing what it sees).
    void kick();
    // Remote sfence.vma / fence.i (SBI RFENCE): the hart drops its TLBs and decoded instructions
    // at its next block boundary (or at once when it sleeps in WFI). Returns a ticket for
    // flush_done(): the caller must not return to its guest before the flush is done, because the
    // guest kernel frees or rewrites the old pages as soon as the call returns.
    // `code`: decoded instructions too (remote fence.i); without it only translations go
    // (remote sfence.vma): decoded code is keyed by physical page and checked against stores to
    // it, so a changed mapping leaves it valid.
    uint64_t request_flush(bool code = true) {
        if (code) flush_code_requested_.store(true, std::memory_order_release);
        uint64_t ticket = flush_requested_.fetch_add(1, std::memory_order_acq_rel) + 1;
        kick();
        return ticket;
    }
    // True once the flush `ticket` asked for has happened, or when the hart is not running (a
    // hart that is not in run() has no thread using its caches; it serves the request when it
    // runs again, before its first instruction).
    bool flush_done(uint64_t ticket) const {
        return flush_served_.load(std::memory_order_acquire) >= ticket ||
               !running_.load(std::memory_order_acquire);
    }
    // Serves flush requests other harts made of this one. On the hart's own thread; a hart that
    // waits for another's flush calls this while it waits, so two harts fencing each other at
    // the same time cannot deadlock.
    void serve_flush_requests();
    uint64_t flushes_served() const { return flush_served_.load(std::memory_order_acquire); }
    // An SBI IPI: sets SSIP in mip at the hart's next block boundary (or wakes it from WFI).
    void post_supervisor_software_interrupt() {
        ssip_posted_.store(true, std::memory_order_release);
        kick();
    }
    // Lets run() be called again after request_stop() (SBI HSM stop, then start).
    void clear_stop() { stop_.store(false, std::memory_order_release); }

    // --- State access for the board (on the hart's thread, or while it is not running) ---
    uint64_t hart_id() const { return hart_id_; }
    uint64_t reg(unsigned index) const { return x_[index & 31]; }
    void set_reg(unsigned index, uint64_t value) {
        if (index & 31) x_[index & 31] = value;
    }
    uint64_t pc() const { return pc_; }
    void set_pc(uint64_t pc) { pc_ = pc; }
    Priv priv() const { return priv_; }
    uint64_t instret() const { return instret_; }
    void set_ecall_handler(EcallHandler* handler) { ecall_handler_ = handler; }
    // For a board that plays the M-mode firmware itself (the SBI inside the VMM): sets up
    // delegation, counters, menvcfg and stimecmp as firmware would. False for an unknown CSR.
    bool write_csr_as_firmware(uint32_t number, uint64_t value) {
        bool known = csr_write(number, value);
        attention_.store(true, std::memory_order_relaxed);
        return known;
    }
    // Pages of decoded code allocated so far (bounded by kMaxDecodedPages), for tests.
    size_t decoded_pages_allocated() const { return decoded_pool_.size(); }
    static constexpr unsigned max_decoded_pages() { return kMaxDecodedPages; }
    // Drops every cached translation and decoded instruction. On the hart's own thread only;
    // other threads use request_flush().
    void flush_all_caches();
    // Drops the cached translations only (a local or remote sfence.vma). Own thread only.
    void flush_translations() { flush_tlb(); }

    uint64_t fp_reg(unsigned index) const { return f_[index & 31]; }

    // --- Debugging (hart_debug.cpp): a debugger's control of the hart ---
    // None of it costs the normal paths anything: run() takes its debug path (one instruction at a
    // time through the interpreter, whichever engine the hart has) only while something is armed:
    // a halt request, single-stepping, a debugger breakpoint or an enabled trigger.
    void set_debug_listener(DebugListener* listener) { debug_listener_ = listener; }
    // Thread-safe: the hart stops (DebugStopKind::halted) at its next instruction boundary, out of
    // WFI too, and stays stopped until cancel_debug_halt(). An engine that returns to run() when
    // kicked (attention_) sees it at its next block boundary.
    void request_debug_halt();
    void cancel_debug_halt();
    bool debug_halt_requested() const {
        return (debug_flags_.load(std::memory_order_acquire) & kDebugHalt) != 0;
    }
    // Whether the hart's thread is inside run() (a hart the guest has not started is not).
    bool in_run() const { return running_.load(std::memory_order_acquire); }
    // The rest is for the hart's own thread, or while it is stopped for its debugger or not
    // running. Stop after every instruction; `mask_interrupts`: take none meanwhile, as QEMU's
    // gdbstub steps.
    void set_debug_step(bool step, bool mask_interrupts);
    // The hart stops before executing an instruction at one of these virtual addresses; guest
    // memory is not patched, so the guest cannot see or overwrite them.
    void set_debug_breakpoints(std::vector<uint64_t> addresses);
    const TriggerModule& triggers() const { return triggers_; }
    // Writes trigger `index` as the debugger does (Debug Mode: dmode and action 1 allowed).
    void write_trigger(unsigned index, uint64_t tdata1, uint64_t tdata2);
    void set_fp_reg(unsigned index, uint64_t value) { f_[index & 31] = value; }
    // Any CSR as M-mode reads or writes it, whatever the current privilege and mstatus.FS; the
    // trigger CSRs as Debug Mode does. False: no such CSR.
    bool debug_read_csr(uint32_t number, uint64_t& value);
    bool debug_write_csr(uint32_t number, uint64_t value);
    void debug_set_priv(Priv priv);
    // Guest RAM as this hart sees it now (satp and privilege; any readable or executable mapping
    // for reads, writable ones for writes; A/D bits untouched): the number of bytes done, short at
    // the first address that does not translate or is not RAM. Writes invalidate decoded code.
    size_t debug_read_memory(uint64_t vaddr, std::span<uint8_t> out) const;
    size_t debug_write_memory(uint64_t vaddr, std::span<const uint8_t> bytes);

    // The engine this hart really runs (the translator falls back to the interpreter where it
    // cannot start), and the translator itself (nullptr for the interpreter), for statistics.
    Engine engine() const { return translator_ ? Engine::translator : Engine::interpreter; }
    const jit::Translator* translator() const { return translator_.get(); }

  private:
    friend class HartCsrs;
    friend class jit::Translator;
    struct TlbEntry {
        uint64_t tag;         // page | privilege key; kInvalidTag when empty
        uintptr_t addend;     // host address = guest virtual address + addend
        uint64_t paddr_page;  // guest-physical page
        uint8_t* code_flag;   // store TLB: the page's "holds code" flag (CodePages)
    };
    // Two ways per set: a hot page whose set another hot page maps to (a process's stack and
    // its globals, 256 pages apart by chance of the stack's random placement) no longer evicts
    // it on every other access. The inline checks look in way 0 only; way 1 is looked in out
    // of line. Each way is an array of its own, so the entries the
    // fast paths read stay as dense in the host's cache as with one way.
    static constexpr unsigned kTlbSets = 256, kTlbWays = 2;
    static constexpr unsigned tlb_set(uint64_t vaddr) {
        return static_cast<unsigned>((vaddr >> 12) % kTlbSets);
    }
    TlbEntry& tlb_entry(Access access, unsigned way, uint64_t vaddr) {
        return tlb_[static_cast<int>(access)][way][tlb_set(vaddr)];
    }
    const TlbEntry& tlb_entry(Access access, unsigned way, uint64_t vaddr) const {
        return tlb_[static_cast<int>(access)][way][tlb_set(vaddr)];
    }
    // The entry of `access`'s TLB holding `tag` (way 0 or 1), or nullptr.
    const TlbEntry* tlb_find(Access access, uint64_t vaddr, uint64_t tag) const {
        for (unsigned way = 0; way < kTlbWays; ++way)
            if (const TlbEntry& entry = tlb_entry(access, way, vaddr); entry.tag == tag)
                return &entry;
        return nullptr;
    }
    // Way 0 of `vaddr`'s set, for a new entry: the one there moves to way 1. With a hit in
    // way 1 moving its entry back to way 0 (the translated code does that too), way 0 holds
    // the set's most recently used page, the one the inline checks find.
    TlbEntry& tlb_fill_slot(Access access, uint64_t vaddr) {
        tlb_entry(access, 1, vaddr) = tlb_entry(access, 0, vaddr);
        return tlb_entry(access, 0, vaddr);
    }
    // The entry holding `tag`, moved into way 0 when it was in way 1 (code that reads way 0
    // next finds it there), or nullptr.
    const TlbEntry* tlb_lookup(Access access, uint64_t vaddr, uint64_t tag) {
        const TlbEntry* found = tlb_find(access, vaddr, tag);
        TlbEntry& first = tlb_entry(access, 0, vaddr);
        if (found && found != &first) std::swap(first, tlb_entry(access, 1, vaddr));
        return found ? &first : nullptr;
    }
    static constexpr uint64_t kInvalidTag = ~uint64_t{0};
    struct DecodedPage {
        uint64_t paddr_page = ~uint64_t{0};
        uint32_t generation = 0;
        bool handlers_valid = false;  // false: run_block() must reset `handlers` first
        // 2048 two-byte slots, then two whose handlers are end_of_page sentinels that sequential
        // flow runs into.
        Insn slots[2048 + 2];
        // The interpreter's handler for each slot (its labels' addresses), so that dispatching
        // is one load from a pointer walking alongside the slot pointer.
        const void* handlers[2048 + 2];
    };
    // Decoded code is kept per guest-physical page in a pool of at most kMaxDecodedPages pages,
    // each allocated when first used and then recycled round-robin: a Linux working set (kernel,
    // libc, busybox) fits, and memory stays bounded (256 x 41 KiB, about 10 MiB per hart, at most).
    // A direct-mapped index finds a page in one load; a miss there falls back to a map of every
    // pooled page, so two hot pages that share an index slot are not decoded again and again.
    static constexpr unsigned kMaxDecodedPages = 256;
    static constexpr unsigned kDecodedIndexSize = 1024;

    // Interpreter. A block runs while execution stays in its page, for at most `branch_budget`
    // taken branches before the hart loop looks at interrupts again.
    static constexpr int kBranchBudget = 512;
    void run_block(int branch_budget = kBranchBudget);
    bool execute_fp(const Insn& insn);  // false: trapped
    // The raw bits of the instruction at pc_ (for mtval of illegal-instruction exceptions raised
    // after decoding, e.g. FP with mstatus.FS = Off).
    uint32_t current_instruction_bits();
    bool take_interrupt_if_pending();
    void wait_for_interrupt();
    DecodedPage* code_page_for_pc();
    // The guest-physical page and host address of the code at `pc` (fetch TLB, then a walk); on
    // failure has raised the fetch fault and returns false.
    bool translate_fetch(uint64_t pc, uint64_t& paddr_page, const uint8_t*& host_page);
    // The host address of `vaddr`'s page when the fetch TLB holds it, without a walk (which
    // would set A bits for code that may never run); nullptr otherwise.
    const uint8_t* fetch_tlb_page(uint64_t vaddr) const {
        const TlbEntry* entry =
            tlb_find(Access::fetch, vaddr, (vaddr & ~uint64_t{0xfff}) | fetch_key_);
        if (!entry) return nullptr;
        return reinterpret_cast<const uint8_t*>(entry->addend + (vaddr & ~uint64_t{0xfff}));
    }
    // The pooled page for paddr_page: found, free, or the next victim (not yet valid for it).
    DecodedPage* decoded_page_for(uint64_t paddr_page);
    // Forgets every decoded page (fence.i, a remote fence.i, reset); the pool is kept for reuse.
    void drop_decoded_pages();
    const Insn& fetch_slow(const Insn& cached);

    // Traps.
    void raise(uint64_t exception_cause, uint64_t tval);
    void enter_trap(uint64_t trap_cause, bool interrupt, uint64_t tval);
    void do_mret();
    void do_sret();

    // Memory.
    template <typename T>
    bool load(uint64_t vaddr, T& out);
    template <typename T>
    bool store(uint64_t vaddr, T value);
    bool load_slow(uint64_t vaddr, unsigned size, uint64_t& out);
    bool store_slow(uint64_t vaddr, unsigned size, uint64_t value);
    // Translates and checks a naturally aligned access; on success returns the host pointer (RAM)
    // or nullptr with `paddr` set (MMIO). On failure has raised the trap and returns false.
    // Looks in the TLB first (the atomics have no inline fast path: a hot lock word must cost no
    // page walk per access).
    bool translate_data(uint64_t vaddr, Access access, uint64_t& paddr, uint8_t*& host);
    uint8_t* amo_pointer(uint64_t vaddr, unsigned size, uint64_t& paddr);
    bool execute_amo(const Insn& insn);
    Priv data_priv() const;
    void flush_tlb();
    // sfence.vma with an address: that page's translations (all of them when it lies in a
    // superpage some TLB entry came from).
    void flush_tlb_page(uint64_t vaddr);
    void note_superpage(uint64_t vaddr, unsigned page_shift);
    void recompute_privilege_keys();

    // CSRs (hart_csr.cpp).
    bool csr_read(uint32_t number, uint64_t& value);
    bool csr_write(uint32_t number, uint64_t value);
    bool execute_csr(const Insn& insn);
    uint64_t pending_interrupts() const;
    uint64_t read_mip() const;
    bool fp_enabled() const { return (mstatus_ & kMstatusFs) != 0; }
    void mark_fp_dirty() { mstatus_ |= kMstatusFs; }

  public:
    // mstatus bits used across files.
    static constexpr uint64_t kMstatusSie = 1ull << 1, kMstatusMie = 1ull << 3,
                              kMstatusSpie = 1ull << 5, kMstatusMpie = 1ull << 7,
                              kMstatusSpp = 1ull << 8, kMstatusMpp = 3ull << 11,
                              kMstatusFs = 3ull << 13, kMstatusMprv = 1ull << 17,
                              kMstatusSum = 1ull << 18, kMstatusMxr = 1ull << 19,
                              kMstatusTvm = 1ull << 20, kMstatusTw = 1ull << 21,
                              kMstatusTsr = 1ull << 22, kMstatusSd = 1ull << 63;

  private:
    const MachineContext machine_;
    const uint64_t hart_id_;

    // Architectural state.
    uint64_t x_[32] = {};
    uint64_t f_[32] = {};
    uint64_t pc_ = 0;
    Priv priv_ = Priv::machine;
    uint64_t instret_ = 0;
    int64_t cycle_offset_ = 0;

    uint64_t mstatus_ = 0;
    uint64_t misa_ = 0;
    uint64_t medeleg_ = 0, mideleg_ = 0;
    uint64_t mie_ = 0;
    uint64_t mip_software_ = 0;  // SSIP, STIP (without Sstc), SEIP as written by software
    uint64_t mtvec_ = 0, stvec_ = 0;
    uint64_t mepc_ = 0, sepc_ = 0;
    uint64_t mcause_ = 0, scause_ = 0;
    uint64_t mtval_ = 0, stval_ = 0;
    uint64_t mscratch_ = 0, sscratch_ = 0;
    uint64_t satp_ = 0;
    uint64_t mcounteren_ = 0, scounteren_ = 0, mcountinhibit_ = 0;
    uint64_t menvcfg_ = 0, senvcfg_ = 0;
    uint64_t stimecmp_ = ~uint64_t{0};
    uint32_t fflags_ = 0, frm_ = 0;
    uint64_t pmpcfg_[2] = {};
    uint64_t pmpaddr_[16] = {};

    // LR/SC reservation: physical address and the value LR read (SC compares-and-swaps it).
    uint64_t reservation_paddr_ = ~uint64_t{0};
    uint64_t reservation_value_ = 0;

    // Cross-thread inputs.
    std::atomic<uint64_t> lines_{0};  // MSIP, MEIP, SEIP from the board
    std::atomic<uint64_t> mtimecmp_{~uint64_t{0}};
    std::atomic<bool> stop_{false};
    std::atomic<bool> attention_{true};              // something changed: re-check interrupts now
    std::atomic<uint64_t> flush_requested_{0};       // tickets handed out by request_flush()
    std::atomic<uint64_t> flush_served_{0};          // the last ticket the hart has served
    std::atomic<bool> flush_code_requested_{false};  // a pending request includes decoded code
    std::atomic<bool> running_{false};               // inside run() on its thread
    std::atomic<bool> ssip_posted_{false};
    std::mutex wait_mutex_;
    std::condition_variable wait_cv_;

    EcallHandler* ecall_handler_ = nullptr;

    // Caches.
    TlbEntry tlb_[3][kTlbWays][kTlbSets];  // indexed by Access, way, set
    uint64_t fetch_key_ = 0;               // privilege key for fetch TLB tags
    uint64_t data_key_ = 0;                // privilege key for load/store TLB tags (MPRV applied)
    // The virtual span of the superpages TLB entries were filled from since the last full flush.
    uint64_t superpage_low_ = ~uint64_t{0}, superpage_high_ = 0;
    std::vector<std::unique_ptr<DecodedPage>> decoded_pool_;
    size_t decoded_in_use_ = 0;  // pool pages handed out since the last drop
    size_t next_decoded_victim_ = 0;
    std::unordered_map<uint64_t, DecodedPage*> decoded_by_paddr_;
    std::array<DecodedPage*, kDecodedIndexSize> decoded_index_{};
    std::unique_ptr<jit::Translator> translator_;  // Engine::translator only
    // This hart stored to a page holding code since the translator last looked: its links into
    // that code must go, as the interpreter would run the new code at once.
    bool code_store_seen_ = false;
    bool end_block_ = false;         // an instruction changed state the block loop caches
    uint64_t next_timer_check_ = 0;  // instret at which to look at the clock again

    // --- Debugging (hart_debug.cpp) ---
    static constexpr uint32_t kDebugHalt = 1, kDebugArmed = 2;
    // run()'s path while debug_flags_ is set: at most one instruction, with the checks around it.
    void debug_step();
    void stop_for_debugger(const DebugStop& stop);
    // Recomputes kDebugArmed and watching_data_ after breakpoints, triggers or stepping changed.
    void update_debug_armed();
    // reset(): the guest's triggers go, the debugger's stay.
    void reset_debug_state();
    // Whether action-0 triggers may fire now: not in a handler that would take their breakpoint
    // with interrupts off (the Debug spec's first answer to reentrancy).
    bool native_triggers_enabled() const;
    // Load and store triggers: false when one fired (a breakpoint exception was raised, or a stop
    // for the debugger is pending and the instruction is not executed).
    bool data_access_allowed(uint64_t vaddr, unsigned size, Access access);
    bool amo_access_allowed(const Insn& insn);
    bool trigger_csr_read(uint32_t number, uint64_t& value) const;
    bool trigger_csr_write(uint32_t number, uint64_t value, TriggerModule::Writer writer);
    // run_block()'s scratch page for one step, given its "undecoded" and "leave" handlers.
    DecodedPage* prime_step_page(const void* undecoded, const void* leave);
    std::optional<uint64_t> debug_translate(uint64_t vaddr, Access access) const;

    TriggerModule triggers_;
    DebugListener* debug_listener_ = nullptr;
    std::atomic<uint32_t> debug_flags_{0};     // kDebugHalt (any thread), kDebugArmed
    std::vector<uint64_t> debug_breakpoints_;  // sorted
    bool debug_stepping_ = false;
    bool debug_step_masks_interrupts_ = false;
    bool watching_data_ = false;  // load/store triggers armed: the data TLBs are not filled
    std::optional<DebugStop> pending_debug_stop_;
    // What one instruction's load/store triggers were checked for, so that the byte accesses of
    // a page-crossing access are not checked again on their own.
    Access checked_access_ = Access::fetch;
    uint64_t checked_begin_ = 0, checked_end_ = 0;
    std::unique_ptr<DecodedPage> step_page_;
    bool single_instruction_block_ = false;  // run_block() runs one instruction from step_page_
    unsigned step_slot_ = 0;                 // the slot the last step decoded
};

}  // namespace vessel::riscv
