// The hart's debug path: halting for a debugger, single steps, debugger breakpoints, and the Sdtrig
// triggers (triggers.h) on fetches, loads and stores. While anything is armed, run() calls
// debug_step() instead of running blocks: one instruction at a time through the interpreter, from a
// scratch page of decoded code whose every other slot leaves the block, with the checks before and
// after it. Load and store triggers need every access to reach load_slow()/store_slow(): while they
// are armed the data TLBs are flushed and not filled.
#include <algorithm>
#include <cstring>

#include "vm/riscv/hart.h"

namespace vessel::riscv {

namespace {

constexpr uint32_t kTselect = 0x7a0, kTdata1 = 0x7a1, kTdata2 = 0x7a2, kTdata3 = 0x7a3,
                   kTinfo = 0x7a4;
constexpr uint32_t kFflags = 0x001, kFrm = 0x002, kFcsr = 0x003;

}  // namespace

// --- Controls ---

void Hart::request_debug_halt() {
    debug_flags_.fetch_or(kDebugHalt, std::memory_order_acq_rel);
    kick();
}

void Hart::cancel_debug_halt() {
    debug_flags_.fetch_and(~kDebugHalt, std::memory_order_acq_rel);
}

void Hart::set_debug_step(bool step, bool mask_interrupts) {
    debug_stepping_ = step;
    debug_step_masks_interrupts_ = step && mask_interrupts;
    update_debug_armed();
}

void Hart::set_debug_breakpoints(std::vector<uint64_t> addresses) {
    std::sort(addresses.begin(), addresses.end());
    debug_breakpoints_ = std::move(addresses);
    update_debug_armed();
}

void Hart::write_trigger(unsigned index, uint64_t tdata1, uint64_t tdata2) {
    // tdata1 first: its type and match decide how tdata2 is legalised.
    triggers_.write_tdata1_at(index, tdata1, TriggerModule::Writer::debugger);
    triggers_.write_tdata2_at(index, tdata2, TriggerModule::Writer::debugger);
    update_debug_armed();
}

void Hart::update_debug_armed() {
    bool data = triggers_.watches_data();
    // Entries filled before now would let loads and stores bypass the checks.
    if (data && !watching_data_) flush_tlb();
    watching_data_ = data;
    bool armed =
        debug_stepping_ || !debug_breakpoints_.empty() || triggers_.watches_execute() || data;
    if (armed)
        debug_flags_.fetch_or(kDebugArmed, std::memory_order_acq_rel);
    else
        debug_flags_.fetch_and(~kDebugArmed, std::memory_order_acq_rel);
}

void Hart::reset_debug_state() {
    triggers_.reset(true);
    pending_debug_stop_.reset();
    update_debug_armed();
}

// --- The debug path ---

void Hart::stop_for_debugger(const DebugStop& stop) {
    if (debug_listener_) debug_listener_->hart_stopped(*this, stop);
}

bool Hart::native_triggers_enabled() const {
    if (priv_ == Priv::machine) return (mstatus_ & kMstatusMie) != 0;
    if (priv_ == Priv::supervisor && ((medeleg_ >> cause::breakpoint) & 1))
        return (mstatus_ & kMstatusSie) != 0;
    return true;
}

void Hart::debug_step() {
    if (debug_flags_.load(std::memory_order_acquire) & kDebugHalt) {
        stop_for_debugger({DebugStopKind::halted});
        return;
    }
    // run()'s interrupt and timer checks; a debugger's step with interrupts masked leaves them
    // (and attention_) pending for after it, but still serves other harts' fences.
    if (debug_step_masks_interrupts_) {
        serve_flush_requests();
    } else if (attention_.load(std::memory_order_relaxed) || instret_ >= next_timer_check_) {
        attention_.store(false, std::memory_order_relaxed);
        serve_flush_requests();
        if (ssip_posted_.exchange(false, std::memory_order_acq_rel))
            mip_software_ |= uint64_t{1} << irq::ssi;
        next_timer_check_ = instret_ + 8192;
        if (take_interrupt_if_pending()) {
            end_block_ = false;
            attention_.store(true, std::memory_order_relaxed);
            return;  // the handler's first instruction gets the checks below next time
        }
    }
    if (std::binary_search(debug_breakpoints_.begin(), debug_breakpoints_.end(), pc_)) {
        stop_for_debugger({DebugStopKind::breakpoint, Access::fetch, pc_});
        return;
    }
    // Execute triggers come before the fetch and its faults.
    if (triggers_.watches_execute()) {
        unsigned length = 0;
        uint8_t low = 0;
        if (debug_read_memory(pc_, std::span(&low, 1)) == 1) length = (low & 3) == 3 ? 4 : 2;
        if (auto hit =
                triggers_.match(Access::fetch, pc_, length, priv_, native_triggers_enabled())) {
            if (hit->action == TriggerModule::kActionDebugger) {
                stop_for_debugger({DebugStopKind::trigger, Access::fetch, hit->address});
            } else {
                raise(cause::breakpoint, hit->address);
                end_block_ = false;
                attention_.store(true, std::memory_order_relaxed);
            }
            return;
        }
    }
    checked_begin_ = checked_end_ = 0;
    single_instruction_block_ = true;
    run_block();
    single_instruction_block_ = false;
    if (end_block_) {
        end_block_ = false;
        attention_.store(true, std::memory_order_relaxed);
    }
    if (pending_debug_stop_) {
        DebugStop stop = *pending_debug_stop_;
        pending_debug_stop_.reset();
        stop_for_debugger(stop);
        return;
    }
    if (debug_stepping_) stop_for_debugger({DebugStopKind::step, Access::fetch, pc_});
}

Hart::DecodedPage* Hart::prime_step_page(const void* undecoded, const void* leave) {
    if (!step_page_) {
        step_page_ = std::make_unique<DecodedPage>();
        std::fill(std::begin(step_page_->handlers), std::end(step_page_->handlers), leave);
        step_page_->handlers_valid = true;
    }
    DecodedPage& page = *step_page_;
    // The last step left its own slot decoded, and a straddling one back at "undecoded": both
    // leave again, so that only the slot at pc runs (decoded afresh, as the code may have
    // changed since).
    page.handlers[step_slot_] = leave;
    page.handlers[2047] = leave;
    step_slot_ = static_cast<unsigned>((pc_ & 0xfff) >> 1);
    page.handlers[step_slot_] = undecoded;
    return &page;
}

bool Hart::data_access_allowed(uint64_t vaddr, unsigned size, Access access) {
    if (access == checked_access_ && vaddr >= checked_begin_ && vaddr + size <= checked_end_ &&
        checked_end_ > checked_begin_)
        return true;
    checked_access_ = access;
    checked_begin_ = vaddr;
    checked_end_ = vaddr + size;
    auto hit = triggers_.match(access, vaddr, size, priv_, native_triggers_enabled());
    if (!hit) return true;
    if (hit->action == TriggerModule::kActionDebugger)
        pending_debug_stop_ = DebugStop{DebugStopKind::trigger, access, hit->address};
    else
        raise(cause::breakpoint, hit->address);
    return false;
}

// The Debug spec's A extension rules: LR is a load, SC a store, an AMO both.
bool Hart::amo_access_allowed(const Insn& insn) {
    unsigned size = insn.op >= Op::lr_d ? 8 : 4;
    uint64_t vaddr = x_[insn.rs1];
    bool is_lr = insn.op == Op::lr_w || insn.op == Op::lr_d;
    bool is_sc = insn.op == Op::sc_w || insn.op == Op::sc_d;
    if (!is_sc && !data_access_allowed(vaddr, size, Access::load)) return false;
    if (!is_lr && !data_access_allowed(vaddr, size, Access::store)) return false;
    return true;
}

// --- The trigger CSRs ---

bool Hart::trigger_csr_read(uint32_t number, uint64_t& value) const {
    switch (number) {
        case kTselect:
            value = triggers_.tselect();
            return true;
        case kTdata1:
            value = triggers_.tdata1();
            return true;
        case kTdata2:
            value = triggers_.tdata2();
            return true;
        case kTdata3:
            value = triggers_.tdata3();
            return true;
        case kTinfo:
            value = triggers_.tinfo();
            return true;
        default:
            return false;
    }
}

bool Hart::trigger_csr_write(uint32_t number, uint64_t value, TriggerModule::Writer writer) {
    switch (number) {
        case kTselect:
            triggers_.write_tselect(value);
            return true;
        case kTdata1:
            triggers_.write_tdata1(value, writer);
            update_debug_armed();
            return true;
        case kTdata2:
            triggers_.write_tdata2(value, writer);
            return true;
        case kTdata3:  // no textra conditions: nothing to write
        case kTinfo:   // read-only
            return true;
        default:
            return false;
    }
}

// --- State access for the debugger ---

bool Hart::debug_read_csr(uint32_t number, uint64_t& value) {
    switch (number) {
        case kFflags:
            value = fflags_;
            return true;
        case kFrm:
            value = frm_;
            return true;
        case kFcsr:
            value = fflags_ | (frm_ << 5);
            return true;
        default:
            break;
    }
    if (trigger_csr_read(number, value)) return true;
    Priv saved = priv_;
    priv_ = Priv::machine;  // no counteren, TVM or FS checks: the debugger sees everything
    bool known = csr_read(number, value);
    priv_ = saved;
    return known;
}

bool Hart::debug_write_csr(uint32_t number, uint64_t value) {
    switch (number) {
        case kFflags:
            fflags_ = value & 0x1f;
            return true;
        case kFrm:
            frm_ = value & 7;
            return true;
        case kFcsr:
            fflags_ = value & 0x1f;
            frm_ = (value >> 5) & 7;
            return true;
        default:
            break;
    }
    if (trigger_csr_write(number, value, TriggerModule::Writer::debugger)) return true;
    // Counters are read-only here: csr_write's adjustment for the retiring CSR instruction would
    // be off by one.
    if ((number >= 0xb00 && number <= 0xb1f) || (number >= 0xc00 && number <= 0xc1f)) return false;
    // Only CSRs M-mode could write; a read-only one (mhartid) is refused rather than ignored.
    if ((number >> 10) == 3) return false;
    Priv saved = priv_;
    priv_ = Priv::machine;
    bool known = csr_write(number, value);
    priv_ = saved;
    recompute_privilege_keys();
    attention_.store(true, std::memory_order_relaxed);
    return known;
}

void Hart::debug_set_priv(Priv priv) {
    priv_ = priv;
    recompute_privilege_keys();
    attention_.store(true, std::memory_order_relaxed);
}

std::optional<uint64_t> Hart::debug_translate(uint64_t vaddr, Access access) const {
    // The privilege the hart runs in, but with SUM and MXR: a debugger reads user pages from
    // the kernel and execute-only code. No A/D updates: looking must not change the guest.
    WalkRequest request{satp_, priv_ == Priv::machine ? Priv::machine : Priv::supervisor, true,
                        true};
    request.update_accessed_dirty = false;
    WalkResult result = translate(machine_.memory, request, vaddr, access);
    if (!result.ok) return std::nullopt;
    return result.paddr;
}

size_t Hart::debug_read_memory(uint64_t vaddr, std::span<uint8_t> out) const {
    size_t done = 0;
    while (done < out.size()) {
        uint64_t address = vaddr + done;
        size_t chunk = std::min<size_t>(out.size() - done, 0x1000 - (address & 0xfff));
        auto paddr = debug_translate(address, Access::load);
        if (!paddr) break;
        // RAM only: a debugger's read must not pop a device's FIFO.
        const uint8_t* host = machine_.memory.host_pointer(*paddr, chunk);
        if (!host) break;
        std::memcpy(out.data() + done, host, chunk);
        done += chunk;
    }
    return done;
}

size_t Hart::debug_write_memory(uint64_t vaddr, std::span<const uint8_t> bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        uint64_t address = vaddr + done;
        size_t chunk = std::min<size_t>(bytes.size() - done, 0x1000 - (address & 0xfff));
        auto paddr = debug_translate(address, Access::store);
        if (!paddr) break;
        uint8_t* host = machine_.memory.host_pointer(*paddr, chunk);
        if (!host) break;
        std::memcpy(host, bytes.data() + done, chunk);
        // Every hart's decoded (or translated) copy of changed code is stale now.
        if (uint8_t* flag = machine_.code_pages.code_flag(*paddr);
            flag && CodePages::holds_code(flag))
            machine_.code_pages.code_written(*paddr);
        done += chunk;
    }
    return done;
}

}  // namespace vessel::riscv
