// The interpreter: one loop over the decoded instructions of the current code page. Control stays
// in run_block() while execution stays in one page; leaving the page, a trap, a state change the
// loop caches (privilege, translation, interrupt enables) or the branch budget ends the block.
#include <atomic>
#include <climits>
#include <cstddef>
#include <cstring>

#include "vm/riscv/hart.h"
#include "vm/riscv/hart_memory_inl.h"
#include "vm/riscv/jit/translator.h"

namespace vessel::riscv {

namespace {
constexpr uint64_t kTimerCheckInterval = 8192;  // instructions between looks at the clock

inline uint64_t sext32(uint64_t value) {
    return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(value)));
}

// Division by zero and overflow give the results the M extension specifies, never a host trap.
inline uint64_t divide(uint64_t dividend, uint64_t divisor) {
    auto a = static_cast<int64_t>(dividend), b = static_cast<int64_t>(divisor);
    if (b == 0) return ~uint64_t{0};
    if (a == INT64_MIN && b == -1) return dividend;
    return static_cast<uint64_t>(a / b);
}
inline uint64_t signed_remainder(uint64_t dividend, uint64_t divisor) {
    auto a = static_cast<int64_t>(dividend), b = static_cast<int64_t>(divisor);
    if (b == 0) return dividend;
    if (a == INT64_MIN && b == -1) return 0;
    return static_cast<uint64_t>(a % b);
}
inline uint64_t divide_word(uint64_t dividend, uint64_t divisor) {
    auto a = static_cast<int32_t>(dividend), b = static_cast<int32_t>(divisor);
    if (b == 0) return ~uint64_t{0};
    if (a == INT32_MIN && b == -1) return sext32(dividend);
    return sext32(static_cast<uint32_t>(a / b));
}
inline uint64_t remainder_word(uint64_t dividend, uint64_t divisor) {
    auto a = static_cast<int32_t>(dividend), b = static_cast<int32_t>(divisor);
    if (b == 0) return sext32(dividend);
    if (a == INT32_MIN && b == -1) return 0;
    return sext32(static_cast<uint32_t>(a % b));
}
}  // namespace

void Hart::run() {
    running_.store(true, std::memory_order_release);
    // Requests made while the hart was not running were answered by flush_done() without a
    // flush: serve them before the first instruction.
    serve_flush_requests();
    while (!stop_.load(std::memory_order_relaxed)) {
        // --- Debugger hook (hart_debug.cpp): while a halt, a step, a breakpoint or a trigger is
        // armed, one instruction at a time through the interpreter, before either engine.
        if (__builtin_expect(debug_flags_.load(std::memory_order_relaxed) != 0, 0)) {
            debug_step();
            continue;
        }
        if (attention_.load(std::memory_order_relaxed) || instret_ >= next_timer_check_) {
            attention_.store(false, std::memory_order_relaxed);
            serve_flush_requests();
            if (ssip_posted_.exchange(false, std::memory_order_acq_rel))
                mip_software_ |= uint64_t{1} << irq::ssi;
            next_timer_check_ = instret_ + kTimerCheckInterval;
            take_interrupt_if_pending();
        }
        if (translator_)
            translator_->execute();
        else
            run_block();
        if (end_block_) {
            end_block_ = false;
            // CSR writes, xRET, device writes: the pending/enabled set may have changed.
            attention_.store(true, std::memory_order_relaxed);
        }
    }
    running_.store(false, std::memory_order_release);
}

void Hart::serve_flush_requests() {
    uint64_t requested = flush_requested_.load(std::memory_order_acquire);
    if (requested == flush_served_.load(std::memory_order_relaxed)) return;
    // Read after the ticket: a request's flag is set before its ticket is taken.
    if (flush_code_requested_.exchange(false, std::memory_order_acq_rel))
        flush_all_caches();
    else
        flush_tlb();
    flush_served_.store(requested, std::memory_order_release);
}

bool Hart::translate_fetch(uint64_t pc, uint64_t& paddr_page, const uint8_t*& host_page) {
    const uint64_t tag = (pc & ~uint64_t{0xfff}) | fetch_key_;
    // Into way 0 when found: run_block() reads the entry from there.
    if (const TlbEntry* entry = tlb_lookup(Access::fetch, pc, tag)) {
        paddr_page = entry->paddr_page;
        host_page = reinterpret_cast<const uint8_t*>(entry->addend + (pc & ~uint64_t{0xfff}));
        return true;
    }
    WalkRequest request{satp_, priv_, false, false};
    WalkResult result = translate(machine_.memory, request, pc, Access::fetch);
    if (!result.ok) {
        raise(result.fault_cause, pc);
        return false;
    }
    note_superpage(pc, result.page_shift);
    paddr_page = result.paddr & ~uint64_t{0xfff};
    uint8_t* host = machine_.memory.host_pointer(paddr_page, 0x1000);
    if (!host || !machine_.code_pages.code_flag(paddr_page)) {
        raise(cause::fetch_access, pc);
        return false;
    }
    TlbEntry& entry = tlb_fill_slot(Access::fetch, pc);
    entry.tag = tag;
    entry.addend = reinterpret_cast<uintptr_t>(host) - (pc & ~uint64_t{0xfff});
    entry.paddr_page = paddr_page;
    entry.code_flag = machine_.code_pages.code_flag(paddr_page);
    host_page = host;
    return true;
}

Hart::DecodedPage* Hart::code_page_for_pc() {
    uint64_t paddr_page;
    const uint8_t* host_page;
    if (!translate_fetch(pc_, paddr_page, host_page)) return nullptr;
    DecodedPage*& indexed = decoded_index_[(paddr_page >> 12) % kDecodedIndexSize];
    if (!indexed || indexed->paddr_page != paddr_page) indexed = decoded_page_for(paddr_page);
    DecodedPage& page = *indexed;
    if (page.paddr_page == paddr_page &&
        page.generation == machine_.code_pages.generation(paddr_page))
        return &page;
    machine_.code_pages.mark_code(paddr_page);
    page.paddr_page = paddr_page;
    page.generation = machine_.code_pages.generation(paddr_page);
    // Dispatch goes through `handlers`, which run_block() resets: the slots need no clearing.
    page.handlers_valid = false;
    return &page;
}

Hart::DecodedPage* Hart::decoded_page_for(uint64_t paddr_page) {
    if (auto found = decoded_by_paddr_.find(paddr_page); found != decoded_by_paddr_.end())
        return found->second;
    DecodedPage* page;
    if (decoded_in_use_ < decoded_pool_.size()) {
        page = decoded_pool_[decoded_in_use_++].get();
    } else if (decoded_pool_.size() < kMaxDecodedPages) {
        decoded_pool_.push_back(std::make_unique<DecodedPage>());
        page = decoded_pool_.back().get();
        ++decoded_in_use_;
    } else {
        // Full: the oldest page handed out goes (round-robin), with its index entry.
        page = decoded_pool_[next_decoded_victim_].get();
        next_decoded_victim_ = (next_decoded_victim_ + 1) % kMaxDecodedPages;
        decoded_by_paddr_.erase(page->paddr_page);
        DecodedPage*& slot = decoded_index_[(page->paddr_page >> 12) % kDecodedIndexSize];
        if (slot == page) slot = nullptr;
    }
    // Not valid for this page until code_page_for_pc() fills it in.
    page->paddr_page = ~uint64_t{0};
    decoded_by_paddr_[paddr_page] = page;
    return page;
}

// Threaded dispatch (GCC labels as values): every handler ends with its own indirect jump to the
// next instruction's handler, which the host's branch predictor learns per guest instruction
// pattern far better than one shared switch jump. pc and the retired count live in locals and are
// written back when the block ends or before anything that reads them (traps, CSRs, slow paths).
void Hart::run_block(int branch_budget) {
    DecodedPage* page = code_page_for_pc();
    if (!page) return;
    uint64_t pc = pc_;
    const uint64_t page_vbase = pc & ~uint64_t{0xfff};
    const uint8_t* host_page =
        reinterpret_cast<const uint8_t*>(tlb_entry(Access::fetch, 0, pc).addend + page_vbase);
    int budget = branch_budget;
    uint64_t retired = 0;
    const Insn* in;
    uint64_t* const x = x_;
    uint64_t target;

// Two handlers per operation: for a 4-byte encoding (handler_NAME) and a compressed one
// (handler_NAME_c). The common ones are compiled twice with the instruction length as a constant,
// so stepping to the next slot does not wait for a load of `in->length`: that load sat on the one
// dependency chain that runs through every instruction. Rare operations share one body.
#define VESSEL_HANDLER_ADDRESS(name, handler) &&handler_##handler,
#define VESSEL_HANDLER_ADDRESS_C(name, handler) &&handler_##handler##_c,
    static constexpr size_t kOps = static_cast<size_t>(Op::count_);
    static const void* const kHandlers[2 * kOps] = {VESSEL_RISCV_OPS(VESSEL_HANDLER_ADDRESS)
                                                        VESSEL_RISCV_OPS(VESSEL_HANDLER_ADDRESS_C)};
#undef VESSEL_HANDLER_ADDRESS
#undef VESSEL_HANDLER_ADDRESS_C

#define HANDLER_FOR(slot) \
    kHandlers[static_cast<unsigned>((slot)->op) + ((slot)->length == 2 ? kOps : 0)]
// `in` and `handler` walk the page's slots and their handlers alongside pc, so sequential flow
// costs three adds and one load.
#define DISPATCH_AT_PC()                        \
    do {                                        \
        in = &slots[(pc & 0xfff) >> 1];         \
        handler = &handlers[(pc & 0xfff) >> 1]; \
        goto** handler;                         \
    } while (0)
#define NEXT_AFTER(length)               \
    do {                                 \
        const unsigned step_ = (length); \
        x[0] = 0;                        \
        ++retired;                       \
        pc += step_;                     \
        in += step_ >> 1;                \
        handler += step_ >> 1;           \
        goto** handler;                  \
    } while (0)
#define NEXT() NEXT_AFTER(in->length)
#define JUMP(destination)                                             \
    do {                                                              \
        target = (destination);                                       \
        x[0] = 0;                                                     \
        ++retired;                                                    \
        pc = target;                                                  \
        if ((pc ^ page_vbase) >= 0x1000 || --budget == 0) goto leave; \
        DISPATCH_AT_PC();                                             \
    } while (0)
// Before anything that may trap or read pc_/instret_.
#define SYNC()               \
    do {                     \
        pc_ = pc;            \
        instret_ += retired; \
        retired = 0;         \
    } while (0)
#define RD x[in->rd]
#define RS1 x[in->rs1]
#define RS2 x[in->rs2]
#define IMM static_cast<int64_t>(in->imm)
// Each defines handler_NAME (4-byte encoding) and handler_NAME_c (compressed).
#define TWICE(name, body)                \
    handler_##name : body NEXT_AFTER(4); \
    handler_##name##_c : body NEXT_AFTER(2);
#define BRANCH(name, cond) TWICE(name, if (cond) JUMP(pc + IMM);)
#define ALU(name, expression) TWICE(name, RD = (expression);)
#define LOAD(name, type, extend)                                \
    TWICE(name, {                                               \
        type value;                                             \
        pc_ = pc;                                               \
        if (!load<type>(RS1 + IMM, value)) goto trapped;        \
        RD = static_cast<uint64_t>(static_cast<extend>(value)); \
    })
#define STORE(name, type)                                                  \
    TWICE(name, {                                                          \
        pc_ = pc;                                                          \
        if (!store<type>(RS1 + IMM, static_cast<type>(RS2))) goto trapped; \
        if (end_block_) goto retire_and_leave;                             \
    })
// An operation with one body for both lengths.
#define SHARED(name) handler_##name : handler_##name##_c:

    // --- Debugger hook (hart_debug.cpp): a single step decodes the instruction at pc into a
    // scratch page whose other slots all leave, and a taken branch leaves at once.
    if (__builtin_expect(single_instruction_block_, 0)) {
        page = prime_step_page(&&handler_undecoded, &&handler_end_of_page);
        budget = 1;
    }
    Insn* const slots = page->slots;
    const void** const handlers = page->handlers;
    const void* const* handler;
    if (!page->handlers_valid) {
        for (unsigned i = 0; i < 2048; ++i)
            handlers[i] = &&handler_undecoded;
        handlers[2048] = handlers[2049] = &&handler_end_of_page;
        page->handlers_valid = true;
    }
    // A straddling instruction is decoded into the last slot only for this block: its handler
    // goes back to "undecoded" when the block ends.
    struct StraddleSlot {
        const void** handler = nullptr;
        const void* undecoded = nullptr;
        ~StraddleSlot() {
            if (handler) *handler = undecoded;
        }
    } straddle;

    DISPATCH_AT_PC();

handler_undecoded_c:
handler_undecoded : {
    const unsigned offset = pc & 0xfff;
    uint16_t low;
    std::memcpy(&low, host_page + offset, 2);
    if (instruction_length(low) == 2) {
        page->slots[offset >> 1] = decode_compressed(low);
    } else if (offset <= 0xffc) {
        uint32_t raw;
        std::memcpy(&raw, host_page + offset, 4);
        page->slots[offset >> 1] = decode(raw);
    } else {
        // Straddles the page end: decode afresh each time (the next page may map anywhere).
        // Through the fetch TLB, which the translator's guard for such an instruction reads.
        SYNC();
        uint64_t next_paddr_page;
        const uint8_t* next_page;
        if (!translate_fetch(pc + 2, next_paddr_page, next_page)) return;  // it raised
        uint16_t high;
        std::memcpy(&high, next_page, 2);
        slots[2047] = decode(uint32_t{low} | (uint32_t{high} << 16));
        // Fields one by one: a temporary StraddleSlot would undo this in its destructor.
        straddle.handler = &handlers[2047];
        straddle.undecoded = &&handler_undecoded;
    }
    handlers[offset >> 1] = HANDLER_FOR(in);
    goto** handler;
}

    ALU(lui, static_cast<uint64_t>(IMM))
    ALU(auipc, pc + IMM)
    SHARED(jal)
    RD = pc + in->length;
    JUMP(pc + IMM);
handler_jalr_c:
handler_jalr : {
    uint64_t destination = (RS1 + IMM) & ~uint64_t{1};
    RD = pc + in->length;
    JUMP(destination);
}
    BRANCH(beq, RS1 == RS2)
    BRANCH(bne, RS1 != RS2)
    BRANCH(blt, static_cast<int64_t>(RS1) < static_cast<int64_t>(RS2))
    BRANCH(bge, static_cast<int64_t>(RS1) >= static_cast<int64_t>(RS2))
    BRANCH(bltu, RS1 < RS2)
    BRANCH(bgeu, RS1 >= RS2)
    LOAD(lb, int8_t, int64_t)
    LOAD(lh, int16_t, int64_t)
    LOAD(lw, int32_t, int64_t)
    LOAD(ld, uint64_t, uint64_t)
    LOAD(lbu, uint8_t, uint64_t)
    LOAD(lhu, uint16_t, uint64_t)
    LOAD(lwu, uint32_t, uint64_t)
    STORE(sb, uint8_t)
    STORE(sh, uint16_t)
    STORE(sw, uint32_t)
    STORE(sd, uint64_t)
    ALU(addi, RS1 + IMM)
    ALU(slti, static_cast<int64_t>(RS1) < IMM)
    ALU(sltiu, RS1 < static_cast<uint64_t>(IMM))
    ALU(xori, RS1 ^ IMM)
    ALU(ori, RS1 | IMM)
    ALU(andi, RS1 & IMM)
    ALU(slli, RS1 << in->imm)
    ALU(srli, RS1 >> in->imm)
    ALU(srai, static_cast<uint64_t>(static_cast<int64_t>(RS1) >> in->imm))
    ALU(add, RS1 + RS2)
    ALU(sub, RS1 - RS2)
    ALU(sll, RS1 << (RS2 & 63))
    ALU(slt, static_cast<int64_t>(RS1) < static_cast<int64_t>(RS2))
    ALU(sltu, RS1 < RS2)
    ALU(xor_, RS1 ^ RS2)
    ALU(srl, RS1 >> (RS2 & 63))
    ALU(sra, static_cast<uint64_t>(static_cast<int64_t>(RS1) >> (RS2 & 63)))
    ALU(or_, RS1 | RS2)
    ALU(and_, RS1 & RS2)
    ALU(addiw, sext32(RS1 + IMM))
    ALU(slliw, sext32(RS1 << in->imm))
    ALU(srliw, sext32(static_cast<uint32_t>(RS1) >> in->imm))
    ALU(sraiw, static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(RS1)) >> in->imm))
    ALU(addw, sext32(RS1 + RS2))
    ALU(subw, sext32(RS1 - RS2))
    ALU(sllw, sext32(RS1 << (RS2 & 31)))
    ALU(srlw, sext32(static_cast<uint32_t>(RS1) >> (RS2 & 31)))
    ALU(sraw, static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(RS1)) >> (RS2 & 31)))
    ALU(mul, RS1 * RS2)
    ALU(mulh,
        static_cast<uint64_t>(
            (static_cast<__int128>(static_cast<int64_t>(RS1)) * static_cast<int64_t>(RS2)) >> 64))
    ALU(mulhsu,
        static_cast<uint64_t>(
            (static_cast<__int128>(static_cast<int64_t>(RS1)) * static_cast<__int128>(RS2)) >> 64))
    ALU(mulhu, static_cast<uint64_t>((static_cast<unsigned __int128>(RS1) * RS2) >> 64))
    ALU(div, divide(RS1, RS2))
    ALU(divu, RS2 == 0 ? ~uint64_t{0} : RS1 / RS2)
    ALU(rem, signed_remainder(RS1, RS2))
    ALU(remu, RS2 == 0 ? RS1 : RS1 % RS2)
    ALU(mulw, sext32(RS1 * RS2))
    ALU(divw, divide_word(RS1, RS2))
    ALU(divuw, static_cast<uint32_t>(RS2) == 0
                   ? ~uint64_t{0}
                   : sext32(static_cast<uint32_t>(RS1) / static_cast<uint32_t>(RS2)))
    ALU(remw, remainder_word(RS1, RS2))
    ALU(remuw, static_cast<uint32_t>(RS2) == 0
                   ? sext32(RS1)
                   : sext32(static_cast<uint32_t>(RS1) % static_cast<uint32_t>(RS2)))
    SHARED(end_of_page)  // sequential flow left the page
    goto leave;
    SHARED(fence)
    // Another hart runs on another host thread: a guest fence that orders stores before loads
    // (smp_mb(), Dekker-style handshakes such as "set my flag, then look at yours") needs the
    // host's full barrier, or both harts can miss each other's store. The other orderings hold on
    // x86-64.
    if (in->imm) std::atomic_thread_fence(std::memory_order_seq_cst);
    NEXT();
    SHARED(fence_i)
    // The block's own page stays allocated (the pool is only recycled), so leaving through it is
    // safe.
    drop_decoded_pages();
    goto retire_and_leave;
    SHARED(ecall)
    SYNC();
    if (priv_ == Priv::supervisor && ecall_handler_) {
        pc_ = pc + 4;  // the handler may redirect the hart (e.g. HSM, SRST)
        ++instret_;
        if (ecall_handler_->handle_ecall(*this)) {
            x[0] = 0;
            end_block_ = true;
            return;
        }
        pc_ = pc;
        --instret_;
    }
    raise(priv_ == Priv::user         ? cause::ecall_from_u
          : priv_ == Priv::supervisor ? cause::ecall_from_s
                                      : cause::ecall_from_m,
          0);
    return;
    SHARED(ebreak)
    SYNC();
    raise(cause::breakpoint, pc);
    return;
    SHARED(mret)
    SYNC();
    if (priv_ != Priv::machine) {
        raise(cause::illegal_instruction, 0x30200073);
        return;
    }
    ++instret_;
    do_mret();
    return;
    SHARED(sret)
    SYNC();
    if (priv_ == Priv::user || (priv_ == Priv::supervisor && (mstatus_ & kMstatusTsr))) {
        raise(cause::illegal_instruction, 0x10200073);
        return;
    }
    ++instret_;
    do_sret();
    return;
    SHARED(wfi)
    SYNC();
    if (priv_ == Priv::user || (priv_ == Priv::supervisor && (mstatus_ & kMstatusTw))) {
        raise(cause::illegal_instruction, 0x10500073);
        return;
    }
    pc_ = pc + 4;
    ++instret_;
    wait_for_interrupt();
    return;
    SHARED(sfence_vma)
    SYNC();
    if (priv_ == Priv::user || (priv_ == Priv::supervisor && (mstatus_ & kMstatusTvm))) {
        raise(cause::illegal_instruction,
              0x12000073u | (uint32_t{in->rs1} << 15) | (uint32_t{in->rs2} << 20));
        return;
    }
    // An address narrows the flush to that page (Linux fences one page after each PTE change).
    if (in->rs1)
        flush_tlb_page(x[in->rs1]);
    else
        flush_tlb();
    goto retire_and_leave;
    SHARED(csr)
    // CSR writes may change privilege keys, satp or interrupt enables: always end the block.
    SYNC();
    if (!execute_csr(*in)) return;
    goto retire_and_leave;
    SHARED(amo)
    pc_ = pc;
    if (!execute_amo(*in)) goto trapped;
    if (end_block_) goto retire_and_leave;
    NEXT();
    SHARED(fp)
    pc_ = pc;
    if (!execute_fp(*in)) goto trapped;
    if (end_block_) goto retire_and_leave;
    NEXT();
    SHARED(illegal)
    SYNC();
    raise(cause::illegal_instruction, static_cast<uint32_t>(in->imm));
    return;

trapped:  // a load/store/AMO/FP instruction raised a trap: pc_ is the handler already
    instret_ += retired;
    return;
retire_and_leave:
    x[0] = 0;
    instret_ += retired + 1;
    pc_ = pc + in->length;
    return;
leave:
    pc_ = pc;
    instret_ += retired;
    return;

#undef DISPATCH_AT_PC
#undef NEXT
#undef NEXT_AFTER
#undef HANDLER_FOR
#undef TWICE
#undef SHARED
#undef JUMP
#undef SYNC
#undef RD
#undef RS1
#undef RS2
#undef IMM
#undef BRANCH
#undef ALU
#undef LOAD
#undef STORE
}

}  // namespace vessel::riscv
