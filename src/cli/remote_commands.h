// `vessel remote ...` (this client's list of servers) and `vessel config trust ...` (a server's
// list of trusted clients, and the tokens that add to it).
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"
#include "cli/api_target.h"

namespace vessel::cli {

// Trusts this client on the server the token came from and remembers the server as `name`, its
// certificate pinned to the token's fingerprint.
Result<> remote_add(const std::string& name, const std::string& url, const std::string& token);
Result<> remote_list(const std::string& format);
Result<> remote_remove(const std::string& name);
Result<> remote_switch(const std::string& name);

// Prints a one-time token for a client to be called `name`, valid `expiry_seconds`.
Result<> trust_add(const ApiTarget& target, const std::string& name, int64_t expiry_seconds);
Result<> trust_add_certificate(const ApiTarget& target, const std::string& file,
                               const std::string& name);
Result<> trust_list(const ApiTarget& target, const std::string& format);
Result<> trust_remove(const ApiTarget& target, const std::string& fingerprint);

}  // namespace vessel::cli
