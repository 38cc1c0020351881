// virtio-rng request handling: any chain the guest offers is filled from the host's entropy or
// breaks the queue; nothing is written outside the chain's device-writable buffers.
#include "virtio_harness.h"
#include "vm/devices/virtio/rng.h"

using namespace vessel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    vm::virtio::RngDevice device;
    auto harness = fuzz::VirtioHarness::create(device, input);
    harness->run();
    return 0;
}
