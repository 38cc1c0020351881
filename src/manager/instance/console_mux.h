// The instance monitor's side of `vessel console`: the payload's terminal is a pty whose output
// the monitor copies to the console log, always, and to at most one attached client, whose input
// goes back to the terminal. Clients connect to a unix socket in the instance directory (root
// only, as the API socket); a new client replaces the old one, as a serial line would.
#pragma once

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel::manager {

class ConsoleMux {
  public:
    // Opens the pty and the log, and listens on `socket_path`.
    static Result<ConsoleMux> open(const std::string& log_path, const std::string& socket_path);

    // The terminal's payload end, for its stdin and stdout; close it once the payload has it.
    int payload_end() const { return slave_.get(); }
    void close_payload_end() { slave_.reset(); }

    // Copies until `payload_pidfd` reports the payload's exit, then drains what it wrote last.
    void serve_until_exit(int payload_pidfd);

  private:
    ConsoleMux() = default;
    void pump_output();
    void attach_client();
    void pump_input();

    UniqueFd master_;
    UniqueFd slave_;
    UniqueFd log_;
    UniqueFd listener_;
    UniqueFd client_;
    std::string socket_path_;
};

}  // namespace vessel::manager
