// The SBI (RISC-V Supervisor Binary Interface) implemented inside the VMM: the hypercall interface
// of a kernel started directly in S-mode. The hart hands every S-mode ECALL here instead of
// trapping to M-mode. Extensions: BASE, TIME, IPI, RFENCE, HSM, SRST, DBCN and the legacy 0.1
// calls. Every argument is guest-controlled: hart ids and masks are range-checked and memory goes
// through GuestMemory, so no call can touch anything outside the guest.
//
// The implementation id is kImplId ("VESL" in ASCII), not one the SBI specification assigns.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "vm/machine/stop_latch.h"
#include "vm/memory/guest_memory.h"
#include "vm/riscv/hart.h"

namespace vessel::riscv_virt {

class Sbi : public riscv::EcallHandler {
  public:
    static constexpr uint64_t kImplId = 0x5645534c;
    static constexpr uint64_t kImplVersion = 1;

    enum class HartState : int { started = 0, stopped = 1, start_pending = 2, stop_pending = 3 };

    struct Console {
        std::function<void(uint8_t)> write;
        std::function<int()> read;  // a byte, or -1 when there is none
    };

    // Hart 0 is started; the others wait for HSM hart_start.
    Sbi(const vm::GuestMemory& memory, std::span<riscv::Hart* const> harts, vm::StopLatch& exit,
        Console console);

    bool handle_ecall(riscv::Hart& hart) override;

    // Sets up a hart's M-mode state as firmware would before entering S-mode at `entry` with
    // a0 = hartid, a1 = `opaque` (the kernel's view: delegated traps, counters, Sstc).
    static void enter_supervisor(riscv::Hart& hart, uint64_t entry, uint64_t opaque);

    // A hart's host thread: blocks until the hart is started (true, the hart has been set up to
    // run) or the machine shuts down (false).
    bool wait_for_start(unsigned hart_index);
    // After run() returned on a hart's thread: the hart is stopped unless the machine is ending.
    void hart_returned(unsigned hart_index);
    // Ends every hart's run() and wakes the threads waiting to start.
    void shut_down();

  private:
    struct Return {
        int64_t error;
        uint64_t value;
    };
    Return base(uint64_t fid, uint64_t a0);
    Return ipi(uint64_t mask, uint64_t mask_base);
    Return rfence(riscv::Hart& caller, uint64_t fid, uint64_t mask, uint64_t mask_base);
    Return hsm(riscv::Hart& caller, uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2);
    Return srst(riscv::Hart& caller, uint64_t type, uint64_t reason);
    Return dbcn(uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2);
    bool legacy(riscv::Hart& hart, uint64_t eid);
    // The harts a (mask, base) pair names; nullopt when it names one that does not exist.
    std::optional<std::vector<unsigned>> targets(uint64_t mask, uint64_t mask_base) const;
    // `code`: decoded instructions too (remote fence.i), not only translations (sfence.vma).
    void flush(riscv::Hart& caller, const std::vector<unsigned>& harts, bool code);

    const vm::GuestMemory& memory_;
    std::span<riscv::Hart* const> harts_;
    vm::StopLatch& exit_;
    Console console_;

    std::mutex mutex_;  // HSM state
    std::condition_variable started_cv_;
    struct HsmSlot {
        HartState state = HartState::stopped;
        uint64_t entry = 0;
        uint64_t opaque = 0;
    };
    std::vector<HsmSlot> hsm_;
    bool shutting_down_ = false;
};

}  // namespace vessel::riscv_virt
