// Where `vessel` sends its requests: vesseld's unix socket ("local"), or a remote's HTTPS
// listener through a TLS relay with this client's certificate (cli/remotes.h). Every command
// shares it, so a REMOTE: prefix works the same for each.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"
#include "base/json.h"
#include "cli/remotes.h"
#include "manager/api/client.h"

namespace vessel::cli {

class ApiTarget {
  public:
    std::string socket = "/run/vessel/vessel.sock";

    // Strips a REMOTE: prefix off `argument` and makes REMOTE the target; every argument of one
    // command must name the same remote (EINVAL otherwise).
    Result<> take_remote(std::string& argument);
    // The remote requests go to: the one an argument named, else the default.
    Result<std::string> remote_name() const;

    Result<manager::ApiClient> connect() const;
    // A connection to speak HTTP on directly (a response that is not JSON).
    Result<UniqueFd> connect_raw() const;

    // One request; an error answer becomes an error with the daemon's message.
    Result<Json> call(std::string_view method, std::string_view path,
                      const std::optional<Json>& body = std::nullopt) const;
    // An async operation, waited for (ApiClient::run).
    Result<Json> run(std::string_view method, std::string_view path,
                     const std::optional<Json>& body = std::nullopt) const;
    // run(), with a progress line of `action` on `instance` (any instance when empty) drawn from
    // the daemon's events on a terminal. Progress is a nicety: without the event stream the
    // operation still runs.
    Result<Json> run_with_progress(std::string action, std::string instance,
                                   std::string_view method, std::string_view path,
                                   const Json& body) const;

  private:
    Result<UniqueFd> connect_local() const;
    std::optional<std::string> named_remote_;
    mutable std::optional<Remotes> remotes_;
};

}  // namespace vessel::cli
