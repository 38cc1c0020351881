// The virtio-mmio transport's registers as a guest driver writes them, in any order and size:
// feature negotiation, queue set-up with any layout, status changes, resets, notifications and
// interrupt acknowledgements, decoded from the input over guest RAM. The device behind it is
// virtio-rng; the I/O thread is not started, so kicks only mark the queue's eventfd. The status
// the driver reads back never has DRIVER_OK without FEATURES_OK.
#include <cstdlib>

#include "base/log.h"
#include "fuzz_input.h"
#include "vm/devices/event_loop.h"
#include "vm/devices/virtio/mmio_transport.h"
#include "vm/devices/virtio/rng.h"

using namespace vessel;
using namespace vessel::vm::virtio;

namespace {

class Line final : public vm::InterruptLine {
  public:
    void set_level(bool asserted) override { level = asserted; }
    bool level = false;
};

constexpr uint64_t kRegisters[] = {mmio::magic,
                                   mmio::version_register,
                                   mmio::device_id,
                                   mmio::vendor,
                                   mmio::device_features,
                                   mmio::device_features_sel,
                                   mmio::driver_features,
                                   mmio::driver_features_sel,
                                   mmio::queue_sel,
                                   mmio::queue_num_max,
                                   mmio::queue_num,
                                   mmio::queue_ready,
                                   mmio::queue_notify,
                                   mmio::interrupt_status,
                                   mmio::interrupt_ack,
                                   mmio::status_register,
                                   mmio::queue_desc_low,
                                   mmio::queue_desc_high,
                                   mmio::queue_driver_low,
                                   mmio::queue_driver_high,
                                   mmio::queue_device_low,
                                   mmio::queue_device_high,
                                   mmio::shm_sel,
                                   mmio::shm_len_low,
                                   mmio::shm_len_high,
                                   mmio::config_generation,
                                   mmio::config};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    vm::RamLayout ram{0, 64 * 1024};
    auto memory = vm::GuestMemory::create(std::span(&ram, 1));
    auto loop = vm::EventLoop::create();
    if (!memory || !loop) std::abort();
    Logger log = Logger::borrowing(2, LogFormat::text, LogLevel::error);
    Line line;
    RngDevice device;
    auto transport = MmioTransport::create(device, *memory, line, **loop, log);
    if (!transport) std::abort();
    auto ops = input.take_bytes(input.take<uint16_t>() % 2048);
    // Guest RAM after the register operations.
    auto image = input.rest();
    if (!image.empty() && !memory->write(0, image.first(std::min<size_t>(image.size(), ram.size))))
        std::abort();
    fuzz::FuzzInput program(ops.data(), ops.size());
    while (!program.empty()) {
        uint8_t op = program.take<uint8_t>();
        uint64_t offset = (op & 0x80) ? program.take<uint16_t>() % 0x1000
                                      : kRegisters[(op & 0x7f) % std::size(kRegisters)];
        unsigned width = (op & 0x40) ? 1u << program.below(4) : 4;
        if (program.take<uint8_t>() & 1) {
            (*transport)->write(offset, width, program.take<uint32_t>());
        } else {
            (void)(*transport)->read(offset, width);
        }
        uint32_t status = (*transport)->status();
        if ((status & status::driver_ok) && !(status & status::features_ok)) std::abort();
    }
    return 0;
}
