// How a running machine ends, whatever its CPU engine: any vCPU thread or device (power-off
// register, test finisher, SBI reset, fatal exit) or the VMM itself (time-out, signal) records an
// exit status and a reason; the first request wins (a guest may write the finisher twice) and wakes
// the thread waiting on the machine.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

namespace vessel::vm {

struct StopReason {
    int exit_code = 0;
    std::string message;  // empty for an orderly power-off
};

class StopLatch {
  public:
    void request(int exit_code, std::string message = {}) {
        {
            std::lock_guard lock(mutex_);
            if (reason_) return;
            reason_ = StopReason{exit_code, std::move(message)};
            stopped_.store(true, std::memory_order_release);
        }
        changed_.notify_all();
    }

    bool stopped() const { return stopped_.load(std::memory_order_acquire); }

    // Waits until a stop is requested or `deadline` passes; nullopt on time-out.
    std::optional<StopReason> wait_until(
        std::optional<std::chrono::steady_clock::time_point> deadline) {
        std::unique_lock lock(mutex_);
        if (deadline)
            changed_.wait_until(lock, *deadline, [&] { return reason_.has_value(); });
        else
            changed_.wait(lock, [&] { return reason_.has_value(); });
        return reason_;
    }

    // The exit status once stopped, or nullopt when `deadline` passed first.
    std::optional<int> exit_code_by(std::optional<std::chrono::steady_clock::time_point> deadline) {
        auto reason = wait_until(deadline);
        return reason ? std::optional<int>(reason->exit_code) : std::nullopt;
    }

    std::optional<StopReason> reason() const {
        std::lock_guard lock(mutex_);
        return reason_;
    }

  private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::optional<StopReason> reason_;
    std::atomic<bool> stopped_{false};
};

}  // namespace vessel::vm
