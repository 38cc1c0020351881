// The emulated RISC-V harts of one machine as a DebugTarget, all-stop: when one hart stops for the
// debugger (a breakpoint, a watchpoint, a finished step) the others are halted before the debugger
// hears of it, and resume() lets them all go. A stopped hart waits on its own thread inside
// hart_stopped(); the debugger's thread reads and writes its state meanwhile.
//
// Software breakpoints (Z0) are the harts' own list, checked before each instruction on their debug
// path: guest memory is never patched. Hardware breakpoints and watchpoints (Z1-Z4) take free
// triggers of each hart's trigger module with dmode=1 and action 1, so the guest cannot change
// them and sees them as taken.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "base/unique_fd.h"
#include "vm/debug/debug_target.h"
#include "vm/machine/stop_latch.h"
#include "vm/riscv/hart.h"

namespace vessel::debug {

class RiscvTarget final : public DebugTarget, private riscv::DebugListener {
  public:
    // gdb's numbers for the registers the description lists.
    static constexpr unsigned kPc = 32, kFirstFp = 33, kFflags = 66, kFrm = 67, kFcsr = 68,
                              kFirstCsr = 65, kPriv = 4161;

    // Becomes the harts' debug listener; `stop` is the machine's, for kill and the exit status.
    static Result<std::unique_ptr<RiscvTarget>> create(std::span<riscv::Hart* const> harts,
                                                       vm::StopLatch& stop);
    ~RiscvTarget() override;
    RiscvTarget(const RiscvTarget&) = delete;
    RiscvTarget& operator=(const RiscvTarget&) = delete;

    // --gdb-wait: every hart stops before its first instruction.
    void hold_at_start();
    // The machine is ending (after its stop latch was set): stopped harts are let go for good,
    // and a debugger waiting for a stop hears the exit status.
    void shut_down();

    unsigned thread_count() const override { return static_cast<unsigned>(harts_.size()); }
    const std::string& target_xml() const override { return xml_; }
    std::span<const unsigned> g_registers() const override { return g_registers_; }
    std::optional<std::vector<uint8_t>> read_register(unsigned thread, unsigned regnum) override;
    bool write_register(unsigned thread, unsigned regnum, std::span<const uint8_t> bytes) override;
    bool set_pc(unsigned thread, uint64_t address) override;
    size_t read_memory(unsigned thread, uint64_t address, std::span<uint8_t> out) override;
    size_t write_memory(unsigned thread, uint64_t address, std::span<const uint8_t> bytes) override;
    Result<> insert_breakpoint(BreakpointKind kind, uint64_t address, uint64_t length) override;
    Result<> remove_breakpoint(BreakpointKind kind, uint64_t address, uint64_t length) override;
    std::string thread_description(unsigned thread) override;
    void resume(std::span<const ResumeMode> modes) override;
    void halt() override;
    std::optional<StopEvent> interrupt() override;
    int stop_fd() const override { return event_fd_.get(); }
    std::optional<StopEvent> take_stop() override;
    void detach() override;
    void kill() override;

  private:
    // A Z1-Z4 point: the triggers it holds on each hart (the same count on every hart).
    struct TriggerPoint {
        BreakpointKind kind;
        uint64_t address;
        uint64_t length;
        std::vector<unsigned> first;  // per hart
        unsigned count;
    };

    RiscvTarget(std::span<riscv::Hart* const> harts, vm::StopLatch& stop, UniqueFd event_fd);
    void hart_stopped(riscv::Hart& hart, const riscv::DebugStop& stop) override;
    // Halts every hart and waits until each is stopped or outside run(). Holds mutex_.
    void halt_all(std::unique_lock<std::mutex>& lock);
    StopEvent event_for(unsigned thread, const riscv::DebugStop& stop) const;
    void push_software_breakpoints();
    void drain_event_fd();

    std::vector<riscv::Hart*> harts_;
    vm::StopLatch& stop_;
    UniqueFd event_fd_;
    std::string xml_;
    std::vector<unsigned> g_registers_;

    std::mutex mutex_;
    std::condition_variable changed_;
    // A hart is stopped when it parked in the current generation; resume() starts a new one.
    uint64_t generation_ = 0;
    std::vector<uint64_t> parked_in_;  // per hart: generation + 1 it parked in, 0 = running
    std::optional<StopEvent> event_;
    bool shut_down_ = false;

    // Only touched by the debugger's thread while every hart is stopped.
    std::vector<uint64_t> software_breakpoints_;
    std::vector<TriggerPoint> trigger_points_;
};

}  // namespace vessel::debug
