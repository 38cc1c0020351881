// virtio-vsock (virtio 1.2, 5.10): stream sockets between the guest (its CID, 3 or more) and the
// host (CID 2), carried to host unix sockets as Firecracker does, so its tools work unchanged:
// - the host connects to the VM's socket and writes "CONNECT <port>\n"; once the guest accepts,
//   it reads "OK <host port>\n" and the stream is the guest's;
// - a guest connecting to host port P reaches a listener at "<socket>_<P>".
// Flow control is the spec's credit scheme both ways: the guest never has more in flight to a
// host socket than the device buffers for it, and the device never sends the guest more than its
// advertised buffer space. A guest that breaks the rules loses that connection, not the VMM.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "vm/devices/virtio/virtio_device.h"

namespace vessel::vm::virtio {

struct VsockPacket {
    uint64_t src_cid;
    uint64_t dst_cid;
    uint32_t src_port;
    uint32_t dst_port;
    uint32_t len;
    uint16_t type;
    uint16_t op;
    uint32_t flags;
    uint32_t buf_alloc;
    uint32_t fwd_cnt;
} __attribute__((packed));
static_assert(sizeof(VsockPacket) == 44);

class VsockDevice final : public VirtioDevice {
  public:
    static constexpr uint64_t kHostCid = 2;
    // What the device buffers per connection for a host socket that reads slowly, and so the
    // credit it gives the guest.
    static constexpr uint32_t kBufferPerConnection = 256 * 1024;
    static constexpr size_t kMaxConnections = 1024;

    // Listens on `socket_path` (a stale socket there is replaced; one in use is an error).
    static Result<std::unique_ptr<VsockDevice>> create(uint64_t guest_cid,
                                                       const std::string& socket_path);
    ~VsockDevice() override;

    DeviceId id() const override { return DeviceId::vsock; }
    std::string name() const override { return "virtio-vsock"; }
    uint64_t features() const override { return 0; }
    // rx, tx, event.
    std::vector<uint16_t> queue_max_sizes() const override { return {256, 256, 16}; }
    uint64_t read_config(uint64_t offset, unsigned size) override;
    Result<> activate(DeviceContext& context, uint64_t negotiated) override;
    void queue_notified(uint16_t queue) override;
    void reset() override;

    // Readable from any thread (the map is the I/O thread's).
    size_t connection_count() const { return connection_count_.load(std::memory_order_acquire); }

  private:
    struct Connection;
    using Key = std::pair<uint32_t, uint32_t>;  // host port, guest port

    VsockDevice(uint64_t guest_cid, std::string socket_path, UniqueFd listener);

    void accept_host_connections();
    void read_handshake(Connection& connection);
    void on_socket(Connection& connection, uint32_t events);
    void transmit();
    void handle_packet(const VsockPacket& packet, ChainReader& payload);
    void connect_to_host(const VsockPacket& request);
    void forward_to_host(Connection& connection, ChainReader& payload, uint32_t length);
    bool flush_to_host(Connection& connection);
    void send_to_guest(Connection& connection);
    void flush_control();
    void queue_control(uint16_t op, uint32_t host_port, uint32_t guest_port, uint32_t flags = 0,
                       Connection* connection = nullptr);
    bool can_send_to_guest(const Connection& connection) const;
    void update_watch(Connection& connection);
    void close(Connection& connection, bool reset_guest);
    // Closes a connection both sides have finished; true when it did.
    bool finish_if_done(Connection& connection);
    uint32_t allocate_host_port();
    VsockPacket header_for(uint16_t op, uint32_t host_port, uint32_t guest_port,
                           Connection* connection) const;

    uint64_t guest_cid_;
    std::string socket_path_;
    UniqueFd listener_;
    DeviceContext* context_ = nullptr;
    std::map<Key, std::unique_ptr<Connection>> connections_;
    std::atomic<size_t> connection_count_{0};
    void count_connections() {
        connection_count_.store(connections_.size(), std::memory_order_release);
    }
    std::vector<std::unique_ptr<Connection>> handshaking_;
    std::deque<VsockPacket> control_;
    bool rx_buffers_ = false;  // the last look at the receive queue found a buffer
    uint32_t next_host_port_ = 1u << 30;
};

}  // namespace vessel::vm::virtio
