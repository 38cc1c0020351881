#include "vm/riscv/jit/translator.h"

#include <fmt/format.h>
#include <xbyak/xbyak.h>
#include <xbyak/xbyak_util.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "base/file.h"
#include "vm/riscv/hart.h"
#include "vm/riscv/jit/block_compiler.h"

namespace vessel::riscv::jit {

namespace {

// A fresh block needs at most this much room (64 instructions with their slow paths); below it
// the buffer is flushed before translating.
constexpr size_t kRoomForOneBlock = 64 * 1024;

// An Insn from the two registers a helper call passes it in (emit_helper_call packs it).
Insn unpack(uint64_t insn_low, uint64_t insn_high) {
    uint64_t words[2] = {insn_low, insn_high};
    Insn insn;
    std::memcpy(&insn, words, sizeof insn);
    return insn;
}

int32_t offset_in(const Hart& hart, const void* member) {
    return static_cast<int32_t>(static_cast<const char*>(member) -
                                reinterpret_cast<const char*>(&hart));
}

// Calls the entry trampoline. clang's -fsanitize=function (part of the sanitizer builds' UBSan)
// checks an indirect call by reading a type signature from the 8 bytes before the callee. The
// trampoline is emitted code with no such prefix, at the start of the code buffer: those bytes
// are the buffer's guard page, and the check faulted there.
#if defined(__clang__)
__attribute__((no_sanitize("function")))
#endif
void call_entry(void (*enter)(Hart*, const void*, RunState*), Hart* hart, const void* code,
                RunState* run_state) {
    enter(hart, code, run_state);
}

}  // namespace

Result<std::unique_ptr<Translator>> Translator::create(Hart& hart, size_t code_bytes) {
    auto code = TRY(CodeBuffer::create(code_bytes));
    std::unique_ptr<Translator> translator(new Translator(hart, std::move(code)));
    translator->emit_entry_trampoline();
    if (hart.machine_.perf_map) {
        // Every hart's translator appends to the one file; a line is one write, so they do
        // not interleave.
        const std::string path = fmt::format("/tmp/perf-{}.map", getpid());
        translator->perf_map_ =
            TRY_CTX(open_file(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644), "--perf-map");
    }
    return translator;
}

Translator::Translator(Hart& hart, CodeBuffer code)
    : hart_(hart), code_(std::move(code)), jump_slots_(4 * kJumpCacheSlots) {
    run_state_.translator = this;
    layout_.x = offset_in(hart, &hart.x_[0]);
    layout_.pc = offset_in(hart, &hart.pc_);
    layout_.instret = offset_in(hart, &hart.instret_);
    layout_.attention = offset_in(hart, &hart.attention_);
    layout_.end_block = offset_in(hart, &hart.end_block_);
    layout_.data_key = offset_in(hart, &hart.data_key_);
    layout_.f = offset_in(hart, &hart.f_[0]);
    layout_.mstatus = offset_in(hart, &hart.mstatus_);
    layout_.frm = offset_in(hart, &hart.frm_);
    static_assert(sizeof(hart.frm_) == 4);
    layout_.tlb_load = offset_in(hart, &hart.tlb_[static_cast<int>(Access::load)][0][0]);
    layout_.tlb_store = offset_in(hart, &hart.tlb_[static_cast<int>(Access::store)][0][0]);
    layout_.tlb_fetch = offset_in(hart, &hart.tlb_[static_cast<int>(Access::fetch)][0][0]);
    layout_.fetch_key = offset_in(hart, &hart.fetch_key_);
    layout_.tlb_entry_size = sizeof(Hart::TlbEntry);
    layout_.tlb_addend = offsetof(Hart::TlbEntry, addend);
    layout_.tlb_code_flag = offsetof(Hart::TlbEntry, code_flag);
    layout_.tlb_sets = Hart::kTlbSets;
    layout_.tlb_way_bytes = static_cast<int32_t>(sizeof(Hart::TlbEntry) * Hart::kTlbSets);
    static_assert(Hart::kTlbWays == 2, "the translated code checks two ways");
    static_assert(sizeof(Hart::TlbEntry) == 32,
                  "the translated code indexes 32-byte TLB entries and swaps them by halves");
    static_assert(sizeof(std::atomic<bool>) == 1 && sizeof(bool) == 1);
    host_fma_ = Xbyak::util::Cpu().has(Xbyak::util::Cpu::tFMA);
}

Translator::~Translator() = default;

// enter(hart, code, run_state): saves the callee-saved registers the blocks use, sets rbx and
// r12, and calls the first block; a block's `ret` comes back here. Six pushes after the call
// leave the stack at 8 mod 16, so the blocks (entered by a call) see it 16-byte aligned.
void Translator::emit_entry_trampoline() {
    using namespace Xbyak::util;
    Xbyak::CodeGenerator gen(code_.free_bytes(), code_.write_cursor());
    gen.push(rbx);
    gen.push(rbp);
    gen.push(r12);
    gen.push(r13);
    gen.push(r14);
    gen.push(r15);
    gen.mov(rbx, rdi);
    gen.mov(r12, rdx);
    gen.stmxcsr(gen.dword[r12 + offsetof(RunState, host_mxcsr)]);
    gen.ldmxcsr(gen.dword[r12 + offsetof(RunState, guest_mxcsr)]);
    gen.call(rsi);
    gen.stmxcsr(gen.dword[r12 + offsetof(RunState, guest_mxcsr)]);
    gen.ldmxcsr(gen.dword[r12 + offsetof(RunState, host_mxcsr)]);
    gen.pop(r15);
    gen.pop(r14);
    gen.pop(r13);
    gen.pop(r12);
    gen.pop(rbp);
    gen.pop(rbx);
    gen.ret();
    // What a block the interpreter runs has for code: the dispatching block has written pc_, so
    // returning to the hart's loop is all there is to do.
    const size_t return_stub = gen.getSize();
    gen.ret();
    enter_ = reinterpret_cast<EntryFunction>(
        const_cast<uint8_t*>(code_.executable_address(code_.write_cursor())));
    return_to_loop_ = code_.executable_address(code_.write_cursor() + return_stub);
    code_.commit(gen.getSize());
    helpers_ = Helpers{reinterpret_cast<const void*>(&Translator::load_slow),
                       reinterpret_cast<const void*>(&Translator::store_slow),
                       reinterpret_cast<const void*>(&Translator::execute_amo),
                       reinterpret_cast<const void*>(&Translator::execute_fp), host_fma_};
    helpers_.fetch_slow = reinterpret_cast<const void*>(&Translator::fetch_slow);
    helpers_.csr = reinterpret_cast<const void*>(&Translator::execute_csr);
    code_.commit(emit_shared_code(layout_, helpers_, code_).value_or(0));
    trampoline_bytes_ = code_.used();
}

bool Translator::load_slow(Hart* hart, uint64_t vaddr, uint64_t size, uint64_t* out) {
    return hart->load_slow(vaddr, static_cast<unsigned>(size), *out);
}

bool Translator::store_slow(Hart* hart, uint64_t vaddr, uint64_t size, uint64_t value) {
    return hart->store_slow(vaddr, static_cast<unsigned>(size), value);
}

bool Translator::fetch_slow(Hart* hart, uint64_t vaddr) {
    uint64_t paddr_page;
    const uint8_t* host_page;
    return hart->translate_fetch(vaddr, paddr_page, host_page);
}

bool Translator::execute_amo(Hart* hart, uint64_t insn_low, uint64_t insn_high) {
    const Insn insn = unpack(insn_low, insn_high);
    return hart->execute_amo(insn);
}

void Translator::fold_fp_flags() {
    if (uint32_t status = run_state_.guest_mxcsr & 0x3d) {
        // MXCSR status (IE 0x01, ZE 0x04, OE 0x08, UE 0x10, PE 0x20; DE has no counterpart) to
        // fflags (NV 0x10, DZ 0x08, OF 0x04, UF 0x02, NX 0x01).
        hart_.fflags_ |= ((status & 0x01u) << 4) | ((status & 0x04u) << 1) |
                         ((status & 0x08u) >> 1) | ((status & 0x10u) >> 3) |
                         ((status & 0x20u) >> 5);
        hart_.mark_fp_dirty();
    }
    run_state_.guest_mxcsr = RunState::kCleanMxcsr;
}

bool Translator::execute_csr(Hart* hart, uint64_t insn_low, uint64_t insn_high,
                             RunState* run_state) {
    const Insn insn = unpack(insn_low, insn_high);
    // The CSRs must see the FP flags the block's FP operations raised so far (mstatus.FS, and a
    // write to it must not be undone by a later fold); the call reloads the cleared MXCSR.
    run_state->translator->fold_fp_flags();
    const uint64_t status_before = hart->mstatus_;
    if (!hart->execute_csr(insn)) return false;
    // execute_csr ends the block after every CSR instruction: the interpreter's block loop
    // caches what a write may change. Translated code caches none of it, so only a change the
    // hart's loop must act on ends the block: a write, unless all it did was leave mstatus as it
    // was or clear its interrupt enables (no interrupt can become takeable by that).
    const bool writes = insn.op == Op::csrrw || insn.op == Op::csrrwi || insn.rs1 != 0;
    const uint32_t number = static_cast<uint32_t>(insn.imm) & 0xfff;
    constexpr uint64_t kEnables = Hart::kMstatusSie | Hart::kMstatusMie;
    const bool status = number == 0x100 || number == 0x300;  // sstatus, mstatus
    if (!writes || (status && (hart->mstatus_ & ~kEnables) == (status_before & ~kEnables) &&
                    (hart->mstatus_ & kEnables & ~status_before) == 0))
        hart->end_block_ = false;
    return true;
}

bool Translator::execute_fp(Hart* hart, uint64_t insn_low, uint64_t insn_high) {
    const Insn insn = unpack(insn_low, insn_high);
    return hart->execute_fp(insn);
}

void Translator::execute() {
    // A store by this hart to code, in translated code or in the interpreter: jumps linked across
    // pages skip the generation check, so those into blocks it made stale go now (same-page
    // links need nothing: their own block went stale with the page).
    if (std::exchange(hart_.code_store_seen_, false)) code_may_have_changed();
    bool trapped = false;
    const Block* block =
        std::exchange(run_state_.interpret_next, 0) ? nullptr : find_or_translate(trapped);
    if (trapped) return;  // the fetch trapped; the hart is at its handler
    if (!block || block->interpret) {
        // Cold code (not run often enough yet to be worth translating) or an instruction the
        // interpreter runs.
        ++stats_.interpreted;
        hart_.run_block(kColdBranchBudget);
        return;
    }
    ++stats_.entries;
    run_state_.budget = kTransitionBudget;
    call_entry(enter_, &hart_, block->code, &run_state_);
    if (std::exchange(hart_.code_store_seen_, false)) code_may_have_changed();
    fold_fp_flags();
    if (uint8_t* site = std::exchange(run_state_.link_site, nullptr)) {
        // Translate the block at pc now and let the site jump to it. A buffer flush while
        // translating took the site with it.
        const uint64_t flushes = stats_.cache_flushes;
        bool trapped_next = false;
        const Block* next = find_or_translate(trapped_next);
        if (next && !next->interpret && stats_.cache_flushes == flushes)
            link(site, *const_cast<Block*>(next), run_state_.link_cross_page != 0);
    }
}

void Translator::link(uint8_t* site, Block& target, bool cross_page) {
    const auto* code = static_cast<const uint8_t*>(target.code);
    uint8_t* writable = code_.writable_address(site);
    // The site is `jmp rel32` (E9, then the displacement from the next instruction).
    const auto displacement = static_cast<int32_t>(code - (site + 5));
    // The stub's displacement, to put back when the target goes.
    int32_t original;
    std::memcpy(&original, writable + 1, 4);
    std::memcpy(writable + 1, &displacement, 4);
    target.incoming.push_back(site);
    link_originals_[site] = original;
    if (cross_page) {
        cross_page_links_.push_back({site, &target});
        cross_link_targets_.set(page_filter_index(target.vaddr));
    }
    ++stats_.links;
}

template <typename Predicate>
void Translator::unlink_cross_page(Predicate matches) {
    std::erase_if(cross_page_links_, [&](const CrossPageLink& link) {
        if (!matches(*link.target)) return false;
        if (auto original = link_originals_.find(link.site); original != link_originals_.end()) {
            std::memcpy(code_.writable_address(link.site) + 1, &original->second, 4);
            link_originals_.erase(original);
            ++stats_.unlinks;
        }
        return true;
    });
    if (cross_page_links_.empty()) cross_link_targets_.reset();
}

void Translator::code_may_have_changed() {
    // Only a target whose page was written since it was translated is out of date.
    unlink_cross_page([](const Block& target) {
        return std::atomic_ref(*target.generation_word).load(std::memory_order_acquire) !=
               target.generation;
    });
}

void Translator::unlink_all_into(Block& block) {
    for (uint8_t* site : block.incoming) {
        auto original = link_originals_.find(site);
        if (original == link_originals_.end()) continue;
        std::memcpy(code_.writable_address(site) + 1, &original->second, 4);
        link_originals_.erase(original);
        ++stats_.unlinks;
    }
    block.incoming.clear();
}

const Block* Translator::find_or_translate(bool& trapped) {
    const uint64_t pc = hart_.pc_;
    const auto priv = static_cast<unsigned>(hart_.priv_);
    JumpSlot& slot = jump_table(priv)[jump_index(pc)];
    if (slot.vaddr == pc &&
        std::atomic_ref(*slot.block->generation_word).load(std::memory_order_acquire) ==
            slot.block->generation)
        return slot.block;
    ++stats_.jump_cache_misses;

    uint64_t paddr_page;
    const uint8_t* host_page;
    if (!hart_.translate_fetch(pc, paddr_page, host_page)) {
        trapped = true;
        return nullptr;
    }
    const uint64_t paddr = paddr_page | (pc & 0xfff);
    const uint64_t key = (pc << 2) | priv;
    auto found = by_pc_.find(key);
    Block* known = found != by_pc_.end() ? found->second : nullptr;
    if (known && known->paddr == paddr &&
        std::atomic_ref(*known->generation_word).load(std::memory_order_acquire) ==
            known->generation) {
        slot = {pc, known};
        jump_table_used_[priv] = true;
        pages_in_jump_cache_.set(page_filter_index(pc));
        return known;
    }
    if (known) {
        ++stats_.invalidations;
        unlink_all_into(*known);
    } else {
        // Translate code only once it has run a few times: most of a boot runs once, and the
        // interpreter runs that sooner than it could be translated.
        uint16_t& heat = heat_[heat_index(pc, priv)];
        if (heat < kHotThreshold) {
            ++heat;
            return nullptr;
        }
    }
    // An instruction straddling into a page the fetch TLB does not hold yet: the interpreter
    // runs it (and fills the TLB), and the next entry here translates it.
    if ((pc & 0xfff) == 0xffe && instruction_length(host_page[0xffe]) == 4 &&
        !hart_.fetch_tlb_page(pc + 2))
        return nullptr;
    // Marked before the generation is read: a store after this point bumps it.
    hart_.machine_.code_pages.mark_code(paddr_page);
    // Translating may flush everything (a full code buffer), the map and `found` with it: the
    // entry is written afresh.
    known = const_cast<Block*>(translate(pc, paddr, host_page, priv));
    if (!known) return nullptr;
    by_pc_[key] = known;
    slot = {pc, known};
    jump_table_used_[priv] = true;
    pages_in_jump_cache_.set(page_filter_index(pc));
    return known;
}

const Block* Translator::translate(uint64_t vaddr, uint64_t paddr, const uint8_t* host_page,
                                   unsigned priv) {
    if (code_.free_bytes() < kRoomForOneBlock) {
        ++stats_.cache_flushes;
        drop_everything();
    }
    auto started = std::chrono::steady_clock::now();
    const CodePages& pages = hart_.machine_.code_pages;
    Block& block = blocks_.emplace_back();
    block.vaddr = vaddr;
    block.paddr = paddr;
    block.priv = priv;
    block.generation_word = pages.generation_word(paddr);
    block.generation = std::atomic_ref(*block.generation_word).load(std::memory_order_acquire);
    CompileRequest request{vaddr, host_page, hart_.fetch_tlb_page(vaddr + 0x1000), jump_table(priv),
                           priv == static_cast<unsigned>(Priv::user)};
    auto compiled = compile_block(request, layout_, helpers_, code_);
    if (!compiled || compiled->guest_instructions == 0) {
        // Not translatable here (or, impossibly, larger than the reserved room): the interpreter
        // runs it.
        block.interpret = true;
        block.code = return_to_loop_;
        return &block;
    }
    block.code = code_.executable_address(code_.write_cursor());
    block.guest_instructions = compiled->guest_instructions;
    if (perf_map_.valid()) {
        static constexpr const char* kPrivName[] = {"u", "s", "?", "m"};
        (void)write_all(
            perf_map_.get(),
            fmt::format("{:x} {:x} riscv-{}:{:#x}\n", reinterpret_cast<uintptr_t>(block.code),
                        compiled->code_bytes, kPrivName[priv & 3], vaddr));
    }
    code_.commit(compiled->code_bytes);
    ++stats_.blocks_translated;
    stats_.guest_instructions_translated += compiled->guest_instructions;
    stats_.code_bytes_emitted += compiled->code_bytes;
    stats_.translation_nanoseconds +=
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - started)
                                  .count());
    return &block;
}

void Translator::flush_jump_caches() {
    unlink_cross_page([](const Block&) { return true; });
    for (unsigned priv = 0; priv < 4; ++priv) {
        if (!jump_table_used_[priv]) continue;
        JumpSlot* table = jump_table(priv);
        for (unsigned i = 0; i < kJumpCacheSlots; ++i)
            table[i] = JumpSlot{};
        jump_table_used_[priv] = false;
    }
    pages_in_jump_cache_.reset();
}

void Translator::flush_jump_cache_page(uint64_t page) {
    if (cross_link_targets_.test(page_filter_index(page)))
        unlink_cross_page(
            [page](const Block& target) { return (target.vaddr & ~uint64_t{0xfff}) == page; });
    // Most single-page fences name a data page: nothing of it is in the jump caches.
    if (!pages_in_jump_cache_.test(page_filter_index(page))) return;
    for (unsigned priv = 0; priv < 4; ++priv) {
        if (!jump_table_used_[priv]) continue;
        JumpSlot* table = jump_table(priv);
        for (unsigned i = 0; i < kJumpCacheSlots; ++i)
            if ((table[i].vaddr & ~uint64_t{0xfff}) == page) table[i] = JumpSlot{};
    }
}

void Translator::drop_everything() {
    for (unsigned priv = 0; priv < 4; ++priv)
        jump_table_used_[priv] = true;
    flush_jump_caches();
    by_pc_.clear();
    blocks_.clear();
    link_originals_.clear();
    cross_page_links_.clear();
    cross_link_targets_.reset();
    code_.clear();
    code_.commit(trampoline_bytes_);  // the trampoline and shared code stay
}

std::string describe(const TranslatorStats& stats) {
    double blocks = static_cast<double>(std::max<uint64_t>(stats.blocks_translated, 1));
    return fmt::format(
        "{} blocks ({} guest instructions, {:.1f} µs per block), {} KiB of code emitted, "
        "{} KiB in use of {} MiB, {} buffer flushes, {} stale blocks dropped, {} entries from "
        "the hart loop, {} runs of the interpreter (cold code, system instructions), {} "
        "jump-cache misses, {} links, {} unlinks",
        stats.blocks_translated, stats.guest_instructions_translated,
        static_cast<double>(stats.translation_nanoseconds) / 1000.0 / blocks,
        stats.code_bytes_emitted / 1024, stats.code_buffer_used / 1024,
        stats.code_buffer_capacity >> 20, stats.cache_flushes, stats.invalidations, stats.entries,
        stats.interpreted, stats.jump_cache_misses, stats.links, stats.unlinks);
}

TranslatorStats Translator::stats() const {
    TranslatorStats stats = stats_;
    stats.code_buffer_used = code_.used();
    stats.code_buffer_capacity = code_.capacity();
    return stats;
}

}  // namespace vessel::riscv::jit
