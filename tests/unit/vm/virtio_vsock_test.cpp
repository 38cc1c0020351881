// virtio-vsock between a test "guest" (driving the rings) and real host unix sockets: both ways of
// connecting (Firecracker's CONNECT/OK handshake and "<socket>_<port>" listeners), data both ways,
// credit limits, shutdown, and what a misbehaving guest or host gets (RST, a closed socket).
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/process.h"
#include "virtio_driver.h"
#include "vm/devices/virtio/vsock.h"

namespace vessel::vm::virtio {
namespace {

using testing::TestDriver;
enum Op : uint16_t { kRequest = 1, kResponse, kRst, kShutdown, kRw, kCreditUpdate, kCreditRequest };
constexpr uint64_t kGuestCid = 3;

UniqueFd unix_socket() {
    return UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
}
sockaddr_un address_of(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    return address;
}
UniqueFd connect_to(const std::string& path) {
    UniqueFd fd = unix_socket();
    auto address = address_of(path);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
        << path << ": " << std::strerror(errno);
    return fd;
}
UniqueFd listen_at(const std::string& path) {
    UniqueFd fd = unix_socket();
    auto address = address_of(path);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(fd.get(), 8), 0);
    return fd;
}
// Reads what arrives within a short while (the socket is made non-blocking).
std::string read_some(int fd, size_t want) {
    std::string text;
    for (int i = 0; i < 500 && text.size() < want; ++i) {
        char buffer[4096];
        ssize_t got = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (got > 0) text.append(buffer, static_cast<size_t>(got));
        if (got == 0) break;
        if (got < 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return text;
}
bool sees_end_of_file(int fd) {
    for (int i = 0; i < 500; ++i) {
        char byte;
        ssize_t got = ::recv(fd, &byte, 1, MSG_DONTWAIT);
        if (got == 0) return true;
        if (got > 0 || errno != EAGAIN) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
}

class VsockTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/vessel-vsock-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        socket_ = dir_ + "/v.sock";
        auto device = VsockDevice::create(kGuestCid, socket_);
        ASSERT_TRUE(device) << device.error().message();
        device_ = std::move(*device);
        harness_ = std::make_unique<testing::TransportHarness>(ram_);
        harness_->attach(*device_);
        harness_->bring_up({&rx_, &tx_, &event_});
        offer_receive_buffers(8);
    }
    void TearDown() override {
        harness_.reset();
        device_.reset();
        std::error_code ignored;  // what a failed test left is not worth a second failure
        std::filesystem::remove_all(dir_, ignored);
    }

    // The guest's receive buffers: 4 KiB each, descriptors 0..n-1 of the rx queue.
    void offer_receive_buffers(int count) {
        for (int i = 0; i < count; ++i) {
            uint16_t index = static_cast<uint16_t>(next_rx_++ % 16);
            rx_.set_descriptor(index, {kRxBuffers + index * 0x1000u, 0x1000, descriptor::write, 0});
            rx_.make_available(index);
        }
        harness_->notify(0);
    }

    VsockPacket packet(uint16_t op, uint32_t guest_port, uint32_t host_port, uint32_t len = 0) {
        VsockPacket p{};
        p.src_cid = kGuestCid;
        p.dst_cid = 2;
        p.src_port = guest_port;
        p.dst_port = host_port;
        p.len = len;
        p.type = 1;
        p.op = op;
        p.buf_alloc = guest_buffer_;
        p.fwd_cnt = guest_forwarded_;
        return p;
    }

    // The guest transmits one packet (header and payload in one buffer).
    void send(VsockPacket p, std::string_view payload = {}) {
        uint16_t index = static_cast<uint16_t>(next_tx_++ % 16);
        uint64_t at = kTxBuffers + index * 0x1'0000u;
        p.len = static_cast<uint32_t>(payload.size());
        ASSERT_TRUE(ram_.write(at, std::span(reinterpret_cast<const uint8_t*>(&p), sizeof p)));
        ASSERT_TRUE(ram_.write(
            at + sizeof p,
            std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())));
        tx_.set_descriptor(index, {at, static_cast<uint32_t>(sizeof p + payload.size()), 0, 0});
        uint16_t used = tx_.used_index();
        tx_.make_available(index);
        harness_->notify(1);
        ASSERT_TRUE(tx_.wait_used(static_cast<uint16_t>(used + 1)));
    }

    // The next packet the device put in a receive buffer, with its payload; nullopt after a wait.
    std::optional<std::pair<VsockPacket, std::string>> receive() {
        if (!testing::wait_until([&] { return rx_.used_index() != rx_seen_; })) return std::nullopt;
        auto [id, length] = rx_.used_element(rx_seen_++);
        uint64_t at = kRxBuffers + id * 0x1000u;
        VsockPacket p;
        EXPECT_TRUE(ram_.read(at, std::span(reinterpret_cast<uint8_t*>(&p), sizeof p)));
        std::string payload(length - sizeof p, '\0');
        EXPECT_TRUE(ram_.read(
            at + sizeof p, std::span(reinterpret_cast<uint8_t*>(payload.data()), payload.size())));
        offer_receive_buffers(1);
        return std::make_pair(p, payload);
    }

    // Skips credit updates the device sends of its own accord.
    std::optional<std::pair<VsockPacket, std::string>> receive_not_credit() {
        for (;;) {
            auto got = receive();
            if (!got || got->first.op != kCreditUpdate) return got;
        }
    }

    // A guest connection to host port `port`, accepted by a listener there.
    UniqueFd connect_guest(uint32_t guest_port, uint32_t port) {
        listeners_.push_back(listen_at(fmt::format("{}_{}", socket_, port)));
        send(packet(kRequest, guest_port, port));
        auto reply = receive();
        EXPECT_TRUE(reply && reply->first.op == kResponse);
        UniqueFd accepted(::accept4(listeners_.back().get(), nullptr, nullptr, SOCK_CLOEXEC));
        EXPECT_TRUE(accepted);
        return accepted;
    }

    std::string dir_, socket_;
    GuestMemory ram_ = testing::make_ram();
    TestDriver rx_{ram_, 16, 0}, tx_{ram_, 16, 1}, event_{ram_, 4, 2};
    std::unique_ptr<VsockDevice> device_;
    std::unique_ptr<testing::TransportHarness> harness_;
    std::vector<UniqueFd> listeners_;
    uint32_t guest_buffer_ = 256 * 1024, guest_forwarded_ = 0;
    int next_rx_ = 0, next_tx_ = 0;
    uint16_t rx_seen_ = 0;
    static constexpr uint64_t kRxBuffers = TestDriver::kBuffers;
    static constexpr uint64_t kTxBuffers = TestDriver::kBuffers + 0x2'0000;
};

TEST_F(VsockTest, TheGuestCidIsInTheConfigAndReservedOnesAreRefused) {
    EXPECT_EQ(harness_->transport().read(mmio::config, 8), kGuestCid);
    for (uint64_t cid : {0, 1, 2}) {
        auto refused = VsockDevice::create(cid, dir_ + "/other.sock");
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().message(),
                  fmt::format("vsock: guest CID {} is reserved (use 3 to 4294967294)", cid));
    }
    auto taken = VsockDevice::create(4, socket_);
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().message(), "vsock socket " + socket_ + ": in use by another VMM");
}

TEST_F(VsockTest, AGuestConnectsToAHostListenerAndTalksBothWays) {
    UniqueFd host = connect_guest(1234, 5000);
    send(packet(kRw, 1234, 5000), "hello host");
    EXPECT_EQ(read_some(host.get(), 10), "hello host");
    ASSERT_EQ(::send(host.get(), "hello guest", 11, 0), 11);
    auto data = receive_not_credit();
    ASSERT_TRUE(data);
    EXPECT_EQ(data->first.op, kRw);
    EXPECT_EQ(data->first.src_port, 5000u);
    EXPECT_EQ(data->first.dst_port, 1234u);
    EXPECT_EQ(data->second, "hello guest");
    // The guest shuts both ways: the host sees end of file and the guest its RST.
    VsockPacket down = packet(kShutdown, 1234, 5000);
    down.flags = 3;
    send(down);
    EXPECT_TRUE(sees_end_of_file(host.get()));
    auto reset = receive_not_credit();
    ASSERT_TRUE(reset);
    EXPECT_EQ(reset->first.op, kRst);
    EXPECT_EQ(device_->connection_count(), 0u);
}

TEST_F(VsockTest, TheHostConnectsWithTheConnectHandshake) {
    UniqueFd host = connect_to(socket_);
    ASSERT_EQ(::send(host.get(), "CONNECT 52\n", 11, 0), 11);
    auto request = receive();
    ASSERT_TRUE(request);
    EXPECT_EQ(request->first.op, kRequest);
    EXPECT_EQ(request->first.dst_port, 52u);
    EXPECT_EQ(request->first.dst_cid, kGuestCid);
    uint32_t host_port = request->first.src_port;
    send(packet(kResponse, 52, host_port));
    std::string ok = fmt::format("OK {}\n", host_port);
    EXPECT_EQ(read_some(host.get(), ok.size()), ok);
    send(packet(kRw, 52, host_port), "from the guest");
    EXPECT_EQ(read_some(host.get(), 14), "from the guest");
    // The host closes: the guest hears that it will send no more (SHUTDOWN, send). Not a RST: a
    // Linux guest that shuts its own side after a RST reads ENOTCONN instead of end of file.
    host.reset();
    auto down = receive_not_credit();
    ASSERT_TRUE(down);
    EXPECT_EQ(down->first.op, kShutdown);
    EXPECT_EQ(down->first.flags, 2u);
    EXPECT_EQ(device_->connection_count(), 1u);
    // Half closed, the connection waits for the guest without spinning on the hung-up socket.
    auto cpu_seconds = [] {
        rusage usage{};
        ::getrusage(RUSAGE_SELF, &usage);
        return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    };
    const double cpu_before = cpu_seconds();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_LT(cpu_seconds() - cpu_before, 0.1);
    // The guest shuts its side too: the RST ends the connection.
    VsockPacket guest_down = packet(kShutdown, 52, host_port);
    guest_down.flags = 2;
    send(guest_down);
    auto reset = receive_not_credit();
    ASSERT_TRUE(reset);
    EXPECT_EQ(reset->first.op, kRst);
    EXPECT_EQ(device_->connection_count(), 0u);
}

TEST_F(VsockTest, AGuestSendingToAHostThatHungUpGetsAReset) {
    UniqueFd host = connect_to(socket_);
    ASSERT_EQ(::send(host.get(), "CONNECT 54\n", 11, 0), 11);
    auto request = receive();
    ASSERT_TRUE(request);
    uint32_t host_port = request->first.src_port;
    send(packet(kResponse, 54, host_port));
    std::string ok = fmt::format("OK {}\n", host_port);
    EXPECT_EQ(read_some(host.get(), ok.size()), ok);
    host.reset();
    auto down = receive_not_credit();
    ASSERT_TRUE(down);
    EXPECT_EQ(down->first.op, kShutdown);
    send(packet(kRw, 54, host_port), "nobody reads this");
    auto reset = receive_not_credit();
    ASSERT_TRUE(reset);
    EXPECT_EQ(reset->first.op, kRst);
    EXPECT_EQ(device_->connection_count(), 0u);
}

TEST_F(VsockTest, AGuestThatRefusesTheHostClosesTheHostSocket) {
    UniqueFd host = connect_to(socket_);
    ASSERT_EQ(::send(host.get(), "CONNECT 53\n", 11, 0), 11);
    auto request = receive();
    ASSERT_TRUE(request);
    send(packet(kRst, 53, request->first.src_port));
    EXPECT_TRUE(sees_end_of_file(host.get()));
}

TEST_F(VsockTest, ABadHandshakeClosesTheHostSocket) {
    for (const std::string& line :
         std::vector<std::string>{"HELLO 5\n", "CONNECT x\n", "CONNECT 99999999999\n",
                                  "CONNECT 5\nextra", std::string(40, 'C')}) {
        UniqueFd host = connect_to(socket_);
        ASSERT_EQ(::send(host.get(), line.data(), line.size(), 0),
                  static_cast<ssize_t>(line.size()));
        EXPECT_TRUE(sees_end_of_file(host.get())) << line;
    }
    EXPECT_EQ(rx_.used_index(), 0);  // the guest heard of none of them
}

TEST_F(VsockTest, TheHostSendsNoMoreThanTheGuestsCredit) {
    guest_buffer_ = 100;
    UniqueFd host = connect_guest(1, 6000);
    std::string big(1000, 'z');
    ASSERT_EQ(::send(host.get(), big.data(), big.size(), 0), 1000);
    size_t received = 0;
    while (auto data = receive_not_credit()) {
        ASSERT_EQ(data->first.op, kRw);
        received += data->second.size();
        if (received >= 100) break;
    }
    EXPECT_EQ(received, 100u);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(rx_.used_index() != rx_seen_ && receive_not_credit());
    // The guest read it all: a credit update lets the next 100 through.
    guest_forwarded_ = 100;
    send(packet(kCreditUpdate, 1, 6000));
    auto more = receive_not_credit();
    ASSERT_TRUE(more);
    EXPECT_EQ(more->second.size(), 100u);
}

TEST_F(VsockTest, AGuestBeyondItsCreditLosesTheConnection) {
    UniqueFd host = connect_guest(2, 7000);
    // The host reads nothing: the device buffers up to its advertised 256 KiB, then resets.
    std::string chunk(60000, 'y');
    bool reset = false;
    for (int i = 0; i < 12 && !reset; ++i) {
        send(packet(kRw, 2, 7000), chunk);
        while (rx_.used_index() != rx_seen_) {
            auto got = receive();
            if (got && got->first.op == kRst) reset = true;
        }
    }
    EXPECT_TRUE(reset);
    EXPECT_EQ(device_->connection_count(), 0u);
}

TEST_F(VsockTest, PacketsForNoConnectionGetAReset) {
    send(packet(kRw, 9, 9999), "nobody");
    auto reply = receive();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->first.op, kRst);
    // A connection to a port nobody listens on.
    send(packet(kRequest, 10, 4242));
    reply = receive();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->first.op, kRst);
    // A packet claiming another source CID is dropped without a reply.
    VsockPacket spoofed = packet(kRequest, 11, 4242);
    spoofed.src_cid = 7;
    send(spoofed);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_EQ(rx_.used_index(), rx_seen_);
}

TEST_F(VsockTest, AResetOfTheDeviceClosesEveryHostSocket) {
    UniqueFd host = connect_guest(3, 8000);
    harness_->set(mmio::status_register, 0);
    EXPECT_TRUE(sees_end_of_file(host.get()));
    EXPECT_EQ(device_->connection_count(), 0u);
}

}  // namespace
}  // namespace vessel::vm::virtio
