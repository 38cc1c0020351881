#include "vm/devices/uart16550.h"

namespace vessel::vm {

namespace {

// Register numbers (offsets in the 8-byte window).
constexpr unsigned kRbrThr = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6,
                   kScr = 7;

constexpr uint8_t kIerRxData = 0x01, kIerThre = 0x02, kIerLineStatus = 0x04;
constexpr uint8_t kIirNoInterrupt = 0x01, kIirLineStatus = 0x06, kIirRxData = 0x04, kIirThre = 0x02,
                  kIirFifoEnabled = 0xc0;
constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02;
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10;
constexpr uint8_t kLsrDataReady = 0x01, kLsrOverrun = 0x02, kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;

}  // namespace

Uart16550::Uart16550(Output output, InterruptLine* irq) : output_(std::move(output)), irq_(irq) {}

uint64_t Uart16550::read(uint64_t offset, unsigned size) {
    if (offset >= kWindowSize || size != 1) return 0;
    std::lock_guard lock(mutex_);
    uint8_t value = read_locked(static_cast<unsigned>(offset));
    update_irq_locked();
    return value;
}

void Uart16550::write(uint64_t offset, unsigned size, uint64_t value) {
    if (offset >= kWindowSize || size != 1) return;
    std::lock_guard lock(mutex_);
    write_locked(static_cast<unsigned>(offset), static_cast<uint8_t>(value));
    update_irq_locked();
}

size_t Uart16550::receive(std::span<const uint8_t> bytes) {
    std::lock_guard lock(mutex_);
    // In loopback the receiver hears only the transmitter, as on the real chip.
    if (mcr_ & kMcrLoop) return 0;
    size_t taken = 0;
    while (taken < bytes.size() && rx_fifo_.size() < kFifoSize)
        rx_fifo_.push_back(bytes[taken++]);
    update_irq_locked();
    return taken;
}

size_t Uart16550::rx_space() const {
    std::lock_guard lock(mutex_);
    return kFifoSize - rx_fifo_.size();
}

uint8_t Uart16550::read_locked(unsigned reg) {
    switch (reg) {
        case kRbrThr: {
            if (lcr_ & kLcrDlab) return static_cast<uint8_t>(divisor_);
            if (rx_fifo_.empty()) return 0;
            uint8_t byte = rx_fifo_.front();
            rx_fifo_.pop_front();
            return byte;
        }
        case kIer:
            if (lcr_ & kLcrDlab) return static_cast<uint8_t>(divisor_ >> 8);
            return ier_;
        case kIirFcr: {
            uint8_t id = interrupt_id_locked();
            // Reading IIR acknowledges a THR-empty interrupt (the 8250 driver relies on it).
            if (id == kIirThre) thre_pending_ = false;
            return id | ((fcr_ & kFcrEnable) ? kIirFifoEnabled : 0);
        }
        case kLcr:
            return lcr_;
        case kMcr:
            return mcr_;
        case kLsr: {
            uint8_t lsr = kLsrThre | kLsrTemt;
            if (!rx_fifo_.empty()) lsr |= kLsrDataReady;
            if (overrun_) lsr |= kLsrOverrun;
            overrun_ = false;  // reading LSR clears the error bits
            return lsr;
        }
        case kMsr:
            if (mcr_ & kMcrLoop) {
                uint8_t msr = 0;
                if (mcr_ & kMcrRts) msr |= kMsrCts;
                if (mcr_ & kMcrDtr) msr |= kMsrDsr;
                if (mcr_ & kMcrOut1) msr |= kMsrRi;
                if (mcr_ & kMcrOut2) msr |= kMsrDcd;
                return msr;
            }
            return kMsrDcd | kMsrDsr | kMsrCts;  // a host console is always connected
        case kScr:
            return scr_;
    }
    return 0;
}

void Uart16550::write_locked(unsigned reg, uint8_t value) {
    switch (reg) {
        case kRbrThr:
            if (lcr_ & kLcrDlab) {
                divisor_ = static_cast<uint16_t>((divisor_ & 0xff00) | value);
                return;
            }
            transmit_locked(value);
            return;
        case kIer:
            if (lcr_ & kLcrDlab) {
                divisor_ = static_cast<uint16_t>((divisor_ & 0x00ff) | (value << 8));
                return;
            }
            // Enabling the THR-empty interrupt while the holding register is empty raises it at
            // once; Linux's THRE probe at start-up checks exactly that.
            if ((value & kIerThre) && !(ier_ & kIerThre)) thre_pending_ = true;
            ier_ = value & 0x0f;
            return;
        case kIirFcr:
            if (value & kFcrClearRx) rx_fifo_.clear();
            fcr_ = value & ~0x06;  // the clear bits are self-clearing
            return;
        case kLcr:
            lcr_ = value;
            return;
        case kMcr:
            mcr_ = value & 0x1f;
            return;
        case kScr:
            scr_ = value;
            return;
        default:  // LSR and MSR are read-only
            return;
    }
}

void Uart16550::transmit_locked(uint8_t byte) {
    if (mcr_ & kMcrLoop) {
        if (rx_fifo_.size() < kFifoSize)
            rx_fifo_.push_back(byte);
        else
            overrun_ = true;
    } else if (output_) {
        output_(byte);
    }
    // The byte leaves at once, so the holding register is empty again.
    thre_pending_ = true;
}

uint8_t Uart16550::interrupt_id_locked() const {
    if ((ier_ & kIerLineStatus) && overrun_) return kIirLineStatus;
    if ((ier_ & kIerRxData) && !rx_fifo_.empty()) return kIirRxData;
    if ((ier_ & kIerThre) && thre_pending_) return kIirThre;
    return kIirNoInterrupt;
}

void Uart16550::update_irq_locked() {
    bool level = interrupt_id_locked() != kIirNoInterrupt;
    if (level == irq_level_) return;
    irq_level_ = level;
    if (irq_) irq_->set_level(level);
}

}  // namespace vessel::vm
