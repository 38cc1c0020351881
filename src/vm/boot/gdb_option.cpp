#include "vm/boot/gdb_option.h"

#include <sys/un.h>

#include <algorithm>
#include <cctype>

namespace vessel::vm {

std::string GdbOption::where() const {
    return port ? fmt::format("127.0.0.1:{}", port) : path;
}

Result<GdbOption> parse_gdb_option(std::string_view text) {
    GdbOption option;
    bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
    });
    if (digits) {
        // At most six digits: anything longer is out of range without overflowing the parse.
        unsigned long port = text.size() <= 6 ? std::stoul(std::string(text)) : 0;
        if (port < 1 || port > 65535)
            return fail("--gdb: port {} is not between 1 and 65535", text);
        option.port = static_cast<uint16_t>(port);
        return option;
    }
    if (text.find('/') == std::string_view::npos)
        return fail(
            "--gdb: '{}' is neither a TCP port (1-65535) nor a unix socket path (one with a '/', "
            "e.g. ./gdb.sock)",
            text);
    if (text.size() >= sizeof(sockaddr_un{}.sun_path))
        return fail("--gdb: {}: a unix socket path has at most {} bytes", text,
                    sizeof(sockaddr_un{}.sun_path) - 1);
    if (text.find('\0') != std::string_view::npos)
        return fail("--gdb: the socket path holds a NUL byte");
    option.path = std::string(text);
    return option;
}

}  // namespace vessel::vm
