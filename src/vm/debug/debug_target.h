// What the GDB stub needs of a machine: its CPUs as threads, their registers, memory as each CPU
// sees it, breakpoints and watchpoints, and all-stop run control. The stub (gdb_stub.h) speaks the
// protocol over this interface only; riscv_target.h implements it for the emulated harts, and a
// test can implement it with a fake.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace vessel::debug {

// Why the target stopped, as the stub reports it to the debugger.
struct StopEvent {
    enum class Kind {
        interrupted,  // Ctrl-C or the debugger attaching (SIGINT)
        step,         // one instruction done (SIGTRAP)
        breakpoint,   // a software or hardware breakpoint (SIGTRAP)
        watch_write,  // a watchpoint on `address` (SIGTRAP)
        watch_read,
        watch_access,
        exited,  // the machine ended with `exit_code`
    };
    Kind kind = Kind::interrupted;
    unsigned thread = 0;  // CPU index; the protocol's thread id is index + 1
    uint64_t address = 0;
    int exit_code = 0;
};

// The Z/z packet types, in protocol order (Z0..Z4).
enum class BreakpointKind { software, hardware, write_watch, read_watch, access_watch };

// What a CPU does when the target resumes.
enum class ResumeMode { stay, run, step };

class DebugTarget {
  public:
    virtual ~DebugTarget() = default;

    virtual unsigned thread_count() const = 0;
    // The target description, qXfer:features:read:target.xml.
    virtual const std::string& target_xml() const = 0;
    // The registers of the 'g' packet, in order (debugger register numbers).
    virtual std::span<const unsigned> g_registers() const = 0;
    // A CPU's register in target byte order; nullopt: no such register.
    virtual std::optional<std::vector<uint8_t>> read_register(unsigned thread, unsigned regnum) = 0;
    // False for no such register, a read-only one, a wrong size or a value it cannot hold.
    virtual bool write_register(unsigned thread, unsigned regnum,
                                std::span<const uint8_t> bytes) = 0;
    // Where the CPU resumes ('c ADDR', 's ADDR').
    virtual bool set_pc(unsigned thread, uint64_t address) = 0;
    // Memory at virtual `address` through the CPU's current translation: the number of bytes
    // done, short at the first that is not accessible.
    virtual size_t read_memory(unsigned thread, uint64_t address, std::span<uint8_t> out) = 0;
    virtual size_t write_memory(unsigned thread, uint64_t address,
                                std::span<const uint8_t> bytes) = 0;
    virtual Result<> insert_breakpoint(BreakpointKind kind, uint64_t address, uint64_t length) = 0;
    virtual Result<> remove_breakpoint(BreakpointKind kind, uint64_t address, uint64_t length) = 0;
    // A line for qThreadExtraInfo, e.g. "hart 0, S-mode".
    virtual std::string thread_description(unsigned thread) = 0;

    // --- Run control, all-stop: every CPU is stopped whenever the stub handles a packet ---
    // Lets the CPUs go, each as `modes` says (one per thread).
    virtual void resume(std::span<const ResumeMode> modes) = 0;
    // Stops every CPU and waits until they have (the debugger attaching).
    virtual void halt() = 0;
    // halt() for Ctrl-C: the stop event that raced with it, if one did.
    virtual std::optional<StopEvent> interrupt() = 0;
    // A descriptor that polls readable while a stop event waits after resume(): a CPU stopped,
    // or the machine ended.
    virtual int stop_fd() const = 0;
    // That event, once every CPU has stopped; nullopt for a spurious wake-up.
    virtual std::optional<StopEvent> take_stop() = 0;
    // Removes every breakpoint and watchpoint and lets every CPU run (the debugger went away).
    virtual void detach() = 0;
    // Ends the machine (the debugger's kill).
    virtual void kill() = 0;
};

}  // namespace vessel::debug
