// Raw mode for the local terminal while it is attached to a remote one (a VM's console, an exec
// with -t), restored on every way out. Does nothing when standard input is not a terminal.
#pragma once

#include <termios.h>
#include <unistd.h>

namespace vessel {

class RawTerminal {
  public:
    RawTerminal() {
        if (!::isatty(0) || ::tcgetattr(0, &saved_) != 0) return;
        termios raw = saved_;
        ::cfmakeraw(&raw);
        active_ = ::tcsetattr(0, TCSANOW, &raw) == 0;
    }
    ~RawTerminal() {
        if (active_) ::tcsetattr(0, TCSANOW, &saved_);
    }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

  private:
    termios saved_{};
    bool active_ = false;
};

}  // namespace vessel
