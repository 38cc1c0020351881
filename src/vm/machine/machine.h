// What every VM has whichever engine runs it: one stop latch, one host console (routed to the
// UART or to virtio-console), the devices' I/O thread, the virtio devices the config asks for, and
// one run loop (vCPU threads, time-out, orderly stop). A board (the RISC-V virt board, the x86 KVM
// machine) lays out guest RAM, loads the guest, builds its engine, says where virtio devices go,
// and hands over to run().
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "base/error.h"
#include "base/log.h"
#include "vm/boot/vm_config.h"
#include "vm/devices/bus.h"
#include "vm/devices/event_loop.h"
#include "vm/devices/host_console.h"
#include "vm/machine/engine.h"
#include "vm/machine/sandbox.h"
#include "vm/machine/stop_latch.h"
#include "vm/memory/guest_memory.h"

namespace vessel::vm {

namespace virtio {
class VirtioDevice;
class MmioTransport;
class ConsoleDevice;
}  // namespace virtio

// Where one virtio-mmio device goes on a board: its window and its interrupt line's number.
struct VirtioSlot {
    uint64_t base;
    unsigned irq;
};

class Machine {
  public:
    // Opens the host console (before any thread starts: it blocks the stop signals for all of
    // them) and the devices' I/O loop, whose thread run() starts. A `sandbox` (not owned, may be
    // null) is entered by run() before it starts any thread, and confines each thread it starts.
    static Result<std::unique_ptr<Machine>> create(const VmConfig& config, const Logger& log,
                                                   Sandbox* sandbox = nullptr);
    ~Machine();

    StopLatch& stop_latch() { return stop_; }
    // Where the board's UART sends what the guest writes.
    void console_write(uint8_t byte) const { console_.write(byte); }

    // Creates the config's virtio devices and opens their host sides (a missing disk, a TAP that
    // does not exist, a socket in use: one error naming the option), then attaches each behind a
    // virtio-mmio transport at the next of `slots` on `mmio`, in the order disks, NICs, vsock,
    // rng, console. Returns the slots used, for the board to describe to the guest.
    Result<std::vector<VirtioSlot>> attach_virtio_devices(const GuestMemory& memory, Bus& mmio,
                                                          Engine& engine,
                                                          std::span<const VirtioSlot> slots);

    // Runs the engine's vCPUs until the guest stops, the host stops it (a signal, Ctrl-A x) or
    // the config's time-out passes; returns the exit status (exit_code::...). Host console input
    // goes to `uart_input` unless the console device is virtio-console.
    int run(Engine& engine, std::function<size_t(std::span<const uint8_t>)> uart_input);

    // Stops the devices and the I/O thread (run() does it once the vCPUs are done). The devices
    // reference the board's own parts (guest RAM, the interrupt controller): a board keeps a
    // Teardown declared after those, so that however it returns, the devices stop first.
    void stop_devices();
    struct Teardown {
        explicit Teardown(Machine& owner) : machine(owner) {}
        Teardown(const Teardown&) = delete;
        Machine& machine;
        ~Teardown() { machine.stop_devices(); }
    };

  private:
    Machine(const VmConfig& config, const Logger& log, Sandbox* sandbox, HostConsole console,
            std::unique_ptr<EventLoop> io);
    // What run() does once the sandbox is in place and before the vCPUs start.
    Result<> start_host_threads(std::function<size_t(std::span<const uint8_t>)> uart_input);
    std::function<void()> confine_as(ThreadRole role);
    Result<std::unique_ptr<virtio::VirtioDevice>> make_device(size_t index);

    const VmConfig& config_;
    const Logger& log_;
    Sandbox* sandbox_;
    StopLatch stop_;
    HostConsole console_;
    std::unique_ptr<EventLoop> io_;
    std::vector<std::unique_ptr<virtio::VirtioDevice>> devices_;
    std::vector<std::unique_ptr<virtio::MmioTransport>> transports_;
    virtio::ConsoleDevice* virtio_console_ = nullptr;
};

}  // namespace vessel::vm
