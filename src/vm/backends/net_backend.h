// The host side of a virtio-net NIC: where its frames go and come from. A TAP carries the virtio
// net header with each frame (so checksum and segmentation offloads pass straight through to the
// host kernel); the user-mode backend (libslirp) takes and gives plain Ethernet frames.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <span>

#include "base/error.h"

namespace vessel::vm {

class NetBackend {
  public:
    virtual ~NetBackend() = default;
    // Whether each frame starts with the 12-byte virtio_net_hdr (virtio 1.x, num_buffers
    // included) in both directions.
    virtual bool vnet_header() const = 0;
    // Readable when frames wait for the guest (for the devices' I/O thread).
    virtual int receive_fd() const = 0;
    // One frame into `buffers`: its length, or 0 when none waits. A frame longer than the buffers
    // is cut to fit (the caller sizes them for the largest frame it accepts).
    virtual Result<size_t> receive(std::span<const iovec> buffers) = 0;
    // One frame (a full host queue drops it, as a NIC would).
    virtual Result<> send(std::span<const iovec> frame) = 0;
    // What the guest accepts from the host: partial checksums, and TCP segments up to 64 KiB.
    virtual Result<> set_offloads(bool checksum, bool tso4, bool tso6, bool ecn) = 0;
};

}  // namespace vessel::vm
