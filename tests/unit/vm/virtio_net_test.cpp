// virtio-net on a stand-in backend (a SOCK_SEQPACKET pair keeps frame boundaries, as a TAP does):
// frames both ways with and without the virtio header, mergeable receive buffers, frames that wait
// for buffers or fit nowhere, the offloads the guest asked for; and libslirp's user-mode network
// answering a host port forward.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include "base/log.h"
#include "virtio_driver.h"
#include "vm/backends/slirp.h"
#include "vm/boot/device_options.h"
#include "vm/devices/virtio/net.h"

namespace vessel::vm::virtio {
namespace {

using testing::TestDriver;

class PairBackend : public NetBackend {
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
        if (::writev(fd_, frame.data(), static_cast<int>(frame.size())) < 0)
            return fail_errno("writev");
        return {};
    }
    Result<> set_offloads(bool checksum, bool tso4, bool tso6, bool ecn) override {
        offloads = {checksum, tso4, tso6, ecn};
        return {};
    }
    std::array<bool, 4> offloads{};

  private:
    int fd_;
    bool header_;
};

constexpr uint64_t kMergeable = 1ull << 15, kGuestChecksum = 1ull << 1, kGuestTso4 = 1ull << 7;

class NetTest : public ::testing::Test {
  protected:
    void bring_up(bool header, uint64_t features) {
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        host_ = UniqueFd(fds[0]);
        device_end_ = UniqueFd(fds[1]);
        auto backend = std::make_unique<PairBackend>(device_end_.get(), header);
        backend_ = backend.get();
        device_ = std::make_unique<NetDevice>(std::move(backend),
                                              parse_mac("52:54:00:12:34:56").value(), "net0");
        harness_.attach(*device_);
        harness_.negotiate(feature::version_1 | features);
        harness_.set_up_queue(0, rx_.layout());
        harness_.set_up_queue(1, tx_.layout());
        harness_.driver_ok();
    }
    void offer(uint16_t index, uint32_t size) {
        rx_.set_descriptor(index, {kRxBuffers + index * 0x1'0000u, size, descriptor::write, 0});
        rx_.make_available(index);
    }
    std::string frame_bytes(size_t n, char seed) {
        std::string frame(n, '\0');
        for (size_t i = 0; i < n; ++i)
            frame[i] = static_cast<char>(seed + i * 7);
        return frame;
    }
    std::string guest_bytes(uint64_t at, size_t n) {
        std::string bytes(n, '\0');
        EXPECT_TRUE(ram_.read(at, std::span(reinterpret_cast<uint8_t*>(bytes.data()), n)));
        return bytes;
    }

    GuestMemory ram_ = testing::make_ram();
    TestDriver rx_{ram_, 16, 0}, tx_{ram_, 16, 1};
    UniqueFd host_, device_end_;
    PairBackend* backend_ = nullptr;
    std::unique_ptr<NetDevice> device_;
    // After the device: the transport goes first.
    testing::TransportHarness harness_{ram_};
    static constexpr uint64_t kRxBuffers = TestDriver::kBuffers;
    static constexpr uint64_t kTxBuffers = TestDriver::kBuffers + 0x20'0000;
};

TEST_F(NetTest, ConfigHasTheMacAndTheLinkIsUp) {
    bring_up(true, 0);
    auto& transport = harness_.transport();
    EXPECT_EQ(transport.read(mmio::config, 4), 0x12005452u);
    EXPECT_EQ(transport.read(mmio::config + 4, 2), 0x5634u);
    EXPECT_EQ(transport.read(mmio::config + 6, 2), 1u);  // VIRTIO_NET_S_LINK_UP
    EXPECT_FALSE(parse_mac("01:00:5e:00:00:01"));        // multicast
    EXPECT_FALSE(parse_mac("52:54:00:12:34"));
    EXPECT_FALSE(parse_mac("52-54-00-12-34-56"));
    auto mac = random_mac();
    EXPECT_EQ(mac[0] & 3, 2);
}

class NetTransmitTest : public NetTest, public ::testing::WithParamInterface<bool> {};

TEST_P(NetTransmitTest, FramesReachTheBackendWithTheHeaderOnlyWhenItTakesOne) {
    bool header = GetParam();
    bring_up(header, 0);
    std::string virtio_header(12, '\0');
    virtio_header[0] = 1;  // NEEDS_CSUM: passed through only with the header
    std::string frame = frame_bytes(200, 'a');
    std::string whole = virtio_header + frame;
    ASSERT_TRUE(ram_.write(
        kTxBuffers, std::span(reinterpret_cast<const uint8_t*>(whole.data()), whole.size())));
    tx_.set_descriptor(0, {kTxBuffers, 30, descriptor::next, 1});
    tx_.set_descriptor(1, {kTxBuffers + 30, static_cast<uint32_t>(whole.size() - 30), 0, 0});
    tx_.make_available(0);
    harness_.notify(1);
    ASSERT_TRUE(tx_.wait_used(1));
    char received[512];
    ssize_t got = ::recv(host_.get(), received, sizeof received, 0);
    EXPECT_EQ(std::string(received, static_cast<size_t>(std::max<ssize_t>(got, 0))),
              header ? whole : frame);
}

INSTANTIATE_TEST_SUITE_P(TapOrUserMode, NetTransmitTest, ::testing::Bool());

TEST_F(NetTest, AFrameLargerThanOneBufferIsMergedAcrossSeveral) {
    bring_up(true, kMergeable);
    std::string header(12, '\0');
    header[0] = 2;  // DATA_VALID, from the host
    std::string frame = frame_bytes(3000, 'x');
    std::string whole = header + frame;
    for (uint16_t i = 0; i < 3; ++i)
        offer(i, 1500);
    harness_.notify(0);
    ASSERT_EQ(::send(host_.get(), whole.data(), whole.size(), 0),
              static_cast<ssize_t>(whole.size()));
    ASSERT_TRUE(rx_.wait_used(3));
    EXPECT_EQ(rx_.used_element(0), std::make_pair(0u, 1500u));
    EXPECT_EQ(rx_.used_element(1), std::make_pair(1u, 1500u));
    EXPECT_EQ(rx_.used_element(2), std::make_pair(2u, 12u));
    std::string got = guest_bytes(kRxBuffers, 1500) + guest_bytes(kRxBuffers + 0x1'0000, 1500) +
                      guest_bytes(kRxBuffers + 0x2'0000, 12);
    EXPECT_EQ(got[0], 2);
    EXPECT_EQ(got[10], 3);  // num_buffers
    EXPECT_EQ(got.substr(12), frame);
}

TEST_F(NetTest, FramesWaitForReceiveBuffers) {
    bring_up(false, kMergeable);
    std::string frame = frame_bytes(100, 'q');
    ASSERT_EQ(::send(host_.get(), frame.data(), frame.size(), 0), 100);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_EQ(rx_.used_index(), 0);
    offer(0, 2048);
    harness_.notify(0);
    ASSERT_TRUE(rx_.wait_used(1));
    EXPECT_EQ(rx_.used_element(0), std::make_pair(0u, 112u));
    EXPECT_EQ(guest_bytes(kRxBuffers, 12), std::string("\0\0\0\0\0\0\0\0\0\0\1\0", 12));
    EXPECT_EQ(guest_bytes(kRxBuffers + 12, 100), frame);
}

TEST_F(NetTest, WithoutMergeableBuffersAFrameThatFitsNoBufferIsDropped) {
    bring_up(false, 0);
    offer(0, 600);
    offer(1, 600);
    harness_.notify(0);
    std::string big = frame_bytes(1000, 'b'), small = frame_bytes(60, 's');
    ASSERT_EQ(::send(host_.get(), big.data(), big.size(), 0), 1000);
    ASSERT_EQ(::send(host_.get(), small.data(), small.size(), 0), 60);
    ASSERT_TRUE(rx_.wait_used(2));
    EXPECT_EQ(rx_.used_element(0), std::make_pair(0u, 0u));  // dropped: the buffer back unused
    EXPECT_EQ(rx_.used_element(1), std::make_pair(1u, 72u));
    EXPECT_EQ(guest_bytes(kRxBuffers + 0x1'0000 + 12, 60), small);
}

TEST_F(NetTest, TheBackendGetsTheOffloadsTheGuestAccepted) {
    bring_up(true, kGuestChecksum | kGuestTso4);
    EXPECT_EQ(backend_->offloads, (std::array<bool, 4>{true, true, false, false}));
    harness_.set(mmio::status_register, 0);
    EXPECT_EQ(backend_->offloads, (std::array<bool, 4>{false, false, false, false}));
}

// The user-mode network answers a connection to a forwarded host port by looking for the guest:
// an ARP request for 10.0.2.15 from 10.0.2.2, as a frame on the stack's socket.
TEST(UserModeNetwork, AHostPortForwardReachesForTheGuest) {
    UniqueFd probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t length = sizeof address;
    ASSERT_EQ(::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
    uint16_t port = ntohs(address.sin_port);
    probe.reset();
    int ends[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends), 0);
    UniqueFd vmm(ends[0]), stack_end(ends[1]);
    Logger log = Logger::borrowing(2, LogFormat::text, LogLevel::error);
    std::atomic<bool> started{false};
    std::thread stack([&] {
        auto ran = run_slirp(stack_end.get(), {{.host_port = port, .guest_port = 22}}, log,
                             [&] { started = true; });
        EXPECT_TRUE(ran) << ran.error().message();
    });
    ASSERT_TRUE(testing::wait_until([&] { return started.load(); }));
    // A second stack cannot forward the same host port: the error names it.
    int other[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, other), 0);
    UniqueFd other_vmm(other[0]), other_stack(other[1]);
    auto taken = run_slirp(other_stack.get(), {{.host_port = port, .guest_port = 22}}, log, [] {});
    ASSERT_FALSE(taken);
    EXPECT_NE(taken.error().message().find(fmt::format("127.0.0.1:{}", port)), std::string::npos);

    UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    uint8_t frame[2048];
    pollfd waiting{.fd = vmm.get(), .events = POLLIN, .revents = 0};
    ASSERT_EQ(::poll(&waiting, 1, 5000), 1);
    ssize_t got = ::recv(vmm.get(), frame, sizeof frame, 0);
    vmm.reset();  // ends the stack
    stack.join();
    ASSERT_GE(got, 42);
    EXPECT_EQ(frame[12], 0x08);  // EtherType ARP
    EXPECT_EQ(frame[13], 0x06);
    EXPECT_EQ(frame[21], 1);  // a request
    EXPECT_EQ(std::vector<uint8_t>(frame + 28, frame + 32), (std::vector<uint8_t>{10, 0, 2, 2}));
    EXPECT_EQ(std::vector<uint8_t>(frame + 38, frame + 42), (std::vector<uint8_t>{10, 0, 2, 15}));
}

}  // namespace
}  // namespace vessel::vm::virtio
