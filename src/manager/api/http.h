// A deliberately small HTTP/1.1 implementation for a unix socket: requests with Content-Length
// bodies, keep-alive, and chunked responses for streams. Every size is bounded, so a misbehaving
// client costs at most one connection's buffers; every malformed input maps to a 4xx status.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel::manager::http {

struct Limits {
    size_t max_head_bytes = 16 * 1024;
    size_t max_body_bytes = 4 * 1024 * 1024;
};

struct Request {
    std::string method;
    std::string target;  // as sent: path plus optional ?query
    std::string path;    // percent-decoded, without the query
    std::map<std::string, std::string> query;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    bool keep_alive = true;

    std::string header(const std::string& lower_name) const;
};

// Streams events to the client in chunks until the writer fails (client gone) or the producer ends.
class ChunkWriter {
  public:
    explicit ChunkWriter(int fd) : fd_(fd) {}
    Result<> write(std::string_view data);
    // True once the client hung up (or the server shut the connection down to stop).
    bool peer_closed() const;

  private:
    int fd_;
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    // When set, the response is sent with Transfer-Encoding: chunked and `stream` produces the
    // chunks; the connection closes afterwards.
    std::function<void(ChunkWriter&)> stream;
};

// A protocol error the server answers with `status` before closing the connection.
struct ProtocolError {
    int status;
    std::string message;
};

// Reads requests from (or responses to) one connected socket, keeping whatever was read past the
// current message for the next one.
class Connection {
  public:
    explicit Connection(UniqueFd fd, Limits limits = {}) : fd_(std::move(fd)), limits_(limits) {}

    int fd() const { return fd_.get(); }

    // nullopt when the peer closed cleanly between requests.
    std::expected<std::optional<Request>, ProtocolError> read_request();
    Result<> write_response(const Response& response, bool keep_alive);

    // Client side: sends one request and reads the response (a chunked one is read whole).
    Result<> write_request(std::string_view method, std::string_view target, std::string_view body);
    Result<Response> read_response();
    // Client side, for streams: reads the head of a chunked response, then calls on_chunk for
    // each chunk until the stream ends or on_chunk returns false.
    Result<int> read_streamed_response(const std::function<bool(std::string_view)>& on_chunk);

  private:
    // Reads until the buffer holds "\r\n\r\n"; returns the head's length (without the blank line).
    std::expected<size_t, ProtocolError> fill_head();
    Result<bool> fill(size_t at_least);
    Result<std::string> read_chunked_body(const std::function<bool(std::string_view)>* on_chunk);

    UniqueFd fd_;
    Limits limits_;
    std::string buffer_;
};

std::string_view reason_phrase(int status);

// "%2F" -> "/"; nullopt for a malformed escape or an encoded NUL.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace vessel::manager::http
