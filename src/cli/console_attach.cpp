#include "cli/console_attach.h"

#include <poll.h>
#include <unistd.h>

#include <cstdio>

#include "base/fd_passing.h"
#include "base/file.h"
#include "cli/raw_terminal.h"

namespace vessel {

namespace {

constexpr char kEscape = 0x01;  // Ctrl-A

}  // namespace

Result<> attach_console(const std::string& socket_path, const std::string& name) {
    return attach_console(TRY_CTX(connect_unix(socket_path), "console of {}", name), name);
}

Result<> attach_console(UniqueFd console, const std::string& name) {
    std::fprintf(stderr, "Attached to the console of %s. To detach: Ctrl-A q\r\n", name.c_str());
    RawTerminal raw;
    bool escape = false;
    bool input_open = true;
    char buffer[4096];
    for (;;) {
        pollfd fds[2] = {{console.get(), POLLIN, 0}, {input_open ? 0 : -1, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return fail_errno("poll");
        }
        if (fds[0].revents) {
            ssize_t got = ::read(console.get(), buffer, sizeof buffer);
            if (got <= 0) {
                std::fprintf(stderr, "\r\nThe console of %s closed (the VM stopped).\r\n",
                             name.c_str());
                return {};
            }
            TRY(write_all(1, std::string_view(buffer, static_cast<size_t>(got))));
        }
        if (fds[1].revents) {
            ssize_t got = ::read(0, buffer, sizeof buffer);
            if (got <= 0) {
                input_open = false;  // keep showing output until detached or closed
                continue;
            }
            std::string forward;
            for (ssize_t i = 0; i < got; ++i) {
                char byte = buffer[i];
                if (escape) {
                    escape = false;
                    if (byte == 'q') {
                        if (!forward.empty()) TRY(write_all(console.get(), forward));
                        std::fprintf(stderr, "\r\nDetached from %s.\r\n", name.c_str());
                        return {};
                    }
                    if (byte != kEscape) forward += kEscape;
                    forward += byte;
                } else if (byte == kEscape) {
                    escape = true;
                } else {
                    forward += byte;
                }
            }
            if (!forward.empty()) TRY(write_all(console.get(), forward));
        }
    }
}

}  // namespace vessel
