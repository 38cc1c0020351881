#include "manager/api/http.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <vector>

#include <poll.h>

namespace vessel::manager::http {

namespace {

constexpr std::string_view crlf = "\r\n";

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

std::vector<std::string_view> split_lines(std::string_view head) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start <= head.size()) {
        size_t end = head.find(crlf, start);
        if (end == std::string_view::npos) end = head.size();
        lines.push_back(head.substr(start, end - start));
        start = end + crlf.size();
    }
    return lines;
}

// Header fields shared by requests and responses. Rejects obsolete line folding, bad names, bare
// CR/LF and NUL in values: each is a request-smuggling vector.
std::expected<std::map<std::string, std::string>, ProtocolError> parse_fields(
    const std::vector<std::string_view>& lines) {
    std::map<std::string, std::string> fields;
    for (size_t i = 1; i < lines.size(); ++i) {
        auto line = lines[i];
        if (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            return std::unexpected(ProtocolError{400, "obsolete header line folding"});
        auto colon = line.find(':');
        if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
            return std::unexpected(
                ProtocolError{400, fmt::format("malformed header line {}", i + 1)});
        auto value = trim(line.substr(colon + 1));
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
            return std::unexpected(ProtocolError{400, "control character in a header value"});
        auto name = lower(line.substr(0, colon));
        auto [it, inserted] = fields.emplace(name, std::string(value));
        if (!inserted) {
            if (name == "content-length" || name == "host" || name == "transfer-encoding")
                return std::unexpected(
                    ProtocolError{400, fmt::format("duplicate {} header", name)});
            it->second += ", " + std::string(value);
        }
    }
    return fields;
}

std::optional<size_t> parse_size(std::string_view text, int base = 10) {
    if (text.empty()) return std::nullopt;
    size_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
    std::map<std::string, std::string> out;
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        auto key = percent_decode(pair.substr(0, eq));
        auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
        if (key && value) out[*key] = *value;
    }
    return out;
}

// send(MSG_NOSIGNAL): a client that hangs up must cost us an EPIPE, not a SIGPIPE. A server socket
// is non-blocking: a full buffer is waited out, but only for `timeout` in all.
Result<> send_all(int fd, std::string_view data,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n >= 0) {
            data.remove_prefix(static_cast<size_t>(n));
            continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_errno("write to socket");
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return fail_errno(ETIMEDOUT, "write to socket: the client does not read");
        pollfd watch{.fd = fd, .events = POLLOUT, .revents = 0};
        if (::poll(&watch, 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
            return fail_errno("poll socket");
    }
    return {};
}

}  // namespace

bool asks_upgrade(const Request& request, std::string_view protocol) {
    auto connection = request.header("connection");
    std::transform(connection.begin(), connection.end(), connection.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return connection.find("upgrade") != std::string::npos && request.header("upgrade") == protocol;
}

std::string switching_protocols_head(
    std::string_view protocol, const std::vector<std::pair<std::string, std::string>>& headers) {
    auto head = fmt::format(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: {}\r\n", protocol);
    for (const auto& [name, value] : headers)
        head += name + ": " + value + "\r\n";
    return head + "\r\n";
}

std::string Request::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
}

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;
        unsigned value = 0;
        auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
        if (ec != std::errc() || end != text.data() + i + 3 || value == 0) return std::nullopt;
        out += static_cast<char>(value);
        i += 2;
    }
    return out;
}

std::string_view reason_phrase(int status) {
    switch (status) {
        case 100:
            return "Continue";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 204:
            return "No Content";
        case 400:
            return "Bad Request";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 411:
            return "Length Required";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

Result<bool> Connection::fill(size_t at_least) {
    char chunk[16384];
    while (buffer_.size() < at_least) {
        ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("read from socket");
        }
        if (n == 0) return false;
        buffer_.append(chunk, static_cast<size_t>(n));
    }
    return true;
}

Result<size_t> Connection::fill_head() {
    for (;;) {
        auto end = buffer_.find("\r\n\r\n");
        if (end != std::string::npos) {
            if (end + 4 > limits_.max_head_bytes) return fail("response head too large");
            return end;
        }
        if (buffer_.size() > limits_.max_head_bytes) return fail("response head too large");
        if (!TRY(fill(buffer_.size() + 1))) return fail("server closed the connection");
    }
}

std::expected<std::optional<Request>, ProtocolError> RequestParser::parse_head() {
    // Tolerate the empty lines RFC 9112 allows before a request line.
    while (buffer_.starts_with(crlf)) {
        buffer_.erase(0, 2);
        scanned_ = 0;
    }
    auto end = buffer_.find("\r\n\r\n");
    // A line that ends in a bare LF is refused at once, however the client meant it: reading it as
    // a line end (as some servers do) would let two parsers disagree on where a header ends, and
    // waiting for a CRLF that never comes would hold the client until it gave up.
    for (size_t limit = end == std::string::npos ? buffer_.size() : end; scanned_ < limit;
         ++scanned_) {
        if (buffer_[scanned_] == '\n' && (scanned_ == 0 || buffer_[scanned_ - 1] != '\r'))
            return std::unexpected(
                ProtocolError{400, "a line of the request head ends in a bare LF (use CRLF)"});
    }
    if (end == std::string::npos) {
        if (buffer_.size() > limits_.max_head_bytes)
            return std::unexpected(ProtocolError{
                431, fmt::format("request head over {} bytes", limits_.max_head_bytes)});
        return std::optional<Request>{};
    }
    if (end + 4 > limits_.max_head_bytes)
        return std::unexpected(
            ProtocolError{431, fmt::format("request head over {} bytes", limits_.max_head_bytes)});
    std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    scanned_ = 0;
    auto lines = split_lines(head);
    if (lines.size() - 1 > limits_.max_header_fields)
        return std::unexpected(
            ProtocolError{431, fmt::format("{} header fields (at most {})", lines.size() - 1,
                                           limits_.max_header_fields)});

    Request request;
    auto request_line = lines.front();
    auto sp1 = request_line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || request_line.find(' ', sp2 + 1) != std::string_view::npos)
        return std::unexpected(ProtocolError{400, "malformed request line"});
    request.method = std::string(request_line.substr(0, sp1));
    request.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
    auto version = request_line.substr(sp2 + 1);
    if (!is_token(request.method)) return std::unexpected(ProtocolError{400, "malformed method"});
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        if (version.starts_with("HTTP/"))
            return std::unexpected(ProtocolError{505, fmt::format("unsupported {}", version)});
        return std::unexpected(ProtocolError{400, "malformed request line"});
    }
    if (request.target.empty() || request.target.front() != '/')
        return std::unexpected(ProtocolError{400, "request target must be an absolute path"});

    auto fields = parse_fields(lines);
    if (!fields) return std::unexpected(fields.error());
    request.headers = std::move(*fields);

    auto connection = lower(request.header("connection"));
    request.keep_alive = version == "HTTP/1.1" ? connection.find("close") == std::string::npos
                                               : connection.find("keep-alive") != std::string::npos;

    auto question = request.target.find('?');
    auto decoded = percent_decode(std::string_view(request.target).substr(0, question));
    if (!decoded) return std::unexpected(ProtocolError{400, "malformed percent-encoding in path"});
    request.path = std::move(*decoded);
    if (question != std::string::npos)
        request.query = parse_query(std::string_view(request.target).substr(question + 1));

    if (request.headers.contains("transfer-encoding")) {
        if (request.headers.contains("content-length"))
            return std::unexpected(
                ProtocolError{400, "both Content-Length and Transfer-Encoding are set"});
        return std::unexpected(
            ProtocolError{411, "chunked request bodies are not accepted: send Content-Length"});
    }
    size_t length = 0;
    if (request.headers.contains("content-length")) {
        auto parsed = parse_size(request.header("content-length"));
        if (!parsed) return std::unexpected(ProtocolError{400, "malformed Content-Length"});
        length = *parsed;
    }
    if (length > limits_.max_body_bytes)
        return std::unexpected(ProtocolError{
            413, fmt::format("request body over the limit of {} bytes", limits_.max_body_bytes)});
    pending_ = std::move(request);
    body_length_ = length;
    return std::optional<Request>{};
}

std::expected<std::optional<Request>, ProtocolError> RequestParser::next() {
    if (!pending_) {
        auto head = parse_head();
        if (!head) return head;
        if (!pending_) return std::optional<Request>{};
    }
    if (buffer_.size() < body_length_) return std::optional<Request>{};
    Request request = std::move(*pending_);
    pending_.reset();
    request.body = buffer_.substr(0, body_length_);
    buffer_.erase(0, body_length_);
    return std::optional<Request>(std::move(request));
}

Result<> write_response(int fd, const Response& response, bool keep_alive,
                        std::chrono::milliseconds send_timeout) {
    std::string head = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\n", response.status,
                                   reason_phrase(response.status), response.content_type);
    for (const auto& [name, value] : response.headers)
        head += name + ": " + value + "\r\n";
    if (response.stream) {
        head += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        TRY(send_all(fd, head, send_timeout));
        ChunkWriter writer(fd, send_timeout);
        response.stream(writer);
        return send_all(fd, "0\r\n\r\n", send_timeout);
    }
    head += fmt::format("Content-Length: {}\r\nConnection: {}\r\n\r\n", response.body.size(),
                        keep_alive ? "keep-alive" : "close");
    head += response.body;
    return send_all(fd, head, send_timeout);
}

bool ChunkWriter::peer_closed() const {
    pollfd watch{.fd = fd_, .events = POLLRDHUP, .revents = 0};
    return ::poll(&watch, 1, 0) != 0;
}

Result<> ChunkWriter::write(std::string_view data) {
    if (data.empty()) return {};
    return send_all(fd_, fmt::format("{:x}\r\n{}\r\n", data.size(), data), send_timeout_);
}

Result<> Connection::write_request(std::string_view method, std::string_view target,
                                   std::string_view body, std::string_view upgrade,
                                   std::string_view more_head_lines) {
    std::string message = fmt::format("{} {} HTTP/1.1\r\nHost: vessel\r\n", method, target);
    if (!upgrade.empty()) message += fmt::format("Connection: Upgrade\r\nUpgrade: {}\r\n", upgrade);
    message += more_head_lines;
    if (!body.empty())
        message +=
            fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n", body.size());
    else if (method != "GET")
        message += "Content-Length: 0\r\n";
    message += "\r\n";
    message += body;
    return send_all(fd_.get(), message);
}

namespace {

Result<Response> parse_response_head(std::string_view head,
                                     std::map<std::string, std::string>& fields_out) {
    auto lines = split_lines(head);
    auto status_line = lines.front();
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12)
        return fail("malformed status line from server");
    auto status = parse_size(status_line.substr(9, 3));
    if (!status) return fail("malformed status code from server");
    auto fields = parse_fields(lines);
    if (!fields) return fail("malformed response header: {}", fields.error().message);
    fields_out = std::move(*fields);
    Response response;
    response.status = static_cast<int>(*status);
    if (auto it = fields_out.find("content-type"); it != fields_out.end())
        response.content_type = it->second;
    return response;
}

}  // namespace

Result<std::string> Connection::read_chunked_body(
    const std::function<bool(std::string_view)>* on_chunk) {
    std::string body;
    for (;;) {
        size_t line_end;
        while ((line_end = buffer_.find(crlf)) == std::string::npos) {
            if (buffer_.size() > 1024) return fail("malformed chunk size line");
            if (!TRY(fill(buffer_.size() + 1))) return fail("stream ended mid-chunk");
        }
        auto size_text = std::string_view(buffer_).substr(0, line_end);
        size_text = size_text.substr(0, size_text.find(';'));
        auto size = parse_size(trim(size_text), 16);
        if (!size) return fail("malformed chunk size");
        if (body.size() + *size > limits_.max_body_bytes) return fail("response too large");
        if (!TRY(fill(line_end + 2 + *size + 2))) return fail("stream ended mid-chunk");
        std::string chunk = buffer_.substr(line_end + 2, *size);
        buffer_.erase(0, line_end + 2 + *size + 2);
        if (*size == 0) return body;
        if (on_chunk != nullptr) {
            if (!(*on_chunk)(chunk)) return body;
        } else {
            body += chunk;
        }
    }
}

Result<Response> Connection::read_response() {
    auto head_end = fill_head();
    if (!head_end) return fail("reading response: {}", head_end.error().message());
    std::map<std::string, std::string> fields;
    auto response =
        TRY(parse_response_head(std::string_view(buffer_).substr(0, *head_end), fields));
    buffer_.erase(0, *head_end + 4);
    if (fields.contains("transfer-encoding")) {
        response.body = TRY(read_chunked_body(nullptr));
        return response;
    }
    auto length = parse_size(fields["content-length"]);
    if (!length) return fail("response without a valid Content-Length");
    if (*length > limits_.max_body_bytes) return fail("response too large");
    if (!TRY(fill(*length))) return fail("server closed the connection mid-response");
    response.body = buffer_.substr(0, *length);
    buffer_.erase(0, *length);
    return response;
}

Result<std::optional<Response>> Connection::read_upgrade_response() {
    auto head_end = fill_head();
    if (!head_end) return fail("reading response: {}", head_end.error().message());
    std::map<std::string, std::string> fields;
    auto head = TRY(parse_response_head(std::string_view(buffer_).substr(0, *head_end), fields));
    if (head.status != 101) return std::optional<Response>(TRY(read_response()));
    buffer_.erase(0, *head_end + 4);
    switched_fields_ = std::move(fields);
    return std::optional<Response>{};
}

Result<int> Connection::read_streamed_response(
    const std::function<bool(std::string_view)>& on_chunk,
    const std::function<void(int)>& on_head) {
    auto head_end = fill_head();
    if (!head_end) return fail("reading response: {}", head_end.error().message());
    std::map<std::string, std::string> fields;
    auto response =
        TRY(parse_response_head(std::string_view(buffer_).substr(0, *head_end), fields));
    buffer_.erase(0, *head_end + 4);
    if (on_head) on_head(response.status);
    if (!fields.contains("transfer-encoding")) {
        auto length = parse_size(fields["content-length"]).value_or(0);
        if (!TRY(fill(length))) return fail("server closed the connection mid-response");
        on_chunk(std::string_view(buffer_).substr(0, length));
        buffer_.erase(0, length);
        return response.status;
    }
    TRY(read_chunked_body(&on_chunk));
    return response.status;
}

}  // namespace vessel::manager::http
