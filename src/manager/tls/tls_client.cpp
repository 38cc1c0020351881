#include "manager/tls/tls_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <thread>

#include <openssl/crypto.h>

#include <fmt/format.h>

#include "manager/tls/tls_relay.h"

namespace vessel::manager::tls {

namespace {

constexpr auto handshake_timeout = std::chrono::seconds(15);

Result<UniqueFd> connect_tcp(const HttpsUrl& where, const std::string& url) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    auto port = std::to_string(where.port);
    if (int error = ::getaddrinfo(where.host.c_str(), port.c_str(), &hints, &found); error != 0)
        return fail_errno(EHOSTUNREACH, fmt::format("{}: {}", url, ::gai_strerror(error)));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
    int last_errno = ECONNREFUSED;
    for (auto* address = found; address != nullptr; address = address->ai_next) {
        UniqueFd fd(::socket(address->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!fd) continue;
        if (::connect(fd.get(), address->ai_addr, address->ai_addrlen) == 0) {
            // A request's head and body may go apart: no waiting for the server's delayed ACK.
            int one = 1;
            ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        last_errno = errno;
    }
    return fail_errno(last_errno, fmt::format("connect to {}", url));
}

}  // namespace

Result<HttpsUrl> parse_https_url(std::string_view url) {
    auto invalid = [&](std::string_view why) {
        return fail_errno(EINVAL, fmt::format("{:?}: {} (expected https://HOST[:PORT])", url, why));
    };
    constexpr std::string_view scheme = "https://";
    if (!url.starts_with(scheme)) return invalid("not an https:// address");
    auto rest = url.substr(scheme.size());
    if (rest.ends_with('/')) rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos) return invalid("a path is not expected");
    HttpsUrl parsed;
    std::string_view port_text;
    if (rest.starts_with('[')) {
        auto close = rest.find(']');
        if (close == std::string_view::npos) return invalid("no ] after the IPv6 address");
        parsed.host = std::string(rest.substr(1, close - 1));
        auto after = rest.substr(close + 1);
        if (!after.empty()) {
            if (!after.starts_with(':')) return invalid("junk after ]");
            port_text = after.substr(1);
        }
    } else {
        auto colon = rest.rfind(':');
        parsed.host = std::string(rest.substr(0, colon));
        if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
        if (parsed.host.find(':') != std::string::npos)
            return invalid("an IPv6 address must be in brackets");
    }
    if (parsed.host.empty()) return invalid("no host");
    if (!port_text.empty() || rest.ends_with(':')) {
        unsigned port = 0;
        auto [end, error] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (port_text.empty() || error != std::errc() ||
            end != port_text.data() + port_text.size() || port == 0 || port > 65535)
            return invalid("the port must be a number from 1 to 65535");
        parsed.port = static_cast<uint16_t>(port);
    }
    return parsed;
}

void keep_openssl_state_at_exit() {
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
}

Result<UniqueFd> connect_remote(const RemoteEndpoint& endpoint) {
    auto where = TRY(parse_https_url(endpoint.url));
    keep_openssl_state_at_exit();
    ContextHandle context(SSL_CTX_new(TLS_client_method()));
    if (!context) return openssl_error("TLS context");
    SSL_CTX_set_min_proto_version(context.get(), TLS1_3_VERSION);
    SSL_CTX_set_mode(context.get(),
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // No certificate authority vouches for a vesseld: its fingerprint, checked below, does.
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
    auto certificate = TRY(parse_certificate(endpoint.client.certificate_pem));
    auto key = TRY(parse_private_key(endpoint.client.key_pem));
    if (SSL_CTX_use_certificate(context.get(), certificate.get()) != 1 ||
        SSL_CTX_use_PrivateKey(context.get(), key.get()) != 1)
        return openssl_error("this client's certificate and key");

    auto network = TRY(connect_tcp(where, endpoint.url));
    SessionHandle session(SSL_new(context.get()));
    if (!session || SSL_set_fd(session.get(), network.get()) != 1)
        return openssl_error("TLS session");
    SSL_set_connect_state(session.get());
    SSL_set_tlsext_host_name(session.get(), where.host.c_str());
    TRY_CTX(handshake(session.get(), network.get(), handshake_timeout),
            "{} (is it a vesseld with core.https_address set?)", endpoint.url);
    X509* presented = SSL_get0_peer_certificate(session.get());
    if (presented == nullptr)
        return fail_errno(EPROTO, fmt::format("{}: no certificate", endpoint.url));
    auto actual = fingerprint(presented);
    if (actual != endpoint.pinned_fingerprint)
        return fail_errno(
            EPERM,
            fmt::format("{}: the server's certificate has fingerprint {}, not the pinned {}: "
                        "someone may be in between, or the server made a new certificate. If "
                        "you trust it, remove the remote and add it again with a new token",
                        endpoint.url, actual, endpoint.pinned_fingerprint));
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return fail_errno("socketpair");
    UniqueFd plain(pair[0]);
    // Runs until the caller closes its side or the server closes the connection; a CLI exits
    // with it.
    std::thread([context = std::move(context), session = std::move(session),
                 network = std::move(network), relay_side = UniqueFd(pair[1])]() {
        (void)relay(session.get(), network.get(), relay_side.get());
    }).detach();
    return plain;
}

}  // namespace vessel::manager::tls
