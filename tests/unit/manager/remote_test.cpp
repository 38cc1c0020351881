// The remote API's parts without a daemon: certificates, addresses, trust tokens, the trust store,
// and the TLS path (HTTPS listener, relay, pinned client) end to end in one process.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "base/file.h"
#include "manager/api/client.h"
#include "manager/api/requests.h"
#include "manager/api/server.h"
#include "manager/api/trust_token.h"
#include "manager/tls/certificate.h"
#include "manager/tls/https_listener.h"
#include "manager/tls/tls_client.h"
#include "manager/tls/tls_relay.h"
#include "manager/trust/trust.h"
#include "temp_dir.h"

namespace vessel::manager {
namespace {

using testing::TempDirTest;

TEST(Certificates, AreSelfSignedWithAStableFingerprint) {
    auto pair = tls::generate_certificate("test@host", "host").value();
    auto certificate = tls::parse_certificate(pair.certificate_pem).value();
    auto fingerprint = tls::fingerprint(certificate.get());
    EXPECT_EQ(fingerprint.size(), 64u);
    EXPECT_EQ(fingerprint.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(tls::fingerprint_of_pem(pair.certificate_pem).value(), fingerprint);
    EXPECT_TRUE(tls::parse_private_key(pair.key_pem));
    // Two certificates never share a fingerprint.
    EXPECT_NE(
        tls::fingerprint_of_pem(tls::generate_certificate("test@host").value().certificate_pem)
            .value(),
        fingerprint);
    auto garbage = tls::parse_certificate("not a certificate");
    ASSERT_FALSE(garbage);
    EXPECT_EQ(garbage.error().code(), EINVAL);
}

class CertificateFiles : public TempDirTest {};

TEST_F(CertificateFiles, AreMadeOnceWithAPrivateKeyAndNeverReplacedHalfway) {
    auto first = tls::load_or_create_certificate(path("config"), "client", "me").value();
    struct stat key {};
    ASSERT_EQ(::stat(path("config/client.key").c_str(), &key), 0);
    EXPECT_EQ(key.st_mode & 0777, 0600u);
    auto again = tls::load_or_create_certificate(path("config"), "client", "me").value();
    EXPECT_EQ(again.certificate_pem, first.certificate_pem);
    ASSERT_EQ(::unlink(path("config/client.crt").c_str()), 0);
    auto half = tls::load_or_create_certificate(path("config"), "client", "me");
    ASSERT_FALSE(half);
    EXPECT_NE(half.error().message().find("client.key exists without"), std::string::npos)
        << half.error().message();
    // The key is still the one that was there.
    EXPECT_EQ(read_file(path("config/client.key")).value(), first.key_pem);
}

TEST(ListenAddresses, AreHostAndPortWithIpv6InBrackets) {
    auto every = tls::parse_listen_address("[::]:8443").value();
    EXPECT_EQ(every.host, "");
    EXPECT_EQ(every.port, 8443);
    EXPECT_EQ(tls::parse_listen_address(":8443").value().host, "");
    EXPECT_EQ(tls::parse_listen_address("0.0.0.0:1").value().host, "");
    EXPECT_EQ(tls::parse_listen_address("127.0.0.1:0").value().host, "127.0.0.1");
    EXPECT_EQ(tls::parse_listen_address("[::1]:9").value().host, "::1");
    for (const char* bad :
         {"8443", "::1:8443", "[::1]8443", "[nothost]:1", "h:65536", "h:", "h:x"}) {
        auto parsed = tls::parse_listen_address(bad);
        ASSERT_FALSE(parsed) << bad;
        EXPECT_EQ(parsed.error().code(), EINVAL);
        EXPECT_NE(parsed.error().message().find(bad), std::string::npos);
    }
}

TEST(HttpsUrls, NameAHostAndAPort) {
    auto url = tls::parse_https_url("https://example.org:9443/").value();
    EXPECT_EQ(url.host, "example.org");
    EXPECT_EQ(url.port, 9443);
    EXPECT_EQ(tls::parse_https_url("https://host").value().port, 8443);
    EXPECT_EQ(tls::parse_https_url("https://[::1]:7").value().host, "::1");
    for (const char* bad : {"http://host:1", "https://", "https://host:0", "https://host:x",
                            "https://host/path", "https://::1:5", "https://[::1"})
        EXPECT_FALSE(tls::parse_https_url(bad)) << bad;
}

TEST(TrustTokens, CarryTheServersFingerprintAndRefuseGarbage) {
    api::TrustTokenText token{.name = "laptop",
                              .fingerprint = std::string(64, 'a'),
                              .addresses = {"[::]:8443"},
                              .secret = std::string(64, '1'),
                              .expires_at = 1800000000};
    auto back = api::decode_trust_token(api::encode_trust_token(token) + "\n").value();
    EXPECT_EQ(back.name, "laptop");
    EXPECT_EQ(back.fingerprint, token.fingerprint);
    EXPECT_EQ(back.addresses, token.addresses);
    EXPECT_EQ(back.secret, token.secret);
    EXPECT_EQ(back.expires_at, token.expires_at);
    for (const char* bad : {"", "not base64!", "e30=" /* {} */, "WzFd" /* [1] */}) {
        auto decoded = api::decode_trust_token(bad);
        ASSERT_FALSE(decoded) << bad;
        EXPECT_EQ(decoded.error().code(), EINVAL);
        EXPECT_TRUE(decoded.error().message().starts_with("not a vessel trust token"));
    }
}

TEST(CertificateRequests, AreOneOfThreeForms) {
    auto token = api::parse_certificate_request(Json{{"token", true}, {"name", "ci"}}).value();
    EXPECT_EQ(std::get<api::TokenRequest>(token).lifetime, std::chrono::seconds(86400));
    auto redemption = api::parse_certificate_request(Json{{"trust_token", "abc"}}).value();
    EXPECT_EQ(std::get<api::TokenRedemption>(redemption).token, "abc");
    auto addition = api::parse_certificate_request(Json{{"certificate", "PEM"}}).value();
    EXPECT_EQ(std::get<api::CertificateAddition>(addition).certificate_pem, "PEM");
    for (const Json& bad :
         {Json::object(), Json{{"token", false}}, Json{{"token", true}, {"expiry", 0}},
          Json{{"token", true}, {"trust_token", "x"}}, Json{{"trust_token", 5}}}) {
        auto parsed = api::parse_certificate_request(bad);
        ASSERT_FALSE(parsed) << bad.dump();
        EXPECT_EQ(parsed.error().code(), EINVAL);
    }
    auto settings = api::parse_server_config_patch(
                        Json{{"config", {{"core.https_address", ":1"}, {"x", nullptr}}}})
                        .value();
    EXPECT_EQ(settings.at("core.https_address"), ":1");
    EXPECT_EQ(settings.at("x"), std::nullopt);
    EXPECT_FALSE(api::parse_server_config_patch(Json{{"config", {{"k", 1}}}}));
    EXPECT_FALSE(api::parse_server_config_patch(Json{{"config", Json::object()}}));
}

class TrustStore : public TempDirTest {
  protected:
    void SetUp() override {
        TempDirTest::SetUp();
        store_ = Store::open(path("vessel.db")).value();
        trust_ = Trust::open(*store_).value();
    }
    std::unique_ptr<Store> store_;
    std::unique_ptr<Trust> trust_;
};

TEST_F(TrustStore, ATokenTrustsOneCertificateOnce) {
    auto client = tls::generate_certificate("client").value();
    auto fingerprint = tls::fingerprint_of_pem(client.certificate_pem).value();
    EXPECT_FALSE(trust_->trusts(fingerprint));
    auto token = trust_->issue("laptop", std::chrono::hours(1)).value();
    EXPECT_EQ(token.secret.size(), 64u);
    // Only a digest of the secret is stored.
    auto stored = store_->list_trust_tokens().value();
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_NE(stored[0].secret_digest, token.secret);
    auto added = trust_->redeem(token.secret, client.certificate_pem).value();
    EXPECT_EQ(added.fingerprint, fingerprint);
    EXPECT_EQ(added.name, "laptop");
    EXPECT_TRUE(trust_->trusts(fingerprint));
    EXPECT_TRUE(store_->list_trust_tokens().value().empty());
    // Spent: a second client cannot use it.
    auto other = tls::generate_certificate("other").value();
    auto again = trust_->redeem(token.secret, other.certificate_pem);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), EACCES);
    EXPECT_NE(again.error().message().find("used already"), std::string::npos);
    EXPECT_FALSE(trust_->trusts(tls::fingerprint_of_pem(other.certificate_pem).value()));
    // Another trust store over the same database sees the same.
    EXPECT_TRUE(Trust::open(*store_).value()->trusts(fingerprint));
    // Removed by a prefix: trusted no more.
    EXPECT_FALSE(trust_->remove(fingerprint.substr(0, 8)));  // too short
    EXPECT_TRUE(trust_->remove(fingerprint.substr(0, 12)));
    EXPECT_FALSE(trust_->trusts(fingerprint));
    EXPECT_EQ(trust_->remove(fingerprint).error().code(), ENOENT);
}

TEST_F(TrustStore, AnExpiredTokenIsRefusedAndDropped) {
    auto token = trust_->issue("late", std::chrono::seconds(1)).value();
    auto digest = store_->list_trust_tokens().value().at(0).secret_digest;
    auto client = tls::generate_certificate("client").value();
    CertificateRecord record{.fingerprint = tls::fingerprint_of_pem(client.certificate_pem).value(),
                             .name = "late",
                             .certificate_pem = client.certificate_pem};
    auto late = store_->redeem_trust_token(digest, unix_now() + 2, record);
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code(), EACCES);
    EXPECT_NE(late.error().message().find("expired"), std::string::npos);
    EXPECT_TRUE(store_->list_trust_tokens().value().empty());
    EXPECT_TRUE(store_->list_certificates().value().empty());
    EXPECT_FALSE(trust_->redeem(std::string(64, 'z'), client.certificate_pem));  // not hex
    EXPECT_FALSE(trust_->issue("Not A Name", std::chrono::hours(1)));
}

// The HTTPS listener in front of an HTTP server on a unix socket, as vesseld runs them; the
// handler answers with the fingerprint of the certificate the request came with.
class HttpsPath : public TempDirTest {
  protected:
    void SetUp() override {
        TempDirTest::SetUp();
        server_certificate_ = tls::generate_certificate("server", "localhost").value();
        client_certificate_ = tls::generate_certificate("client").value();
        auto server = http::Server::listen(
            {.socket_path = path("api.sock")}, [](const http::Request& request) {
                // A listing's size: more than one TLS record and TCP segment.
                if (request.path == "/big")
                    return http::Response{.content_type = "text/plain",
                                          .body = std::string(100000, 'x')};
                Json body{{"peer", request.peer ? request.peer->fingerprint : "none"}};
                return http::Response{.body = body.dump()};
            });
        ASSERT_TRUE(server) << server.error().message();
        server_ = std::move(*server);
        thread_ = std::thread([this] { (void)server_->serve(); });
        auto https = tls::HttpsListener::start(
            {.address = "127.0.0.1:0", .certificate = server_certificate_}, *server_);
        ASSERT_TRUE(https) << https.error().message();
        https_ = std::move(*https);
        url_ = "https://127.0.0.1:" + std::to_string(https_->port());
    }
    void TearDown() override {
        https_.reset();
        server_->stop();
        thread_.join();
        server_.reset();
        TempDirTest::TearDown();
    }
    // A raw TLS client of the given versions, with or without a certificate: did the handshake
    // and one request get an answer?
    bool raw_client_answered(int max_version, bool with_certificate) {
        tls::ContextHandle context(SSL_CTX_new(TLS_client_method()));
        SSL_CTX_set_max_proto_version(context.get(), max_version);
        if (with_certificate) {
            SSL_CTX_use_certificate(
                context.get(),
                tls::parse_certificate(client_certificate_.certificate_pem).value().get());
            SSL_CTX_use_PrivateKey(
                context.get(), tls::parse_private_key(client_certificate_.key_pem).value().get());
        }
        UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in address{.sin_family = AF_INET, .sin_port = htons(https_->port())};
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            return false;
        timeval timeout{.tv_sec = 5, .tv_usec = 0};
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        tls::SessionHandle session(SSL_new(context.get()));
        SSL_set_fd(session.get(), fd.get());
        if (SSL_connect(session.get()) != 1) return false;
        std::string request = "GET /1.0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        if (SSL_write(session.get(), request.data(), static_cast<int>(request.size())) <= 0)
            return false;
        char answer[64];
        // TLS 1.3 reports a refused client certificate only at the first read.
        return SSL_read(session.get(), answer, sizeof answer) > 0;
    }

    tls::CertificatePair server_certificate_, client_certificate_;
    std::unique_ptr<http::Server> server_;
    std::unique_ptr<tls::HttpsListener> https_;
    std::thread thread_;
    std::string url_;
};

TEST_F(HttpsPath, APinnedClientIsServedAndKnownByItsCertificate) {
    auto pin = tls::fingerprint_of_pem(server_certificate_.certificate_pem).value();
    auto fd = tls::connect_remote(
        {.url = url_, .pinned_fingerprint = pin, .client = client_certificate_});
    ASSERT_TRUE(fd) << fd.error().message();
    auto client = ApiClient::over(std::move(*fd));
    // Kept alive: several requests on one connection.
    for (int i = 0; i < 3; ++i) {
        auto answer = client.request("GET", "/1.0").value();
        EXPECT_EQ(answer.status, 200);
        EXPECT_EQ(answer.body["peer"],
                  tls::fingerprint_of_pem(client_certificate_.certificate_pem).value());
    }
}

// A response leaves the relay in pieces (head, body); with Nagle on, each request on a kept-alive
// connection would wait for the client's delayed ACK, about 40 ms. 40 requests take a few
// milliseconds each without it.
TEST_F(HttpsPath, KeptAliveRequestsDoNotWaitForDelayedAcks) {
    auto pin = tls::fingerprint_of_pem(server_certificate_.certificate_pem).value();
    // Plain HTTP over the relay, without JSON, so that the time is the transport's.
    http::Connection connection(
        tls::connect_remote({.url = url_, .pinned_fingerprint = pin, .client = client_certificate_})
            .value());
    auto fetch = [&] {
        ASSERT_TRUE(connection.write_request("GET", "/big", ""));
        auto response = connection.read_response();
        ASSERT_TRUE(response);
        ASSERT_EQ(response->body.size(), 100000u);
    };
    fetch();
    auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 40; ++i)
        fetch();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1000));
}

TEST_F(HttpsPath, AServerThatIsNotThePinnedOneIsRefusedByName) {
    auto fd = tls::connect_remote(
        {.url = url_, .pinned_fingerprint = std::string(64, '0'), .client = client_certificate_});
    ASSERT_FALSE(fd);
    EXPECT_EQ(fd.error().code(), EPERM);
    EXPECT_NE(fd.error().message().find("not the pinned " + std::string(64, '0')),
              std::string::npos)
        << fd.error().message();
}

TEST_F(HttpsPath, OnlyTls13WithACertificateGetsThrough) {
    EXPECT_TRUE(raw_client_answered(TLS1_3_VERSION, true));
    EXPECT_FALSE(raw_client_answered(TLS1_2_VERSION, true));
    EXPECT_FALSE(raw_client_answered(TLS1_3_VERSION, false));
}

TEST_F(HttpsPath, PlainHttpGetsNoAnswer) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{.sin_family = AF_INET, .sin_port = htons(https_->port())};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    timeval timeout{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string request = "GET /1.0 HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    char answer[256];
    ssize_t n = ::recv(fd.get(), answer, sizeof answer, 0);
    // Whatever comes back (a TLS alert at most) is not HTTP.
    EXPECT_FALSE(n > 0 && std::string_view(answer, static_cast<size_t>(n)).starts_with("HTTP/"));
}

}  // namespace
}  // namespace vessel::manager
