// A 16550A UART, as Linux's 8250 driver drives it: divisor latch, FIFO control, loopback, line and
// modem status, and the RX-data / THR-empty interrupts. It knows nothing about the CPU engine: the
// RISC-V board maps it at MMIO 0x10000000 (IRQ 10), the KVM machine at port 0x3f8 (IRQ 4).
// Transmitted bytes go to a host callback at once (the line never backs up); received bytes come
// from the host through receive().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

#include "vm/devices/bus_device.h"

namespace vessel::vm {

class Uart16550 : public BusDevice {
  public:
    static constexpr uint64_t kWindowSize = 8;
    static constexpr size_t kFifoSize = 16;

    using Output = std::function<void(uint8_t)>;

    // `irq` may be null (polled use); it is not owned and must outlive the device.
    Uart16550(Output output, InterruptLine* irq);

    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;

    // Host input: queues as many bytes as the receive FIFO has room for and returns that count.
    // The caller keeps the rest and retries after the guest drains the FIFO (rx_space() > 0).
    size_t receive(std::span<const uint8_t> bytes);
    size_t rx_space() const;

  private:
    uint8_t read_locked(unsigned reg);
    void write_locked(unsigned reg, uint8_t value);
    void transmit_locked(uint8_t byte);
    uint8_t interrupt_id_locked() const;
    void update_irq_locked();

    Output output_;
    InterruptLine* irq_;

    mutable std::mutex mutex_;
    std::deque<uint8_t> rx_fifo_;
    uint16_t divisor_ = 12;  // 9600 baud from the 1.8432 MHz clock, the PC default
    uint8_t ier_ = 0;
    uint8_t lcr_ = 0x03;
    uint8_t mcr_ = 0;
    uint8_t scr_ = 0;
    uint8_t fcr_ = 0;
    bool overrun_ = false;
    bool thre_pending_ = false;
    bool irq_level_ = false;
};

}  // namespace vessel::vm
