// Privileged architecture 1.12: CSRs, traps and delegation, interrupts and their priority,
// xRET, WFI sleep, and the thread-safe controls the board uses.
#include <algorithm>

#include "vm/riscv/hart.h"
#include "vm/riscv/jit/translator.h"

namespace vessel::riscv {

namespace {

namespace csr {
inline constexpr uint32_t fflags = 0x001, frm = 0x002, fcsr = 0x003;
inline constexpr uint32_t cycle = 0xc00, time = 0xc01, instret = 0xc02, hpmcounter31 = 0xc1f;
inline constexpr uint32_t sstatus = 0x100, sie = 0x104, stvec = 0x105, scounteren = 0x106,
                          senvcfg = 0x10a, sscratch = 0x140, sepc = 0x141, scause = 0x142,
                          stval = 0x143, sip = 0x144, stimecmp = 0x14d, satp = 0x180;
inline constexpr uint32_t mvendorid = 0xf11, marchid = 0xf12, mimpid = 0xf13, mhartid = 0xf14,
                          mconfigptr = 0xf15;
inline constexpr uint32_t mstatus = 0x300, misa = 0x301, medeleg = 0x302, mideleg = 0x303,
                          mie = 0x304, mtvec = 0x305, mcounteren = 0x306, menvcfg = 0x30a,
                          mcountinhibit = 0x320, mhpmevent3 = 0x323, mhpmevent31 = 0x33f,
                          mscratch = 0x340, mepc = 0x341, mcause = 0x342, mtval = 0x343,
                          mip = 0x344, pmpcfg0 = 0x3a0, pmpcfg15 = 0x3af, pmpaddr0 = 0x3b0,
                          pmpaddr15 = 0x3bf;
inline constexpr uint32_t mcycle = 0xb00, minstret = 0xb02, mhpmcounter3 = 0xb03,
                          mhpmcounter31 = 0xb1f;
}  // namespace csr

constexpr uint64_t bit(unsigned n) {
    return uint64_t{1} << n;
}
constexpr uint64_t kXlen64 = 2;
constexpr uint64_t kMstatusXl = (kXlen64 << 32) | (kXlen64 << 34);  // UXL, SXL read-only 64
constexpr uint64_t kSupervisorInterrupts = bit(irq::ssi) | bit(irq::sti) | bit(irq::sei);
constexpr uint64_t kAllInterrupts =
    kSupervisorInterrupts | bit(irq::msi) | bit(irq::mti) | bit(irq::mei);
constexpr uint64_t kDelegableExceptions = 0xb3ff;  // all but ecall-from-M and reserved causes
constexpr uint64_t kMenvcfgStce = bit(63), kEnvcfgFiom = 1;

}  // namespace

Hart::Hart(const MachineContext& machine, uint64_t hart_id) : machine_(machine), hart_id_(hart_id) {
    if (machine.engine == Engine::translator) {
        // Without its code memory (memfd, two mappings) the hart still runs, on the interpreter;
        // engine() tells which one it got.
        size_t code_bytes = machine.translator_code_bytes ? machine.translator_code_bytes
                                                          : jit::Translator::kDefaultCodeBytes;
        if (auto translator = jit::Translator::create(*this, code_bytes))
            translator_ = std::move(*translator);
    }
    reset(0, Priv::machine);
}

Hart::~Hart() = default;

void Hart::reset(uint64_t pc, Priv priv) {
    std::fill(std::begin(x_), std::end(x_), 0);
    std::fill(std::begin(f_), std::end(f_), 0);
    pc_ = pc;
    priv_ = priv;
    instret_ = 0;
    cycle_offset_ = 0;
    mstatus_ = 0;
    // RV64 with I, M, A, F, D, C, S, U.
    misa_ = (uint64_t{2} << 62) | bit(0) | bit(2) | bit(3) | bit(5) | bit(8) | bit(12) | bit(18) |
            bit(20);
    medeleg_ = mideleg_ = mie_ = mip_software_ = 0;
    mtvec_ = stvec_ = mepc_ = sepc_ = mcause_ = scause_ = mtval_ = stval_ = 0;
    mscratch_ = sscratch_ = satp_ = 0;
    mcounteren_ = scounteren_ = mcountinhibit_ = menvcfg_ = senvcfg_ = 0;
    stimecmp_ = ~uint64_t{0};
    fflags_ = frm_ = 0;
    std::fill(std::begin(pmpcfg_), std::end(pmpcfg_), 0);
    std::fill(std::begin(pmpaddr_), std::end(pmpaddr_), 0);
    reservation_paddr_ = ~uint64_t{0};
    reset_debug_state();  // --- Debugger hook (hart_debug.cpp)
    flush_all_caches();
    recompute_privilege_keys();
    attention_.store(true);
}

void Hart::flush_all_caches() {
    flush_tlb();
    drop_decoded_pages();
}

void Hart::drop_decoded_pages() {
    for (size_t p = 0; p < decoded_in_use_; ++p)
        decoded_pool_[p]->paddr_page = ~uint64_t{0};
    decoded_in_use_ = 0;
    next_decoded_victim_ = 0;
    decoded_by_paddr_.clear();
    decoded_index_.fill(nullptr);
    // Translated blocks stay: every store by a hart and every device write to a page holding
    // code bumps its generation (CodePages), which each block is checked against, so a fence.i
    // has nothing left to make visible. Dropping them would mean translating a Linux working
    // set again at every fence.i (Linux issues one for each executable page it maps). Only
    // the jumps linked across pages, which skip that check, are put back.
    if (translator_) translator_->code_may_have_changed();
}

// --- Thread-safe controls ---

void Hart::kick() {
    attention_.store(true, std::memory_order_release);
    std::lock_guard lock(wait_mutex_);
    wait_cv_.notify_all();
}

void Hart::request_stop() {
    stop_.store(true, std::memory_order_release);
    kick();
}

void Hart::set_interrupt_line(unsigned irq_number, bool level) {
    uint64_t mask = bit(irq_number) & (bit(irq::msi) | bit(irq::mei) | bit(irq::sei));
    if (level)
        lines_.fetch_or(mask, std::memory_order_acq_rel);
    else
        lines_.fetch_and(~mask, std::memory_order_acq_rel);
    kick();
}

void Hart::set_mtimecmp(uint64_t value) {
    mtimecmp_.store(value, std::memory_order_release);
    kick();
}

// --- Interrupts ---

uint64_t Hart::read_mip() const {
    uint64_t lines = lines_.load(std::memory_order_acquire);
    uint64_t software_mask = bit(irq::ssi) | bit(irq::sei);
    if (!(menvcfg_ & kMenvcfgStce)) software_mask |= bit(irq::sti);
    uint64_t value = (mip_software_ & software_mask) | lines;
    uint64_t now = machine_.clock.mtime();
    if (now >= mtimecmp_.load(std::memory_order_relaxed)) value |= bit(irq::mti);
    if ((menvcfg_ & kMenvcfgStce) && now >= stimecmp_) value |= bit(irq::sti);
    return value;
}

uint64_t Hart::pending_interrupts() const {
    return read_mip() & mie_;
}

bool Hart::take_interrupt_if_pending() {
    uint64_t pending = pending_interrupts();
    if (!pending) return false;
    uint64_t machine_level = pending & ~mideleg_;
    uint64_t supervisor_level = pending & mideleg_;
    bool machine_enabled = priv_ != Priv::machine || (mstatus_ & kMstatusMie);
    bool supervisor_enabled =
        priv_ == Priv::user || (priv_ == Priv::supervisor && (mstatus_ & kMstatusSie));
    uint64_t candidates = 0;
    if (machine_enabled && machine_level)
        candidates = machine_level;
    else if (supervisor_enabled && supervisor_level)
        candidates = supervisor_level;
    else
        return false;
    static constexpr unsigned priority[] = {irq::mei, irq::msi, irq::mti,
                                            irq::sei, irq::ssi, irq::sti};
    for (unsigned number : priority) {
        if (candidates & bit(number)) {
            enter_trap(number, true, 0);
            return true;
        }
    }
    return false;
}

void Hart::wait_for_interrupt() {
    for (;;) {
        if (stop_.load(std::memory_order_acquire)) return;
        // --- Debugger hook: a halt request ends the wait (a WFI may complete early).
        if (debug_flags_.load(std::memory_order_acquire) & kDebugHalt) return;
        attention_.store(false, std::memory_order_release);
        serve_flush_requests();
        if (ssip_posted_.exchange(false, std::memory_order_acq_rel)) mip_software_ |= bit(irq::ssi);
        // WFI resumes on any pending interrupt enabled in mie, whatever the global enables.
        if (pending_interrupts()) break;
        uint64_t deadline = ~uint64_t{0};
        if (mie_ & bit(irq::mti)) deadline = std::min(deadline, mtimecmp_.load());
        if ((mie_ & bit(irq::sti)) && (menvcfg_ & kMenvcfgStce))
            deadline = std::min(deadline, stimecmp_);
        std::unique_lock lock(wait_mutex_);
        auto woken = [&] { return stop_.load() || attention_.load(); };
        if (deadline == ~uint64_t{0})
            wait_cv_.wait(lock, woken);
        else
            wait_cv_.wait_until(lock, machine_.clock.when(deadline), woken);
    }
    attention_.store(true, std::memory_order_release);
}

// --- Traps ---

void Hart::raise(uint64_t exception_cause, uint64_t tval) {
    enter_trap(exception_cause, false, tval);
}

void Hart::enter_trap(uint64_t trap_cause, bool interrupt, uint64_t tval) {
    reservation_paddr_ = ~uint64_t{0};
    uint64_t delegation = interrupt ? mideleg_ : medeleg_;
    uint64_t cause_value = trap_cause | (interrupt ? bit(63) : 0);
    if (priv_ != Priv::machine && ((delegation >> trap_cause) & 1)) {
        scause_ = cause_value;
        sepc_ = pc_;
        stval_ = tval;
        uint64_t status = mstatus_ & ~(kMstatusSpie | kMstatusSie | kMstatusSpp);
        if (mstatus_ & kMstatusSie) status |= kMstatusSpie;
        if (priv_ == Priv::supervisor) status |= kMstatusSpp;
        mstatus_ = status;
        priv_ = Priv::supervisor;
        pc_ = (stvec_ & ~uint64_t{3}) + ((interrupt && (stvec_ & 1)) ? 4 * trap_cause : 0);
    } else {
        mcause_ = cause_value;
        mepc_ = pc_;
        mtval_ = tval;
        uint64_t status = mstatus_ & ~(kMstatusMpie | kMstatusMie | kMstatusMpp);
        if (mstatus_ & kMstatusMie) status |= kMstatusMpie;
        status |= static_cast<uint64_t>(priv_) << 11;
        mstatus_ = status;
        priv_ = Priv::machine;
        pc_ = (mtvec_ & ~uint64_t{3}) + ((interrupt && (mtvec_ & 1)) ? 4 * trap_cause : 0);
    }
    recompute_privilege_keys();
    end_block_ = true;
}

void Hart::do_mret() {
    auto target = static_cast<Priv>((mstatus_ & kMstatusMpp) >> 11);
    uint64_t status = mstatus_ & ~(kMstatusMie | kMstatusMpp);
    if (mstatus_ & kMstatusMpie) status |= kMstatusMie;
    status |= kMstatusMpie;
    if (target != Priv::machine) status &= ~kMstatusMprv;
    mstatus_ = status;
    priv_ = target;
    pc_ = mepc_;
    recompute_privilege_keys();
    end_block_ = true;
}

void Hart::do_sret() {
    Priv target = (mstatus_ & kMstatusSpp) ? Priv::supervisor : Priv::user;
    uint64_t status = mstatus_ & ~(kMstatusSie | kMstatusSpp | kMstatusMprv);
    if (mstatus_ & kMstatusSpie) status |= kMstatusSie;
    status |= kMstatusSpie;
    mstatus_ = status;
    priv_ = target;
    pc_ = sepc_;
    recompute_privilege_keys();
    end_block_ = true;
}

// --- CSRs ---

bool Hart::execute_csr(const Insn& insn) {
    uint32_t number = static_cast<uint32_t>(insn.imm) & 0xfff;
    bool immediate = insn.op == Op::csrrwi || insn.op == Op::csrrsi || insn.op == Op::csrrci;
    bool swap = insn.op == Op::csrrw || insn.op == Op::csrrwi;
    uint64_t source = immediate ? insn.rs1 : x_[insn.rs1];
    bool writes = swap || insn.rs1 != 0;
    auto illegal = [&] {
        static constexpr uint32_t funct3[] = {0, 1, 2, 3, 0, 5, 6, 7};
        unsigned index = static_cast<unsigned>(insn.op) - static_cast<unsigned>(Op::csrrw);
        uint32_t kind = funct3[index < 3 ? index + 1 : index + 2];
        raise(cause::illegal_instruction, (number << 20) | (uint32_t{insn.rs1} << 15) |
                                              (kind << 12) | (uint32_t{insn.rd} << 7) | 0x73);
        return false;
    };
    if (((number >> 8) & 3) > static_cast<uint32_t>(priv_)) return illegal();
    if ((number >> 10) == 3 && writes) return illegal();
    uint64_t old_value = 0;
    if (!csr_read(number, old_value)) return illegal();
    if (writes) {
        // mip reads SEIP as the external signal ORed with the software bit, but only the software
        // bit takes part in a set/clear: otherwise `csrs mip, SSIP` (OpenSBI raising an S-mode
        // IPI) while the PLIC asserts SEIP would latch SEIP for good.
        uint64_t base = old_value;
        if (number == csr::mip && !swap)
            base = (base & ~bit(irq::sei)) | (mip_software_ & bit(irq::sei));
        uint64_t new_value = swap                                              ? source
                             : (insn.op == Op::csrrs || insn.op == Op::csrrsi) ? base | source
                                                                               : base & ~source;
        if (!csr_write(number, new_value)) return illegal();
    }
    x_[insn.rd] = old_value;
    end_block_ = true;
    return true;
}

bool Hart::csr_read(uint32_t number, uint64_t& value) {
    auto counter_allowed = [&](unsigned index) {
        if (priv_ != Priv::machine && !((mcounteren_ >> index) & 1)) return false;
        if (priv_ == Priv::user && !((scounteren_ >> index) & 1)) return false;
        return true;
    };
    switch (number) {
        case csr::fflags:
        case csr::frm:
        case csr::fcsr:
            if (!fp_enabled()) return false;
            value = number == csr::fflags ? fflags_
                    : number == csr::frm  ? frm_
                                          : (fflags_ | (frm_ << 5));
            return true;
        case csr::sstatus: {
            uint64_t mask = kMstatusSie | kMstatusSpie | kMstatusSpp | kMstatusFs | kMstatusSum |
                            kMstatusMxr | (kXlen64 << 32);
            value = ((mstatus_ | kMstatusXl) & mask) |
                    ((mstatus_ & kMstatusFs) == kMstatusFs ? kMstatusSd : 0);
            return true;
        }
        case csr::sie:
            value = mie_ & mideleg_;
            return true;
        case csr::stvec:
            value = stvec_;
            return true;
        case csr::scounteren:
            value = scounteren_;
            return true;
        case csr::senvcfg:
            value = senvcfg_;
            return true;
        case csr::sscratch:
            value = sscratch_;
            return true;
        case csr::sepc:
            value = sepc_;
            return true;
        case csr::scause:
            value = scause_;
            return true;
        case csr::stval:
            value = stval_;
            return true;
        case csr::sip:
            value = read_mip() & mideleg_;
            return true;
        case csr::stimecmp:
            if (priv_ != Priv::machine && (!(menvcfg_ & kMenvcfgStce) || !(mcounteren_ & 2)))
                return false;
            value = stimecmp_;
            return true;
        case csr::satp:
            if (priv_ == Priv::supervisor && (mstatus_ & kMstatusTvm)) return false;
            value = satp_;
            return true;
        case csr::mvendorid:
        case csr::marchid:
        case csr::mimpid:
        case csr::mconfigptr:
            value = 0;
            return true;
        case csr::mhartid:
            value = hart_id_;
            return true;
        case csr::mstatus:
            value =
                mstatus_ | kMstatusXl | ((mstatus_ & kMstatusFs) == kMstatusFs ? kMstatusSd : 0);
            return true;
        case csr::misa:
            value = misa_;
            return true;
        case csr::medeleg:
            value = medeleg_;
            return true;
        case csr::mideleg:
            value = mideleg_;
            return true;
        case csr::mie:
            value = mie_;
            return true;
        case csr::mtvec:
            value = mtvec_;
            return true;
        case csr::mcounteren:
            value = mcounteren_;
            return true;
        case csr::menvcfg:
            value = menvcfg_;
            return true;
        case csr::mcountinhibit:
            value = mcountinhibit_;
            return true;
        case csr::mscratch:
            value = mscratch_;
            return true;
        case csr::mepc:
            value = mepc_;
            return true;
        case csr::mcause:
            value = mcause_;
            return true;
        case csr::mtval:
            value = mtval_;
            return true;
        case csr::mip:
            value = read_mip();
            return true;
        case csr::mcycle:
            value = instret_ + cycle_offset_;
            return true;
        case csr::minstret:
            value = instret_;
            return true;
        default:
            break;
    }
    if (number >= csr::cycle && number <= csr::hpmcounter31) {
        unsigned index = number - csr::cycle;
        if (!counter_allowed(index)) return false;
        value = index == 0   ? instret_ + cycle_offset_
                : index == 1 ? machine_.clock.mtime()
                : index == 2 ? instret_
                             : 0;
        return true;
    }
    if ((number >= csr::mhpmcounter3 && number <= csr::mhpmcounter31) ||
        (number >= csr::mhpmevent3 && number <= csr::mhpmevent31)) {
        value = 0;
        return true;
    }
    if (number >= csr::pmpcfg0 && number <= csr::pmpcfg15) {
        unsigned index = number - csr::pmpcfg0;
        if (index & 1 || index >= 4) return false;  // RV64: even pmpcfg only; 16 entries
        value = pmpcfg_[index / 2];
        return true;
    }
    if (number >= csr::pmpaddr0 && number <= csr::pmpaddr15) {
        value = pmpaddr_[number - csr::pmpaddr0];
        return true;
    }
    // --- Debugger hook (hart_debug.cpp): the Sdtrig CSRs ---
    return trigger_csr_read(number, value);
}

bool Hart::csr_write(uint32_t number, uint64_t value) {
    switch (number) {
        case csr::fflags:
            fflags_ = value & 0x1f;
            mark_fp_dirty();
            return true;
        case csr::frm:
            frm_ = value & 7;
            mark_fp_dirty();
            return true;
        case csr::fcsr:
            fflags_ = value & 0x1f;
            frm_ = (value >> 5) & 7;
            mark_fp_dirty();
            return true;
        case csr::sstatus: {
            uint64_t mask =
                kMstatusSie | kMstatusSpie | kMstatusSpp | kMstatusFs | kMstatusSum | kMstatusMxr;
            mstatus_ = (mstatus_ & ~mask) | (value & mask);
            recompute_privilege_keys();
            return true;
        }
        case csr::sie:
            mie_ = (mie_ & ~mideleg_) | (value & mideleg_ & kSupervisorInterrupts);
            return true;
        case csr::stvec:
            if ((value & 3) < 2) stvec_ = value;
            return true;
        case csr::scounteren:
            scounteren_ = value & 0xffffffff;
            return true;
        case csr::senvcfg:
            senvcfg_ = value & kEnvcfgFiom;
            return true;
        case csr::sscratch:
            sscratch_ = value;
            return true;
        case csr::sepc:
            sepc_ = value & ~uint64_t{1};
            return true;
        case csr::scause:
            scause_ = value;
            return true;
        case csr::stval:
            stval_ = value;
            return true;
        case csr::sip:
            if (mideleg_ & bit(irq::ssi))
                mip_software_ = (mip_software_ & ~bit(irq::ssi)) | (value & bit(irq::ssi));
            return true;
        case csr::stimecmp:
            stimecmp_ = value;
            return true;
        case csr::satp: {
            uint64_t mode = value >> 60;
            if (mode != satp_mode::bare && mode != satp_mode::sv39 && mode != satp_mode::sv48)
                return true;  // WARL: unsupported modes leave satp unchanged
            satp_ = value &
                    ((uint64_t{0xf} << 60) | (uint64_t{0xffff} << 44) | ((uint64_t{1} << 44) - 1));
            flush_tlb();
            return true;
        }
        case csr::mstatus: {
            uint64_t mask = kMstatusSie | kMstatusMie | kMstatusSpie | kMstatusMpie | kMstatusSpp |
                            kMstatusMpp | kMstatusFs | kMstatusMprv | kMstatusSum | kMstatusMxr |
                            kMstatusTvm | kMstatusTw | kMstatusTsr;
            uint64_t updated = (mstatus_ & ~mask) | (value & mask);
            if (((updated & kMstatusMpp) >> 11) == 2)  // reserved: keep the previous mode
                updated = (updated & ~kMstatusMpp) | (mstatus_ & kMstatusMpp);
            mstatus_ = updated;
            recompute_privilege_keys();
            return true;
        }
        case csr::misa:
            return true;  // fixed extension set: writes ignored
        case csr::medeleg:
            medeleg_ = value & kDelegableExceptions;
            return true;
        case csr::mideleg:
            mideleg_ = value & kSupervisorInterrupts;
            return true;
        case csr::mie:
            mie_ = value & kAllInterrupts;
            return true;
        case csr::mtvec:
            if ((value & 3) < 2) mtvec_ = value;
            return true;
        case csr::mcounteren:
            mcounteren_ = value & 0xffffffff;
            return true;
        case csr::menvcfg:
            menvcfg_ = value & (kMenvcfgStce | kEnvcfgFiom);
            return true;
        case csr::mcountinhibit:
            mcountinhibit_ = value & 0xfffffffd;
            return true;
        case csr::mscratch:
            mscratch_ = value;
            return true;
        case csr::mepc:
            mepc_ = value & ~uint64_t{1};
            return true;
        case csr::mcause:
            mcause_ = value;
            return true;
        case csr::mtval:
            mtval_ = value;
            return true;
        case csr::mip: {
            uint64_t mask = bit(irq::ssi) | bit(irq::sei);
            if (!(menvcfg_ & kMenvcfgStce)) mask |= bit(irq::sti);
            mip_software_ = (mip_software_ & ~mask) | (value & mask);
            return true;
        }
        // The write lands after this instruction retires, which then counts itself.
        case csr::mcycle:
            cycle_offset_ = static_cast<int64_t>(value - instret_ - 1);
            return true;
        case csr::minstret:
            instret_ = value - 1;
            return true;
        default:
            break;
    }
    if ((number >= csr::mhpmcounter3 && number <= csr::mhpmcounter31) ||
        (number >= csr::mhpmevent3 && number <= csr::mhpmevent31))
        return true;  // hardwired zero
    if (number >= csr::pmpcfg0 && number <= csr::pmpcfg15) {
        unsigned index = number - csr::pmpcfg0;
        if (index & 1 || index >= 4) return false;
        uint64_t& config = pmpcfg_[index / 2];
        for (unsigned entry = 0; entry < 8; ++entry) {
            uint64_t old_byte = (config >> (8 * entry)) & 0xff;
            if (old_byte & 0x80) continue;  // locked
            uint64_t new_byte = (value >> (8 * entry)) & 0x9f;
            if ((new_byte & 3) == 2) new_byte &= ~uint64_t{2};  // W without R is reserved
            config = (config & ~(uint64_t{0xff} << (8 * entry))) | (new_byte << (8 * entry));
        }
        return true;
    }
    if (number >= csr::pmpaddr0 && number <= csr::pmpaddr15) {
        unsigned index = number - csr::pmpaddr0;
        uint64_t config = (pmpcfg_[index / 8] >> (8 * (index % 8))) & 0xff;
        if (!(config & 0x80)) pmpaddr_[index] = value & ((uint64_t{1} << 54) - 1);
        return true;
    }
    // --- Debugger hook (hart_debug.cpp): the Sdtrig CSRs ---
    return trigger_csr_write(number, value, TriggerModule::Writer::machine);
}

}  // namespace vessel::riscv
