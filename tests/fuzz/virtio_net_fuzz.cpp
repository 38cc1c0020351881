// virtio-net request handling: guest RAM and both queues' rings from the input, frames from the
// "host" (a SOCK_SEQPACKET pair keeps frame boundaries, as a TAP does) also from the input, with
// and without the virtio net header. Received frames land only in device-writable guest buffers,
// transmitted chains reach the backend whole or not at all.
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/unique_fd.h"
#include "virtio_harness.h"
#include "vm/devices/virtio/net.h"

using namespace vessel;

namespace {

// The host's end of the NIC: frames both ways over a socket pair.
class PairBackend final : public vm::NetBackend {
  public:
    PairBackend(int fd, bool header) : fd_(fd), header_(header) {}
    bool vnet_header() const override { return header_; }
    int receive_fd() const override { return fd_; }
    Result<size_t> receive(std::span<const iovec> buffers) override {
        ssize_t got = ::readv(fd_, buffers.data(), static_cast<int>(buffers.size()));
        if (got < 0 && errno == EAGAIN) return size_t{0};
        if (got < 0) return fail_errno("readv");
        return static_cast<size_t>(got);
    }
    Result<> send(std::span<const iovec> frame) override {
        size_t total = 0;
        for (const auto& part : frame)
            total += part.iov_len;
        // The device promises frames no larger than it offers to take.
        if (total > (header_ ? 12 : 0) + vm::virtio::NetDevice::kMaxFrame) std::abort();
        if (::writev(fd_, frame.data(), static_cast<int>(frame.size())) < 0 && errno != EAGAIN &&
            errno != ENOBUFS && errno != EMSGSIZE)
            return fail_errno("writev");
        return {};
    }
    Result<> set_offloads(bool, bool, bool, bool) override { return {}; }

  private:
    int fd_;
    bool header_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    uint8_t options = input.take<uint8_t>();
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
        std::abort();
    UniqueFd host(fds[0]), device_end(fds[1]);
    // Up to three frames wait for the guest, each of a length the input gives.
    for (int i = 0; i < (options >> 1) % 4; ++i) {
        auto frame = input.take_bytes(input.take<uint16_t>() % 2048);
        (void)::send(host.get(), frame.data(), frame.size(), MSG_DONTWAIT);
    }
    vm::virtio::NetDevice device(std::make_unique<PairBackend>(device_end.get(), options & 1),
                                 {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, "virtio-net fuzz");
    for (unsigned offset = 0; offset < 12; ++offset)
        (void)device.read_config(offset, 1u << (offset % 4));
    auto harness = fuzz::VirtioHarness::create(device, input);
    harness->run();
    return 0;
}
