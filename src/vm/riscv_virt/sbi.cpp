#include "vm/riscv_virt/sbi.h"

#include <thread>

#include "vm/boot/vm_config.h"

namespace vessel::riscv_virt {

namespace {

namespace ext {
constexpr uint64_t base = 0x10, time = 0x54494d45, ipi = 0x735049, rfence = 0x52464e43,
                   hsm = 0x48534d, srst = 0x53525354, dbcn = 0x4442434e;
constexpr uint64_t legacy_last = 0x0f;
}  // namespace ext

constexpr int64_t kSuccess = 0, kErrNotSupported = -2, kErrInvalidParam = -3,
                  kErrInvalidAddress = -5, kErrAlreadyAvailable = -6;
constexpr uint64_t kSpecVersion2 = uint64_t{2} << 24;

namespace csr {
constexpr uint32_t medeleg = 0x302, mideleg = 0x303, mcounteren = 0x306, menvcfg = 0x30a,
                   scounteren = 0x106, stimecmp = 0x14d, satp = 0x180;
}
constexpr uint64_t kMenvcfgStce = uint64_t{1} << 63;
// What OpenSBI delegates and more: no M-mode trap handler exists behind the SBI, so every
// exception but the S-mode ECALL (handled here) and M-mode ones goes to the kernel.
constexpr uint64_t kDelegatedExceptions = 0xb1ff;  // causes 0-8, 12, 13, 15
constexpr uint64_t kDelegatedInterrupts = (1u << 1) | (1u << 5) | (1u << 9);

// The legacy and DBCN console limit: one call writes at most this much (the caller loops).
constexpr uint64_t kMaxConsoleChunk = 4096;

}  // namespace

Sbi::Sbi(const vm::GuestMemory& memory, std::span<riscv::Hart* const> harts, vm::StopLatch& exit,
         Console console)
    : memory_(memory),
      harts_(harts),
      exit_(exit),
      console_(std::move(console)),
      hsm_(harts.size()) {
    if (!hsm_.empty()) hsm_[0].state = HartState::started;
}

void Sbi::enter_supervisor(riscv::Hart& hart, uint64_t entry, uint64_t opaque) {
    hart.reset(entry, riscv::Priv::supervisor);
    hart.write_csr_as_firmware(csr::medeleg, kDelegatedExceptions);
    hart.write_csr_as_firmware(csr::mideleg, kDelegatedInterrupts);
    // cycle, time and instret readable in S-mode (mcounteren) and, as OpenSBI leaves them, in
    // U-mode (scounteren): Linux writes scounteren only from its SBI PMU driver, and without that
    // the vDSO's clock_gettime, which reads `time` in U-mode, would trap.
    hart.write_csr_as_firmware(csr::mcounteren, 7);
    hart.write_csr_as_firmware(csr::scounteren, 7);
    hart.write_csr_as_firmware(csr::menvcfg, kMenvcfgStce);
    hart.write_csr_as_firmware(csr::stimecmp, ~uint64_t{0});
    hart.write_csr_as_firmware(csr::satp, 0);
    hart.set_reg(10, hart.hart_id());
    hart.set_reg(11, opaque);
}

bool Sbi::wait_for_start(unsigned hart_index) {
    std::unique_lock lock(mutex_);
    started_cv_.wait(lock, [&] {
        return shutting_down_ || hsm_[hart_index].state == HartState::start_pending ||
               hsm_[hart_index].state == HartState::started;
    });
    if (shutting_down_) return false;
    riscv::Hart& hart = *harts_[hart_index];
    if (hsm_[hart_index].state == HartState::start_pending) {
        hart.clear_stop();
        enter_supervisor(hart, hsm_[hart_index].entry, hsm_[hart_index].opaque);
        hsm_[hart_index].state = HartState::started;
    }
    return true;
}

void Sbi::hart_returned(unsigned hart_index) {
    std::lock_guard lock(mutex_);
    if (!shutting_down_) hsm_[hart_index].state = HartState::stopped;
}

void Sbi::shut_down() {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (riscv::Hart* hart : harts_)
        hart->request_stop();
    started_cv_.notify_all();
}

std::optional<std::vector<unsigned>> Sbi::targets(uint64_t mask, uint64_t mask_base) const {
    std::vector<unsigned> result;
    if (mask_base == ~uint64_t{0}) {  // "all harts"
        for (unsigned i = 0; i < harts_.size(); ++i)
            result.push_back(i);
        return result;
    }
    for (unsigned bit = 0; bit < 64; ++bit) {
        if (!((mask >> bit) & 1)) continue;
        uint64_t hart = mask_base + bit;
        if (hart < mask_base || hart >= harts_.size()) return std::nullopt;
        result.push_back(static_cast<unsigned>(hart));
    }
    return result;
}

void Sbi::flush(riscv::Hart& caller, const std::vector<unsigned>& harts, bool code) {
    std::vector<std::pair<riscv::Hart*, uint64_t>> pending;
    for (unsigned index : harts) {
        riscv::Hart& target = *harts_[index];
        // The caller is inside an ECALL on its own thread: it may drop its own caches now (as
        // fence.i does); other harts drop theirs at their next block boundary.
        if (&target == &caller) {
            if (code)
                caller.flush_all_caches();
            else
                caller.flush_translations();
        } else {
            pending.emplace_back(&target, target.request_flush(code));
        }
    }
    // The guest reuses the pages as soon as the call returns, so wait for every target (a
    // target serves requests within one block, or at once from WFI). Serving our own requests
    // meanwhile keeps two harts that fence each other from waiting forever.
    for (auto [target, ticket] : pending) {
        while (!target->flush_done(ticket)) {
            caller.serve_flush_requests();
            std::this_thread::yield();
        }
    }
}

Sbi::Return Sbi::base(uint64_t fid, uint64_t a0) {
    switch (fid) {
        case 0:
            return {kSuccess, kSpecVersion2};
        case 1:
            return {kSuccess, kImplId};
        case 2:
            return {kSuccess, kImplVersion};
        case 3:
            switch (a0) {
                case ext::base:
                case ext::time:
                case ext::ipi:
                case ext::rfence:
                case ext::hsm:
                case ext::srst:
                case ext::dbcn:
                    return {kSuccess, 1};
                default:
                    return {kSuccess, a0 <= 8 ? 1u : 0u};  // legacy 0x00-0x08
            }
        case 4:  // mvendorid, marchid, mimpid: not a commercial implementation
        case 5:
        case 6:
            return {kSuccess, 0};
        default:
            return {kErrNotSupported, 0};
    }
}

Sbi::Return Sbi::ipi(uint64_t mask, uint64_t mask_base) {
    auto harts = targets(mask, mask_base);
    if (!harts) return {kErrInvalidParam, 0};
    for (unsigned index : *harts)
        harts_[index]->post_supervisor_software_interrupt();
    return {kSuccess, 0};
}

Sbi::Return Sbi::rfence(riscv::Hart& caller, uint64_t fid, uint64_t mask, uint64_t mask_base) {
    if (fid > 2) return {kErrNotSupported, 0};  // the hypervisor-extension fences
    auto harts = targets(mask, mask_base);
    if (!harts) return {kErrInvalidParam, 0};
    // The hart keeps no per-address or per-ASID state worth sparing: a full flush of what the
    // fence names is exact. Function 0 is remote fence.i; 1 and 2 are sfence.vma (with an ASID),
    // which leave decoded code alone (it is keyed by physical page).
    flush(caller, *harts, fid == 0);
    return {kSuccess, 0};
}

Sbi::Return Sbi::hsm(riscv::Hart& caller, uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2) {
    std::unique_lock lock(mutex_);
    switch (fid) {
        case 0: {  // hart_start(hartid, start_addr, opaque)
            if (a0 >= harts_.size()) return {kErrInvalidParam, 0};
            if (!memory_.find(a1, 2)) return {kErrInvalidAddress, 0};
            HsmSlot& slot = hsm_[a0];
            if (slot.state != HartState::stopped) return {kErrAlreadyAvailable, 0};
            slot = {HartState::start_pending, a1, a2};
            started_cv_.notify_all();
            return {kSuccess, 0};
        }
        case 1:  // hart_stop(): run() returns on this thread after the ECALL
            hsm_[caller.hart_id()].state = HartState::stop_pending;
            caller.request_stop();
            return {kSuccess, 0};
        case 2:
            if (a0 >= harts_.size()) return {kErrInvalidParam, 0};
            return {kSuccess, static_cast<uint64_t>(hsm_[a0].state)};
        case 3: {  // hart_suspend(type, resume_addr, opaque)
            uint32_t type = static_cast<uint32_t>(a0);
            if (a0 != type) return {kErrInvalidParam, 0};
            // Retentive suspend may return as soon as an interrupt could be pending: returning
            // at once is the allowed early wake-up (the kernel then WFIs, which sleeps here).
            if (type == 0) return {kSuccess, 0};
            if (type < 0x10000000 || (type >= 0x80000000 && type < 0x90000000))
                return {kErrNotSupported, 0};
            return {kErrInvalidParam, 0};
        }
        default:
            return {kErrNotSupported, 0};
    }
}

Sbi::Return Sbi::srst(riscv::Hart& caller, uint64_t type, uint64_t reason) {
    if (type > 2 || reason > 1) return {kErrInvalidParam, 0};
    caller.request_stop();  // a successful reset never returns to the kernel
    if (reason == 1)
        exit_.request(vm::exit_code::crashed);
    else
        exit_.request(type == 0 ? vm::exit_code::powered_off : vm::exit_code::reboot);
    return {kSuccess, 0};
}

Sbi::Return Sbi::dbcn(uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2) {
    if (fid == 2) {
        console_.write(static_cast<uint8_t>(a0));
        return {kSuccess, 0};
    }
    if (fid > 1) return {kErrNotSupported, 0};
    if (a2 != 0) return {kErrInvalidParam, 0};  // physical addresses above 2^64 do not exist
    uint64_t length = std::min(a0, kMaxConsoleChunk);
    uint8_t* bytes = memory_.host_pointer(a1, length);
    if (length && !bytes) return {kErrInvalidParam, 0};
    uint64_t done = 0;
    if (fid == 0) {
        for (; done < length; ++done)
            console_.write(bytes[done]);
    } else {
        for (; done < length; ++done) {
            int byte = console_.read ? console_.read() : -1;
            if (byte < 0) break;
            bytes[done] = static_cast<uint8_t>(byte);
        }
    }
    return {kSuccess, done};
}

bool Sbi::legacy(riscv::Hart& hart, uint64_t eid) {
    uint64_t a0 = hart.reg(10);
    switch (eid) {
        case 0:
            hart.write_csr_as_firmware(csr::stimecmp, a0);
            hart.set_reg(10, 0);
            return true;
        case 1:
            console_.write(static_cast<uint8_t>(a0));
            hart.set_reg(10, 0);
            return true;
        case 2:
            hart.set_reg(10, static_cast<uint64_t>(console_.read ? console_.read() : -1));
            return true;
        case 3:  // clear_ipi: the kernel clears sip.SSIP itself
            hart.set_reg(10, 0);
            return true;
        case 4:  // send_ipi(const unsigned long* hart_mask): the mask is a virtual address;
        case 5:  // delivering to every hart is a superset the kernel tolerates (IPIs and fences
        case 6:  // are idempotent), and it needs no guest page-table walk here.
        case 7: {
            auto all = *targets(0, ~uint64_t{0});
            if (eid == 4)
                for (unsigned index : all)
                    harts_[index]->post_supervisor_software_interrupt();
            else
                flush(hart, all, eid == 5);  // 5: legacy remote fence.i; 6, 7: sfence.vma
            hart.set_reg(10, 0);
            return true;
        }
        case 8:
            hart.request_stop();
            exit_.request(vm::exit_code::powered_off);
            hart.set_reg(10, 0);
            return true;
        default:
            hart.set_reg(10, static_cast<uint64_t>(kErrNotSupported));
            return true;
    }
}

bool Sbi::handle_ecall(riscv::Hart& hart) {
    uint64_t eid = hart.reg(17), fid = hart.reg(16);
    uint64_t a0 = hart.reg(10), a1 = hart.reg(11), a2 = hart.reg(12);
    if (eid <= ext::legacy_last) return legacy(hart, eid);
    Return result{kErrNotSupported, 0};
    switch (eid) {
        case ext::base:
            result = base(fid, a0);
            break;
        case ext::time:
            if (fid == 0) {
                hart.write_csr_as_firmware(csr::stimecmp, a0);
                result = {kSuccess, 0};
            }
            break;
        case ext::ipi:
            if (fid == 0) result = ipi(a0, a1);
            break;
        case ext::rfence:
            result = rfence(hart, fid, a0, a1);
            break;
        case ext::hsm:
            result = hsm(hart, fid, a0, a1, a2);
            break;
        case ext::srst:
            if (fid == 0) result = srst(hart, a0, a1);
            break;
        case ext::dbcn:
            result = dbcn(fid, a0, a1, a2);
            break;
        default:
            break;
    }
    hart.set_reg(10, static_cast<uint64_t>(result.error));
    hart.set_reg(11, result.value);
    return true;
}

}  // namespace vessel::riscv_virt
