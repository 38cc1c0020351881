// The 16550A UART's registers as a guest driver reaches them: a sequence of (offset, size, value,
// read or write) accesses and host input, decoded from the input. The interrupt line must follow
// what the registers say, and the receive FIFO never holds more than its 16 bytes.
#include <cstdlib>

#include "fuzz_input.h"
#include "vm/devices/uart16550.h"

using namespace vessel;

namespace {

class Line final : public vm::InterruptLine {
  public:
    void set_level(bool asserted) override { level = asserted; }
    bool level = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    Line line;
    size_t transmitted = 0;
    vm::Uart16550 uart([&](uint8_t) { ++transmitted; }, &line);
    while (!input.empty()) {
        uint8_t op = input.take<uint8_t>();
        uint64_t offset = op & 0xf;  // the window is 8 bytes: half the offsets fall outside it
        unsigned width = 1u << ((op >> 4) & 3);
        switch (op >> 6) {
            case 0: {
                bool level = line.level;
                uint64_t value = uart.read(offset, width);
                // IIR bit 0 clear means an interrupt is pending: the line must have agreed.
                if (offset == 2 && width == 1 && ((value & 1) == 0) != level) std::abort();
                break;
            }
            case 1:
            case 2:
                uart.write(offset, width, input.take<uint64_t>());
                break;
            case 3: {
                auto bytes = input.take_bytes(input.take<uint8_t>() % 24);
                size_t space = uart.rx_space();
                size_t taken = uart.receive(bytes);
                if (taken > space || taken > bytes.size()) std::abort();
                break;
            }
        }
        if (uart.rx_space() > vm::Uart16550::kFifoSize) std::abort();
    }
    return 0;
}
