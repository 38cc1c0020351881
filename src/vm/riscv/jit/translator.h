// The translator engine of one hart: guest code is compiled, a block at a time, to x86-64 (xbyak),
// and run on the hart's architectural state in place, so the interpreter can take over at any
// instruction boundary. What is not translated (CSR accesses, xRET, ECALL, WFI, fences of the
// translation caches, illegal encodings, instructions that straddle a page) ends a block before
// it and runs on the interpreter, which executes exactly one such instruction and returns. Code
// reached fewer than kHotThreshold times is left to the interpreter too.
//
// A block is keyed by its virtual pc and privilege, and checked against the physical page it was
// translated from and that page's code generation (CodePages): a store by any hart or a device to
// the page makes every block on it stale the next time anything looks it up. Blocks pass control
// to each other without returning to C++: a jump to a known pc is patched on first use to enter
// its block directly (links are undone when the target goes stale, and, for a target on another
// page, when its mapping may have changed); any other exit looks its successor up in a
// per-privilege jump cache (the same tags as the fetch TLB, flushed with it), checks its
// generation, and jumps. Every exit first checks the hart's attention flag and a budget of block
// transitions, so interrupts, stop requests and remote fences are served within a bounded time.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "vm/riscv/jit/code_buffer.h"

namespace vessel::riscv {
class Hart;
}

namespace vessel::riscv::jit {

// One translated block. The generated code reads `code`, `generation_word` and `generation`
// (standard layout, so their offsets are known).
struct Block {
    const void* code = nullptr;
    const uint32_t* generation_word = nullptr;  // the page's generation in CodePages
    uint32_t generation = 0;                    // its value when the block was translated
    uint32_t guest_instructions = 0;
    uint64_t vaddr = 0;
    uint64_t paddr = 0;
    unsigned priv = 0;
    bool interpret = false;  // the first instruction is one the interpreter runs
    // Chained jumps into this block (their rel32 patched to it): put back to their link stubs
    // when the block is dropped.
    std::vector<uint8_t*> incoming;
};

// A jump-cache slot: a block by virtual pc, for one privilege.
struct JumpSlot {
    uint64_t vaddr = ~uint64_t{0};
    const Block* block = nullptr;
};

// Where the generated code finds the hart's state: byte offsets from the Hart object, measured
// at run time (Hart is not standard layout, so offsetof is not available).
struct HartLayout {
    int32_t x = 0, pc = 0, instret = 0, attention = 0, end_block = 0, data_key = 0;
    int32_t f = 0, mstatus = 0, frm = 0;
    int32_t tlb_load = 0, tlb_store = 0, tlb_fetch = 0, fetch_key = 0;
    int32_t tlb_entry_size = 0, tlb_addend = 0, tlb_code_flag = 0;
    unsigned tlb_sets = 0;
    int32_t tlb_way_bytes = 0;  // from a set's entry in way 0 to its entry in way 1
};

// What the translator has done, for benchmarks and tests.
struct TranslatorStats {
    uint64_t blocks_translated = 0;
    uint64_t guest_instructions_translated = 0;
    uint64_t translation_nanoseconds = 0;
    uint64_t code_bytes_emitted = 0;
    uint64_t cache_flushes = 0;      // the code buffer filled up and everything was dropped
    uint64_t invalidations = 0;      // stale blocks dropped (their page was written)
    uint64_t entries = 0;            // times the hart's loop entered translated code
    uint64_t interpreted = 0;        // times the interpreter ran (cold code, system instructions)
    uint64_t jump_cache_misses = 0;  // lookups the jump cache could not answer
    uint64_t links = 0;              // jumps patched to go straight to their block
    uint64_t unlinks = 0;            // chained jumps put back because their block went
    size_t code_buffer_used = 0;
    size_t code_buffer_capacity = 0;
};

// One line for logs and benchmarks: blocks, µs per block, code size, flushes.
std::string describe(const TranslatorStats& stats);

// The C++ functions the generated code calls for slow paths and rare instructions.
struct Helpers {
    // bool (Hart*, uint64_t vaddr, uint64_t size, uint64_t* out)
    const void* load_slow = nullptr;
    // bool (Hart*, uint64_t vaddr, uint64_t size, uint64_t value)
    const void* store_slow = nullptr;
    // bool (Hart*, uint64_t insn_low, uint64_t insn_high): an Insn in two registers
    const void* amo = nullptr;
    const void* fp = nullptr;
    bool host_fma = false;  // the host has FMA3 (fused multiply-add inline)
    // Code every block shares (emit_shared_code), called or jumped to with rel32 displacements.
    // The slow paths keep rsi, rdi and r8-r11 (guest registers cached there) and the guest's
    // MXCSR. Per access size (index log2 of it):
    // load_thunk: rax vaddr, rdx pc; al true on success, the value in RunState::slow_value;
    //   false after a trap (the hart at its handler).
    const uint8_t* load_thunk[4] = {};
    // store_thunk: rax vaddr, rcx value, rdx pc; al as load_thunk's.
    const uint8_t* store_thunk[4] = {};
    // Jumped to, with rax the next pc: leave_thunk stores it as the hart's pc and returns to the
    // hart's loop; link_thunk[cross_page] also asks the translator to link the `jmp rel32` at
    // rcx (executable address) to the block there.
    const uint8_t* leave_thunk = nullptr;
    const uint8_t* link_thunk[2] = {};
    // bool (Hart*, uint64_t vaddr): fills the fetch TLB for vaddr's page (false: it raised the
    // fetch fault), and fetch_thunk, which calls it: rax vaddr, rdx pc; al the result.
    const void* fetch_slow = nullptr;
    const uint8_t* fetch_thunk = nullptr;
    // Called after a miss in way 0 of the load [0] or store [1] TLB, with rdx the tag and rcx
    // the set's offset: ZF set when way 1 held the tag, its entry then swapped into way 0.
    const uint8_t* tlb_second_way[2] = {};
    // A whole access out of line, for code that does not probe the TLB inline (an access
    // group's members after its span check missed), per access size: the TLB probe, then the
    // access, or else the slow path. load_probe_thunk: rax vaddr, rdx pc; al true on success
    // with rdx pointing at the value (in guest RAM or RunState::slow_value). store_probe_thunk:
    // rax vaddr, rcx value, rdx pc; al as load_probe_thunk's (RunState and the hart's
    // end_block as after store_thunk).
    const uint8_t* load_probe_thunk[4] = {};
    const uint8_t* store_probe_thunk[4] = {};
    // bool (Hart*, uint64_t insn_low, uint64_t insn_high, RunState*): a CSR instruction
    const void* csr = nullptr;
};

// Per-hart state the generated code reaches through a register (r12): kept apart from Hart so
// its layout is the translator's own.
class Translator;
struct RunState {
    Translator* translator = nullptr;  // whose state this is (for helpers)
    int32_t budget = 0;                // block transitions left before returning to the hart's loop
    uint64_t slow_value = 0;           // a slow-path load's result
    // Per open access group of the running block: the host addend its span check found, or 0
    // when the span missed (see Compiler::AccessGroup).
    static constexpr unsigned kAccessGroupSlots = 4;
    uint64_t group_addend[kAccessGroupSlots] = {};
    // Set by a block's link stub: the executable address of a `jmp rel32` that wants to go
    // straight to the block at the hart's pc (same page, so same mapping and generation word).
    uint8_t* link_site = nullptr;
    uint8_t link_cross_page = 0;  // the site's block is on another page than its target
    // Set by a straddling instruction's guard that found its translation out of date: the
    // interpreter runs the code at pc next.
    uint8_t interpret_next = 0;
    // MXCSR while translated code runs: rne, exceptions masked, and the status flags of the
    // guest's FP operations since entry, which become fflags when it returns. The host's own
    // value is restored around every call out of translated code.
    uint32_t guest_mxcsr = kCleanMxcsr;
    uint32_t host_mxcsr = 0;
    static constexpr uint32_t kCleanMxcsr = 0x1f80;
};

class Translator {
  public:
    static constexpr size_t kDefaultCodeBytes = 64u << 20;
    static constexpr unsigned kJumpCacheSlots = 16384;
    static constexpr unsigned kMaxBlockInstructions = 64;
    static constexpr int32_t kTransitionBudget = 4096;
    // Entries from the hart loop a block start needs before it is translated.
    static constexpr uint16_t kHotThreshold = 32;
    // Taken branches the interpreter may run cold code for before it returns here. Heat counts
    // entries from here, so with the interpreter's usual budget (512) a cold loop inside one page
    // ran up to kHotThreshold x 512 iterations interpreted before it was translated: a new
    // process's hot loops spent their first milliseconds there (intmark inside Linux: 7 % of its
    // time). Much less than 8 gets boot code translated that runs only a few dozen times.
    static constexpr int kColdBranchBudget = 8;
    static constexpr unsigned kHeatSlots = 65536;

    static Result<std::unique_ptr<Translator>> create(Hart& hart,
                                                      size_t code_bytes = kDefaultCodeBytes);
    ~Translator();
    Translator(const Translator&) = delete;
    Translator& operator=(const Translator&) = delete;

    // Runs translated blocks from the hart's pc until a block ends in something the hart's loop
    // must look at (a trap, an instruction the interpreter runs, the attention flag, the budget).
    void execute();

    // The fetch TLB was flushed: a virtual pc may now map elsewhere.
    void flush_jump_caches();
    // The same for one page (sfence.vma with an address).
    void flush_jump_cache_page(uint64_t page);
    // fence.i (local or remote): code on other pages may have changed under a jump linked to it.
    void code_may_have_changed();

    TranslatorStats stats() const;

  private:
    Translator(Hart& hart, CodeBuffer code);
    // The block at the hart's pc; nullptr when it is not translated yet (cold), or when the
    // fetch trapped (`trapped`).
    const Block* find_or_translate(bool& trapped);
    static unsigned heat_index(uint64_t pc, unsigned priv) {
        return static_cast<unsigned>(((pc >> 1) ^ (pc >> 17) ^ priv) & (kHeatSlots - 1));
    }
    JumpSlot* jump_table(unsigned priv) { return &jump_slots_[priv * kJumpCacheSlots]; }
    // Mixes the page number into the offset's bits: code at the same offset of different pages
    // (a program's hot functions) does not fight over one slot.
    static unsigned jump_index(uint64_t vaddr) {
        return ((vaddr >> 1) ^ (vaddr >> 13)) & (kJumpCacheSlots - 1);
    }

    // Called from generated code (the Hart's private slow paths, through the friendship).
    static bool load_slow(Hart* hart, uint64_t vaddr, uint64_t size, uint64_t* out);
    static bool store_slow(Hart* hart, uint64_t vaddr, uint64_t size, uint64_t value);
    static bool fetch_slow(Hart* hart, uint64_t vaddr);
    static bool execute_amo(Hart* hart, uint64_t insn_low, uint64_t insn_high);
    static bool execute_fp(Hart* hart, uint64_t insn_low, uint64_t insn_high);
    static bool execute_csr(Hart* hart, uint64_t insn_low, uint64_t insn_high, RunState* run_state);
    // The FP exception flags translated code accumulated in MXCSR (RunState::guest_mxcsr) into
    // fflags, marking the FP state dirty when there were any; clears them.
    void fold_fp_flags();
    const Block* translate(uint64_t vaddr, uint64_t paddr, const uint8_t* host_page, unsigned priv);
    void drop_everything();
    // Patches the jump at `site` (executable address) to enter `target` directly.
    void link(uint8_t* site, Block& target, bool cross_page);
    // Puts back the jumps linked to a block on another page than their own that `matches`
    // (called with the target block).
    template <typename Predicate>
    void unlink_cross_page(Predicate matches);
    // A block that went stale: nothing may jump to it without a check any more.
    void unlink_all_into(Block& block);
    void emit_entry_trampoline();

    Hart& hart_;
    CodeBuffer code_;
    HartLayout layout_;
    RunState run_state_;
    using EntryFunction = void (*)(Hart*, const void*, RunState*);
    EntryFunction enter_ = nullptr;
    const void* return_to_loop_ = nullptr;
    bool host_fma_ = false;
    Helpers helpers_;  // what the blocks call, the shared code among it
    size_t trampoline_bytes_ = 0;
    std::deque<Block> blocks_;
    std::unordered_map<uint64_t, Block*> by_pc_;            // (vaddr << 2) | priv
    std::unordered_map<uint8_t*, int32_t> link_originals_;  // linked site -> its stub's rel32
    struct CrossPageLink {
        uint8_t* site;
        const Block* target;
    };
    std::vector<CrossPageLink> cross_page_links_;
    std::bitset<8192> cross_link_targets_;  // page filter (page_filter_index) of their targets
    std::vector<JumpSlot> jump_slots_;      // 4 tables of kJumpCacheSlots
    // How often each (hashed) block start was reached while cold; bounded, and a collision only
    // makes some code hot a little early.
    std::vector<uint16_t> heat_ = std::vector<uint16_t>(kHeatSlots);
    bool jump_table_used_[4] = {};  // filled since the last flush
    // A filter of the virtual pages the jump caches may hold (by a hash of the page number):
    // a fence of one page with no code in them costs nothing.
    std::bitset<8192> pages_in_jump_cache_;
    static unsigned page_filter_index(uint64_t vaddr) {
        uint64_t page = vaddr >> 12;
        return (page ^ (page >> 13) ^ (page >> 26)) & 8191;
    }
    TranslatorStats stats_;
    UniqueFd perf_map_;  // /tmp/perf-PID.map when the machine asked for one
};

}  // namespace vessel::riscv::jit
