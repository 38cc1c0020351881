#include "vm/riscv/jit/block_compiler.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "vm/riscv/jit/compiler.h"

namespace vessel::riscv::jit {

namespace {

// What the interpreter runs instead (one instruction, then back to the translator).
bool translatable(Op op) {
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

bool is_csr(Op op) {
    return op >= Op::csrrw && op <= Op::csrrci;
}

// A CSR instruction the helper may run inside a block. Not the counters that count retired
// instructions (a block adds its count at its exits) nor the FP flags (translated code keeps
// them in MXCSR until it returns).
bool translatable_csr(const Insn& insn) {
    const uint32_t number = static_cast<uint32_t>(insn.imm) & 0xfff;
    if (number <= 0x003) return false;
    if ((number >= 0xb00 && number <= 0xb1f) || (number >= 0xc00 && number <= 0xc1f))
        return number == 0xc01;  // time
    return true;
}

// Instructions with no fall-through successor.
bool ends_block(Op op) {
    return op == Op::jal || op == Op::jalr;
}

bool is_branch(Op op) {
    return op >= Op::beq && op <= Op::bgeu;
}

bool is_amo(Op op) {
    return op >= Op::lr_w && op <= Op::amomaxu_d;
}
bool is_fp(Op op) {
    return op >= Op::flw && op <= Op::fcvt_d_s;
}

}  // namespace

void Compiler::allocate_registers(const std::vector<Insn>& instructions) {
    // Instructions inside loops of the block weigh more, eight times per loop around them:
    // their registers are the ones worth keeping in host registers.
    std::vector<unsigned> weight(instructions.size(), 1);
    for (const std::vector<bool>& body : find_loops().bodies)
        for (size_t i = 0; i < instructions.size(); ++i)
            if (body[i]) weight[i] = std::min(weight[i] * 8, 512u);
    unsigned uses[32] = {};
    for (size_t i = 0; i < instructions.size(); ++i) {
        const Insn& insn = instructions[i];
        // An upper bound of what each instruction touches is enough: the choice only affects
        // speed. Every cached register is loaded on entry; those any instruction may write
        // (its rd, even when rd names an f register) are written back at every exit.
        written_[insn.rd] = true;
        uses[insn.rd] += weight[i];
        uses[insn.rs1] += weight[i];
        uses[insn.rs2] += weight[i];
    }
    uses[0] = 0;
    // Callee-saved first. The caller-saved ones (r8-r11, rsi, rdi) are kept on the stack by the
    // slow paths' thunks, and reloaded from their slots after a helper call (which writes the
    // registers back first). None of them is a scratch register of the emitted code (rax, rcx,
    // rdx).
    static const Xbyak::Reg64* const kHostRegisters[] = {&rbp, &r13, &r14, &r15, &r8,
                                                         &r9,  &r10, &r11, &rsi, &rdi};
    for (const Xbyak::Reg64* host : kHostRegisters) {
        unsigned best = 0;
        for (unsigned index = 1; index < 32; ++index)
            if (!cached_[index] && uses[index] > uses[best]) best = index;
        // A register used once costs a load and a store to cache: not worth it.
        if (best == 0 || uses[best] < 2) break;
        cached_[best] = host;
        cached32_[best] = host->cvt32();
        uses[best] = 0;
    }
}

void Compiler::load_cached_registers() {
    for (unsigned index = 1; index < 32; ++index)
        if (cached_[index]) mov(*cached_[index], guest_slot(index));
}

void Compiler::write_back_cached_registers(uint32_t mask) {
    for (unsigned index = 1; index < 32; ++index)
        if (cached_[index] && written_[index] && (mask >> index & 1))
            mov(guest_slot(index), *cached_[index]);
}

void Compiler::reload_caller_saved_registers() {
    for (unsigned index = 1; index < 32; ++index) {
        const Xbyak::Reg64* host = cached_[index];
        // rsi, rdi, r8-r11 only: rbp and r13-r15 survive calls.
        if (host && host->getIdx() >= 6 && host->getIdx() <= 11) mov(*host, guest_slot(index));
    }
}

void Compiler::compute_written_masks() {
    const size_t size = instructions_.size();
    written_before_.assign(size, 0);
    written_after_.assign(size, 0);
    std::vector<bool> reached(size, false);
    std::vector<unsigned> work;
    const auto entry = static_cast<unsigned>(internal_index(request_.vaddr));
    reached[entry] = true;
    work.push_back(entry);
    while (!work.empty()) {
        const unsigned i = work.back();
        work.pop_back();
        const Insn& insn = instructions_[i];
        const uint32_t out = written_before_[i] | (insn.rd ? uint32_t{1} << insn.rd : 0);
        written_after_[i] = out;
        auto flow = [&](uint64_t successor_pc) {
            const int to = internal_index(successor_pc);
            if (to < 0) return;
            const auto s = static_cast<unsigned>(to);
            if (reached[s] && (written_before_[s] | out) == written_before_[s]) return;
            reached[s] = true;
            written_before_[s] |= out;
            work.push_back(s);
        };
        if (is_branch(insn.op) || insn.op == Op::jal)
            flow(pcs_[i] + static_cast<int64_t>(insn.imm));
        if (!ends_block(insn.op)) flow(pcs_[i] + insn.length);
    }
}

void Compiler::decode_block() {
    // The block is the code reachable from its start on the same page, explored breadth-first
    // (nearest first) up to the size limit: both sides of conditional branches and the targets
    // of direct jumps. Indirect jumps end a path, and so does an instruction the interpreter
    // runs (the path leaves the block for it).
    const uint64_t page_base = request_.vaddr & ~uint64_t{0xfff};
    std::vector<std::pair<uint64_t, Insn>> found;
    std::vector<uint64_t> queue{request_.vaddr};
    std::vector<bool> seen(0x1000, false);
    seen[request_.vaddr - page_base] = true;
    auto reach = [&](uint64_t target) {
        if (((target ^ page_base) & ~uint64_t{0xfff}) != 0 || seen[target - page_base]) return;
        seen[target - page_base] = true;
        queue.push_back(target);
    };
    for (size_t next = 0; next < queue.size(); ++next) {
        const uint64_t pc = queue[next];
        const unsigned offset = static_cast<unsigned>(pc - page_base);
        uint16_t low;
        std::memcpy(&low, request_.host_page + offset, 2);
        Insn insn;
        if (instruction_length(low) == 2) {
            insn = decode_compressed(low);
        } else if (offset <= 0xffc) {
            uint32_t raw;
            std::memcpy(&raw, request_.host_page + offset, 4);
            insn = decode(raw);
        } else if (request_.next_host_page) {
            // Straddles the page end: the next page's half as it is now (see straddle guard).
            std::memcpy(&straddle_high_, request_.next_host_page, 2);
            insn = decode(uint32_t{low} | (uint32_t{straddle_high_} << 16));
        } else {
            insn.op = Op::undecoded;  // straddles into a page not mapped now: the interpreter's
        }
        if (!translatable(insn.op) || (is_csr(insn.op) && !translatable_csr(insn))) continue;
        found.emplace_back(pc, insn);
        if (found.size() == Translator::kMaxBlockInstructions) break;
        if (insn.op == Op::jal || is_branch(insn.op)) reach(pc + static_cast<int64_t>(insn.imm));
        if (!ends_block(insn.op)) reach(pc + insn.length);
    }
    // Emitted in address order, so most fall-through successors are the next instruction.
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [pc, insn] : found) {
        pcs_.push_back(pc);
        instructions_.push_back(insn);
    }
}

Compiler::Loops Compiler::find_loops() const {
    const size_t size = instructions_.size();
    Loops loops;
    loops.successors.resize(size);
    std::vector<std::vector<unsigned>> predecessors(size);
    for (size_t i = 0; i < size; ++i) {
        const Insn& insn = instructions_[i];
        auto edge = [&](uint64_t target) {
            if (const int to = internal_index(target); to >= 0) {
                loops.successors[i].push_back(static_cast<unsigned>(to));
                predecessors[static_cast<size_t>(to)].push_back(static_cast<unsigned>(i));
            }
        };
        if (is_branch(insn.op) || insn.op == Op::jal)
            edge(pcs_[i] + static_cast<int64_t>(insn.imm));
        if (!ends_block(insn.op)) edge(pcs_[i] + insn.length);
    }
    // A jump back (to an address not above its own) and what reaches it from its target without
    // passing the target (the natural loop), merged per target.
    auto& bodies = loops.bodies;
    auto& headers = loops.headers;
    for (unsigned tail = 0; tail < size; ++tail) {
        for (unsigned header : loops.successors[tail]) {
            if (header > tail) continue;
            auto known = std::find(headers.begin(), headers.end(), header);
            if (known == headers.end()) {
                headers.push_back(header);
                bodies.emplace_back(size, false);
                bodies.back()[header] = true;
                known = headers.end() - 1;
            }
            std::vector<bool>& body = bodies[static_cast<size_t>(known - headers.begin())];
            std::vector<unsigned> work{tail};
            while (!work.empty()) {
                const unsigned node = work.back();
                work.pop_back();
                if (body[node]) continue;
                body[node] = true;
                for (unsigned from : predecessors[node])
                    work.push_back(from);
            }
        }
    }
    // Two loops that each hold the other's header are one cycle entered in two places (a jump
    // back into the middle of a loop): one loop.
    for (bool merged = true; merged;) {
        merged = false;
        for (size_t i = 0; i < headers.size() && !merged; ++i)
            for (size_t j = i + 1; j < headers.size() && !merged; ++j)
                if (bodies[i][headers[j]] && bodies[j][headers[i]]) {
                    for (size_t node = 0; node < size; ++node)
                        if (bodies[j][node]) bodies[i][node] = true;
                    bodies.erase(bodies.begin() + static_cast<std::ptrdiff_t>(j));
                    headers.erase(headers.begin() + static_cast<std::ptrdiff_t>(j));
                    merged = true;
                }
    }
    return loops;
}

void Compiler::focus_on_one_loop() {
    const size_t size = instructions_.size();
    const Loops loops = find_loops();
    const auto& bodies = loops.bodies;
    const auto& headers = loops.headers;
    const auto& successors = loops.successors;
    if (headers.empty()) return;
    const auto entry = static_cast<unsigned>(internal_index(request_.vaddr));
    // The innermost loop around the entry; without one, the loop the entry reaches first.
    size_t chosen = headers.size();
    auto count = [&](size_t loop) {
        return std::count(bodies[loop].begin(), bodies[loop].end(), true);
    };
    for (size_t loop = 0; loop < headers.size(); ++loop)
        if (bodies[loop][entry] && (chosen == headers.size() || count(loop) < count(chosen)))
            chosen = loop;
    if (chosen == headers.size()) {
        std::vector<unsigned> distance(size, ~0u);
        std::vector<unsigned> queue{entry};
        distance[entry] = 0;
        for (size_t next = 0; next < queue.size(); ++next)
            for (unsigned to : successors[queue[next]])
                if (distance[to] == ~0u) {
                    distance[to] = distance[queue[next]] + 1;
                    queue.push_back(to);
                }
        for (size_t loop = 0; loop < headers.size(); ++loop)
            if (chosen == headers.size() || distance[headers[loop]] < distance[headers[chosen]])
                chosen = loop;
    }
    // Code of a sibling loop (neither around the chosen one nor inside it) goes; the rest stays.
    const unsigned header = headers[chosen];
    std::vector<bool> keep(size, true);
    for (size_t loop = 0; loop < headers.size(); ++loop)
        if (!bodies[loop][header] && !bodies[chosen][headers[loop]])
            for (size_t node = 0; node < size; ++node)
                if (bodies[loop][node]) keep[node] = false;
    for (size_t loop = 0; loop < headers.size(); ++loop)
        if (bodies[loop][header] || bodies[chosen][headers[loop]])
            for (size_t node = 0; node < size; ++node)
                if (bodies[loop][node]) keep[node] = true;
    // And what only they led to.
    std::vector<bool> reached(size, false);
    std::vector<unsigned> work{entry};
    while (!work.empty()) {
        const unsigned node = work.back();
        work.pop_back();
        if (reached[node] || !keep[node]) continue;
        reached[node] = true;
        for (unsigned to : successors[node])
            work.push_back(to);
    }
    keep = reached;
    std::vector<uint64_t> pcs;
    std::vector<Insn> instructions;
    for (size_t i = 0; i < size; ++i)
        if (keep[i]) {
            pcs.push_back(pcs_[i]);
            instructions.push_back(instructions_[i]);
        }
    pcs_ = std::move(pcs);
    instructions_ = std::move(instructions);
}

int Compiler::internal_index(uint64_t target) const {
    auto found = std::lower_bound(pcs_.begin(), pcs_.end(), target);
    if (found == pcs_.end() || *found != target) return -1;
    return static_cast<int>(found - pcs_.begin());
}

void Compiler::emit_internal_jump(uint32_t from, unsigned to) {
    // Exits count instret by an instruction's position in the block; a jump that skips or
    // repeats instructions corrects the count by the difference.
    const int32_t correction = static_cast<int32_t>(from + 1) - static_cast<int32_t>(to);
    if (to <= from) {
        Xbyak::Label& leave = leave_exit(pcs_[to], from + 1);
        cmp(byte[rbx + layout_.attention], 0);
        jne(leave, T_NEAR);
        sub(dword[r12 + offsetof(RunState, budget)], 1);
        jle(leave, T_NEAR);
    }
    if (correction) add(qword[rbx + layout_.instret], correction);
    jmp(*entry_labels_[to], T_NEAR);
}

CompiledBlock Compiler::compile() {
    // Decode first: the register choice and the jump targets need the whole block.
    decode_block();
    if (instructions_.empty()) return {};
    focus_on_one_loop();

    const auto size = static_cast<uint32_t>(instructions_.size());
    entry_labels_.assign(size, nullptr);
    auto mark_target = [&](uint64_t target) {
        const int to = internal_index(target);
        if (to >= 0 && !entry_labels_[to]) entry_labels_[to] = &new_label();
    };
    for (uint32_t i = 0; i < size; ++i) {
        const Insn& insn = instructions_[i];
        if (is_branch(insn.op) || insn.op == Op::jal)
            mark_target(pcs_[i] + static_cast<int64_t>(insn.imm));
        if (!ends_block(insn.op) && (i + 1 == size || pcs_[i + 1] != pcs_[i] + insn.length))
            mark_target(pcs_[i] + insn.length);
    }
    const auto entry = static_cast<uint32_t>(internal_index(request_.vaddr));
    if (!entry_labels_[entry]) entry_labels_[entry] = &new_label();

    allocate_registers(instructions_);
    compute_written_masks();
    load_cached_registers();
    // Exits count instret by position in the block (see emit_internal_jump): entering past
    // the first instruction is a jump there.
    if (entry) {
        add(qword[rbx + layout_.instret], -static_cast<int32_t>(entry));
        jmp(*entry_labels_[entry], T_NEAR);
    }
    for (uint32_t i = 0; i < size; ++i) {
        const Insn& insn = instructions_[i];
        if (entry_labels_[i]) L(*entry_labels_[i]);
        if ((pcs_[i] & 0xfff) == 0xffe && insn.length == 4) emit_straddle_guard(pcs_[i], i);
        if (emit(insn, pcs_[i], i)) continue;
        // Falling through to an instruction emitted elsewhere, or not in the block at all.
        const uint64_t next_pc = pcs_[i] + insn.length;
        if (i + 1 < size && pcs_[i + 1] == next_pc) continue;
        if (const int to = internal_index(next_pc); to >= 0)
            emit_internal_jump(i, static_cast<unsigned>(to));
        else
            emit_exit(next_pc, i + 1);
    }
    // The deferred pieces may add more (a slow path's trap exit): run until none are left.
    for (size_t i = 0; i < deferred_.size(); ++i)
        deferred_[i]();
    L(exit_tail_);
    write_back_cached_registers();
    ret();
    return {getSize(), size};
}

void Compiler::emit_store_pc(uint64_t pc) {
    mov(rcx, pc);
    mov(qword[rbx + layout_.pc], rcx);
}

void Compiler::emit_straddle_guard(uint64_t pc, uint32_t retired) {
    // The instruction was decoded from the next page as it was mapped then. Each time: the
    // fetch TLB still maps that page there (the interpreter and fetch_slow fill it) and its half
    // is unchanged; otherwise the interpreter runs it (out of date), or the fetch traps.
    const uint64_t next_page = pc + 2;
    const int32_t entry =
        layout_.tlb_fetch + static_cast<int32_t>(((next_page >> 12) & (layout_.tlb_entries - 1)) *
                                                 static_cast<uint64_t>(layout_.tlb_entry_size));
    const uint64_t addend = reinterpret_cast<uintptr_t>(request_.next_host_page) - next_page;
    Xbyak::Label& check = new_label();
    Xbyak::Label& miss = new_label();
    Xbyak::Label& out_of_date = new_label();
    L(check);
    mov(rdx, next_page);
    or_(rdx, qword[rbx + layout_.fetch_key]);
    cmp(rdx, qword[rbx + entry]);
    jne(miss, T_NEAR);
    mov(rax, addend);
    cmp(rax, qword[rbx + entry + layout_.tlb_addend]);
    jne(out_of_date, T_NEAR);
    mov(rax, reinterpret_cast<uintptr_t>(request_.next_host_page));
    // Sign-extended: Xbyak takes a 16-bit immediate as a signed one.
    cmp(word[rax],
        static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(straddle_high_))));
    jne(out_of_date, T_NEAR);
    deferred_.push_back([this, &check, &miss, &out_of_date, pc, next_page, retired] {
        L(miss);
        mov(rax, next_page);
        emit_pc_argument(pc);
        emit_rel32(0xe8, helpers_.fetch_thunk);
        test(al, al);
        jz(trap_exit(retired), T_NEAR);
        jmp(check, T_NEAR);
        L(out_of_date);
        mov(byte[r12 + offsetof(RunState, interpret_next)], 1);
        jmp(leave_exit(pc, retired), T_NEAR);
    });
}

void Compiler::emit_pc_argument(uint64_t pc) {
    if (pc <= 0xffffffffu)
        mov(edx, static_cast<uint32_t>(pc));
    else
        mov(rdx, pc);
}

void Compiler::emit_rel32(uint8_t opcode, const uint8_t* target) {
    // The displacement is from where the next instruction will run.
    const uint8_t* next_instruction = exec_base_ + getSize() + 5;
    db(opcode);
    dd(static_cast<uint32_t>(static_cast<int32_t>(target - next_instruction)));
}

Xbyak::Label& Compiler::trap_exit(uint32_t retired) {
    if (auto found = trap_exits_.find(retired); found != trap_exits_.end()) return *found->second;
    Xbyak::Label& label = new_label();
    trap_exits_[retired] = &label;
    deferred_.push_back([this, &label, retired] {
        L(label);
        if (retired) add(qword[rbx + layout_.instret], retired);
        jmp(exit_tail_, T_NEAR);
    });
    return label;
}

Xbyak::Label& Compiler::leave_exit(uint64_t next_pc, uint32_t retired) {
    auto key = std::make_pair(next_pc, retired);
    if (auto found = leave_exits_.find(key); found != leave_exits_.end()) return *found->second;
    Xbyak::Label& label = new_label();
    leave_exits_[key] = &label;
    deferred_.push_back([this, &label, next_pc, retired] {
        L(label);
        add(qword[rbx + layout_.instret], retired);
        emit_store_pc(next_pc);
        jmp(exit_tail_, T_NEAR);
    });
    return label;
}

void Compiler::emit_exit(uint64_t next_pc, uint32_t retired) {
    // `retired` counts the exiting instruction: what it and those before may have written.
    write_back_cached_registers(written_after_[retired - 1]);
    add(qword[rbx + layout_.instret], retired);
    const bool same_page = ((next_pc ^ request_.vaddr) & ~uint64_t{0xfff}) == 0;
    // A known successor is entered without a lookup: directly for a loop back to this block,
    // through a jump the translator patches on first use (its link stub asks for it) otherwise.
    // On the same page it shares this block's mapping and generation word; on another page the
    // translator undoes the link when that page's mapping may have changed (TLB flushes) or its
    // code may have (fence.i).
    Xbyak::Label& leave = new_label();
    cmp(byte[rbx + layout_.attention], 0);
    jne(leave, T_NEAR);
    sub(dword[r12 + offsetof(RunState, budget)], 1);
    jle(leave, T_NEAR);
    {
        Xbyak::Label& site = new_label();
        Xbyak::Label& stub = new_label();
        L(site);
        jmp(stub, T_NEAR);  // always the 5-byte rel32 form, which linking rewrites
        deferred_.push_back([this, &site, &stub, next_pc, same_page] {
            L(stub);
            mov(rax, next_pc);
            // The executable address of `site`: this code runs there, so rip-relative is it.
            lea(rcx, ptr[rip + site]);
            emit_rel32(0xe9, helpers_.link_thunk[same_page ? 0 : 1]);
        });
    }
    deferred_.push_back([this, &leave, next_pc] {
        L(leave);
        mov(rax, next_pc);
        emit_rel32(0xe9, helpers_.leave_thunk);
    });
}

void Compiler::emit_dispatch_rax() {
    emit_rel32(0xe9, request_.dispatch);
}

bool Compiler::emit(const Insn& insn, uint64_t pc, uint32_t retired) {
    switch (insn.op) {
        case Op::jal: {
            if (insn.rd) {
                mov(rax, pc + insn.length);
                mov(guest(insn.rd), rax);
            }
            const uint64_t target = pc + static_cast<int64_t>(insn.imm);
            if (const int to = internal_index(target); to >= 0)
                emit_internal_jump(retired, static_cast<unsigned>(to));
            else
                emit_exit(target, retired + 1);
            return true;
        }
        case Op::jalr:
            mov(rax, guest(insn.rs1));
            if (insn.imm) add(rax, insn.imm);
            and_(rax, -2);
            if (insn.rd) {
                mov(rcx, pc + insn.length);
                mov(guest(insn.rd), rcx);
            }
            write_back_cached_registers(written_after_[retired]);
            add(qword[rbx + layout_.instret], retired + 1);
            emit_dispatch_rax();
            return true;
        case Op::beq:
        case Op::bne:
        case Op::blt:
        case Op::bge:
        case Op::bltu:
        case Op::bgeu:
            if (try_emit_select(insn, retired)) return true;
            emit_branch(insn, pc, retired);
            return false;
        case Op::lb:
        case Op::lh:
        case Op::lw:
        case Op::ld:
        case Op::lbu:
        case Op::lhu:
        case Op::lwu:
            emit_load(insn, pc, retired);
            return false;
        case Op::sb:
        case Op::sh:
        case Op::sw:
        case Op::sd:
            emit_store(insn, pc, retired);
            return false;
        case Op::fence:
            // Harts run on host threads: a fence ordering stores before loads needs the host's
            // full barrier (x86-64 keeps every other ordering by itself).
            if (insn.imm) mfence();
            return false;
        case Op::div:
            emit_division(insn);
            return false;
        case Op::divu:
            emit_division(insn);
            return false;
        case Op::rem:
            emit_division(insn);
            return false;
        case Op::remu:
            emit_division(insn);
            return false;
        case Op::divw:
            emit_division(insn);
            return false;
        case Op::divuw:
            emit_division(insn);
            return false;
        case Op::remw:
            emit_division(insn);
            return false;
        case Op::remuw:
            emit_division(insn);
            return false;
        default:
            break;
    }
    if (is_amo(insn.op)) {
        emit_helper_call(insn, helpers_.amo, pc, retired);
        return false;
    }
    if (is_csr(insn.op)) {
        emit_helper_call(insn, helpers_.csr, pc, retired);
        return false;
    }
    if (is_fp(insn.op)) {
        emit_fp(insn, pc, retired);
        return false;
    }
    if (insn.op == Op::auipc) {
        if (insn.rd) {
            mov(rax, pc + static_cast<int64_t>(insn.imm));
            mov(guest(insn.rd), rax);
        }
        return false;
    }
    emit_alu(insn);
    return false;
}

void Compiler::emit_compare(const Insn& insn, const Xbyak::Reg64& scratch) {
    // One compare with a host register or the constant zero where it can; x86 compares memory
    // with a register or an immediate, not memory with memory.
    if (insn.rs2 == 0) {
        if (cached_[insn.rs1])
            test(*cached_[insn.rs1], *cached_[insn.rs1]);
        else
            cmp(guest_slot(insn.rs1), 0);
    } else if (cached_[insn.rs1]) {
        cmp(*cached_[insn.rs1], guest(insn.rs2));
    } else if (cached_[insn.rs2]) {
        cmp(guest_slot(insn.rs1), *cached_[insn.rs2]);
    } else {
        mov(scratch, guest(insn.rs1));
        cmp(scratch, guest(insn.rs2));
    }
}

namespace {

// The x86 condition a branch is taken on, as the cmovcc/setcc condition code.
int taken_condition(Op op) {
    switch (op) {
        case Op::beq:
            return 0x4;  // e
        case Op::bne:
            return 0x5;  // ne
        case Op::blt:
            return 0xc;  // l
        case Op::bge:
            return 0xd;  // ge
        case Op::bltu:
            return 0x2;  // b
        default:
            return 0x3;  // ae
    }
}

// An instruction whose result a select can compute ahead (no memory, no trap, no shift by a
// register, which would need rcx).
bool selectable(const Insn& insn) {
    if (insn.rd == 0) return false;
    switch (insn.op) {
        case Op::lui:
        case Op::addi:
        case Op::addiw:
        case Op::add:
        case Op::addw:
        case Op::sub:
        case Op::subw:
        case Op::xori:
        case Op::ori:
        case Op::andi:
        case Op::xor_:
        case Op::or_:
        case Op::and_:
        case Op::slli:
        case Op::srli:
        case Op::srai:
            return true;
        default:
            return false;
    }
}

}  // namespace

void Compiler::emit_value(const Insn& insn, const Xbyak::Reg64& into) {
    const int32_t imm = insn.imm;
    const auto shift = static_cast<uint8_t>(insn.imm & 63);
    const Xbyak::Reg32 into32 = into.cvt32();
    switch (insn.op) {
        case Op::lui:
            mov(into, static_cast<int64_t>(imm));
            return;
        case Op::addiw:
        case Op::addw:
        case Op::subw:
            mov(into32, guest32(insn.rs1));
            if (insn.op == Op::addiw) add(into32, imm);
            if (insn.op == Op::addw) add(into32, guest32(insn.rs2));
            if (insn.op == Op::subw) sub(into32, guest32(insn.rs2));
            movsxd(into, into32);
            return;
        default:
            break;
    }
    mov(into, guest(insn.rs1));
    switch (insn.op) {
        case Op::addi:
            add(into, imm);
            break;
        case Op::xori:
            xor_(into, imm);
            break;
        case Op::ori:
            or_(into, imm);
            break;
        case Op::andi:
            and_(into, imm);
            break;
        case Op::add:
            add(into, guest(insn.rs2));
            break;
        case Op::sub:
            sub(into, guest(insn.rs2));
            break;
        case Op::xor_:
            xor_(into, guest(insn.rs2));
            break;
        case Op::or_:
            or_(into, guest(insn.rs2));
            break;
        case Op::and_:
            and_(into, guest(insn.rs2));
            break;
        case Op::slli:
            shl(into, shift);
            break;
        case Op::srli:
            shr(into, shift);
            break;
        default:  // srai
            sar(into, shift);
            break;
    }
}

bool Compiler::try_emit_select(const Insn& insn, uint32_t index) {
    // if/else arms of one simple instruction each (or a skipped one) that meet again inside the
    // block: both results are computed ahead and the branch's outcome picks with cmov, instead
    // of a jump the host may mispredict (a binary search's comparison is a coin toss).
    const auto size = static_cast<uint32_t>(instructions_.size());
    auto straddles = [&](uint32_t at) {
        return (pcs_[at] & 0xfff) == 0xffe && instructions_[at].length == 4;
    };
    // The jump at index `at`, if `at` is the instruction at `pc` and a plain jump: its target.
    auto jump_target = [&](uint32_t at, uint64_t pc) -> std::optional<uint64_t> {
        if (at >= size || pcs_[at] != pc || straddles(at)) return std::nullopt;
        const Insn& jump = instructions_[at];
        if (jump.op != Op::jal || jump.rd != 0) return std::nullopt;
        return pc + static_cast<int64_t>(jump.imm);
    };
    const uint64_t fall_pc = pcs_[index] + insn.length;
    const uint64_t taken_pc = pcs_[index] + static_cast<int64_t>(insn.imm);
    const uint32_t fall = index + 1;
    if (fall >= size || pcs_[fall] != fall_pc || straddles(fall) ||
        !selectable(instructions_[fall]))
        return false;
    const Insn& fall_insn = instructions_[fall];
    const uint64_t after_fall = fall_pc + fall_insn.length;
    // The fall-through arm runs on into the join, or jumps to it.
    uint64_t join = after_fall;
    uint32_t last_fall = fall;
    if (auto target = jump_target(fall + 1, after_fall); target && *target != taken_pc) {
        join = *target;
        last_fall = fall + 1;
    }
    const Insn* taken_insn = nullptr;  // none: the branch only skips the fall-through arm
    uint32_t taken_count = 0;
    if (taken_pc != join) {
        const int taken = internal_index(taken_pc);
        if (taken < 0) return false;
        const auto at = static_cast<uint32_t>(taken);
        if (straddles(at) || !selectable(instructions_[at])) return false;
        taken_insn = &instructions_[at];
        const uint64_t after_taken = taken_pc + taken_insn->length;
        if (after_taken == join)
            taken_count = 1;
        else if (jump_target(at + 1, after_taken) == join)
            taken_count = 2;
        else
            return false;
    }
    // A join inside the block (labelled as a jump target): exits after it write back what
    // either arm wrote, as the block's data-flow says.
    const int join_index = internal_index(join);
    if (join_index < 0 || !entry_labels_[static_cast<uint32_t>(join_index)]) return false;

    emit_value(fall_insn, rax);
    if (taken_insn) emit_value(*taken_insn, rcx);
    emit_compare(insn, rdx);
    const int taken_cc = taken_condition(insn.op);
    // cmovcc to, from (0F 40+cc /r with REX.W): Xbyak names each condition separately.
    auto cmov = [&](int cc, const Xbyak::Reg64& to, const Xbyak::Reg64& from) {
        db(0x48 | (to.getIdx() >= 8 ? 4 : 0) | (from.getIdx() >= 8 ? 1 : 0));
        db(0x0f);
        db(0x40 | cc);
        db(0xc0 | ((to.getIdx() & 7) << 3) | (from.getIdx() & 7));
    };
    // x[rd] = value when `cc` holds (flags are kept: mov and cmov leave them).
    auto select_into = [&](unsigned rd, int cc, const Xbyak::Reg64& value) {
        if (const Xbyak::Reg64* host = cached_[rd]) {
            cmov(cc, *host, value);
        } else {
            mov(rdx, guest_slot(rd));
            cmov(cc, rdx, value);
            mov(guest_slot(rd), rdx);
        }
    };
    if (taken_insn && taken_insn->rd == fall_insn.rd) {
        cmov(taken_cc, rax, rcx);
        mov(guest(fall_insn.rd), rax);
    } else {
        select_into(fall_insn.rd, taken_cc ^ 1, rax);  // the odd code is the negation
        if (taken_insn) select_into(taken_insn->rd, taken_cc, rcx);
    }
    // The fall-through path counts as the block's positions do; the taken one ran
    // `taken_count` instructions after the branch instead.
    if (const int extra = static_cast<int>(taken_count) - static_cast<int>(last_fall - index)) {
        // setcc dl (0F 90+cc C2), then the difference added when taken.
        db(0x0f);
        db(0x90 | taken_cc);
        db(0xc2);
        movzx(edx, dl);
        if (extra == 2 || extra == -2) add(rdx, rdx);
        if (extra > 0)
            add(qword[rbx + layout_.instret], rdx);
        else
            sub(qword[rbx + layout_.instret], rdx);
    }
    emit_internal_jump(last_fall, static_cast<unsigned>(join_index));
    return true;
}

void Compiler::emit_branch(const Insn& insn, uint64_t pc, uint32_t retired) {
    Xbyak::Label& taken = new_label();
    emit_compare(insn, rax);
    switch (insn.op) {
        case Op::beq:
            je(taken, T_NEAR);
            break;
        case Op::bne:
            jne(taken, T_NEAR);
            break;
        case Op::blt:
            jl(taken, T_NEAR);
            break;
        case Op::bge:
            jge(taken, T_NEAR);
            break;
        case Op::bltu:
            jb(taken, T_NEAR);
            break;
        default:
            jae(taken, T_NEAR);
            break;
    }
    // The taken side's exit goes out of line: the fall-through path runs straight on.
    const uint64_t target = pc + static_cast<int64_t>(insn.imm);
    deferred_.push_back([this, &taken, target, retired] {
        L(taken);
        if (const int to = internal_index(target); to >= 0)
            emit_internal_jump(retired, static_cast<unsigned>(to));
        else
            emit_exit(target, retired + 1);
    });
}

void Compiler::emit_helper_call(const Insn& insn, const void* helper, uint64_t pc,
                                uint32_t retired) {
    uint64_t words[2] = {};
    std::memcpy(words, &insn, sizeof insn);
    // The helpers read and write the Hart's registers: they must hold the values.
    write_back_cached_registers(written_before_[retired]);
    emit_store_pc(pc);
    mov(rdi, rbx);
    mov(rsi, words[0]);
    mov(rdx, words[1]);
    mov(rcx, r12);  // the RunState, for the helpers that take it
    emit_call(helper);
    test(al, al);
    jz(trap_exit(retired), T_NEAR);
    // The helpers write x[rd] whatever rd is; x0 must read as zero again.
    if (insn.rd == 0) mov(qword[rbx + layout_.x], 0);
    if (cached_[insn.rd]) mov(*cached_[insn.rd], guest_slot(insn.rd));
    cmp(byte[rbx + layout_.end_block], 0);
    jne(leave_exit(pc + insn.length, retired + 1), T_NEAR);
}

void Compiler::emit_call(const void* function) {
    stmxcsr(dword[r12 + offsetof(RunState, guest_mxcsr)]);
    ldmxcsr(dword[r12 + offsetof(RunState, host_mxcsr)]);
    mov(rax, reinterpret_cast<uintptr_t>(function));
    call(rax);
    ldmxcsr(dword[r12 + offsetof(RunState, guest_mxcsr)]);
    // From the slots: a helper may have written the guest register there.
    reload_caller_saved_registers();
}

Result<size_t> emit_dispatch_stub(const JumpSlot* jump_cache, const HartLayout& layout,
                                  CodeBuffer& buffer) {
    try {
        Xbyak::CodeGenerator gen(buffer.free_bytes(), buffer.write_cursor());
        Xbyak::Label leave;
        gen.mov(gen.qword[gen.rbx + layout.pc], gen.rax);
        gen.cmp(gen.byte[gen.rbx + layout.attention], 0);
        gen.jne(leave, Xbyak::CodeGenerator::T_NEAR);
        gen.sub(gen.dword[gen.r12 + offsetof(RunState, budget)], 1);
        gen.jle(leave, Xbyak::CodeGenerator::T_NEAR);
        // Translator::jump_index(rax) * sizeof(JumpSlot)
        static_assert(sizeof(JumpSlot) == 16);
        gen.mov(gen.ecx, gen.eax);
        gen.mov(gen.edx, gen.eax);
        gen.shr(gen.ecx, 1);
        gen.shr(gen.edx, 13);
        gen.xor_(gen.ecx, gen.edx);
        gen.and_(gen.ecx, Translator::kJumpCacheSlots - 1);
        gen.shl(gen.ecx, 4);
        gen.mov(gen.rdx, reinterpret_cast<uintptr_t>(jump_cache));
        gen.add(gen.rdx, gen.rcx);
        gen.cmp(gen.rax, gen.qword[gen.rdx + offsetof(JumpSlot, vaddr)]);
        gen.jne(leave, Xbyak::CodeGenerator::T_NEAR);
        gen.mov(gen.rdx, gen.qword[gen.rdx + offsetof(JumpSlot, block)]);
        gen.mov(gen.rcx, gen.qword[gen.rdx + offsetof(Block, generation_word)]);
        gen.mov(gen.ecx, gen.dword[gen.rcx]);
        gen.cmp(gen.ecx, gen.dword[gen.rdx + offsetof(Block, generation)]);
        gen.jne(leave, Xbyak::CodeGenerator::T_NEAR);
        gen.jmp(gen.qword[gen.rdx + offsetof(Block, code)]);
        gen.L(leave);
        gen.ret();
        return gen.getSize();
    } catch (const Xbyak::Error& error) {
        return fail("emitting the translator's dispatcher: {}", error.what());
    }
}

Result<size_t> emit_shared_code(const HartLayout& layout, Helpers& helpers, CodeBuffer& buffer) {
    try {
        using namespace Xbyak::util;
        Xbyak::CodeGenerator gen(buffer.free_bytes(), buffer.write_cursor());
        const uint8_t* const base = buffer.exec_cursor();
        // A slow path's call. The caller-saved registers that hold guest registers are kept on
        // the stack; the block's stack is 16-byte aligned, so after the return address and six
        // pushes an eight-byte pad aligns it again for the helper.
        static const Xbyak::Reg64* const kKept[] = {&rsi, &rdi, &r8, &r9, &r10, &r11};
        auto slow_path = [&](const void* helper, unsigned size, bool load) {
            gen.mov(gen.qword[rbx + layout.pc], rdx);
            for (const Xbyak::Reg64* kept : kKept)
                gen.push(*kept);
            gen.sub(rsp, 8);
            gen.stmxcsr(gen.dword[r12 + offsetof(RunState, guest_mxcsr)]);
            gen.ldmxcsr(gen.dword[r12 + offsetof(RunState, host_mxcsr)]);
            gen.mov(rdi, rbx);
            gen.mov(rsi, rax);
            gen.mov(edx, size);
            if (load) gen.lea(rcx, gen.ptr[r12 + offsetof(RunState, slow_value)]);
            gen.mov(rax, reinterpret_cast<uintptr_t>(helper));
            gen.call(rax);
            gen.ldmxcsr(gen.dword[r12 + offsetof(RunState, guest_mxcsr)]);
            gen.add(rsp, 8);
            for (auto kept = std::rbegin(kKept); kept != std::rend(kKept); ++kept)
                gen.pop(**kept);
            gen.ret();
        };
        size_t load_at[4], store_at[4];
        for (unsigned log2 = 0; log2 < 4; ++log2) {
            load_at[log2] = gen.getSize();
            slow_path(helpers.load_slow, 1u << log2, true);
            store_at[log2] = gen.getSize();
            slow_path(helpers.store_slow, 1u << log2, false);
        }
        const size_t fetch_at = gen.getSize();
        slow_path(helpers.fetch_slow, 0, false);
        const size_t leave_at = gen.getSize();
        gen.mov(gen.qword[rbx + layout.pc], rax);
        gen.ret();
        size_t link_at[2];
        for (unsigned cross_page = 0; cross_page < 2; ++cross_page) {
            link_at[cross_page] = gen.getSize();
            gen.mov(gen.qword[rbx + layout.pc], rax);
            gen.mov(gen.qword[r12 + offsetof(RunState, link_site)], rcx);
            gen.mov(gen.byte[r12 + offsetof(RunState, link_cross_page)], cross_page);
            gen.ret();
        }
        for (unsigned log2 = 0; log2 < 4; ++log2) {
            helpers.load_thunk[log2] = base + load_at[log2];
            helpers.store_thunk[log2] = base + store_at[log2];
        }
        helpers.fetch_thunk = base + fetch_at;
        helpers.leave_thunk = base + leave_at;
        helpers.link_thunk[0] = base + link_at[0];
        helpers.link_thunk[1] = base + link_at[1];
        return gen.getSize();
    } catch (const Xbyak::Error& error) {
        return fail("emitting the translator's shared code: {}", error.what());
    }
}

Result<CompiledBlock> compile_block(const CompileRequest& request, const HartLayout& layout,
                                    const Helpers& helpers, CodeBuffer& buffer) {
    try {
        Compiler compiler(request, layout, helpers, buffer);
        return compiler.compile();
    } catch (const Xbyak::Error& error) {
        return fail("translating the block at {:#x}: {}", request.vaddr, error.what());
    }
}

}  // namespace vessel::riscv::jit
