// vesseld's HTTPS listener (core.https_address): TLS 1.3 only, a client certificate required in
// the handshake (any certificate: whether it is trusted is the API's question, asked on every
// request against the trust store, so that removing a certificate takes effect at once). Each
// connection's plain side goes to the same HTTP server as the unix socket's, tagged with the
// client's certificate.
#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/error.h"
#include "base/unique_fd.h"
#include "manager/api/server.h"
#include "manager/tls/certificate.h"

namespace vessel::manager::tls {

struct HttpsOptions {
    // "[::]:8443" (every address, IPv4 too), "0.0.0.0:8443", "127.0.0.1:8443", "[::1]:8443",
    // ":8443" (every address); port 0 picks a free one.
    std::string address;
    CertificatePair certificate;
    std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10);
    // Connections at once; past this a new one is closed at once.
    size_t max_connections = 256;
};

struct ListenAddress {
    std::string host;  // empty: every address
    uint16_t port = 0;
};
// EINVAL naming what is wrong with the address.
Result<ListenAddress> parse_listen_address(std::string_view address);

class HttpsListener {
  public:
    static Result<std::unique_ptr<HttpsListener>> start(HttpsOptions options, http::Server& server);
    // Stops accepting, closes every connection and waits for their threads.
    ~HttpsListener();
    HttpsListener(const HttpsListener&) = delete;
    HttpsListener& operator=(const HttpsListener&) = delete;

    uint16_t port() const { return port_; }
    const std::string& address() const { return options_.address; }

  private:
    HttpsListener(HttpsOptions options, http::Server& server, ContextHandle context,
                  UniqueFd listener, UniqueFd stop, uint16_t port);
    void accept_loop();
    void serve_connection(int network);

    struct Connection {
        std::thread thread;
        int fd = -1;
        bool done = false;
    };
    void reap();

    HttpsOptions options_;
    http::Server& server_;
    ContextHandle context_;
    UniqueFd listener_;
    UniqueFd stop_;  // eventfd: readable once the listener stops
    uint16_t port_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::list<Connection> connections_;
    std::thread acceptor_;
};

}  // namespace vessel::manager::tls
