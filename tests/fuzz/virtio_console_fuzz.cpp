// virtio-console request handling: guest RAM and both queues' rings from the input, and host input
// waiting for the guest (from the input too). What the guest transmits reaches the host output
// whole; host input lands only in the guest's device-writable buffers.
#include "virtio_harness.h"
#include "vm/devices/virtio/console.h"

using namespace vessel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    auto typed = input.take_bytes(input.take<uint8_t>());
    size_t output = 0;
    auto device = vm::virtio::ConsoleDevice::create(
        [&](std::span<const uint8_t> bytes) { output += bytes.size(); });
    if (!device) std::abort();
    if ((*device)->receive(typed) != typed.size()) std::abort();  // far below the buffer's size
    for (unsigned offset = 0; offset < 16; ++offset)
        (void)(*device)->read_config(offset, 1u << (offset % 4));
    auto harness = fuzz::VirtioHarness::create(**device, input);
    harness->run();
    return 0;
}
