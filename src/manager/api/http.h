// A deliberately small HTTP/1.1 implementation for a unix socket: requests with Content-Length
// bodies, keep-alive, and chunked responses for streams. Every size is bounded, so a misbehaving
// client costs at most one connection's buffers; every malformed input maps to a 4xx status.
// Lines end with CRLF only: a bare LF is answered 400 at once rather than read as a line end (see
// RequestParser).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "manager/cancel.h"

namespace vessel::manager::http {

struct Limits {
    size_t max_head_bytes = 16 * 1024;
    size_t max_header_fields = 100;
    // An exec's standard input travels in its request body, base64-encoded: 32 MiB carries the
    // 20 MiB that `vessel exec -i` accepts.
    size_t max_body_bytes = 32 * 1024 * 1024;
};

// A client of the HTTPS listener, by the certificate it presented in the TLS handshake (the unix
// socket's clients have none: they are root on this host).
struct RemotePeer {
    std::string fingerprint;  // lower-case hex SHA-256 of the certificate
    std::string certificate_pem;
};

struct Request {
    std::string method;
    std::string target;  // as sent: path plus optional ?query
    std::string path;    // percent-decoded, without the query
    std::map<std::string, std::string> query;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    bool keep_alive = true;
    // The client's connection: work that can outlast the client stops when it hangs up.
    manager::Cancellation client;
    // Set for a request that came over HTTPS.
    std::optional<RemotePeer> peer;

    std::string header(const std::string& lower_name) const;
};

// Streams events to the client in chunks until the writer fails (client gone) or the producer ends.
class ChunkWriter {
  public:
    explicit ChunkWriter(int fd, std::chrono::milliseconds send_timeout = std::chrono::seconds(30))
        : fd_(fd), send_timeout_(send_timeout) {}
    Result<> write(std::string_view data);
    // True once the client hung up (or the server shut the connection down to stop).
    bool peer_closed() const;

  private:
    int fd_;
    std::chrono::milliseconds send_timeout_;
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    // When set, the response is sent with Transfer-Encoding: chunked and `stream` produces the
    // chunks; the connection closes afterwards.
    std::function<void(ChunkWriter&)> stream;
    // When set, the answer is "101 Switching Protocols" to `upgrade_protocol` and the connection
    // leaves HTTP: `upgrade` gets the socket (blocking) and whatever the client sent after the
    // request, owns the connection until it returns, and the connection closes afterwards.
    std::string upgrade_protocol;
    // More header lines of the 101 (a WebSocket's Sec-WebSocket-Accept).
    std::vector<std::pair<std::string, std::string>> upgrade_headers;
    // More header lines of any other answer (the web UI's security policy).
    std::vector<std::pair<std::string, std::string>> headers;
    std::function<void(int fd, std::string early_bytes)> upgrade;
};

// What a streamed exec or file transfer switches to: the frames of docs/agent-protocol.md, from the
// first reply on (docs/rest-api.md).
inline constexpr std::string_view frame_stream_protocol = "vessel-frames";

// Whether the request asks to switch the connection to `protocol` ("Connection: Upgrade" and
// "Upgrade: <protocol>").
bool asks_upgrade(const Request& request, std::string_view protocol);

// The head of a 101 answer switching to `protocol`.
std::string switching_protocols_head(
    std::string_view protocol,
    const std::vector<std::pair<std::string, std::string>>& headers = {});

// A protocol error the server answers with `status` before closing the connection.
struct ProtocolError {
    int status;
    std::string message;
};

// Takes requests off a connection's byte stream as they complete, so that a server can read many
// connections from one thread, with deadlines, and hand only complete requests to workers.
class RequestParser {
  public:
    explicit RequestParser(Limits limits = {}) : limits_(limits) {}

    void append(std::string_view bytes) { buffer_.append(bytes); }
    // The next complete request, taken off the buffer; nullopt while more bytes are needed.
    std::expected<std::optional<Request>, ProtocolError> next();
    // Nothing of a next request has arrived (a keep-alive connection between requests).
    bool idle() const { return buffer_.empty() && !pending_; }
    // What arrived after the last complete request: for a connection that leaves HTTP.
    std::string take_buffered() { return std::exchange(buffer_, {}); }
    // The head has arrived and the body is awaited: how long it is.
    std::optional<size_t> awaited_body() const {
        return pending_ ? std::optional<size_t>(body_length_) : std::nullopt;
    }

  private:
    std::expected<std::optional<Request>, ProtocolError> parse_head();

    Limits limits_;
    std::string buffer_;
    // How far the buffer was checked for bare LFs.
    size_t scanned_ = 0;
    std::optional<Request> pending_;
    size_t body_length_ = 0;
};

// Writes a whole response to a server-side socket (blocking or not: a full socket buffer is
// waited out for up to `send_timeout`, so a client that stops reading cannot pin a thread).
Result<> write_response(int fd, const Response& response, bool keep_alive,
                        std::chrono::milliseconds send_timeout = std::chrono::seconds(30));

// The client side of one connected socket: sends requests and reads responses, keeping whatever
// was read past the current message for the next one.
class Connection {
  public:
    explicit Connection(UniqueFd fd, Limits limits = {}) : fd_(std::move(fd)), limits_(limits) {}

    int fd() const { return fd_.get(); }

    // `upgrade`: ask the server to switch the connection to that protocol. `more_head_lines`:
    // header lines that protocol asks for, each ending in CRLF.
    Result<> write_request(std::string_view method, std::string_view target, std::string_view body,
                           std::string_view upgrade = {}, std::string_view more_head_lines = {});
    Result<Response> read_response();
    // For streams: reads the head of a chunked response, then calls on_chunk for each chunk until
    // the stream ends or on_chunk returns false.
    // on_head, when set, learns the status as soon as the head is in.
    Result<int> read_streamed_response(const std::function<bool(std::string_view)>& on_chunk,
                                       const std::function<void(int)>& on_head = {});
    // After a request that asked to upgrade: nullopt when the server switched (101), after which
    // the socket (release()) and take_buffered() carry the new protocol; otherwise the answer.
    Result<std::optional<Response>> read_upgrade_response();
    // The header fields of the 101 that read_upgrade_response took (names in lower case).
    const std::map<std::string, std::string>& switched_fields() const { return switched_fields_; }
    std::string take_buffered() { return std::exchange(buffer_, {}); }
    UniqueFd release() { return std::move(fd_); }

  private:
    // Reads until the buffer holds "\r\n\r\n"; returns the head's length (without the blank line).
    Result<size_t> fill_head();
    Result<bool> fill(size_t at_least);
    Result<std::string> read_chunked_body(const std::function<bool(std::string_view)>* on_chunk);

    UniqueFd fd_;
    Limits limits_;
    std::string buffer_;
    std::map<std::string, std::string> switched_fields_;
};

std::string_view reason_phrase(int status);

// "%2F" -> "/"; nullopt for a malformed escape or an encoded NUL.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace vessel::manager::http
