#include "vm/debug/gdb_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/fd_passing.h"
#include "vm/debug/gdb_stub.h"
#include "vm/debug/packet.h"

namespace vessel::debug {

namespace {

Result<UniqueFd> listen_tcp(uint16_t port) {
    UniqueFd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket) return fail_errno("socket");
    // A VMM restarted at once must not wait for the last one's connection to time out.
    int one = 1;
    ::setsockopt(socket.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(socket.get(), 1) != 0)
        return fail_errno(fmt::format("listen on 127.0.0.1:{}", port));
    return socket;
}

// The debugger may be gone: a closed connection is an error here, never a SIGPIPE.
bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
}

}  // namespace

Result<std::unique_ptr<GdbServer>> GdbServer::start(const vm::GdbOption& option,
                                                    DebugTarget& target, const Logger& log) {
    UniqueFd listener = option.port ? TRY_CTX(listen_tcp(option.port), "--gdb")
                                    : TRY_CTX(listen_unix(option.path, 1), "--gdb");
    UniqueFd quit(::eventfd(0, EFD_CLOEXEC));
    if (!quit) return fail_errno("--gdb: eventfd");
    std::unique_ptr<GdbServer> server(new GdbServer(target, log, std::move(listener),
                                                    std::move(quit),
                                                    option.port ? std::string() : option.path));
    server->thread_ = std::thread([self = server.get()] {
        ::pthread_setname_np(::pthread_self(), "gdb");
        self->serve();
    });
    log.info("gdb: waiting for a debugger on {}{}", option.where(),
             option.wait ? " (the guest starts when it continues)" : "");
    return server;
}

GdbServer::GdbServer(DebugTarget& target, const Logger& log, UniqueFd listener, UniqueFd quit,
                     std::string socket_path)
    : target_(target),
      log_(log),
      listener_(std::move(listener)),
      quit_(std::move(quit)),
      socket_path_(std::move(socket_path)) {}

GdbServer::~GdbServer() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t written = ::write(quit_.get(), &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
}

void GdbServer::serve() {
    for (;;) {
        pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {quit_.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            log_.error("gdb: poll: {}", std::strerror(errno));
            return;
        }
        if (fds[1].revents) return;
        if (!(fds[0].revents & POLLIN)) continue;
        UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!connection) continue;
        // Packets are small and answered one by one: Nagle's delay would dominate each.
        int one = 1;
        ::setsockopt(connection.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        log_.info("gdb: a debugger connected");
        session(connection.get());
        if (!target_alive_) return;
        log_.info("gdb: the debugger went away; the guest runs on");
    }
}

void GdbServer::session(int connection) {
    GdbStub stub(target_);
    PacketReader reader(GdbStub::kMaxPacket + 64);
    std::string last_sent;
    auto send_packet = [&](std::string_view payload) {
        last_sent = frame_packet(payload);
        return send_all(connection, last_sent);
    };
    // A debugger that attaches expects a stopped target (QEMU stops its guest too).
    target_.halt();
    bool running = false;
    std::vector<Incoming> incoming;
    char buffer[4096];
    for (;;) {
        pollfd fds[3] = {{connection, POLLIN, 0},
                         {quit_.get(), POLLIN, 0},
                         {target_.stop_fd(), static_cast<short>(running ? POLLIN : 0), 0}};
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            target_alive_ = false;
            return;
        }
        // A stop first: the machine's end arrives with the VMM's "quit", and a debugger waiting
        // in 'continue' should hear the guest's exit status rather than a closed connection.
        if (running && (fds[2].revents & POLLIN)) {
            if (auto event = target_.take_stop()) {
                running = false;
                send_packet(stub.stop_reply(*event));
                if (event->kind == StopEvent::Kind::exited) {
                    target_alive_ = false;
                    return;
                }
            }
        }
        if (fds[1].revents) {
            target_alive_ = false;
            return;
        }
        if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t got = ::read(connection, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            target_.detach();
            return;
        }
        incoming.clear();
        reader.feed(std::string_view(buffer, static_cast<size_t>(got)), incoming);
        for (Incoming& item : incoming) {
            switch (item.kind) {
                case Incoming::Kind::ack:
                    break;
                case Incoming::Kind::nack:
                    if (!stub.no_ack() && !last_sent.empty()) send_all(connection, last_sent);
                    break;
                case Incoming::Kind::interrupt:
                    if (running) {
                        running = false;
                        auto event = target_.interrupt();
                        send_packet(stub.stop_reply(event ? *event
                                                          : StopEvent{StopEvent::Kind::interrupted,
                                                                      stub.current_thread()}));
                    }
                    break;
                case Incoming::Kind::bad_checksum:
                    if (!stub.no_ack()) send_all(connection, "-");
                    break;
                case Incoming::Kind::too_long:
                    if (!stub.no_ack()) send_all(connection, "+");
                    if (!running) send_packet("E16");
                    break;
                case Incoming::Kind::packet: {
                    if (!stub.no_ack()) send_all(connection, "+");
                    // All-stop: while the target runs only Ctrl-C means anything.
                    if (running) break;
                    GdbStub::Outcome outcome = stub.handle(item.payload);
                    switch (outcome.after) {
                        case GdbStub::After::reply:
                            send_packet(outcome.reply);
                            break;
                        case GdbStub::After::resumed:
                            running = true;
                            break;
                        case GdbStub::After::detached:
                            send_packet(outcome.reply);
                            target_.detach();
                            return;
                        case GdbStub::After::killed:
                            target_.kill();
                            target_alive_ = false;
                            return;
                    }
                    break;
                }
            }
        }
    }
}

}  // namespace vessel::debug
