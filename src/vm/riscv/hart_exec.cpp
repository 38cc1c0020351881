// The interpreter: one loop over the decoded instructions of the current code page. Control stays
// in run_block() while execution stays in one page; leaving the page, a trap, a state change the
// loop caches (privilege, translation, interrupt enables) or the branch budget ends the block.
#include <cstring>

#include "vm/riscv/hart.h"
#include "vm/riscv/hart_memory_inl.h"

namespace vessel::riscv {

namespace {
constexpr int kBranchBudget = 512;  // taken branches per block before re-checking interrupts
constexpr uint64_t kTimerCheckInterval = 8192;  // instructions between looks at the clock

inline int64_t sext32(uint64_t value) {
    return static_cast<int32_t>(value);
}
}  // namespace

void Hart::run() {
    while (!stop_.load(std::memory_order_relaxed)) {
        if (attention_.load(std::memory_order_relaxed) || instret_ >= next_timer_check_) {
            attention_.store(false, std::memory_order_relaxed);
            next_timer_check_ = instret_ + kTimerCheckInterval;
            take_interrupt_if_pending();
        }
        run_block();
        if (end_block_) {
            end_block_ = false;
            // CSR writes, xRET, device writes: the pending/enabled set may have changed.
            attention_.store(true, std::memory_order_relaxed);
        }
    }
}

Hart::DecodedPage* Hart::code_page_for_pc() {
    uint64_t pc = pc_;
    const TlbEntry& entry = tlb_[static_cast<int>(Access::fetch)][(pc >> 12) % kTlbEntries];
    uint64_t paddr_page;
    if (entry.tag == ((pc & ~uint64_t{0xfff}) | fetch_key_)) {
        paddr_page = entry.paddr_page;
    } else {
        WalkRequest request{satp_, priv_, false, false};
        WalkResult result = translate(machine_.memory, request, pc, Access::fetch);
        if (!result.ok) {
            raise(result.fault_cause, pc);
            return nullptr;
        }
        paddr_page = result.paddr & ~uint64_t{0xfff};
        uint8_t* host = machine_.memory.host_pointer(paddr_page, 0x1000);
        if (!host || !machine_.code_pages.code_flag(paddr_page)) {
            raise(cause::fetch_access, pc);
            return nullptr;
        }
        TlbEntry& fill = tlb_[static_cast<int>(Access::fetch)][(pc >> 12) % kTlbEntries];
        fill.tag = (pc & ~uint64_t{0xfff}) | fetch_key_;
        fill.addend = reinterpret_cast<uintptr_t>(host) - (pc & ~uint64_t{0xfff});
        fill.paddr_page = paddr_page;
        fill.code_flag = machine_.code_pages.code_flag(paddr_page);
    }
    DecodedPage& page = decoded_[(paddr_page >> 12) % kDecodedPages];
    if (page.paddr_page == paddr_page) {
        if (page.generation == machine_.code_pages.generation(paddr_page)) return &page;
    }
    machine_.code_pages.mark_code(paddr_page);
    page.paddr_page = paddr_page;
    page.generation = machine_.code_pages.generation(paddr_page);
    for (Insn& slot : page.slots)
        slot.op = Op::undecoded;
    return &page;
}

// Decodes the instruction at pc_ (whose page `page` maps). An instruction that straddles into
// the next page is decoded afresh every time into `scratch` (its second half may map anywhere).
void Hart::run_block() {
    DecodedPage* page = code_page_for_pc();
    if (!page) return;
    const uint64_t page_vbase = pc_ & ~uint64_t{0xfff};
    const uint8_t* host_page = reinterpret_cast<const uint8_t*>(
        tlb_[static_cast<int>(Access::fetch)][(pc_ >> 12) % kTlbEntries].addend + page_vbase);
    int budget = kBranchBudget;
    Insn scratch;
    uint64_t* const x = x_;

    for (;;) {
        const uint64_t pc = pc_;
        const unsigned offset = pc & 0xfff;
        const Insn* in = &page->slots[offset >> 1];
        if (__builtin_expect(in->op == Op::undecoded, 0)) {
            uint16_t low;
            std::memcpy(&low, host_page + offset, 2);
            if (instruction_length(low) == 2) {
                page->slots[offset >> 1] = decode_compressed(low);
            } else if (offset <= 0xffc) {
                uint32_t raw;
                std::memcpy(&raw, host_page + offset, 4);
                page->slots[offset >> 1] = decode(raw);
            } else {
                // Straddles the page end: fetch the upper half through translation.
                WalkRequest request{satp_, priv_, false, false};
                WalkResult result = translate(machine_.memory, request, pc + 2, Access::fetch);
                if (!result.ok) {
                    raise(result.fault_cause, pc + 2);
                    return;
                }
                auto high = machine_.memory.load<uint16_t>(result.paddr);
                if (!high) {
                    raise(cause::fetch_access, pc + 2);
                    return;
                }
                scratch = decode(uint32_t{low} | (uint32_t{*high} << 16));
                in = &scratch;
            }
        }
        const Insn& i = *in;
        const uint64_t next_pc = pc + i.length;
        uint64_t target;

#define RD x[i.rd]
#define RS1 x[i.rs1]
#define RS2 x[i.rs2]
#define IMM static_cast<int64_t>(i.imm)
#define BRANCH(cond)       \
    if (cond) {            \
        target = pc + IMM; \
        goto jump;         \
    }                      \
    break
#define LOAD(type, extend)                         \
    {                                              \
        type value;                                \
        if (!load<type>(RS1 + IMM, value)) return; \
        RD = static_cast<uint64_t>(extend(value)); \
    }                                              \
    break
#define STORE(type)                                              \
    if (!store<type>(RS1 + IMM, static_cast<type>(RS2))) return; \
    if (end_block_) goto end_after_store;                        \
    break

        switch (i.op) {
            case Op::lui:
                RD = static_cast<uint64_t>(IMM);
                break;
            case Op::auipc:
                RD = pc + IMM;
                break;
            case Op::jal:
                target = pc + IMM;
                RD = next_pc;
                goto jump;
            case Op::jalr:
                target = (RS1 + IMM) & ~uint64_t{1};
                RD = next_pc;
                goto jump;
            case Op::beq:
                BRANCH(RS1 == RS2);
            case Op::bne:
                BRANCH(RS1 != RS2);
            case Op::blt:
                BRANCH(static_cast<int64_t>(RS1) < static_cast<int64_t>(RS2));
            case Op::bge:
                BRANCH(static_cast<int64_t>(RS1) >= static_cast<int64_t>(RS2));
            case Op::bltu:
                BRANCH(RS1 < RS2);
            case Op::bgeu:
                BRANCH(RS1 >= RS2);
            case Op::lb:
                LOAD(int8_t, int64_t);
            case Op::lh:
                LOAD(int16_t, int64_t);
            case Op::lw:
                LOAD(int32_t, int64_t);
            case Op::ld:
                LOAD(uint64_t, uint64_t);
            case Op::lbu:
                LOAD(uint8_t, uint64_t);
            case Op::lhu:
                LOAD(uint16_t, uint64_t);
            case Op::lwu:
                LOAD(uint32_t, uint64_t);
            case Op::sb:
                STORE(uint8_t);
            case Op::sh:
                STORE(uint16_t);
            case Op::sw:
                STORE(uint32_t);
            case Op::sd:
                STORE(uint64_t);
            case Op::addi:
                RD = RS1 + IMM;
                break;
            case Op::slti:
                RD = static_cast<int64_t>(RS1) < IMM;
                break;
            case Op::sltiu:
                RD = RS1 < static_cast<uint64_t>(IMM);
                break;
            case Op::xori:
                RD = RS1 ^ IMM;
                break;
            case Op::ori:
                RD = RS1 | IMM;
                break;
            case Op::andi:
                RD = RS1 & IMM;
                break;
            case Op::slli:
                RD = RS1 << i.imm;
                break;
            case Op::srli:
                RD = RS1 >> i.imm;
                break;
            case Op::srai:
                RD = static_cast<uint64_t>(static_cast<int64_t>(RS1) >> i.imm);
                break;
            case Op::add:
                RD = RS1 + RS2;
                break;
            case Op::sub:
                RD = RS1 - RS2;
                break;
            case Op::sll:
                RD = RS1 << (RS2 & 63);
                break;
            case Op::slt:
                RD = static_cast<int64_t>(RS1) < static_cast<int64_t>(RS2);
                break;
            case Op::sltu:
                RD = RS1 < RS2;
                break;
            case Op::xor_:
                RD = RS1 ^ RS2;
                break;
            case Op::srl:
                RD = RS1 >> (RS2 & 63);
                break;
            case Op::sra:
                RD = static_cast<uint64_t>(static_cast<int64_t>(RS1) >> (RS2 & 63));
                break;
            case Op::or_:
                RD = RS1 | RS2;
                break;
            case Op::and_:
                RD = RS1 & RS2;
                break;
            case Op::addiw:
                RD = sext32(RS1 + IMM);
                break;
            case Op::slliw:
                RD = sext32(RS1 << i.imm);
                break;
            case Op::srliw:
                RD = sext32(static_cast<uint32_t>(RS1) >> i.imm);
                break;
            case Op::sraiw:
                RD = static_cast<uint64_t>(sext32(RS1) >> i.imm);
                break;
            case Op::addw:
                RD = sext32(RS1 + RS2);
                break;
            case Op::subw:
                RD = sext32(RS1 - RS2);
                break;
            case Op::sllw:
                RD = sext32(RS1 << (RS2 & 31));
                break;
            case Op::srlw:
                RD = sext32(static_cast<uint32_t>(RS1) >> (RS2 & 31));
                break;
            case Op::sraw:
                RD = static_cast<uint64_t>(sext32(RS1) >> (RS2 & 31));
                break;
            case Op::mul:
                RD = RS1 * RS2;
                break;
            case Op::mulh:
                RD = static_cast<uint64_t>((static_cast<__int128>(static_cast<int64_t>(RS1)) *
                                            static_cast<int64_t>(RS2)) >>
                                           64);
                break;
            case Op::mulhsu:
                RD = static_cast<uint64_t>((static_cast<__int128>(static_cast<int64_t>(RS1)) *
                                            static_cast<unsigned __int128>(RS2)) >>
                                           64);
                break;
            case Op::mulhu:
                RD = static_cast<uint64_t>((static_cast<unsigned __int128>(RS1) * RS2) >> 64);
                break;
            case Op::div: {
                auto a = static_cast<int64_t>(RS1), b = static_cast<int64_t>(RS2);
                RD = b == 0                        ? ~uint64_t{0}
                     : (a == INT64_MIN && b == -1) ? static_cast<uint64_t>(a)
                                                   : static_cast<uint64_t>(a / b);
                break;
            }
            case Op::divu:
                RD = RS2 == 0 ? ~uint64_t{0} : RS1 / RS2;
                break;
            case Op::rem: {
                auto a = static_cast<int64_t>(RS1), b = static_cast<int64_t>(RS2);
                RD = b == 0                        ? static_cast<uint64_t>(a)
                     : (a == INT64_MIN && b == -1) ? 0
                                                   : static_cast<uint64_t>(a % b);
                break;
            }
            case Op::remu:
                RD = RS2 == 0 ? RS1 : RS1 % RS2;
                break;
            case Op::mulw:
                RD = sext32(RS1 * RS2);
                break;
            case Op::divw: {
                auto a = static_cast<int32_t>(RS1), b = static_cast<int32_t>(RS2);
                RD = b == 0                        ? ~uint64_t{0}
                     : (a == INT32_MIN && b == -1) ? static_cast<uint64_t>(int64_t{a})
                                                   : static_cast<uint64_t>(int64_t{a / b});
                break;
            }
            case Op::divuw: {
                auto a = static_cast<uint32_t>(RS1), b = static_cast<uint32_t>(RS2);
                RD = b == 0 ? ~uint64_t{0} : sext32(a / b);
                break;
            }
            case Op::remw: {
                auto a = static_cast<int32_t>(RS1), b = static_cast<int32_t>(RS2);
                RD = b == 0                        ? static_cast<uint64_t>(int64_t{a})
                     : (a == INT32_MIN && b == -1) ? 0
                                                   : static_cast<uint64_t>(int64_t{a % b});
                break;
            }
            case Op::remuw: {
                auto a = static_cast<uint32_t>(RS1), b = static_cast<uint32_t>(RS2);
                RD = b == 0 ? sext32(a) : sext32(a % b);
                break;
            }
            case Op::fence:
                break;
            case Op::fence_i:
                for (unsigned p = 0; p < kDecodedPages; ++p)
                    decoded_[p].paddr_page = ~uint64_t{0};
                pc_ = next_pc;
                ++instret_;
                return;
            case Op::ecall:
                if (priv_ == Priv::supervisor && ecall_handler_) {
                    pc_ = next_pc;  // the handler may redirect the hart (e.g. HSM, SRST)
                    ++instret_;
                    x[0] = 0;
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
            case Op::ebreak:
                raise(cause::breakpoint, pc);
                return;
            case Op::mret:
                if (priv_ != Priv::machine) {
                    raise(cause::illegal_instruction, 0x30200073);
                    return;
                }
                ++instret_;
                do_mret();
                return;
            case Op::sret:
                if (priv_ == Priv::user ||
                    (priv_ == Priv::supervisor && (mstatus_ & kMstatusTsr))) {
                    raise(cause::illegal_instruction, 0x10200073);
                    return;
                }
                ++instret_;
                do_sret();
                return;
            case Op::wfi:
                if (priv_ == Priv::user || (priv_ == Priv::supervisor && (mstatus_ & kMstatusTw))) {
                    raise(cause::illegal_instruction, 0x10500073);
                    return;
                }
                pc_ = next_pc;
                ++instret_;
                wait_for_interrupt();
                return;
            case Op::sfence_vma:
                if (priv_ == Priv::user ||
                    (priv_ == Priv::supervisor && (mstatus_ & kMstatusTvm))) {
                    raise(cause::illegal_instruction,
                          0x12000073u | (uint32_t{i.rs1} << 15) | (uint32_t{i.rs2} << 20));
                    return;
                }
                flush_tlb();
                pc_ = next_pc;
                ++instret_;
                return;
            case Op::csrrw:
            case Op::csrrs:
            case Op::csrrc:
            case Op::csrrwi:
            case Op::csrrsi:
            case Op::csrrci:
                if (!execute_csr(i)) return;
                x[0] = 0;
                pc_ = next_pc;
                ++instret_;
                return;  // CSR writes may change privilege keys, satp, interrupt enables
            case Op::lr_w:
            case Op::sc_w:
            case Op::amoswap_w:
            case Op::amoadd_w:
            case Op::amoxor_w:
            case Op::amoand_w:
            case Op::amoor_w:
            case Op::amomin_w:
            case Op::amomax_w:
            case Op::amominu_w:
            case Op::amomaxu_w:
            case Op::lr_d:
            case Op::sc_d:
            case Op::amoswap_d:
            case Op::amoadd_d:
            case Op::amoxor_d:
            case Op::amoand_d:
            case Op::amoor_d:
            case Op::amomin_d:
            case Op::amomax_d:
            case Op::amominu_d:
            case Op::amomaxu_d:
                if (!execute_amo(i)) return;
                if (end_block_) goto end_after_store;
                break;
            case Op::illegal:
                raise(cause::illegal_instruction, static_cast<uint32_t>(i.imm));
                return;
            case Op::undecoded:
            case Op::count_:
                raise(cause::illegal_instruction, 0);
                return;
            default:
                // F and D.
                if (!execute_fp(i)) return;
                if (end_block_) goto end_after_store;
                break;
        }
        x[0] = 0;
        ++instret_;
        pc_ = next_pc;
        if (__builtin_expect((next_pc & ~uint64_t{0xfff}) != page_vbase, 0)) return;
        continue;

    jump:
        x[0] = 0;
        ++instret_;
        pc_ = target;
        if ((target & ~uint64_t{0xfff}) != page_vbase || --budget == 0) return;
        continue;

    end_after_store:
        x[0] = 0;
        ++instret_;
        pc_ = next_pc;
        return;
    }
#undef RD
#undef RS1
#undef RS2
#undef IMM
#undef BRANCH
#undef LOAD
#undef STORE
}

}  // namespace vessel::riscv
