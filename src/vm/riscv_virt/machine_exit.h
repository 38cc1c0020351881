// How a machine's run ends: a device (test finisher, power-off/reboot syscon) or the VMM records
// the exit status once; the thread supervising the harts waits for it, with an optional deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

namespace vessel::riscv_virt {

class MachineExit {
  public:
    // The first request wins; later ones are ignored (a guest may write the finisher twice).
    void request(int status) {
        std::lock_guard lock(mutex_);
        if (!status_) status_ = status;
        cv_.notify_all();
    }

    // The exit status, or nullopt if `deadline` passed first.
    std::optional<int> wait_until(std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(mutex_);
        cv_.wait_until(lock, deadline, [&] { return status_.has_value(); });
        return status_;
    }

    std::optional<int> wait() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return status_.has_value(); });
        return status_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::optional<int> status_;
};

}  // namespace vessel::riscv_virt
