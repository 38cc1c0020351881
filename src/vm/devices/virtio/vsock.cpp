#include "vm/devices/virtio/vsock.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace vessel::vm::virtio {

namespace {

constexpr uint16_t kRx = 0, kTx = 1;
constexpr uint16_t kStream = 1;
enum Op : uint16_t {
    request = 1,
    response = 2,
    rst = 3,
    shutdown = 4,
    rw = 5,
    credit_update = 6,
    credit_request = 7,
};
constexpr uint32_t kShutdownReceive = 1, kShutdownSend = 2;
// Control packets waiting for receive buffers: a guest that offers none while provoking replies
// loses replies, not host memory.
constexpr size_t kMaxControlBacklog = 4096;
constexpr size_t kMaxHandshakes = 64;
constexpr uint32_t kMaxPayload = 64 * 1024;

Result<sockaddr_un> unix_address(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path)
        return fail("vsock socket {}: the path is longer than {} bytes", path,
                    sizeof address.sun_path - 1);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return address;
}

Result<UniqueFd> listen_on(const std::string& path) {
    sockaddr_un address = TRY(unix_address(path));
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return fail_errno("vsock socket");
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        if (errno != EADDRINUSE) return fail_errno(fmt::format("vsock socket {}", path));
        // A socket file left by a VMM that died: replace it, unless something still listens.
        UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0)
            return fail("vsock socket {}: in use by another VMM", path);
        ::unlink(path.c_str());
        if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            return fail_errno(fmt::format("vsock socket {}", path));
    }
    if (::listen(fd.get(), 128) != 0) return fail_errno(fmt::format("vsock socket {}", path));
    return fd;
}

// writev to a host socket that may have gone: EPIPE, not SIGPIPE.
ssize_t send_vectors(int fd, const iovec* vectors, size_t count) {
    msghdr message{};
    message.msg_iov = const_cast<iovec*>(vectors);
    message.msg_iovlen = count;
    return ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
}

// The iovecs after the first `skip` bytes.
std::vector<iovec> drop_front(std::vector<iovec> vectors, size_t skip) {
    size_t first = 0;
    while (first < vectors.size() && skip >= vectors[first].iov_len)
        skip -= vectors[first++].iov_len;
    vectors.erase(vectors.begin(), vectors.begin() + static_cast<long>(first));
    if (!vectors.empty() && skip) {
        vectors[0].iov_base = static_cast<uint8_t*>(vectors[0].iov_base) + skip;
        vectors[0].iov_len -= skip;
    }
    return vectors;
}

}  // namespace

struct VsockDevice::Connection {
    enum class State { handshake, awaiting_response, established };
    UniqueFd socket;
    State state = State::handshake;
    uint32_t host_port = 0;
    uint32_t guest_port = 0;
    DeviceContext::WatchId watch = 0;
    uint32_t watched_events = 0;
    std::string handshake;
    // Guest to host: bytes the host socket has not taken yet, from pending_offset on.
    std::vector<uint8_t> pending;
    size_t pending_offset = 0;
    uint32_t forwarded = 0;             // fwd_cnt: bytes handed to the host socket
    uint32_t forwarded_advertised = 0;  // fwd_cnt as the guest last heard it
    // Host to guest: the guest's credit.
    uint32_t peer_buffer = 0;
    uint32_t peer_forwarded = 0;
    uint32_t sent = 0;                // bytes sent to the guest
    bool host_done_sending = false;   // the host socket reached end of file
    bool guest_done_sending = false;  // SHUTDOWN with SEND from the guest
    bool guest_done_receiving = false;
    // The host closed its socket while unread data was left in it: the watch turns
    // edge-triggered, or the hang-up would be reported again and again until the data is read.
    bool host_hung_up = false;

    size_t pending_bytes() const { return pending.size() - pending_offset; }
    uint32_t peer_credit() const {
        uint32_t in_flight = sent - peer_forwarded;
        return in_flight >= peer_buffer ? 0 : peer_buffer - in_flight;
    }
};

Result<std::unique_ptr<VsockDevice>> VsockDevice::create(uint64_t guest_cid,
                                                         const std::string& socket_path) {
    if (guest_cid < 3 || guest_cid > 0xffff'fffe)
        return fail("vsock: guest CID {} is reserved (use 3 to 4294967294)", guest_cid);
    UniqueFd listener = TRY(listen_on(socket_path));
    return std::unique_ptr<VsockDevice>(
        new VsockDevice(guest_cid, socket_path, std::move(listener)));
}

VsockDevice::VsockDevice(uint64_t guest_cid, std::string socket_path, UniqueFd listener)
    : guest_cid_(guest_cid), socket_path_(std::move(socket_path)), listener_(std::move(listener)) {}

VsockDevice::~VsockDevice() {
    ::unlink(socket_path_.c_str());
}

uint64_t VsockDevice::read_config(uint64_t offset, unsigned size) {
    if (offset >= 8 || size > 8 - offset) return 0;
    uint64_t value = 0;
    std::memcpy(&value, reinterpret_cast<const uint8_t*>(&guest_cid_) + offset, size);
    return value;
}

Result<> VsockDevice::activate(DeviceContext& context, uint64_t) {
    context_ = &context;
    auto watched =
        context.watch(listener_.get(), EPOLLIN, [this](uint32_t) { accept_host_connections(); });
    if (!watched) return std::unexpected(watched.error());
    return {};
}

void VsockDevice::reset() {
    // The guest's side of every connection is gone: the host sides see end of file.
    connections_.clear();
    count_connections();
    handshaking_.clear();
    control_.clear();
    rx_buffers_ = false;
    context_ = nullptr;
}

void VsockDevice::queue_notified(uint16_t queue) {
    if (queue == kTx) transmit();
    if (queue == kRx) {
        rx_buffers_ = true;
        flush_control();
        for (auto& [key, connection] : connections_)
            update_watch(*connection);
    }
}

uint32_t VsockDevice::allocate_host_port() {
    for (;;) {
        uint32_t port = next_host_port_++;
        if (next_host_port_ == 0) next_host_port_ = 1u << 30;
        bool used = std::any_of(connections_.begin(), connections_.end(),
                                [&](const auto& entry) { return entry.first.first == port; });
        if (!used) return port;
    }
}

VsockPacket VsockDevice::header_for(uint16_t op, uint32_t host_port, uint32_t guest_port,
                                    Connection* connection) const {
    VsockPacket packet{};
    packet.src_cid = kHostCid;
    packet.dst_cid = guest_cid_;
    packet.src_port = host_port;
    packet.dst_port = guest_port;
    packet.type = kStream;
    packet.op = op;
    packet.buf_alloc = kBufferPerConnection;
    if (connection) {
        packet.fwd_cnt = connection->forwarded;
        connection->forwarded_advertised = connection->forwarded;
    }
    return packet;
}

void VsockDevice::queue_control(uint16_t op, uint32_t host_port, uint32_t guest_port,
                                uint32_t flags, Connection* connection) {
    if (control_.size() >= kMaxControlBacklog) return;
    VsockPacket packet = header_for(op, host_port, guest_port, connection);
    packet.flags = flags;
    control_.push_back(packet);
    flush_control();
}

void VsockDevice::flush_control() {
    SplitQueue* queue = context_ ? context_->queue(kRx) : nullptr;
    if (!queue) return;
    bool pushed = false;
    while (!control_.empty()) {
        auto chain = queue->pop();
        if (!chain) {
            context_->needs_reset(chain.error());
            return;
        }
        if (!*chain) {
            rx_buffers_ = false;
            queue->enable_notification();
            break;
        }
        ChainWriter writer(**chain);
        writer.write_object(control_.front());  // a buffer too small for a header gets nothing
        control_.pop_front();
        queue->push((*chain)->head(), static_cast<uint32_t>(writer.written()));
        pushed = true;
    }
    if (pushed) context_->signal_used(kRx);
}

bool VsockDevice::can_send_to_guest(const Connection& connection) const {
    return connection.state == Connection::State::established && rx_buffers_ &&
           !connection.host_done_sending && !connection.guest_done_receiving &&
           connection.peer_credit() > 0;
}

void VsockDevice::update_watch(Connection& connection) {
    uint32_t events = 0;
    if (connection.state == Connection::State::handshake) events = EPOLLIN;
    if (can_send_to_guest(connection)) events |= EPOLLIN;
    if (connection.pending_bytes() > 0) events |= EPOLLOUT;
    if (connection.host_hung_up) {
        // A hung-up socket reports EPOLLHUP whatever is asked: edge-triggered, re-armed while
        // something is wanted from it, so readiness is reported again, and left alone once
        // nothing is (re-arming it then would report the hang-up again and again).
        if (events == 0 && connection.watched_events == EPOLLET) return;
        events |= EPOLLET;
    } else if (events == connection.watched_events) {
        return;
    }
    if (context_->modify_watch(connection.watch, events)) connection.watched_events = events;
}

void VsockDevice::accept_host_connections() {
    for (;;) {
        UniqueFd socket(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!socket) return;
        if (handshaking_.size() >= kMaxHandshakes ||
            connections_.size() + handshaking_.size() >= kMaxConnections)
            continue;  // closed at once: the host sees end of file
        auto connection = std::make_unique<Connection>();
        connection->socket = std::move(socket);
        Connection* raw = connection.get();
        auto watch = context_->watch(raw->socket.get(), EPOLLIN,
                                     [this, raw](uint32_t events) { on_socket(*raw, events); });
        if (!watch) continue;
        raw->watch = *watch;
        raw->watched_events = EPOLLIN;
        handshaking_.push_back(std::move(connection));
    }
}

void VsockDevice::read_handshake(Connection& connection) {
    char buffer[64];
    ssize_t got = ::read(connection.socket.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EAGAIN) return;
    auto drop = [&] {
        context_->unwatch(connection.watch);
        std::erase_if(handshaking_, [&](const auto& entry) { return entry.get() == &connection; });
    };
    if (got <= 0) return drop();
    connection.handshake.append(buffer, static_cast<size_t>(got));
    size_t newline = connection.handshake.find('\n');
    if (newline == std::string::npos) {
        if (connection.handshake.size() > 32) drop();
        return;
    }
    // "CONNECT <port>\n", nothing after it: the stream starts once the guest accepts.
    std::string_view line(connection.handshake.data(), newline);
    uint32_t port = 0;
    bool valid = line.starts_with("CONNECT ") && newline + 1 == connection.handshake.size();
    if (valid) {
        auto digits = line.substr(8);
        auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        valid = error == std::errc() && end == digits.data() + digits.size() && !digits.empty();
    }
    if (!valid) return drop();
    auto owned = std::find_if(handshaking_.begin(), handshaking_.end(),
                              [&](const auto& entry) { return entry.get() == &connection; });
    std::unique_ptr<Connection> moved = std::move(*owned);
    handshaking_.erase(owned);
    moved->state = Connection::State::awaiting_response;
    moved->host_port = allocate_host_port();
    moved->guest_port = port;
    Key key{moved->host_port, port};
    Connection& placed = *(connections_[key] = std::move(moved));
    count_connections();
    update_watch(placed);
    queue_control(request, placed.host_port, placed.guest_port, 0, &placed);
}

void VsockDevice::on_socket(Connection& connection, uint32_t events) {
    if (connection.state == Connection::State::handshake) return read_handshake(connection);
    if (events & EPOLLERR) return close(connection, true);
    if ((events & EPOLLOUT) && !flush_to_host(connection)) return;
    // A host that hung up sends no more: the guest hears SHUTDOWN (send) after what is left to
    // read, and its RST once it shuts its own side. Not a RST at once: a Linux guest that shuts
    // down its side after that RST reads ENOTCONN (vsock_shutdown clears SOCK_DONE), not end of
    // file. A guest that keeps sending gets the RST when the write to the host fails.
    if (events & EPOLLHUP) connection.host_hung_up = true;
    if (events & (EPOLLIN | EPOLLHUP)) return send_to_guest(connection);
    update_watch(connection);
}

void VsockDevice::send_to_guest(Connection& connection) {
    SplitQueue* queue = context_->queue(kRx);
    if (!queue) return;
    // Replies already waiting go first, so that no data overtakes a RESPONSE.
    flush_control();
    bool pushed = false;
    bool closed = false;
    while (control_.empty() && can_send_to_guest(connection)) {
        auto chain = queue->pop();
        if (!chain) return context_->needs_reset(chain.error());
        if (!*chain) {
            rx_buffers_ = false;
            if (queue->enable_notification()) rx_buffers_ = true;
            break;
        }
        ChainWriter writer(**chain);
        if (writer.remaining() < sizeof(VsockPacket)) {
            queue->push((*chain)->head(), 0);
            pushed = true;
            continue;
        }
        uint64_t room = std::min<uint64_t>(
            {writer.remaining() - sizeof(VsockPacket), connection.peer_credit(), kMaxPayload});
        auto vectors = drop_front(writer.peek(sizeof(VsockPacket) + room), sizeof(VsockPacket));
        ssize_t got =
            ::readv(connection.socket.get(), vectors.data(), static_cast<int>(vectors.size()));
        VsockPacket packet;
        bool stop = false;
        if (got > 0) {
            packet = header_for(rw, connection.host_port, connection.guest_port, &connection);
            packet.len = static_cast<uint32_t>(got);
            connection.sent += static_cast<uint32_t>(got);
        } else if (got == 0) {
            // End of file from the host: it will send no more.
            connection.host_done_sending = true;
            packet = header_for(shutdown, connection.host_port, connection.guest_port, &connection);
            packet.flags = kShutdownSend;
        } else if (errno == EAGAIN || errno == EINTR) {
            // Nothing to read after all: the buffer carries a credit update instead.
            packet =
                header_for(credit_update, connection.host_port, connection.guest_port, &connection);
            stop = true;
        } else {
            packet = header_for(rst, connection.host_port, connection.guest_port, nullptr);
            closed = true;
        }
        writer.write_object(packet);
        if (got > 0) writer.commit(static_cast<uint64_t>(got));
        queue->push((*chain)->head(), static_cast<uint32_t>(writer.written()));
        pushed = true;
        if (stop || closed) break;
    }
    if (pushed) context_->signal_used(kRx);
    if (closed) return close(connection, false);
    update_watch(connection);
    finish_if_done(connection);
}

void VsockDevice::transmit() {
    SplitQueue* queue = context_ ? context_->queue(kTx) : nullptr;
    if (!queue) return;
    int budget = kChainsPerNotification;
    do {
        for (;;) {
            if (budget-- == 0) {
                context_->signal_used(kTx);
                context_->notify_again(kTx);
                return;
            }
            auto chain = queue->pop();
            if (!chain) return context_->needs_reset(chain.error());
            if (!*chain) break;
            ChainReader reader(**chain);
            if (auto packet = reader.read_object<VsockPacket>()) handle_packet(*packet, reader);
            queue->push((*chain)->head(), 0);
        }
        context_->signal_used(kTx);
    } while (queue->enable_notification());
}

void VsockDevice::handle_packet(const VsockPacket& packet, ChainReader& payload) {
    // Only the guest's own address, to the host, on stream sockets.
    if (packet.src_cid != guest_cid_ || packet.dst_cid != kHostCid) return;
    if (packet.type != kStream) {
        if (packet.op != rst) queue_control(rst, packet.dst_port, packet.src_port);
        return;
    }
    Key key{packet.dst_port, packet.src_port};
    auto found = connections_.find(key);
    if (packet.op == request) {
        if (found != connections_.end()) return queue_control(rst, key.first, key.second);
        return connect_to_host(packet);
    }
    if (found == connections_.end()) {
        if (packet.op != rst) queue_control(rst, key.first, key.second);
        return;
    }
    Connection& connection = *found->second;
    connection.peer_buffer = packet.buf_alloc;
    connection.peer_forwarded = packet.fwd_cnt;
    switch (packet.op) {
        case response:
            if (connection.state != Connection::State::awaiting_response)
                return close(connection, true);
            connection.state = Connection::State::established;
            {
                std::string ok = fmt::format("OK {}\n", connection.host_port);
                iovec line{.iov_base = ok.data(), .iov_len = ok.size()};
                if (send_vectors(connection.socket.get(), &line, 1) !=
                    static_cast<ssize_t>(ok.size()))
                    return close(connection, true);
            }
            break;
        case rw:
            if (connection.state != Connection::State::established ||
                connection.guest_done_sending || packet.len > payload.remaining())
                return close(connection, true);
            forward_to_host(connection, payload, packet.len);
            return;
        case credit_request:
            queue_control(credit_update, connection.host_port, connection.guest_port, 0,
                          &connection);
            break;
        case credit_update:
            break;
        case shutdown:
            if (packet.flags & kShutdownReceive) connection.guest_done_receiving = true;
            if (packet.flags & kShutdownSend) connection.guest_done_sending = true;
            if (connection.guest_done_sending && connection.pending_bytes() == 0)
                ::shutdown(connection.socket.get(), SHUT_WR);
            // Both ways shut: the guest waits for our RST to finish its close, which comes once
            // what it sent has reached the host socket (finish_if_done).
            update_watch(connection);
            finish_if_done(connection);
            return;
        case rst:
            return close(connection, false);
        default:
            return close(connection, true);
    }
    update_watch(connection);
}

void VsockDevice::connect_to_host(const VsockPacket& request) {
    auto refuse = [&] { queue_control(rst, request.dst_port, request.src_port); };
    if (connections_.size() + handshaking_.size() >= kMaxConnections) return refuse();
    auto address = unix_address(fmt::format("{}_{}", socket_path_, request.dst_port));
    if (!address) return refuse();
    UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!socket ||
        ::connect(socket.get(), reinterpret_cast<sockaddr*>(&*address), sizeof *address) != 0)
        return refuse();
    auto connection = std::make_unique<Connection>();
    connection->socket = std::move(socket);
    connection->state = Connection::State::established;
    connection->host_port = request.dst_port;
    connection->guest_port = request.src_port;
    connection->peer_buffer = request.buf_alloc;
    connection->peer_forwarded = request.fwd_cnt;
    Connection* raw = connection.get();
    auto watch = context_->watch(raw->socket.get(), 0,
                                 [this, raw](uint32_t events) { on_socket(*raw, events); });
    if (!watch) return refuse();
    raw->watch = *watch;
    connections_[{raw->host_port, raw->guest_port}] = std::move(connection);
    count_connections();
    queue_control(response, raw->host_port, raw->guest_port, 0, raw);
    update_watch(*raw);
}

void VsockDevice::forward_to_host(Connection& connection, ChainReader& payload, uint32_t length) {
    // The guest may have in flight only what we said we buffer.
    if (connection.pending_bytes() + length > kBufferPerConnection) return close(connection, true);
    uint32_t written = 0;
    if (connection.pending_bytes() == 0) {
        auto vectors = payload.take(length);
        ssize_t done = send_vectors(connection.socket.get(), vectors.data(), vectors.size());
        if (done < 0 && errno != EAGAIN && errno != EINTR) return close(connection, true);
        written = done > 0 ? static_cast<uint32_t>(done) : 0;
        connection.forwarded += written;
        // What the socket did not take waits in the connection's buffer.
        if (written < length) {
            auto rest = drop_front(std::move(vectors), written);
            for (const auto& vector : rest) {
                auto* bytes = static_cast<const uint8_t*>(vector.iov_base);
                connection.pending.insert(connection.pending.end(), bytes, bytes + vector.iov_len);
            }
        }
    } else {
        size_t at = connection.pending.size();
        connection.pending.resize(at + length);
        payload.read(std::span(connection.pending.data() + at, length));
        if (!flush_to_host(connection)) return;
    }
    if (connection.forwarded - connection.forwarded_advertised >= kBufferPerConnection / 4)
        queue_control(credit_update, connection.host_port, connection.guest_port, 0, &connection);
    update_watch(connection);
}

bool VsockDevice::flush_to_host(Connection& connection) {
    while (connection.pending_bytes() > 0) {
        iovec rest{.iov_base = connection.pending.data() + connection.pending_offset,
                   .iov_len = connection.pending_bytes()};
        ssize_t done = send_vectors(connection.socket.get(), &rest, 1);
        if (done < 0 && (errno == EAGAIN || errno == EINTR)) break;
        if (done <= 0) {
            close(connection, true);
            return false;
        }
        connection.pending_offset += static_cast<size_t>(done);
        connection.forwarded += static_cast<uint32_t>(done);
    }
    if (connection.pending_bytes() == 0) {
        connection.pending.clear();
        connection.pending.shrink_to_fit();
        connection.pending_offset = 0;
        if (connection.guest_done_sending) ::shutdown(connection.socket.get(), SHUT_WR);
    } else if (connection.pending_offset > connection.pending.size() / 2) {
        connection.pending.erase(
            connection.pending.begin(),
            connection.pending.begin() + static_cast<long>(connection.pending_offset));
        connection.pending_offset = 0;
    }
    if (connection.forwarded - connection.forwarded_advertised >= kBufferPerConnection / 4)
        queue_control(credit_update, connection.host_port, connection.guest_port, 0, &connection);
    update_watch(connection);
    return !finish_if_done(connection);
}

bool VsockDevice::finish_if_done(Connection& connection) {
    // Over once the guest sends no more and all it sent has reached the host, and either the host
    // sends no more or the guest takes no more.
    bool host_side_done = connection.host_done_sending || connection.guest_done_receiving;
    if (!connection.guest_done_sending || !host_side_done || connection.pending_bytes() > 0)
        return false;
    close(connection, true);
    return true;
}

void VsockDevice::close(Connection& connection, bool reset_guest) {
    if (reset_guest) queue_control(rst, connection.host_port, connection.guest_port);
    context_->unwatch(connection.watch);
    connections_.erase({connection.host_port, connection.guest_port});
    count_connections();
}

}  // namespace vessel::vm::virtio
