// Where vessel-vmm's GDB stub listens (--gdb PORT|PATH, the config file's "gdb"): a TCP port on
// 127.0.0.1, or a unix socket. --gdb-wait ("gdb-wait") holds the CPUs before their first
// instruction until the debugger lets them go, as QEMU's -S does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace vessel::vm {

struct GdbOption {
    uint16_t port = 0;  // 0: the unix socket at `path`
    std::string path;
    bool wait = false;
    // "127.0.0.1:1234" or the path, for messages.
    std::string where() const;
};

// Digits are a TCP port (1-65535); text with a '/' is a unix socket path (./gdb.sock).
Result<GdbOption> parse_gdb_option(std::string_view text);

}  // namespace vessel::vm
