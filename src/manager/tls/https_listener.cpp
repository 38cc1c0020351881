#include "manager/tls/https_listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>

#include "base/log.h"
#include "manager/tls/tls_relay.h"

namespace vessel::manager::tls {

namespace {

// Any certificate gets through the handshake; the API decides what its holder may do.
int accept_any_certificate(int, X509_STORE_CTX*) {
    return 1;
}

Result<ContextHandle> server_context(const CertificatePair& pair) {
    ContextHandle context(SSL_CTX_new(TLS_server_method()));
    if (!context) return openssl_error("TLS context");
    SSL_CTX_set_min_proto_version(context.get(), TLS1_3_VERSION);
    auto certificate = TRY(parse_certificate(pair.certificate_pem));
    auto key = TRY(parse_private_key(pair.key_pem));
    if (SSL_CTX_use_certificate(context.get(), certificate.get()) != 1 ||
        SSL_CTX_use_PrivateKey(context.get(), key.get()) != 1 ||
        SSL_CTX_check_private_key(context.get()) != 1)
        return openssl_error("the server certificate and key");
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       accept_any_certificate);
    SSL_CTX_set_mode(context.get(),
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // Resumed sessions would need the client's certificate kept with them; a full handshake
    // each time keeps the identity check simple, and kept-alive connections make it rare.
    SSL_CTX_set_session_cache_mode(context.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(context.get(), 0);
    return context;
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view address) {
    auto invalid = [&](std::string_view why) {
        return fail_errno(EINVAL, fmt::format("address {:?}: {} (expected HOST:PORT, [IPV6]:PORT "
                                              "or :PORT)",
                                              address, why));
    };
    ListenAddress parsed;
    std::string_view port_text;
    if (address.starts_with('[')) {
        auto close = address.find(']');
        if (close == std::string_view::npos) return invalid("no ] after the IPv6 address");
        parsed.host = std::string(address.substr(1, close - 1));
        if (address.substr(close + 1, 1) != ":") return invalid("no :PORT after ]");
        port_text = address.substr(close + 2);
        in6_addr ignored;
        if (::inet_pton(AF_INET6, parsed.host.c_str(), &ignored) != 1)
            return invalid("not an IPv6 address in brackets");
    } else {
        auto colon = address.rfind(':');
        if (colon == std::string_view::npos) return invalid("no port");
        parsed.host = std::string(address.substr(0, colon));
        if (parsed.host.find(':') != std::string::npos)
            return invalid("an IPv6 address must be in brackets");
        port_text = address.substr(colon + 1);
    }
    unsigned port = 0;
    auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
        port > 65535)
        return invalid("the port must be a number from 0 to 65535");
    parsed.port = static_cast<uint16_t>(port);
    if (parsed.host == "::" || parsed.host == "0.0.0.0") parsed.host.clear();
    return parsed;
}

Result<std::unique_ptr<HttpsListener>> HttpsListener::start(HttpsOptions options,
                                                            http::Server& server) {
    auto where = TRY(parse_listen_address(options.address));
    auto context = TRY(server_context(options.certificate));
    addrinfo hints{};
    hints.ai_family = where.host.empty() ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    auto port_text = std::to_string(where.port);
    if (int error = ::getaddrinfo(where.host.empty() ? nullptr : where.host.c_str(),
                                  port_text.c_str(), &hints, &found);
        error != 0)
        return fail_errno(EINVAL,
                          fmt::format("address {}: {}", options.address, ::gai_strerror(error)));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
    UniqueFd listener(::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!listener) return fail_errno("socket");
    int one = 1, zero = 0;
    ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // "[::]" also takes IPv4 clients, as Incus's listener does.
    if (found->ai_family == AF_INET6 && where.host.empty())
        ::setsockopt(listener.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (::bind(listener.get(), found->ai_addr, found->ai_addrlen) != 0)
        return fail_errno(fmt::format("bind {}", options.address));
    if (::listen(listener.get(), 128) != 0) return fail_errno("listen");
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&bound), &length);
    uint16_t port =
        ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stop) return fail_errno("eventfd");
    std::unique_ptr<HttpsListener> https(new HttpsListener(std::move(options), server,
                                                           std::move(context), std::move(listener),
                                                           std::move(stop), port));
    https->acceptor_ = std::thread([raw = https.get()] { raw->accept_loop(); });
    return https;
}

HttpsListener::HttpsListener(HttpsOptions options, http::Server& server, ContextHandle context,
                             UniqueFd listener, UniqueFd stop, uint16_t port)
    : options_(std::move(options)),
      server_(server),
      context_(std::move(context)),
      listener_(std::move(listener)),
      stop_(std::move(stop)),
      port_(port) {}

HttpsListener::~HttpsListener() {
    stopping_ = true;
    uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof one);
    if (acceptor_.joinable()) acceptor_.join();
    std::list<Connection> connections;
    {
        std::lock_guard lock(mutex_);
        for (auto& connection : connections_)
            if (!connection.done) ::shutdown(connection.fd, SHUT_RDWR);
        connections.splice(connections.end(), connections_);
    }
    for (auto& connection : connections)
        connection.thread.join();
}

void HttpsListener::reap() {
    std::lock_guard lock(mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
        if (it->done) {
            it->thread.join();
            it = connections_.erase(it);
        } else {
            ++it;
        }
    }
}

void HttpsListener::accept_loop() {
    while (!stopping_) {
        pollfd fds[2] = {{.fd = listener_.get(), .events = POLLIN, .revents = 0},
                         {.fd = stop_.get(), .events = POLLIN, .revents = 0}};
        if (::poll(fds, 2, 1000) < 0 && errno != EINTR) return;
        reap();
        if (fds[1].revents != 0) return;
        if (fds[0].revents == 0) continue;
        UniqueFd network(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!network) continue;
        // A response leaves the relay as it arrives, often head and body apart: Nagle's wait for
        // the client's delayed ACK would add 40 ms to every request on a kept-alive connection.
        int one = 1;
        ::setsockopt(network.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::lock_guard lock(mutex_);
        if (connections_.size() >= options_.max_connections)
            continue;  // closed by going out of scope
        auto& connection = connections_.emplace_back();
        connection.fd = network.get();
        connection.thread =
            std::thread([this, &connection, network = std::move(network)]() mutable {
                serve_connection(network.get());
                // Before the descriptor closes, so that ~HttpsListener never shuts down a
                // number another thread reused.
                std::lock_guard done_lock(mutex_);
                connection.done = true;
            });
    }
}

void HttpsListener::serve_connection(int network) {
    SessionHandle session(SSL_new(context_.get()));
    if (!session || SSL_set_fd(session.get(), network) != 1) return;
    SSL_set_accept_state(session.get());
    // A client that does not speak TLS 1.3 with a certificate is dropped here: plain HTTP, TLS
    // 1.2, no certificate.
    if (!handshake(session.get(), network, options_.handshake_timeout, stop_.get())) return;
    X509* presented = SSL_get0_peer_certificate(session.get());
    if (presented == nullptr) return;
    http::RemotePeer peer{.fingerprint = fingerprint(presented),
                          .certificate_pem = certificate_pem(presented)};
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return;
    UniqueFd plain(pair[0]);
    server_.adopt(UniqueFd(pair[1]), std::move(peer));
    (void)relay(session.get(), network, plain.get(), stop_.get());
}

}  // namespace vessel::manager::tls
