// virtio-blk request handling: guest RAM and the request queue's rings from the input, a 64 KiB
// raw disk (a memfd through the real raw-file backend), read-only or not. Whatever the requests
// say, the device answers each with a status or breaks the queue; no access leaves guest RAM or
// the disk.
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "base/unique_fd.h"
#include "virtio_harness.h"
#include "vm/backends/raw_file.h"
#include "vm/devices/virtio/blk.h"

using namespace vessel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    bool read_only = input.take<uint8_t>() & 1;
    UniqueFd disk(::memfd_create("fuzz-disk", MFD_CLOEXEC));
    if (!disk || ::ftruncate(disk.get(), 64 * 1024) != 0) std::abort();
    auto backend =
        vm::RawFileBackend::open("/proc/self/fd/" + std::to_string(disk.get()), read_only);
    if (!backend) std::abort();
    vm::virtio::BlockDevice device(std::move(*backend), "fuzz-serial", "virtio-blk fuzz");
    // The config space is the guest's to read at any offset and size.
    for (unsigned offset = 0; offset < 64; offset += 4)
        (void)device.read_config(offset, 1u << (offset % 4));
    auto harness = fuzz::VirtioHarness::create(device, input);
    harness->run();
    return 0;
}
