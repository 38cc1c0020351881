// vesseld's HTTP/1.1 request parser, fed a connection's bytes in fuzz-chosen pieces as the socket
// delivers them. Every input ends in complete requests, a wait for more bytes, or a 4xx protocol
// error (or 505 for another HTTP version); a request that comes out has a method, a target, a
// decoded path and a body no longer than the limit.
#include <cstdlib>

#include "fuzz_input.h"
#include "manager/api/http.h"

using namespace vessel;
using namespace vessel::manager::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    // Small limits as well as the defaults, so that the fuzzer reaches every bound.
    Limits limits;
    if (input.take<uint8_t>() & 1)
        limits = {.max_head_bytes = 512, .max_header_fields = 8, .max_body_bytes = 1024};
    RequestParser parser(limits);
    int requests = 0;
    while (!input.empty()) {
        parser.append(fuzz::as_text(input.take_bytes(1 + input.take<uint8_t>())));
        for (;;) {
            auto next = parser.next();
            if (!next) {
                // A client's mistake (4xx), or an HTTP version it may not speak (505).
                int status = next.error().status;
                if ((status < 400 || status > 499) && status != 505) std::abort();
                if (reason_phrase(status) == "Unknown" || next.error().message.empty())
                    std::abort();
                return 0;  // the server closes the connection
            }
            if (!*next) break;
            const Request& request = **next;
            if (request.method.empty() || request.target.empty()) std::abort();
            if (request.body.size() > limits.max_body_bytes) std::abort();
            (void)percent_decode(request.target);
            (void)asks_upgrade(request, frame_stream_protocol);
            (void)request.header("content-length");
            ++requests;
        }
        if (auto awaited = parser.awaited_body(); awaited && *awaited > limits.max_body_bytes)
            std::abort();
    }
    (void)parser.take_buffered();
    return requests < 0;
}
