#include "body_generator.h"

#include <algorithm>
#include <array>
#include <utility>

#include "encoding.h"
#include "vm/riscv/decoder.h"

namespace vessel::riscv::difftest {

namespace {

struct RType {
    uint32_t funct7, funct3, opcode;
};
// RV64I register-register operations, then the M extension's.
constexpr RType kAluR[] = {{0, 0, enc::kOp},   {0x20, 0, enc::kOp}, {0, 1, enc::kOp},
                           {0, 2, enc::kOp},   {0, 3, enc::kOp},    {0, 4, enc::kOp},
                           {0, 5, enc::kOp},   {0x20, 5, enc::kOp}, {0, 6, enc::kOp},
                           {0, 7, enc::kOp},   {0, 0, enc::kOp32},  {0x20, 0, enc::kOp32},
                           {0, 1, enc::kOp32}, {0, 5, enc::kOp32},  {0x20, 5, enc::kOp32}};
constexpr RType kMulDiv[] = {{1, 0, enc::kOp},   {1, 1, enc::kOp},   {1, 2, enc::kOp},
                             {1, 3, enc::kOp},   {1, 4, enc::kOp},   {1, 5, enc::kOp},
                             {1, 6, enc::kOp},   {1, 7, enc::kOp},   {1, 0, enc::kOp32},
                             {1, 4, enc::kOp32}, {1, 5, enc::kOp32}, {1, 6, enc::kOp32},
                             {1, 7, enc::kOp32}};
// I-type ALU funct3 (0 addi, 2 slti, 3 sltiu, 4 xori, 6 ori, 7 andi).
constexpr uint32_t kAluI[] = {0, 2, 3, 4, 6, 7};
constexpr uint64_t kSpecials[] = {0,
                                  1,
                                  ~uint64_t{0},
                                  0x8000000000000000,
                                  0x7fffffffffffffff,
                                  0xffffffff80000000,
                                  0x80000000,
                                  0x7fffffff,
                                  0xffffffff,
                                  63,
                                  64,
                                  31,
                                  32};
}  // namespace

BodyGenerator::BodyGenerator(const Setup& setup, uint64_t seed, const Features& features)
    : setup_(setup), features_(features), random_{seed * 0x9e3779b1u + 17}, priv_(setup.priv) {
    target_bytes_ = 1000 + below(3000);
    fs_on_ = (setup.mstatus & (3ull << 13)) != 0;
    data_s_ = setup.data_s;
    data_u_ = setup.data_u;
}

Program BodyGenerator::generate() {
    a_.li(kS2, kRounds);
    auto round = a_.new_label();
    a_.bind(round);
    a_.li(kSp, static_cast<int64_t>(here_view(sp_pa_)));
    a_.li(kS0, static_cast<int64_t>(here_view(s0_pa_)));
    while (a_.size() < target_bytes_) {
        item(false);
        if (one_in(3)) fold(rs());
    }
    fold_all();
    end_round();
    a_.word(enc::addi(kS2, kS2, -1));
    auto done = a_.new_label();
    a_.branch(0, kS2, 0, done);
    a_.jal(0, round);
    a_.bind(done);
    Program program;
    program.setup = setup_;
    program.finish_offset = static_cast<uint32_t>(a_.size());
    a_.li(kA7, kEcallFinish);
    a_.word(enc::kEcall);
    program.body = a_.finish();
    program.instructions = a_.instruction_offsets();
    return program;
}

unsigned BodyGenerator::rd() {
    static constexpr unsigned writable[] = {1,  3,  4,  5,  6,  7,  10, 11, 12, 13, 14, 15,
                                            16, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29};
    if (one_in(16)) return 0;
    return writable[below(std::size(writable))];
}

unsigned BodyGenerator::rd_nonzero() {
    unsigned reg;
    do
        reg = rd();
    while (reg == 0);
    return reg;
}

uint32_t BodyGenerator::rounding_mode() {
    if (one_in(40) && may_trap()) return 5 + static_cast<uint32_t>(below(2));  // reserved
    static constexpr uint32_t modes[] = {0, 1, 2, 3, 4, 7, 7};
    return modes[below(std::size(modes))];
}

bool BodyGenerator::may_trap(unsigned count) {
    // Paced over the body, so that traps are spread through it rather than spent at its start:
    // at most the share of the budget that the body generated so far has earned, and a little.
    const int cost = static_cast<int>(count * multiplier_);
    const int total = static_cast<int>(kRounds * kTrapsPerRound);
    const int earned = static_cast<int>(static_cast<uint64_t>(total) * a_.size() /
                                        std::max<size_t>(target_bytes_, 1)) +
                       static_cast<int>(4 * kRounds);
    if (cost > trap_budget_ || total - trap_budget_ + cost > earned) return false;
    trap_budget_ -= cost;
    return true;
}

uint64_t BodyGenerator::data_address(uint64_t margin) {
    return kData + margin + below(kDataPages * 0x1000 - 2 * margin);
}

bool BodyGenerator::data_accessible(uint64_t pa, bool store) const {
    constexpr uint64_t kMprv = 1ull << 17;
    // With MPRV, M-mode accesses take MPP's translation, and mret leaves MPP at U.
    if (priv_ == Priv::machine) return !(setup_.paging && (setup_.mstatus & kMprv));
    if (!setup_.paging) return true;
    if (pa < kData || pa >= kData + kDataPages * 0x1000) return false;
    unsigned page = static_cast<unsigned>((pa - kData) >> 12);
    uint8_t flags = priv_ == Priv::user ? data_u_[page] : data_s_[page];
    if (!(flags & pte::V) || !(flags & pte::R)) return false;
    return !store || (flags & pte::W);
}

void BodyGenerator::item(bool simple) {
    enum Kind {
        alu_k,
        calu_k,
        muldiv_k,
        special_k,
        memory_k,
        cmemory_k,
        special_access_k,
        atomic_k,
        fp_k,
        branch_k,
        jump_k,
        call_k,
        bad_jump_k,
        csr_k,
        status_k,
        trap_k,
        fence_k,
        patch_k,
        patch_snippet_k,
        patch_loop_k,
        rebase_k,
        switch_k,
        loop_k,
        page_table_k,
        fp_toggle_k
    };
    static constexpr std::pair<Kind, unsigned> weights[] = {
        {alu_k, 20},     {calu_k, 10},   {muldiv_k, 6},         {special_k, 4},
        {memory_k, 12},  {cmemory_k, 6}, {special_access_k, 3}, {atomic_k, 5},
        {fp_k, 12},      {branch_k, 5},  {jump_k, 3},           {call_k, 2},
        {bad_jump_k, 1}, {csr_k, 4},     {status_k, 1},         {trap_k, 2},
        {fence_k, 1},    {patch_k, 3},   {patch_snippet_k, 1},  {patch_loop_k, 1},
        {rebase_k, 1},   {switch_k, 2},  {loop_k, 3},           {page_table_k, 1},
        {fp_toggle_k, 1}};
    unsigned total = 0;
    for (auto [kind, weight] : weights)
        total += weight;
    auto roll = static_cast<unsigned>(below(total));
    Kind kind = alu_k;
    for (auto [candidate, weight] : weights) {
        if (roll < weight) {
            kind = candidate;
            break;
        }
        roll -= weight;
    }
    const bool risky_ok = can_trap();
    const bool structural_ok = !simple && !in_loop_;
    switch (kind) {
        case alu_k:
            return alu();
        case calu_k:
            return compressed_alu();
        case muldiv_k:
            return muldiv();
        case special_k:
            return special_value();
        case memory_k:
            return memory();
        case cmemory_k:
            return compressed_memory();
        case atomic_k:
            return atomic();
        case fp_k:
            return fp();
        case special_access_k:
            return risky_ok ? special_access() : alu();
        case branch_k:
            return depth_ < 2 ? branch_over() : alu();
        case jump_k:
            return depth_ < 2 ? jump_over() : alu();
        case call_k:
            return risky_ok ? call_snippet() : alu();
        case bad_jump_k:
            return risky_ok ? bad_jump() : alu();
        case csr_k:
            return csr_access();
        case status_k:
            return status_write();
        case trap_k:
            return risky_ok ? trap() : alu();
        case fence_k:
            return fence();
        case patch_k:
            return depth_ < 2 ? patch_ahead() : alu();
        case patch_snippet_k:
            return risky_ok ? patch_snippet() : alu();
        case patch_loop_k:
            return structural_ok ? patch_snippet_loop() : alu();
        case rebase_k:
            return structural_ok ? rebase() : alu();
        case switch_k:
            return structural_ok ? switch_privilege() : alu();
        case loop_k:
            return structural_ok ? loop() : alu();
        case page_table_k:
            return structural_ok ? page_table_change() : alu();
        case fp_toggle_k:
            return structural_ok ? fp_off_and_on() : alu();
    }
}

void BodyGenerator::fold(unsigned reg) {
    // s3 = rotl(s3, 13) ^ reg
    a_.word(enc::slli(kT5, kS3, 13));
    a_.word(enc::srli(kS3, kS3, 51));
    a_.word(enc::or_(kS3, kS3, kT5));
    a_.word(enc::r(0, reg, kS3, 4, kS3, enc::kOp));  // xor
}

void BodyGenerator::fold_all() {
    for (unsigned reg = 1; reg < 32; ++reg)
        if (reg != kS3 && reg != kT5) fold(reg);
    if (!fs_on_) return;
    for (unsigned reg = 0; reg < 32; ++reg) {
        a_.word(enc::fp_op(0x1c, 1, 0, reg, 0, kT6));  // fmv.x.d t6, f<reg>
        fold(kT6);
    }
    a_.word(enc::csrr(kT6, 0x003));  // fcsr
    fold(kT6);
}

void BodyGenerator::alu() {
    switch (below(6)) {
        case 0:
        case 1: {
            RType op = kAluR[below(std::size(kAluR))];
            a_.word(enc::r(op.funct7, rs(), rs(), op.funct3, rd(), op.opcode));
            break;
        }
        case 2: {
            int32_t imm = one_in(2) ? static_cast<int32_t>(below(64)) - 32
                                    : static_cast<int32_t>(below(4096)) - 2048;
            bool word = one_in(4);
            uint32_t funct3 = word ? 0 : kAluI[below(std::size(kAluI))];
            a_.word(enc::i(imm, rs(), funct3, rd(), word ? enc::kOpImm32 : enc::kOpImm));
            break;
        }
        case 3: {
            bool word = one_in(3);
            unsigned shamt = static_cast<unsigned>(below(word ? 32 : 64));
            uint32_t kind = below(3);  // slli, srli, srai
            int32_t imm = static_cast<int32_t>(shamt | (kind == 2 ? 0x400 : 0));
            a_.word(enc::i(imm, rs(), kind == 0 ? 1 : 5, rd(), word ? enc::kOpImm32 : enc::kOpImm));
            break;
        }
        case 4: {
            auto upper = static_cast<uint32_t>(random_.next()) & 0xfffff000u;
            a_.word(one_in(2) ? enc::lui(rd(), upper) : enc::auipc(rd(), upper));
            break;
        }
        default: {
            // Any encoding in the integer opcodes, reserved ones included (those trap).
            static constexpr uint32_t opcodes[] = {enc::kOp, enc::kOp32, enc::kOpImm,
                                                   enc::kOpImm32};
            uint32_t raw = (static_cast<uint32_t>(random_.next()) & ~0xfffu) | (rd() << 7) |
                           opcodes[below(std::size(opcodes))];
            if (decode(raw).op == Op::illegal && !may_trap()) return alu();
            a_.word(raw);
            break;
        }
    }
}

void BodyGenerator::compressed_alu() {
    auto imm6 = [this] { return static_cast<int32_t>(below(64)) - 32; };
    switch (below(11)) {
        case 0:
            return a_.half(enc::c_addi(rd_nonzero(), imm6()));
        case 1:
            return a_.half(enc::c_addiw(rd_nonzero(), imm6()));
        case 2:
            return a_.half(enc::c_li(rd(), imm6()));
        case 3: {
            int32_t imm = imm6();
            return a_.half(enc::c_lui(rd_nonzero(), imm == 0 ? 1 : imm));
        }
        case 4:
            return a_.half(enc::c_slli(rd_nonzero(), 1 + static_cast<unsigned>(below(63))));
        case 5:
            return a_.half(enc::c_shift_andi(static_cast<uint32_t>(below(2)), rd_compressed(),
                                             1 + static_cast<int32_t>(below(63))));
        case 6:
            return a_.half(enc::c_shift_andi(2, rd_compressed(), imm6()));
        case 7:
            return a_.half(
                enc::c_arith(static_cast<unsigned>(below(6)), rd_compressed(), rs_compressed()));
        case 8:
            return a_.half(enc::c_mv(rd_nonzero(), 1 + static_cast<unsigned>(below(31))));
        case 9:
            return a_.half(enc::c_add(rd_nonzero(), 1 + static_cast<unsigned>(below(31))));
        default:
            return a_.half(
                enc::c_addi4spn(rd_compressed(), 4 * (1 + static_cast<uint32_t>(below(255)))));
    }
}

void BodyGenerator::muldiv() {
    if (one_in(3)) special_value();
    RType op = kMulDiv[below(std::size(kMulDiv))];
    a_.word(enc::r(op.funct7, rs(), rs(), op.funct3, rd(), op.opcode));
}

void BodyGenerator::special_value() {
    uint64_t value = one_in(4) ? random_.next() : kSpecials[below(std::size(kSpecials))];
    a_.li(rd_nonzero(), static_cast<int64_t>(value));
}

void BodyGenerator::memory() {
    bool use_sp = one_in(2);
    unsigned base = use_sp ? kSp : kS0;
    uint64_t base_pa = use_sp ? sp_pa_ : s0_pa_;
    int32_t imm = static_cast<int32_t>(below(4096)) - 2048;
    uint64_t pa = base_pa + static_cast<uint64_t>(static_cast<int64_t>(imm));
    unsigned kind = static_cast<unsigned>(below(4));
    if (kind >= 2 && !fs_on_ && !may_trap()) kind -= 2;
    bool store = kind == 1 || kind == 3;
    if (!data_accessible(pa, store) && !may_trap()) return alu();
    switch (kind) {
        case 0: {
            static constexpr uint32_t widths[] = {0, 1, 2, 3, 4, 5, 6};
            return a_.word(enc::load(widths[below(std::size(widths))], rd(), base, imm));
        }
        case 1:
            return a_.word(enc::store(static_cast<uint32_t>(below(4)), rs(), base, imm));
        case 2:
            return a_.word(enc::i(imm, base, one_in(2) ? 2 : 3, fr(), enc::kLoadFp));
        default:
            return a_.word(enc::s(imm, fr(), base, one_in(2) ? 2 : 3, enc::kStoreFp));
    }
}

void BodyGenerator::compressed_memory() {
    unsigned kind = static_cast<unsigned>(below(10));
    if ((kind == 4 || kind == 5) && !fs_on_ && !may_trap()) kind -= 4;
    bool sp_based = kind >= 6;
    uint64_t offset = 0;
    uint16_t encoding = 0;
    switch (kind) {
        case 0:  // c.lw, c.ld
        case 1: {
            uint32_t funct3 = kind == 0 ? 2 : 3;
            offset = kind == 0 ? 4 * below(32) : 8 * below(32);
            encoding = enc::c_mem(funct3, rd_compressed(), kS0, static_cast<uint32_t>(offset));
            break;
        }
        case 2:  // c.sw, c.sd
        case 3: {
            uint32_t funct3 = kind == 2 ? 6 : 7;
            offset = kind == 2 ? 4 * below(32) : 8 * below(32);
            encoding = enc::c_mem(funct3, rs_compressed(), kS0, static_cast<uint32_t>(offset));
            break;
        }
        case 4:  // c.fld, c.fsd
        case 5:
            offset = 8 * below(32);
            encoding = enc::c_mem(kind == 4 ? 1 : 5, 8 + static_cast<unsigned>(below(8)), kS0,
                                  static_cast<uint32_t>(offset));
            break;
        case 6:  // c.lwsp, c.ldsp, c.fldsp
        case 7: {
            uint32_t funct3 = one_in(4) && (fs_on_ || may_trap()) ? 1 : (kind == 6 ? 2 : 3);
            offset = funct3 == 2 ? 4 * below(64) : 8 * below(64);
            encoding = enc::c_load_sp(funct3, funct3 == 1 ? fr() : rd_nonzero(),
                                      static_cast<uint32_t>(offset));
            break;
        }
        default: {  // c.swsp, c.sdsp, c.fsdsp
            uint32_t funct3 = kind == 8 ? 6 : (one_in(3) && (fs_on_ || may_trap()) ? 5 : 7);
            offset = funct3 == 6 ? 4 * below(64) : 8 * below(64);
            encoding =
                enc::c_store_sp(funct3, funct3 == 5 ? fr() : rs(), static_cast<uint32_t>(offset));
            break;
        }
    }
    bool store = kind == 2 || kind == 3 || kind == 5 || kind >= 8;
    if (!data_accessible((sp_based ? sp_pa_ : s0_pa_) + offset, store) && !may_trap()) return alu();
    a_.half(encoding);
}

void BodyGenerator::special_access() {
    if (!may_trap()) return alu();
    const uint64_t data_offset = kData - kRam + below(kDataPages * 0x1000 - 64);
    const uint64_t other_view =
        priv_ == Priv::user ? kData + (data_offset - (kData - kRam)) : kUserAlias + data_offset;
    // Stores only where the bytes are data (or nothing at all); loads anywhere.
    const std::array<uint64_t, 9> anywhere = {other_view,
                                              kWriteS + data_offset,
                                              kWriteU + data_offset,
                                              kMegaAlias + data_offset,
                                              kGigaAlias + data_offset,
                                              kGigaAlias + 0x10000000,
                                              kUnmapped + 0x40,
                                              0x1000,
                                              0x4000001000};
    const std::array<uint64_t, 3> loads_only = {here_view(kPageTables) + 8 * below(512),
                                                here_view(kLog) + 8 * below(1024),
                                                here_view(kHandlerData) + 8 * below(64)};
    bool store = one_in(2);
    uint64_t address = store || one_in(2) ? anywhere[below(anywhere.size())]
                                          : loads_only[below(loads_only.size())];
    a_.li(kT6, static_cast<int64_t>(address));
    int32_t imm = static_cast<int32_t>(below(32)) - 16;
    if (store)
        a_.word(enc::store(static_cast<uint32_t>(below(4)), rs(), kT6, imm));
    else
        a_.word(enc::load(static_cast<uint32_t>(below(7)), rd(), kT6, imm));
}

void BodyGenerator::atomic() {
    bool use_sp = one_in(2);
    bool doubleword = one_in(2);
    auto offset = static_cast<int32_t>(8 * below(510)) - 2040;
    bool misaligned = one_in(10);
    if (misaligned) offset += 1 + static_cast<int32_t>(below(doubleword ? 7 : 3));
    uint64_t pa = (use_sp ? sp_pa_ : s0_pa_) + static_cast<uint64_t>(static_cast<int64_t>(offset));
    if ((misaligned || !data_accessible(pa, true)) && !may_trap()) return alu();
    a_.word(enc::addi(kT6, use_sp ? kSp : kS0, offset));
    uint32_t width = doubleword ? 3 : 2;
    bool aq = one_in(3), rl = one_in(3);
    if (one_in(3)) {
        // LR, a little work, SC: to the same word, another one, or with no LR before it.
        if (!one_in(6)) a_.word(enc::amo(2, aq, rl, width, rd(), kT6, 0));
        for (uint64_t n = below(3); n; --n)
            alu();
        if (one_in(5)) a_.word(enc::addi(kT6, kT6, 8 * (static_cast<int32_t>(below(4)) - 2)));
        a_.word(enc::amo(3, aq, rl, one_in(8) ? 5 - width : width, rd(), kT6, rs()));
        return;
    }
    static constexpr uint32_t ops[] = {0x01, 0x00, 0x04, 0x0c, 0x08, 0x10, 0x14, 0x18, 0x1c};
    a_.word(enc::amo(ops[below(std::size(ops))], aq, rl, width, rd(), kT6, rs()));
}

void BodyGenerator::fp() {
    if (!fs_on_ && (!one_in(4) || !may_trap())) return alu();
    uint32_t fmt = static_cast<uint32_t>(below(2));
    switch (below(11)) {
        case 0:
        case 1:
        case 2: {  // fadd, fsub, fmul, fdiv
            uint32_t rm = rounding_mode();
            return a_.word(enc::fp_op(static_cast<uint32_t>(below(4)), fmt, fr(), fr(), rm, fr()));
        }
        case 3: {
            uint32_t rm = rounding_mode();
            return a_.word(enc::fp_op(0x0b, fmt, 0, fr(), rm, fr()));  // fsqrt
        }
        case 4:  // fsgnj, fsgnjn, fsgnjx, fmin, fmax
            if (one_in(2))
                return a_.word(
                    enc::fp_op(0x04, fmt, fr(), fr(), static_cast<uint32_t>(below(3)), fr()));
            return a_.word(
                enc::fp_op(0x05, fmt, fr(), fr(), static_cast<uint32_t>(below(2)), fr()));
        case 5:  // fle, flt, feq
            return a_.word(
                enc::fp_op(0x14, fmt, fr(), fr(), static_cast<uint32_t>(below(3)), rd()));
        case 6: {  // fcvt.{w,wu,l,lu}.{s,d}
            uint32_t rm = rounding_mode();
            return a_.word(enc::fp_op(0x18, fmt, static_cast<unsigned>(below(4)), fr(), rm, rd()));
        }
        case 7: {  // fcvt.{s,d}.{w,wu,l,lu}
            uint32_t rm = rounding_mode();
            return a_.word(enc::fp_op(0x1a, fmt, static_cast<unsigned>(below(4)), rs(), rm, fr()));
        }
        case 8: {  // fcvt.s.d, fcvt.d.s
            uint32_t rm = rounding_mode();
            return a_.word(enc::fp_op(0x08, fmt, fmt ? 0 : 1, fr(), rm, fr()));
        }
        case 9:  // fmv.x.{w,d}, fclass, fmv.{w,d}.x
            if (one_in(3)) return a_.word(enc::fp_op(0x1e, fmt, 0, rs(), 0, fr()));
            return a_.word(enc::fp_op(0x1c, fmt, 0, fr(), static_cast<uint32_t>(below(2)), rd()));
        default: {  // fmadd, fmsub, fnmsub, fnmadd
            static constexpr uint32_t opcodes[] = {0x43, 0x47, 0x4b, 0x4f};
            uint32_t rm = rounding_mode();
            return a_.word(enc::fma(opcodes[below(4)], fmt, fr(), fr(), fr(), fr(), rm));
        }
    }
}

}  // namespace vessel::riscv::difftest
