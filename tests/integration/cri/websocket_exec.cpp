#include "websocket_exec.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "base/unique_fd.h"

namespace vessel {

namespace {

std::string base64(const unsigned char* data, size_t size) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (size_t i = 0; i < size; i += 3) {
        uint32_t chunk = static_cast<uint32_t>(data[i]) << 16;
        if (i + 1 < size) chunk |= static_cast<uint32_t>(data[i + 1]) << 8;
        if (i + 2 < size) chunk |= data[i + 2];
        out += alphabet[(chunk >> 18) & 63];
        out += alphabet[(chunk >> 12) & 63];
        out += i + 1 < size ? alphabet[(chunk >> 6) & 63] : '=';
        out += i + 2 < size ? alphabet[chunk & 63] : '=';
    }
    return out;
}

// The Sec-WebSocket-Accept a genuine websocket server answers KEY with (RFC 6455, 4.2.2).
std::string expected_accept(const std::string& key) {
    std::string text = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    ::SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    return base64(digest, sizeof digest);
}

class Connection {
  public:
    Connection(UniqueFd fd, std::chrono::steady_clock::time_point deadline)
        : fd_(std::move(fd)), deadline_(deadline) {}

    Result<> write_all(const std::string& data) {
        for (size_t done = 0; done < data.size();) {
            ssize_t n = ::write(fd_.get(), data.data() + done, data.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return fail_errno("write to the streaming server");
            done += static_cast<size_t>(n);
        }
        return {};
    }

    // Exactly SIZE bytes (buffered leftovers of the HTTP response first).
    Result<std::string> read_exactly(size_t size) {
        while (buffer_.size() < size)
            TRY(fill());
        std::string out = buffer_.substr(0, size);
        buffer_.erase(0, size);
        return out;
    }

    Result<std::string> read_until(const std::string& marker) {
        size_t at;
        while ((at = buffer_.find(marker)) == std::string::npos)
            TRY(fill());
        std::string out = buffer_.substr(0, at + marker.size());
        buffer_.erase(0, at + marker.size());
        return out;
    }

  private:
    Result<> fill() {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline_ - std::chrono::steady_clock::now());
        if (left.count() <= 0) return fail("timed out waiting for the streaming server");
        pollfd p{.fd = fd_.get(), .events = POLLIN, .revents = 0};
        int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) return {};
        if (ready < 0) return fail_errno("poll");
        if (ready == 0) return fail("timed out waiting for the streaming server");
        char chunk[16384];
        ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) return {};
        if (n < 0) return fail_errno("read from the streaming server");
        if (n == 0) return fail("the streaming server closed the connection early");
        buffer_.append(chunk, static_cast<size_t>(n));
        return {};
    }

    UniqueFd fd_;
    std::chrono::steady_clock::time_point deadline_;
    std::string buffer_;
};

struct Target {
    std::string host, port, path;
};

Result<Target> parse_url(const std::string& url) {
    static const std::regex shape(R"(http://(\[[^\]]+\]|[^/:]+):([0-9]+)(/.*))");
    std::smatch m;
    if (!std::regex_match(url, m, shape)) return fail("not an http://HOST:PORT/PATH URL");
    std::string host = m[1];
    if (host.front() == '[') host = host.substr(1, host.size() - 2);
    return Target{host, m[2], m[3]};
}

Result<UniqueFd> connect_to(const Target& target) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &found); rc != 0)
        return fail("resolving {}: {}", target.host, ::gai_strerror(rc));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, ::freeaddrinfo);
    UniqueFd fd(::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket");
    if (::connect(fd.get(), found->ai_addr, found->ai_addrlen) != 0)
        return fail_errno(fmt::format("connect to {}:{}", target.host, target.port));
    return fd;
}

Result<std::string> random_key() {
    std::array<unsigned char, 16> nonce{};
    std::ifstream random("/dev/urandom", std::ios::binary);
    if (!random.read(reinterpret_cast<char*>(nonce.data()), nonce.size()))
        return fail("reading /dev/urandom");
    return base64(nonce.data(), nonce.size());
}

Result<> upgrade(Connection& connection, const Target& target) {
    std::string key = TRY(random_key());
    TRY(
        connection.write_all(fmt::format("GET {} HTTP/1.1\r\n"
                                         "Host: {}:{}\r\n"
                                         "Upgrade: websocket\r\n"
                                         "Connection: Upgrade\r\n"
                                         "Sec-WebSocket-Key: {}\r\n"
                                         "Sec-WebSocket-Version: 13\r\n"
                                         "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n",
                                         target.path, target.host, target.port, key)));
    std::string head = TRY(connection.read_until("\r\n\r\n"));
    if (!head.starts_with("HTTP/1.1 101"))
        return fail("no websocket upgrade: {}", head.substr(0, head.find("\r\n")));
    std::smatch m;
    static const std::regex accept(R"(\r\n[Ss]ec-[Ww]eb[Ss]ocket-[Aa]ccept: *([^\r]+)\r\n)");
    if (!std::regex_search(head, m, accept) || m[1] != expected_accept(key))
        return fail("the upgrade's Sec-WebSocket-Accept does not answer our key");
    return {};
}

struct Frame {
    bool final;
    int opcode;
    std::string payload;
};

Result<Frame> read_frame(Connection& connection) {
    std::string head = TRY(connection.read_exactly(2));
    auto b0 = static_cast<unsigned char>(head[0]), b1 = static_cast<unsigned char>(head[1]);
    uint64_t size = b1 & 0x7f;
    if (size >= 126) {
        std::string extended = TRY(connection.read_exactly(size == 126 ? 2 : 8));
        size = 0;
        for (char c : extended)
            size = size << 8 | static_cast<unsigned char>(c);
    }
    if (size > (64u << 20)) return fail("a websocket frame of {} bytes", size);
    std::string mask;
    if (b1 & 0x80) mask = TRY(connection.read_exactly(4));  // servers must not mask; tolerate it
    std::string payload = TRY(connection.read_exactly(size));
    for (size_t i = 0; !mask.empty() && i < payload.size(); ++i)
        payload[i] ^= mask[i % 4];
    return Frame{(b0 & 0x80) != 0, b0 & 0x0f, std::move(payload)};
}

// The v4 error stream: {"status":"Success"} or a Failure whose details name the exit code.
Result<int> exit_status(const std::string& document) {
    auto status = nlohmann::json::parse(document, nullptr, false);
    if (status.is_discarded() || !status.is_object()) return fail("error stream: not JSON");
    if (status.value("status", "") == "Success") return 0;
    if (status.value("reason", "") == "NonZeroExitCode" && status.contains("details"))
        for (const auto& cause : status["details"].value("causes", nlohmann::json::array()))
            if (cause.value("reason", "") == "ExitCode")
                return std::stoi(cause.value("message", ""));
    return fail("remote command failed: {}", status.value("message", document));
}

}  // namespace

Result<int> websocket_exec(const std::string& url, std::chrono::seconds timeout) {
    Target target = TRY(parse_url(url));
    Connection connection(TRY(connect_to(target)), std::chrono::steady_clock::now() + timeout);
    TRY(upgrade(connection, target));
    std::string message;  // a message may come in several frames (continuations, opcode 0)
    std::string error_stream;
    for (;;) {
        Frame frame = TRY(read_frame(connection));
        if (frame.opcode == 8) break;                           // close: every stream is done
        if (frame.opcode == 9 || frame.opcode == 10) continue;  // ping, pong
        message += frame.payload;
        if (!frame.final) continue;
        if (!message.empty()) {
            std::string data = message.substr(1);
            switch (message[0]) {
                case 1:
                    std::fwrite(data.data(), 1, data.size(), stdout);
                    break;
                case 2:
                    std::fwrite(data.data(), 1, data.size(), stderr);
                    break;
                case 3:
                    error_stream += data;
                    break;
                default:
                    break;  // stdin (0) and resize (4) are ours to send, never received
            }
        }
        message.clear();
    }
    std::fflush(stdout);
    if (error_stream.empty()) return 0;  // v4 sends nothing on the error stream for success
    return exit_status(error_stream);
}

}  // namespace vessel
