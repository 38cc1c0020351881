// The block compiler's emitter (internal to the translator): one object per block, emitting
// at the code buffer's cursor. Split by concern: block_region.cpp shapes the block (which
// instructions, its loops, the registers kept in host registers, the write-back masks),
// block_compiler.cpp emits its structure (exits, internal jumps, branches, helper calls),
// emit_integer.cpp the integer instructions and memory accesses, emit_select.cpp branches over
// one-instruction arms as cmov, emit_fp.cpp the F and D instructions; shared_code.cpp has what
// all blocks share (slow-path thunks, exit tails).
#pragma once

#include <xbyak/xbyak.h>

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <vector>

#include "vm/riscv/decoder.h"
#include "vm/riscv/jit/block_compiler.h"

namespace vessel::riscv::jit {

// Instruction classes the block compiler's parts share.
// What the interpreter runs instead (one instruction, then back to the translator).
inline bool translatable(Op op) {
    switch (op) {
        case Op::undecoded:
        case Op::end_of_page:
        case Op::illegal:
        case Op::fence_i:
        case Op::ecall:
        case Op::ebreak:
        case Op::mret:
        case Op::sret:
        case Op::wfi:
        case Op::sfence_vma:
            return false;
        default:
            return true;
    }
}

inline bool is_csr(Op op) {
    return op >= Op::csrrw && op <= Op::csrrci;
}

// A CSR instruction the helper may run inside a block. Not the counters that count retired
// instructions (a block adds its count at its exits) nor the FP flags (translated code keeps
// them in MXCSR until it returns).
inline bool translatable_csr(const Insn& insn) {
    const uint32_t number = static_cast<uint32_t>(insn.imm) & 0xfff;
    if (number <= 0x003) return false;
    if ((number >= 0xb00 && number <= 0xb1f) || (number >= 0xc00 && number <= 0xc1f))
        return number == 0xc01;  // time
    return true;
}

// Instructions with no fall-through successor.
inline bool ends_block(Op op) {
    return op == Op::jal || op == Op::jalr;
}

inline bool is_branch(Op op) {
    return op >= Op::beq && op <= Op::bgeu;
}

inline bool is_amo(Op op) {
    return op >= Op::lr_w && op <= Op::amomaxu_d;
}
inline bool is_fp(Op op) {
    return op >= Op::flw && op <= Op::fcvt_d_s;
}

inline bool is_integer_load(Op op) {
    return op >= Op::lb && op <= Op::lwu;
}
inline bool is_integer_store(Op op) {
    return op >= Op::sb && op <= Op::sd;
}

// Bytes a load or store moves.
inline unsigned access_size(Op op) {
    switch (op) {
        case Op::lb:
        case Op::lbu:
        case Op::sb:
            return 1;
        case Op::lh:
        case Op::lhu:
        case Op::sh:
            return 2;
        case Op::lw:
        case Op::lwu:
        case Op::sw:
        case Op::flw:
        case Op::fsw:
            return 4;
        default:
            return 8;
    }
}

// The emitter's code names host registers as Xbyak::util does (rax, qword[...]).
using namespace Xbyak::util;

class Compiler : public Xbyak::CodeGenerator {
  public:
    Compiler(const CompileRequest& request, const HartLayout& layout, const Helpers& helpers,
             CodeBuffer& buffer)
        : Xbyak::CodeGenerator(buffer.free_bytes(), buffer.write_cursor()),
          request_(request),
          exec_base_(buffer.exec_cursor()),
          layout_(layout),
          helpers_(helpers) {}

    CompiledBlock compile();

  private:
    // Guest register `index` in the Hart (x0 reads as the zero the array always holds).
    // Guest register `index`: the host register caching it in this block, or its slot in the
    // Hart (x0 is never cached: its slot always reads zero).
    const Xbyak::Operand& guest(unsigned index) {
        if (const Xbyak::Reg64* host = cached_[index]) return *host;
        return scratch_operand(qword[rbx + layout_.x + 8 * index]);
    }
    const Xbyak::Operand& guest32(unsigned index) {
        if (cached_[index]) return cached32_[index];
        return scratch_operand(dword[rbx + layout_.x + 8 * index]);
    }
    Xbyak::Address guest_slot(unsigned index) const { return qword[rbx + layout_.x + 8 * index]; }
    // Keeps an Address alive for the operand reference guest() returns (a few are in use at
    // once: a ring of them).
    const Xbyak::Operand& scratch_operand(const Xbyak::Address& address) {
        Xbyak::Address& slot = scratch_addresses_[next_scratch_++ % scratch_addresses_.size()];
        slot = address;
        return slot;
    }
    // The host registers that hold guest registers across the block (callee-saved, so helper
    // calls keep them): chosen for the guest registers the block uses most.
    void allocate_registers(const std::vector<Insn>& instructions);
    void load_cached_registers();
    // The cached registers that may have been written, limited to `mask` (one bit per guest
    // register: those possibly written on the way to this point).
    void write_back_cached_registers(uint32_t mask = ~0u);
    // Which registers each instruction may find written since the block's entry, and may leave
    // written (a forward data-flow over the block's jumps): an exit writes back only those.
    void compute_written_masks();
    // The cached guest registers held in caller-saved host registers (rsi, rdi, r8-r11), back
    // from their slots after a call.
    void reload_caller_saved_registers();
    Xbyak::Label& new_label() { return labels_.emplace_back(); }
    // Decodes the block: straight on through conditional branches, and past an unconditional
    // jump while an earlier branch targets code further on (the other arm of an if/else, the
    // rest of a loop body), so those edges stay inside the block.
    void decode_block();
    // A block holding more than one loop keeps one, so its registers are chosen for that loop:
    // the innermost around the entry, or else the first the entry reaches and the way to it.
    // Jumps to what it drops leave the block (to blocks of their own).
    void focus_on_one_loop();
    // The block's loops (see find_loops): per loop its first instruction and which instructions
    // it holds; and each instruction's successors in the block.
    struct Loops {
        std::vector<unsigned> headers;
        std::vector<std::vector<bool>> bodies;
        std::vector<std::array<int, 2>> successors;  // taken or jump target, fall-through; -1: none
    };
    Loops find_loops() const;
    // The index of the block's instruction at `target`, or -1 when none starts there.
    int internal_index(uint64_t target) const;
    // Fills index_at_ from pcs_.
    void index_instructions();
    // A jump from instruction `from` to instruction `to` of this block: instret corrected for
    // the instructions skipped or repeated, and for a backward edge (a loop) the attention and
    // budget checks every transition makes.
    void emit_internal_jump(uint32_t from, unsigned to);

    // Emits `insn` (at guest `pc`, with `retired` instructions of the block before it). True when
    // it ended the block (a jump or branch).
    bool emit(const Insn& insn, uint64_t pc, uint32_t retired);
    void emit_alu(const Insn& insn);
    // An ALU operation x86 has in two-operand form, given as what to do to the destination.
    // `reads_rs2`: the operation reads rs2 (so rd's register cannot be written before it).
    void emit_binary(const Insn& insn, const std::function<void(const Xbyak::Reg64&)>& operation,
                     bool reads_rs2 = false);
    // eax sign-extended into x[rd] (the W instructions' result).
    void emit_word_result(unsigned rd);
    // x[rd] = value, and x[rd] = x[rs]: li and mv, which name x0 as an operand.
    void emit_constant(unsigned rd, int64_t value);
    void emit_copy(unsigned rd, unsigned rs);
    // The guest address into rax and its TLB slot offset into rcx, then the tag check against
    // the TLB at Hart offset `tlb`: a miss jumps to `slow`.
    void emit_tlb_probe(const Insn& insn, unsigned size, int32_t tlb, Xbyak::Label& slow);
    // The privilege key into the page tag in rdx (none in user mode: CompileRequest::user_mode).
    void emit_data_key();
    // (vaddr >> 12) % sets, scaled to the offset of the set's first entry: from eax into ecx.
    void emit_tlb_index();
    // rdx (a tag) against the set at rcx of the TLB at Hart offset `tlb`: on a hit rcx is the
    // entry's offset, on a miss it jumps to `miss`.
    void emit_tlb_tag_check(int32_t tlb, Xbyak::Label& miss);
    // Loads and stores: grouped (below) or each with its own TLB probe.
    void emit_load(const Insn& insn, uint64_t pc, uint32_t retired);
    void emit_store(const Insn& insn, uint64_t pc, uint32_t retired);
    void emit_probed_load(const Insn& insn, uint64_t pc, uint32_t retired);
    void emit_probed_store(const Insn& insn, uint64_t pc, uint32_t retired);
    // A load's or store's call of the interpreter's slow path (the guest address in rax), then
    // on to `join`; a trap leaves the block.
    void emit_load_slow_path(const Insn& insn, uint64_t pc, uint32_t retired, Xbyak::Label& join);
    void emit_store_slow_path(const Insn& insn, uint64_t pc, uint32_t retired, Xbyak::Label& join);
    // The value at `source` into rd as the load `insn` extends it (an x or an f register).
    void emit_load_to_rd(const Insn& insn, const Xbyak::RegExp& source);
    // Access groups (access_groups.cpp): loads, or stores, through one base register that no
    // instruction between them writes and no jump enters between, within 2 KiB of each other
    // (a function's saves and restores off sp, a structure's fields). The first checks the TLB
    // once for the whole span and keeps the host addend in a RunState slot; each access then
    // adds it to its address, and takes its own probe only when the span missed (another page,
    // a TLB miss, a page holding code): the interpreter's slow path.
    struct AccessGroup {
        int32_t low = 0, high = 0;  // the span of offsets from the base register, bytes
        uint32_t leader = 0;        // the instruction that checks the span
        uint8_t slot = 0;           // RunState::group_addend index
        bool store = false;
        unsigned members = 0;
    };
    void plan_access_groups();
    const AccessGroup* access_group(uint32_t index) const {
        const int group = index < group_of_.size() ? group_of_[index] : -1;
        return group < 0 ? nullptr : &groups_[static_cast<size_t>(group)];
    }
    void emit_group_check(const AccessGroup& group, unsigned base);
    void emit_grouped_access(const Insn& insn, uint64_t pc, uint32_t index,
                             const AccessGroup& group);
    // The value a store writes, into rcx (an x or an f register).
    void emit_store_value(const Insn& insn);
    void emit_branch(const Insn& insn, uint64_t pc, uint32_t retired);
    // The compare a branch makes (rs1 with rs2), `scratch` loaded when neither is in a register.
    void emit_compare(const Insn& insn, const Xbyak::Reg64& scratch);
    // A branch over one-instruction if/else arms (the instruction at `index`) as a select; false
    // when the code around it is not of that shape.
    bool try_emit_select(const Insn& insn, uint32_t index);
    // The result `insn` (one of those a select handles) would write, into `into` only.
    void emit_value(const Insn& insn, const Xbyak::Reg64& into);
    void emit_helper_call(const Insn& insn, const void* helper, uint64_t pc, uint32_t retired);
    // Calls a C++ function with the host's own MXCSR: translated code keeps the guest's
    // accumulated FP exception flags there (see RunState::guest_mxcsr).
    // Expects every cached register's slot to hold its value (written back).
    void emit_call(const void* function);
    // call/jmp rel32 (opcode E8/E9) to shared code at an executable address.
    void emit_rel32(uint8_t opcode, const uint8_t* target);
    // Before an instruction straddling into the next page (see CompileRequest::next_host_page).
    void emit_straddle_guard(uint64_t pc, uint32_t retired);
    // The guest pc into rdx, for a slow path's thunk.
    void emit_pc_argument(uint64_t pc);
    // F and D (emit_fp.cpp): inline where the host computes exactly the RISC-V result and
    // flags, through the fp helper otherwise (including at run time: FS off, a dynamic rounding
    // mode other than rne, an unboxed single, a NaN addend).
    void emit_fp(const Insn& insn, uint64_t pc, uint32_t retired);
    // xmm0 to f[rd] (NaN-boxed for a single), a NaN result replaced by the canonical NaN.
    void emit_fp_result(bool single, unsigned rd);
    Xbyak::Address fp_slot(unsigned index) const { return qword[rbx + layout_.f + 8 * index]; }
    Xbyak::Address fp_slot32(unsigned index) const { return dword[rbx + layout_.f + 8 * index]; }
    Xbyak::Address fp_high32(unsigned index) const {
        return dword[rbx + layout_.f + 8 * index + 4];
    }
    void emit_division(const Insn& insn);
    // The guest address rs1 + imm into rax, and the TLB slot offset for it into rcx.
    void emit_address(const Insn& insn);
    // Leaves the block for `next_pc` with `retired` instructions done: through the jump cache to
    // the next block, or back to the hart's loop.
    void emit_exit(uint64_t next_pc, uint32_t retired);
    // The same with the next pc in rax (instret_ already counted).
    void emit_dispatch_rax();
    void emit_store_pc(uint64_t pc);
    // Out-of-line tails: a trap raised by the instruction after `retired` others, and a return to
    // the hart's loop after a store that changed what the block may assume. Both end in the
    // block's exit tail, which writes back every cached register the block may write.
    Xbyak::Label& trap_exit(uint32_t retired);
    Xbyak::Label& leave_exit(uint64_t next_pc, uint32_t retired);

    const CompileRequest& request_;
    const uint8_t* const exec_base_;  // where the first byte emitted here will run
    const HartLayout& layout_;
    const Helpers& helpers_;
    std::deque<Xbyak::Label> labels_;  // stable addresses for the deferred code's references
    // A deque: pieces run from it add more, which must not move the one running.
    std::deque<std::function<void()>> deferred_;
    std::map<uint32_t, Xbyak::Label*> trap_exits_;
    std::map<std::pair<uint64_t, uint32_t>, Xbyak::Label*> leave_exits_;
    std::vector<Insn> instructions_;
    std::vector<uint64_t> pcs_;                // each instruction's guest pc, ascending
    std::array<int16_t, 2048> index_at_{};     // per two-byte offset on the page: instruction or -1
    std::vector<Xbyak::Label*> entry_labels_;  // per instruction: its label when a jump targets it
    Xbyak::Label exit_tail_;
    std::vector<uint32_t> written_before_, written_after_;  // per instruction, see above
    uint16_t straddle_high_ = 0;  // the straddling instruction's half on the next page
    std::vector<AccessGroup> groups_;
    std::vector<int> group_of_;  // per instruction: its access group, or -1
    const Xbyak::Reg64* cached_[32] = {};
    bool written_[32] = {};
    Xbyak::Reg32 cached32_[32];
    std::array<Xbyak::Address, 4> scratch_addresses_{qword[rbx], qword[rbx], qword[rbx],
                                                     qword[rbx]};
    unsigned next_scratch_ = 0;
};

}  // namespace vessel::riscv::jit
