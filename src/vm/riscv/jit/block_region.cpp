// The block's shape before any code: which instructions it holds (the code reachable from its
// start on its page, focused on one loop), its loops, the registers it keeps in host registers,
// and what each instruction may find written since the block's entry.
#include <algorithm>
#include <cstring>

#include "vm/riscv/jit/compiler.h"

namespace vessel::riscv::jit {

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
    // rdx). The registers are this generator's members: a static list would point into the
    // first Compiler ever made, a dead stack frame (of another thread, for a second hart).
    const Xbyak::Reg64* const host_registers[] = {&rbp, &r13, &r14, &r15, &r8,
                                                  &r9,  &r10, &r11, &rsi, &rdi};
    for (const Xbyak::Reg64* host : host_registers) {
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
    index_instructions();
}

Compiler::Loops Compiler::find_loops() const {
    const size_t size = instructions_.size();
    Loops loops;
    loops.successors.assign(size, {-1, -1});
    bool backward = false;
    for (size_t i = 0; i < size; ++i) {
        const Insn& insn = instructions_[i];
        if (is_branch(insn.op) || insn.op == Op::jal) {
            loops.successors[i][0] = internal_index(pcs_[i] + static_cast<int64_t>(insn.imm));
            backward |=
                loops.successors[i][0] >= 0 && static_cast<size_t>(loops.successors[i][0]) <= i;
        }
        if (!ends_block(insn.op)) loops.successors[i][1] = internal_index(pcs_[i] + insn.length);
    }
    if (!backward) return loops;  // most blocks: no loop, nothing more to find
    std::vector<std::vector<unsigned>> predecessors(size);
    for (size_t i = 0; i < size; ++i)
        for (int to : loops.successors[i])
            if (to >= 0) predecessors[static_cast<size_t>(to)].push_back(static_cast<unsigned>(i));
    // A jump back (to an address not above its own) and what reaches it from its target without
    // passing the target (the natural loop), merged per target.
    auto& bodies = loops.bodies;
    auto& headers = loops.headers;
    for (unsigned tail = 0; tail < size; ++tail) {
        for (int successor : loops.successors[tail]) {
            if (successor < 0 || static_cast<unsigned>(successor) > tail) continue;
            const auto header = static_cast<unsigned>(successor);
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
            for (int successor : successors[queue[next]])
                if (const auto to = static_cast<unsigned>(successor);
                    successor >= 0 && distance[to] == ~0u) {
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
        for (int to : successors[node])
            if (to >= 0) work.push_back(static_cast<unsigned>(to));
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
    index_instructions();
}

void Compiler::index_instructions() {
    index_at_.fill(-1);
    for (size_t i = 0; i < pcs_.size(); ++i)
        index_at_[(pcs_[i] & 0xfff) >> 1] = static_cast<int16_t>(i);
}

int Compiler::internal_index(uint64_t target) const {
    // Every instruction of the block is on its page, at an even offset.
    if (((target ^ request_.vaddr) & ~uint64_t{0xfff}) != 0 || (target & 1)) return -1;
    return index_at_[(target & 0xfff) >> 1];
}

}  // namespace vessel::riscv::jit
