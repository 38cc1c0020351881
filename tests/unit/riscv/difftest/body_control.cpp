// The body generator's control flow, traps, CSRs, privilege switches, loops, page-table changes
// and self-modifying code.
#include <array>

#include "body_generator.h"
#include "encoding.h"
#include "vm/riscv/decoder.h"

namespace vessel::riscv::difftest {

namespace {
constexpr uint64_t kFs = 3ull << 13, kSum = 1ull << 18, kMxr = 1ull << 19, kTw = 1ull << 21,
                   kSpp = 1ull << 8, kSpie = 1ull << 5, kMpie = 1ull << 7;
constexpr uint32_t kSstatus = 0x100, kMstatus = 0x300;

// CSRs the body touches. `write`: 0 never written (the handlers, delegation or interrupt state
// depend on it), 1 written with anything, 2 read-only by number (a write is illegal), 3 not
// implemented (any access is illegal).
struct CsrUse {
    uint32_t number;
    uint8_t write;
};
constexpr CsrUse kCsrs[] = {{0x001, 1}, {0x002, 1}, {0x003, 1}, {0xc00, 2}, {0xc02, 2}, {0xc03, 2},
                            {0x104, 0}, {0x105, 0}, {0x106, 1}, {0x10a, 1}, {0x140, 0}, {0x141, 1},
                            {0x142, 1}, {0x143, 1}, {0x144, 0}, {0x14d, 0}, {0x180, 0}, {0x100, 0},
                            {0x300, 0}, {0x301, 0}, {0x302, 0}, {0x303, 0}, {0x304, 0}, {0x305, 0},
                            {0x306, 0}, {0x30a, 0}, {0x320, 0}, {0x340, 0}, {0x341, 1}, {0x342, 1},
                            {0x343, 1}, {0x344, 0}, {0x3a0, 1}, {0x3b0, 1}, {0xb00, 1}, {0xb02, 1},
                            {0xf11, 2}, {0xf14, 2}, {0x7c0, 3}, {0x5c0, 3}, {0x800, 3}, {0xcc0, 3}};

uint64_t view_base(const Setup& setup, Priv priv) {
    return view(setup, priv, kRam) - kRam;
}
}  // namespace

void BodyGenerator::branch_over() {
    ++depth_;
    auto skip = a_.new_label();
    bool compressed = one_in(3);
    if (compressed) {
        a_.c_branch(one_in(2), rs_compressed(), skip);
        for (uint64_t n = 1 + below(4); n; --n)
            one_in(2) ? compressed_alu() : alu();
    } else {
        static constexpr uint32_t conditions[] = {0, 1, 4, 5, 6, 7};
        a_.branch(conditions[below(std::size(conditions))], rs(), rs(), skip);
        for (uint64_t n = 1 + below(4); n; --n)
            item(true);
    }
    a_.bind(skip);
    --depth_;
}

void BodyGenerator::jump_over() {
    ++depth_;
    auto skip = a_.new_label();
    switch (below(5)) {
        case 0:
            a_.c_j(skip);
            compressed_alu();
            break;
        case 1:
            a_.jal(rd(), skip);
            item(true);
            break;
        default: {
            // Through a register, as computed jumps and returns do.
            a_.la(kT6, skip);
            unsigned form = static_cast<unsigned>(below(3));
            if (form == 0) a_.word(enc::jalr(rd(), kT6, 0));
            if (form == 1) a_.half(enc::c_jr(kT6));
            if (form == 2) a_.half(enc::c_jalr(kT6));
            for (uint64_t n = 1 + below(3); n; --n)
                item(true);
            break;
        }
    }
    a_.bind(skip);
    --depth_;
}

void BodyGenerator::call_snippet() {
    unsigned page = static_cast<unsigned>(below(4));
    uint64_t target = kSnippets + 0x1000 * page + (one_in(2) ? kSnippetSecond : 0);
    uint8_t flags =
        priv_ == Priv::user ? setup_.code_u[kBodyPages + page] : setup_.code_s[kBodyPages + page];
    if (setup_.paging && priv_ != Priv::machine && !(flags & pte::X) && !may_trap()) return alu();
    if (one_in(2)) {
        // A direct call, which the translator may link to the snippet's block.
        a_.word(enc::jal(kRa, static_cast<int32_t>(target - a_.here())));
    } else {
        uint64_t here = a_.here();
        a_.word(enc::auipc(kT6, 0));
        a_.li(kT5, static_cast<int64_t>(target - here));
        a_.word(enc::add(kT6, kT6, kT5));
        if (one_in(2))
            a_.word(enc::jalr(kRa, kT6, 0));
        else
            a_.half(enc::c_jalr(kT6));
    }
    for (unsigned reg : {10u, 11u, 12u})
        fold(reg);
}

void BodyGenerator::bad_jump() {
    if (!may_trap()) return alu();
    // Code that cannot be fetched: nothing there, or a mapping without X. The handler resumes at
    // ra, which the jalr wrote.
    const std::array<uint64_t, 4> targets = {kUnmapped, 0x1000, 0x4000001000,
                                             kWriteS + (kCode - kRam) + 2 * below(0x800)};
    a_.li(kT6, static_cast<int64_t>(targets[below(targets.size())]));
    if (one_in(2))
        a_.word(enc::jalr(kRa, kT6, 0));
    else
        a_.half(enc::c_jalr(kT6));
}

void BodyGenerator::csr_access() {
    CsrUse use = kCsrs[below(std::size(kCsrs))];
    bool write = use.write == 1 ? !one_in(3) : (use.write >= 2 && one_in(4));
    bool privileged = ((use.number >> 8) & 3) > static_cast<unsigned>(priv_);
    bool counter = (use.number >> 8) == 0xc && priv_ != Priv::machine;
    bool fp_off = use.number <= 3 && !fs_on_;
    if ((privileged || counter || fp_off || use.write == 3 || (use.write == 2 && write)) &&
        !may_trap())
        return alu();
    unsigned destination = rd();
    if (!write) {
        // csrrs/csrrc with x0 or csrrsi/csrrci with 0 read without writing.
        static constexpr uint32_t reads[] = {2, 3, 6, 7};
        a_.word(enc::csr(reads[below(4)], destination, use.number, 0));
        return;
    }
    static constexpr uint32_t writes[] = {1, 2, 3, 5, 6, 7};
    uint32_t funct3 = writes[below(std::size(writes))];
    unsigned source = funct3 >= 5 ? static_cast<unsigned>(below(32)) : rs();
    a_.word(enc::csr(funct3, destination, use.number, source));
}

void BodyGenerator::status_write() {
    // Only bits whose effects the handlers survive and the generator's predictions of traps
    // allow for: never FS (fp_off_and_on owns it), TSR (the S handler's sret), TVM (fences after
    // page-table changes), MPRV or MPP (every M-mode access would fault) or interrupt enables.
    uint64_t allowed = priv_ == Priv::machine ? (kSum | kMxr | kTw | kSpp | kSpie | kMpie)
                                              : (kSum | kMxr | kSpp | kSpie);
    uint64_t mask = 0;
    for (uint64_t bit = 1; bit; bit <<= 1)
        if ((allowed & bit) && one_in(2)) mask |= bit;
    if (priv_ == Priv::user && !may_trap()) return alu();
    a_.li(kT5, static_cast<int64_t>(mask));
    uint32_t number = priv_ == Priv::machine && one_in(2) ? kMstatus : kSstatus;
    a_.word(one_in(2) ? enc::csrs(number, kT5) : enc::csrc(number, kT5));
}

void BodyGenerator::trap() {
    if (!may_trap()) return alu();
    switch (below(9)) {
        case 0:
            return a_.word(enc::kEcall);  // a7 is kEcallResume
        case 1:
            return a_.word(enc::kEbreak);
        case 2:
            return a_.half(enc::kCEbreak);
        case 3:
            return a_.half(0);  // the all-zero instruction is defined illegal
        case 4: {
            uint32_t raw;
            do
                raw = static_cast<uint32_t>(random_.next()) | 3;
            while (decode(raw).op != Op::illegal);
            return a_.word(raw);
        }
        case 5:  // privileged instructions below their privilege
            if (priv_ == Priv::machine) return a_.word(enc::kEbreak);
            return a_.word(priv_ == Priv::user ? (one_in(2) ? enc::kSret : enc::kWfi) : enc::kMret);
        case 6:
            if (priv_ == Priv::user) return a_.word(enc::sfence_vma(rs(), rs()));
            return a_.word(enc::kEcall);
        case 7: {
            uint32_t raw;
            do
                raw = static_cast<uint16_t>(random_.next());
            while ((raw & 3) == 3 ||
                   decode_compressed(static_cast<uint16_t>(raw)).op != Op::illegal);
            return a_.half(static_cast<uint16_t>(raw));
        }
        default:
            if (priv_ == Priv::user) return a_.word(enc::kMret);
            return a_.word(enc::kEbreak);
    }
}

void BodyGenerator::fence() {
    switch (below(4)) {
        case 0:
            return a_.word(enc::kFenceI);
        case 1:
            return a_.word(0x8330000f);  // fence.tso
        default:
            return a_.word(
                enc::fence(static_cast<unsigned>(below(16)), static_cast<unsigned>(below(16))));
    }
}

uint32_t BodyGenerator::harmless_instruction(unsigned length, bool may_trap) {
    if (length == 2) {
        if (may_trap && one_in(16)) return enc::kCEbreak;
        switch (below(4)) {
            case 0:
                return enc::c_addi(rd_nonzero(), static_cast<int32_t>(below(64)) - 32);
            case 1:
                return enc::c_li(rd_nonzero(), static_cast<int32_t>(below(64)) - 32);
            case 2:
                return enc::c_mv(rd_nonzero(), 1 + static_cast<unsigned>(below(31)));
            default:
                return enc::c_slli(rd_nonzero(), 1 + static_cast<unsigned>(below(63)));
        }
    }
    if (may_trap && one_in(16)) return enc::kEbreak;
    if (one_in(2)) {
        static constexpr uint32_t funct3s[] = {0, 2, 3, 4, 6, 7};
        return enc::i(static_cast<int32_t>(below(4096)) - 2048, rs(), funct3s[below(6)],
                      rd_nonzero(), enc::kOpImm);
    }
    return enc::r(one_in(3) ? 1 : 0, rs(), rs(), static_cast<uint32_t>(below(8)), rd_nonzero(),
                  enc::kOp);
}

void BodyGenerator::fence_i_after_store() {
    if (features_.fence_i_after_code_stores || one_in(2)) a_.word(enc::kFenceI);
}

void BodyGenerator::patch_ahead() {
    // How the store reaches the code: through the view it runs in, or (paged S and U code)
    // through a write alias of the same physical page.
    const bool alias = setup_.paging && priv_ != Priv::machine && one_in(2);
    if (setup_.paging && priv_ != Priv::machine && !alias) {
        // The target lies on this page or the next: both must take the store.
        unsigned page = static_cast<unsigned>((a_.here() - kCode) >> 12);
        for (unsigned p : {page, page + 1}) {
            uint8_t flags = priv_ == Priv::user ? setup_.code_u[p] : setup_.code_s[p];
            if (!(flags & pte::W) && !may_trap()) return alu();
        }
    }
    ++depth_;
    auto target = a_.new_label();
    unsigned length = one_in(3) ? 2 : 4;
    a_.la(kT6, target);
    if (alias) {
        uint64_t write_view = priv_ == Priv::user ? kWriteU : kWriteS;
        a_.li(kT5, static_cast<int64_t>(write_view - kRam - view_base(setup_, priv_)));
        a_.word(enc::add(kT6, kT6, kT5));
    }
    const bool traps_ok = may_trap(2);
    uint32_t original = harmless_instruction(length, traps_ok);
    uint32_t replacement = harmless_instruction(length, traps_ok);
    // The upper half of an I-type holds only immediate and rs1 bits: any value there is another
    // instruction of the same kind.
    bool upper_half = length == 4 && (original & 0x7f) == enc::kOpImm && one_in(4);
    if (upper_half)
        replacement = (original & 0xffff) | (static_cast<uint32_t>(random_.next()) << 16);
    a_.li(kT5, static_cast<int32_t>(replacement));
    unsigned store = static_cast<unsigned>(below(length == 2 ? 1 : 5));
    if (upper_half) store = 5 + static_cast<unsigned>(below(2));
    switch (store) {
        case 0:
            a_.word(length == 2 ? enc::store(1, kT5, kT6, 0) : enc::sw(kT5, kT6, 0));
            break;
        case 1:  // two halves, the low one last
            a_.word(enc::srli(kT5, kT5, 16));
            a_.word(enc::store(1, kT5, kT6, 2));
            a_.li(kT5, static_cast<int32_t>(replacement));
            a_.word(enc::store(1, kT5, kT6, 0));
            break;
        case 2:
            a_.word(enc::amo(0x01, false, false, 2, rd(), kT6, kT5));  // amoswap.w
            break;
        case 3: {
            if (!fs_on_ && !may_trap(2)) {
                a_.word(enc::sw(kT5, kT6, 0));
                break;
            }
            unsigned value = fr();
            a_.word(enc::fmv_w_x(value, kT5));
            a_.word(enc::s(0, value, kT6, 2, enc::kStoreFp));  // fsw
            break;
        }
        case 4:
            a_.word(enc::sw(kT5, kT6, 0));
            break;
        case 5:
            a_.word(enc::srli(kT5, kT5, 16));
            a_.word(enc::store(1, kT5, kT6, 2));
            break;
        default:
            a_.word(enc::srli(kT5, kT5, 24));
            a_.word(enc::store(0, kT5, kT6, 3));
            break;
    }
    fence_i_after_store();
    for (uint64_t n = below(4); n; --n)
        one_in(2) ? alu() : compressed_alu();
    if (store == 2) a_.align(4);  // AMOs are never misaligned here
    a_.bind(target);
    a_.instruction(original);
    --depth_;
}

void BodyGenerator::patch_snippet() {
    // Rewrite a snippet's first instruction with one that differs every round (its immediate is
    // the round counter), then call it: code on another page, translated and linked to by now
    // or not.
    unsigned page = static_cast<unsigned>(below(4));
    if (setup_.paging && priv_ != Priv::machine) {
        uint8_t flags = priv_ == Priv::user ? setup_.code_u[kBodyPages + page]
                                            : setup_.code_s[kBodyPages + page];
        unsigned traps = !(flags & pte::W) + !(flags & pte::X);
        if (traps && !may_trap(traps)) return alu();
    }
    uint64_t target = kSnippets + 0x1000 * page;
    uint64_t here = a_.here();
    a_.word(enc::auipc(kT6, 0));
    a_.li(kT5, static_cast<int64_t>(target - here));
    a_.word(enc::add(kT6, kT6, kT5));
    a_.li(kT5, static_cast<int32_t>(enc::addi(10, 10, 0)));
    a_.word(enc::slli(kA7, kS2, 20));  // a7 is kEcallResume again below
    a_.word(enc::or_(kT5, kT5, kA7));
    a_.li(kA7, kEcallResume);
    a_.word(enc::sw(kT5, kT6, 0));
    fence_i_after_store();
    if (one_in(2))
        a_.word(enc::jalr(kRa, kT6, 0));
    else
        a_.word(enc::jal(kRa, static_cast<int32_t>(target - a_.here())));
    fold(10);
}

void BodyGenerator::patch_snippet_loop() {
    // A loop that rewrites a snippet with the iteration count and calls it directly, every time:
    // after a few iterations the call is translated and linked to the snippet's translation,
    // which every store then makes stale.
    unsigned page = static_cast<unsigned>(below(4));
    if (setup_.paging && priv_ != Priv::machine) {
        uint8_t flags = priv_ == Priv::user ? setup_.code_u[kBodyPages + page]
                                            : setup_.code_s[kBodyPages + page];
        if (!(flags & pte::W) || !(flags & pte::X)) return alu();
    }
    in_loop_ = true;
    const uint64_t target = kSnippets + 0x1000 * page;
    a_.li(kS1, 24 + static_cast<int64_t>(below(24)));
    auto head = a_.new_label();
    a_.bind(head);
    uint64_t here = a_.here();
    a_.word(enc::auipc(kT6, 0));
    a_.li(kT5, static_cast<int64_t>(target - here));
    a_.word(enc::add(kT6, kT6, kT5));
    a_.li(kT5, static_cast<int32_t>(enc::addi(10, 10, 0)));
    a_.word(enc::slli(kA7, kS1, 20));  // a7 is kEcallResume again below
    a_.word(enc::or_(kT5, kT5, kA7));
    a_.li(kA7, kEcallResume);
    a_.word(enc::sw(kT5, kT6, 0));
    fence_i_after_store();
    a_.word(enc::jal(kRa, static_cast<int32_t>(target - a_.here())));
    fold(10);
    a_.word(enc::addi(kS1, kS1, -1));
    a_.branch(1, kS1, 0, head);
    in_loop_ = false;
}

void BodyGenerator::rebase() {
    // Doubleword aligned, so the AMOs' offsets decide their alignment; a page boundary now and
    // then, so that offsets either side of it make page-crossing accesses.
    sp_pa_ = one_in(3) ? kData + 0x1000 * (1 + below(kDataPages - 2)) : data_address(2048) & ~7u;
    s0_pa_ = one_in(3) ? kData + 0x1000 * (1 + below(kDataPages - 2)) : data_address(2048) & ~7u;
    a_.li(kSp, static_cast<int64_t>(here_view(sp_pa_)));
    a_.li(kS0, static_cast<int64_t>(here_view(s0_pa_)));
}

void BodyGenerator::switch_privilege() {
    if (!may_trap()) return alu();
    static constexpr Priv privs[] = {Priv::machine, Priv::supervisor, Priv::user};
    switch_privilege(privs[below(3)]);
}

void BodyGenerator::switch_privilege(Priv next) {
    auto resume = a_.new_label();
    a_.li(kA7, kEcallSwitch);
    a_.li(kA6, static_cast<int64_t>(next));
    // Where to continue, in the view of the new privilege.
    a_.la(kA5, resume);
    a_.li(kT5, static_cast<int64_t>(view_base(setup_, next) - view_base(setup_, priv_)));
    a_.word(enc::add(kA5, kA5, kT5));
    a_.word(enc::kEcall);
    a_.bind(resume);
    priv_ = next;
    a_.li(kA7, kEcallResume);
    a_.li(kSp, static_cast<int64_t>(here_view(sp_pa_)));
    a_.li(kS0, static_cast<int64_t>(here_view(s0_pa_)));
}

void BodyGenerator::loop() {
    in_loop_ = true;
    const bool long_loop = one_in(4);
    const auto count = static_cast<unsigned>(long_loop ? 64 + below(400) : 1 + below(8));
    a_.li(kS1, count);
    auto head = a_.new_label();
    a_.bind(head);
    const unsigned saved_multiplier = multiplier_;
    multiplier_ *= count;
    // Now and then the loop rewrites one of its own instructions each time round, so every
    // iteration runs code changed since the last one.
    bool self_patch = !long_loop && one_in(3);
    auto patched = a_.new_label();
    unsigned patched_rd = rd_nonzero();
    uint64_t items = long_loop ? 2 + below(6) : 2 + below(10);
    for (uint64_t n = 0; n < items; ++n) {
        if (self_patch && n == items / 2) {
            a_.bind(patched);
            a_.word(enc::addi(patched_rd, patched_rd, 0));
        }
        if (long_loop)
            one_in(3) ? compressed_alu() : (one_in(4) ? muldiv() : alu());
        else
            item(true);
    }
    if (self_patch && setup_.paging && priv_ != Priv::machine) {
        unsigned page = static_cast<unsigned>((a_.address(patched) - kCode) >> 12);
        for (unsigned p : {page, page + 1}) {
            uint8_t flags = priv_ == Priv::user ? setup_.code_u[p] : setup_.code_s[p];
            if (!(flags & pte::W) && !may_trap()) self_patch = false;
        }
    }
    if (self_patch) {
        uint32_t base = enc::addi(patched_rd, patched_rd, 0);
        a_.li(kT6, base);
        a_.word(enc::slli(kT5, kS1, 20));
        a_.word(enc::or_(kT5, kT5, kT6));
        a_.la(kT6, patched);
        a_.word(enc::sw(kT5, kT6, 0));
        fence_i_after_store();
    }
    if (one_in(2))
        a_.half(enc::c_addi(kS1, -1));
    else
        a_.word(enc::addi(kS1, kS1, -1));
    if (a_.here() - a_.address(head) < 200)
        a_.c_branch(true, kS1, head);
    else
        a_.branch(1, kS1, 0, head);
    multiplier_ = saved_multiplier;
    in_loop_ = false;
}

void BodyGenerator::page_table_change() {
    // sfence.vma must take effect, or the engines may legitimately see different translations:
    // only where it is legal (M, or S without TVM from the setup; the body never sets TVM).
    constexpr uint64_t kTvm = 1ull << 20;
    if (!setup_.paging || priv_ == Priv::user ||
        (priv_ == Priv::supervisor && (setup_.mstatus & kTvm)))
        return alu();
    unsigned page = static_cast<unsigned>(below(kDataPages));
    bool user_table = one_in(2);
    uint64_t pa = kData + 0x1000 * page;
    uint64_t table = kPageTables + (user_table ? 0x4000 : 0x3000);
    uint64_t entry = table + 8 * ((pa - kRam) >> 12);
    static constexpr uint8_t flags[] = {pte::V | pte::R | pte::W, pte::V | pte::R, 0,
                                        pte::V | pte::X,
                                        pte::V | pte::R | pte::W | pte::A | pte::D};
    uint8_t new_flags = flags[below(std::size(flags))];
    (user_table ? data_u_ : data_s_)[page] = new_flags;
    ptes_changed_ = true;
    uint64_t pte_value = ((pa >> 12) << 10) | new_flags | (user_table ? pte::U : 0);
    a_.li(kT6, static_cast<int64_t>(here_view(entry)));
    a_.li(kT5, static_cast<int64_t>(pte_value));
    a_.word(enc::sd(kT5, kT6, 0));
    if (one_in(2)) {
        a_.word(enc::sfence_vma(0, 0));
    } else {
        uint64_t va = user_table ? pa - kRam + kUserAlias : pa;
        a_.li(kT6, static_cast<int64_t>(va + below(0x1000)));
        a_.word(enc::sfence_vma(kT6, 0));
    }
}

void BodyGenerator::end_round() {
    const bool fs_changed = fs_on_ != ((setup_.mstatus & kFs) != 0);
    if (priv_ == setup_.priv && !fs_changed && !ptes_changed_) return;
    // Its privilege switches are outside the trap budget: the log has room for them.
    if (priv_ != Priv::machine) switch_privilege(Priv::machine);
    if (fs_changed) {
        a_.li(kT5, static_cast<int64_t>(kFs));
        a_.word(fs_on_ ? enc::csrc(kMstatus, kT5) : enc::csrs(kMstatus, kT5));
        fs_on_ = !fs_on_;
    }
    if (ptes_changed_) {
        for (unsigned page = 0; page < kDataPages; ++page) {
            uint64_t pa = kData + 0x1000 * page;
            for (bool user : {false, true}) {
                uint8_t flags = user ? setup_.data_u[page] : setup_.data_s[page];
                uint64_t entry = kPageTables + (user ? 0x4000 : 0x3000) + 8 * ((pa - kRam) >> 12);
                a_.li(kT6, static_cast<int64_t>(entry));
                a_.li(kT5, static_cast<int64_t>(((pa >> 12) << 10) | flags | (user ? pte::U : 0)));
                a_.word(enc::sd(kT5, kT6, 0));
            }
        }
        a_.word(enc::sfence_vma(0, 0));
        data_s_ = setup_.data_s;
        data_u_ = setup_.data_u;
        ptes_changed_ = false;
    }
    if (priv_ != setup_.priv) switch_privilege(setup_.priv);
}

void BodyGenerator::fp_off_and_on() {
    if (priv_ == Priv::user) return fp();
    const uint32_t status = priv_ == Priv::machine ? kMstatus : kSstatus;
    a_.li(kT5, static_cast<int64_t>(kFs));
    a_.word(enc::csrc(status, kT5));
    fs_on_ = false;
    for (uint64_t n = 1 + below(3); n; --n)
        one_in(2) ? fp() : item(true);
    a_.li(kT5, static_cast<int64_t>(kFs));
    a_.word(enc::csrs(status, kT5));
    fs_on_ = true;
}

}  // namespace vessel::riscv::difftest
