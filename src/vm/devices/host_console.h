// The host side of a VM's serial console, independent of any CPU engine: guest output to stdout or
// a file; host stdin (raw mode when it is a terminal, restored on every way out) to the guest;
// Ctrl-A x to quit, as in QEMU; SIGINT/SIGTERM/SIGHUP turned into an orderly stop so the terminal
// is always restored.
#pragma once

#include <termios.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <thread>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel::vm {

class HostConsole {
  public:
    struct Handlers {
        // Offers input bytes to the guest; returns how many it took (the rest is offered again).
        std::function<size_t(std::span<const uint8_t>)> input;
        // Ctrl-A x, or a termination signal (its name is passed).
        std::function<void(std::string)> quit;
    };

    // `output_path` empty: stdout. Input is read from `input_fd` (not owned) only when
    // `interactive`; a terminal there is put in raw mode until the console is destroyed.
    // Blocks SIGINT/SIGTERM/SIGHUP in the calling thread (call before starting other threads, so
    // they inherit the mask) and receives them through a signalfd instead.
    static Result<HostConsole> open(const std::string& output_path, bool interactive,
                                    int input_fd = 0);

    HostConsole(HostConsole&&) noexcept;
    HostConsole& operator=(HostConsole&&) = delete;
    HostConsole(const HostConsole&) = delete;
    ~HostConsole();

    void write(uint8_t byte) const;

    // Starts the input/signal thread, which runs `prologue` first. Stopped by the destructor.
    Result<> start(Handlers handlers, std::function<void()> prologue = {});

  private:
    HostConsole() = default;
    void input_loop(Handlers handlers);

    UniqueFd output_owned_;
    int output_fd_ = 1;
    int input_fd_ = 0;
    bool interactive_ = false;
    bool raw_mode_ = false;
    termios saved_termios_{};
    sigset_t saved_mask_{};
    bool mask_saved_ = false;
    UniqueFd signal_fd_;
    UniqueFd wake_fd_;
    std::thread thread_;
};

}  // namespace vessel::vm
