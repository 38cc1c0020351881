#include "guest_runtime.h"

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

#include "assembler.h"
#include "encoding.h"

namespace vessel::riscv::difftest {

namespace {

namespace csr {
inline constexpr uint32_t fcsr = 0x003, instret = 0xc02, sstatus = 0x100, stvec = 0x105,
                          scounteren = 0x106, sscratch = 0x140, sepc = 0x141, scause = 0x142,
                          stval = 0x143, satp = 0x180, mstatus = 0x300, medeleg = 0x302,
                          mtvec = 0x305, mcounteren = 0x306, mscratch = 0x340, mepc = 0x341,
                          mcause = 0x342, mtval = 0x343, minstret = 0xb02;
}  // namespace csr

constexpr uint64_t kFs = 3ull << 13, kMpp = 3ull << 11, kMprv = 1ull << 17, kSum = 1ull << 18,
                   kMxr = 1ull << 19;

// Values that find the corners of arithmetic: sign boundaries, all ones, word boundaries.
constexpr uint64_t kSpecialX[] = {0,
                                  1,
                                  ~uint64_t{0},
                                  0x8000000000000000,
                                  0x7fffffffffffffff,
                                  0x80000000,
                                  0xffffffff80000000,
                                  0x7fffffff,
                                  0xffffffff,
                                  0x100000000,
                                  2,
                                  0xfffffffffffff800};
constexpr uint64_t kSpecialF[] = {
    0xffffffff00000000,  // +0.0f, NaN-boxed
    0xffffffff80000000,  // -0.0f
    0xffffffff7f800000,  // +inf f
    0xffffffff7fc00000,  // qNaN f
    0xffffffff7f800001,  // sNaN f
    0xffffffff00000001,  // denormal f
    0xffffffff3f800000,  // 1.0f
    0x000000003f800000,  // 1.0f not NaN-boxed: reads as the canonical NaN
    0x0000000000000000,  // +0.0
    0x8000000000000000,  // -0.0
    0x7ff0000000000000,  // +inf
    0x7ff8000000000000,  // qNaN
    0x7ff0000000000001,  // sNaN
    0x0000000000000001,  // denormal
    0x3ff0000000000000,  // 1.0
    0x43e0000000000000,  // 2^63
    0xc1e0000000000000,  // -2^31
    0x41dfffffffc00000,  // 2^31 - 1
};

uint64_t table_pte(uint64_t table) {
    return ((table >> 12) << 10) | pte::V;
}
uint64_t leaf_pte(uint64_t pa, uint64_t flags) {
    return ((pa >> 12) << 10) | flags;
}

// Saves the trapped hart's state in the next log record and leaves the record's address in t0.
// `area`: the handler's scratch area (its xscratch); the log cursor is at kLogCursor.
void emit_log_record(Assembler& a, uint64_t area, bool machine, Assembler::Label full) {
    const uint32_t scratch = machine ? csr::mscratch : csr::sscratch;
    const auto cursor = static_cast<int32_t>(kLogCursor - area);
    a.word(enc::csrrw(kSp, scratch, kSp));
    a.word(enc::sd(kT0, kSp, 0));
    a.word(enc::sd(kT1, kSp, 8));
    a.word(enc::sd(kT2, kSp, 16));
    a.word(enc::ld(kT0, kSp, cursor));
    a.word(enc::ld(kT1, kSp, cursor + 8));
    a.branch(7, kT0, kT1, full);  // bgeu: the log is full
    for (unsigned reg = 1; reg < 32; ++reg)
        if (reg != kSp && reg != kT0 && reg != kT1 && reg != kT2)
            a.word(enc::sd(reg, kT0, static_cast<int32_t>(RecordLayout::x + 8 * reg)));
    for (unsigned i = 0; i < 3; ++i) {
        a.word(enc::ld(kT1, kSp, static_cast<int32_t>(8 * i)));
        a.word(enc::sd(kT1, kT0, static_cast<int32_t>(RecordLayout::x + 8 * (kT0 + i))));
    }
    a.word(enc::csrr(kT1, scratch));
    a.word(enc::sd(kT1, kT0, RecordLayout::x + 8 * kSp));
    const std::pair<uint32_t, unsigned> csrs[] = {
        {machine ? csr::mcause : csr::scause, RecordLayout::cause},
        {machine ? csr::mepc : csr::sepc, RecordLayout::epc},
        {machine ? csr::mtval : csr::stval, RecordLayout::tval},
        {machine ? csr::mstatus : csr::sstatus, RecordLayout::status},
        {machine ? csr::minstret : csr::instret, RecordLayout::instret}};
    for (auto [number, offset] : csrs) {
        a.word(enc::csrr(kT1, number));
        a.word(enc::sd(kT1, kT0, static_cast<int32_t>(offset)));
    }
    a.li(kT1, machine ? 3 : 1);
    a.word(enc::sd(kT1, kT0, RecordLayout::handler));
    // The FP state needs FS on; the status logged above is put back afterwards.
    const uint32_t status = machine ? csr::mstatus : csr::sstatus;
    a.li(kT1, static_cast<int64_t>(kFs));
    a.word(enc::csrs(status, kT1));
    a.word(enc::csrr(kT1, csr::fcsr));
    a.word(enc::sd(kT1, kT0, RecordLayout::fcsr));
    for (unsigned reg = 0; reg < 32; ++reg)
        a.word(enc::fsd(reg, kT0, static_cast<int32_t>(RecordLayout::f + 8 * reg)));
    a.word(enc::ld(kT1, kT0, RecordLayout::status));
    a.word(enc::csrw(status, kT1));
    a.word(enc::addi(kT1, kT0, RecordLayout::bytes));
    a.word(enc::sd(kT1, kSp, cursor));
}

// Sets xepc past the instruction at xepc, read as the trapped privilege sees it (MPRV or SUM
// with MXR), since its length decides the step. t0 holds the record.
void emit_skip_instruction(Assembler& a, bool machine) {
    const uint32_t status = machine ? csr::mstatus : csr::sstatus;
    const uint32_t epc = machine ? csr::mepc : csr::sepc;
    a.li(kT1, static_cast<int64_t>(machine ? (kMprv | kMxr) : (kSum | kMxr)));
    a.word(enc::csr(2, kT1, status, kT1));  // csrrs t1: the old status
    a.word(enc::csrr(kT2, epc));
    a.word(enc::lhu(kT2, kT2, 0));
    a.word(enc::csrw(status, kT1));
    a.word(enc::csrr(kT1, epc));
    a.word(enc::andi(kT2, kT2, 3));
    a.word(enc::xori(kT2, kT2, 3));
    a.word(enc::addi(kT1, kT1, 2));
    Assembler::Label compressed = a.new_label();
    a.branch(1, kT2, 0, compressed);
    a.word(enc::addi(kT1, kT1, 2));
    a.bind(compressed);
    a.word(enc::csrw(epc, kT1));
}

// A fetch fault has nothing to step over: the body reaches bad code only through `jalr ra`, so
// the handler returns to ra.
void emit_resume_at_ra(Assembler& a, bool machine) {
    a.word(enc::ld(kT1, kT0, RecordLayout::x + 8 * kRa));
    a.word(enc::csrw(machine ? csr::mepc : csr::sepc, kT1));
}

void emit_restore_and_return(Assembler& a, bool machine) {
    a.word(enc::ld(kT1, kT0, RecordLayout::x + 8 * kT1));
    a.word(enc::ld(kT2, kT0, RecordLayout::x + 8 * kT2));
    a.word(enc::ld(kT0, kT0, RecordLayout::x + 8 * kT0));
    a.word(enc::csrrw(kSp, machine ? csr::mscratch : csr::sscratch, kSp));
    a.word(machine ? enc::kMret : enc::kSret);
}

std::vector<uint8_t> machine_handler() {
    Assembler a(kMHandler);
    auto full = a.new_label(), ecall = a.new_label(), fetch = a.new_label(),
         restore = a.new_label(), finish = a.new_label(), switch_priv = a.new_label(),
         done = a.new_label();
    emit_log_record(a, kHandlerData, true, full);
    a.word(enc::csrr(kT1, csr::mcause));
    for (int64_t cause : {8, 9, 11}) {
        a.li(kT2, cause);
        a.branch(0, kT1, kT2, ecall);
    }
    for (int64_t cause : {1, 12}) {
        a.li(kT2, cause);
        a.branch(0, kT1, kT2, fetch);
    }
    emit_skip_instruction(a, true);
    a.jal(0, restore);
    a.bind(fetch);
    emit_resume_at_ra(a, true);
    a.jal(0, restore);
    a.bind(ecall);
    a.li(kT2, kEcallFinish);
    a.branch(0, kA7, kT2, finish);
    a.li(kT2, kEcallSwitch);
    a.branch(0, kA7, kT2, switch_priv);
    a.word(enc::csrr(kT1, csr::mepc));
    a.word(enc::addi(kT1, kT1, 4));
    a.word(enc::csrw(csr::mepc, kT1));
    a.jal(0, restore);
    a.bind(switch_priv);
    a.word(enc::csrw(csr::mepc, kA5));
    a.li(kT2, static_cast<int64_t>(kMpp));
    a.word(enc::csrc(csr::mstatus, kT2));
    a.word(enc::andi(kT1, kA6, 3));
    a.word(enc::slli(kT1, kT1, 11));
    a.word(enc::csrs(csr::mstatus, kT1));
    a.bind(restore);
    emit_restore_and_return(a, true);
    a.bind(full);
    a.li(kT1, 2);
    a.jal(0, done);
    a.bind(finish);
    a.li(kT1, 1);
    a.bind(done);
    a.li(kT2, static_cast<int64_t>(kMailbox));
    a.word(enc::sw(kT1, kT2, 0));
    a.li(kT2, static_cast<int64_t>(kFinisher));
    a.word(enc::sw(kT1, kT2, 0));
    auto spin = a.new_label();  // not reached: the finisher stops the hart
    a.bind(spin);
    a.jal(0, spin);
    return a.finish();
}

std::vector<uint8_t> supervisor_handler() {
    Assembler a(kSHandler);
    auto full = a.new_label(), fetch = a.new_label(), restore = a.new_label();
    emit_log_record(a, kSArea, false, full);
    a.word(enc::csrr(kT1, csr::scause));
    for (int64_t cause : {1, 12}) {
        a.li(kT2, cause);
        a.branch(0, kT1, kT2, fetch);
    }
    emit_skip_instruction(a, false);
    a.jal(0, restore);
    a.bind(fetch);
    emit_resume_at_ra(a, false);
    a.bind(restore);
    emit_restore_and_return(a, false);
    // Only the M handler can end the program: ask it (ecalls from S are never delegated).
    a.bind(full);
    a.li(kA7, kEcallFinish);
    a.word(enc::kEcall);
    return a.finish();
}

std::vector<uint8_t> prologue(const Setup& setup) {
    Assembler a(kBoot);
    auto write = [&a](uint32_t number, uint64_t value) {
        a.li(kT0, static_cast<int64_t>(value));
        a.word(enc::csrw(number, kT0));
    };
    write(csr::mtvec, kMHandler);
    write(csr::stvec, kSHandler);
    write(csr::mscratch, kHandlerData);
    write(csr::sscratch, kSArea);
    write(csr::medeleg, setup.medeleg & ~uint32_t{0xf00});  // ecalls stay with M
    write(csr::mcounteren, 5);  // cycle and instret; time would read the host clock
    write(csr::scounteren, setup.scounteren);
    write(csr::satp, setup.paging ? (uint64_t{8} << 60) | (kPageTables >> 12) : 0);
    write(csr::mstatus, kFs);
    write(csr::fcsr, setup.fcsr);
    a.li(kT0, static_cast<int64_t>(kInitialF));
    for (unsigned reg = 0; reg < 32; ++reg)
        a.word(enc::fld(reg, kT0, static_cast<int32_t>(8 * reg)));
    write(csr::mstatus, setup.mstatus | (static_cast<uint64_t>(setup.priv) << 11));
    write(csr::mepc, view(setup, setup.priv, kCode));
    std::array<uint64_t, 32> x = initial_x(setup);
    for (unsigned reg = 1; reg < 32; ++reg)
        a.li(reg, static_cast<int64_t>(x[reg]));
    a.word(enc::kMret);
    return a.finish();
}

std::vector<uint8_t> snippet_page(uint64_t base) {
    Assembler a(base);
    a.word(enc::addi(10, 10, 1));
    a.half(enc::c_addi(11, 3));
    a.half(enc::c_jr(kRa));
    while (a.size() < kSnippetSecond)
        a.half(0);  // illegal: a snippet that falls through traps
    a.word(enc::addi(12, 12, 5));
    a.word(enc::jalr(0, kRa, 0));
    return a.finish();
}

void put(std::vector<uint8_t>& image, uint64_t pa, std::span<const uint8_t> bytes) {
    if (pa < kRam || pa - kRam + bytes.size() > image.size())
        throw std::logic_error("a part of the image lies outside RAM");
    std::memcpy(image.data() + (pa - kRam), bytes.data(), bytes.size());
}

void put64(std::vector<uint8_t>& image, uint64_t pa, uint64_t value) {
    put(image, pa, std::span(reinterpret_cast<const uint8_t*>(&value), 8));
}

void build_page_tables(std::vector<uint8_t>& image, const Setup& setup) {
    const uint64_t root = kPageTables, low = root + 0x1000, high = root + 0x2000,
                   identity = root + 0x3000, user = root + 0x4000, write_s = root + 0x5000,
                   write_u = root + 0x6000;
    auto entry = [&](uint64_t table, unsigned index, uint64_t value) {
        put64(image, table + 8 * index, value);
    };
    entry(root, 1, table_pte(low));
    entry(root, 2, table_pte(high));
    entry(root, 3, leaf_pte(0x80000000, pte::V | pte::R | pte::W));  // gigapage
    entry(high, 0, table_pte(identity));
    entry(low, 0, table_pte(user));
    entry(low, (kMegaAlias >> 21) & 511, leaf_pte(kRam, setup.mega));
    entry(low, (kWriteS >> 21) & 511, table_pte(write_s));
    entry(low, (kWriteU >> 21) & 511, table_pte(write_u));
    auto index = [](uint64_t pa) { return static_cast<unsigned>((pa - kRam) >> 12); };
    const uint64_t rx = pte::V | pte::R | pte::X, rw = pte::V | pte::R | pte::W;
    entry(identity, index(kBoot), leaf_pte(kBoot, rx));
    entry(identity, index(kMHandler), leaf_pte(kMHandler, rx));
    entry(identity, index(kHandlerData), leaf_pte(kHandlerData, rw));
    for (unsigned page = 0; page < kPageTablePages; ++page)
        entry(identity, index(kPageTables) + page, leaf_pte(kPageTables + 0x1000 * page, rw));
    for (uint64_t pa = kLog; pa < kLog + kLogBytes; pa += 0x1000)
        entry(identity, index(pa), leaf_pte(pa, rw));
    auto map_region = [&](uint64_t base, unsigned pages, const uint8_t* s, const uint8_t* u) {
        for (unsigned page = 0; page < pages; ++page) {
            uint64_t pa = base + 0x1000 * page;
            if (s[page]) entry(identity, index(pa), leaf_pte(pa, s[page]));
            if (u[page]) entry(user, index(pa), leaf_pte(pa, u[page] | pte::U));
            entry(write_s, index(pa), leaf_pte(pa, rw));
            entry(write_u, index(pa), leaf_pte(pa, rw | pte::U));
        }
    };
    map_region(kCode, kCodePages, setup.code_s.data(), setup.code_u.data());
    map_region(kData, kDataPages, setup.data_s.data(), setup.data_u.data());
}

}  // namespace

std::array<uint64_t, 32> initial_x(const Setup& setup) {
    SplitMix random{setup.seed ^ 0x5857};
    std::array<uint64_t, 32> x{};
    for (unsigned reg = 1; reg < 32; ++reg) {
        uint64_t kind = random.below(4);
        x[reg] = kind == 0   ? kSpecialX[random.below(std::size(kSpecialX))]
                 : kind == 1 ? random.below(64) - 32
                             : random.next();
    }
    x[kSp] = view(setup, setup.priv, kSpData);
    x[kS0] = view(setup, setup.priv, kS0Data);
    x[kS1] = 0;
    x[kA7] = kEcallResume;
    return x;
}

std::array<uint64_t, 32> initial_f(const Setup& setup) {
    SplitMix random{setup.seed ^ 0xf10a7};
    std::array<uint64_t, 32> f{};
    for (unsigned reg = 0; reg < 32; ++reg) {
        uint64_t kind = random.below(4);
        f[reg] = kind == 0   ? kSpecialF[random.below(std::size(kSpecialF))]
                 : kind == 1 ? 0xffffffff00000000 | (random.next() & 0xffffffff)
                             : random.next();
    }
    return f;
}

std::vector<uint8_t> build_image(const Setup& setup, std::span<const uint8_t> body) {
    if (body.size() > kBodyPages * 0x1000) throw std::logic_error("the body is too large");
    std::vector<uint8_t> image(kRamBytes, 0);
    put(image, kBoot, prologue(setup));
    put(image, kMHandler, machine_handler());
    put(image, kSHandler, supervisor_handler());
    put64(image, kLogCursor, kLog);
    put64(image, kLogCursor + 8, kLog + uint64_t{kLogRecords} * RecordLayout::bytes);
    std::array<uint64_t, 32> f = initial_f(setup);
    for (unsigned reg = 0; reg < 32; ++reg)
        put64(image, kInitialF + 8 * reg, f[reg]);
    if (setup.paging) build_page_tables(image, setup);
    put(image, kCode, body);
    for (uint64_t page = kSnippets; page < kCode + kCodePages * 0x1000; page += 0x1000)
        put(image, page, snippet_page(page));
    SplitMix random{setup.seed ^ 0xda7a};
    for (uint64_t pa = kData; pa < kData + kDataPages * 0x1000; pa += 8) {
        uint64_t value = random.next();
        if (random.below(8) == 0) value = kSpecialX[random.below(std::size(kSpecialX))];
        put64(image, pa, value);
    }
    return image;
}

std::string to_cpp(const Setup& setup) {
    auto bytes = [](const auto& array) {
        std::string text = "{";
        for (size_t i = 0; i < array.size(); ++i)
            text += fmt::format("{}{:#04x}", i ? ", " : "", array[i]);
        return text + "}";
    };
    static constexpr const char* privs[] = {"user", "supervisor", "", "machine"};
    return fmt::format(
        "{{.seed = {:#x}, .priv = Priv::{}, .paging = {}, .medeleg = {:#x}, .mstatus = {:#x}, "
        ".fcsr = {:#x}, .scounteren = {:#x}, .code_s = {}, .code_u = {}, .data_s = {}, "
        ".data_u = {}, .mega = {:#04x}}}",
        setup.seed, privs[static_cast<unsigned>(setup.priv)], setup.paging, setup.medeleg,
        setup.mstatus, setup.fcsr, setup.scounteren, bytes(setup.code_s), bytes(setup.code_u),
        bytes(setup.data_s), bytes(setup.data_u), setup.mega);
}

}  // namespace vessel::riscv::difftest
