// Undo actions collected while a command builds something up (state directory, cgroup, child
// process, ...). If the command fails, the destructor runs them in reverse order, so a failed
// command leaves nothing behind; commit() keeps everything once the command has succeeded.
#pragma once

#include <functional>
#include <utility>
#include <vector>

namespace vessel::container::runtime {

class Rollback {
  public:
    Rollback() = default;
    Rollback(const Rollback&) = delete;
    Rollback& operator=(const Rollback&) = delete;
    ~Rollback() { run(); }

    void add(std::function<void()> undo) { undo_.push_back(std::move(undo)); }
    void commit() { undo_.clear(); }
    void run() {
        while (!undo_.empty()) {
            auto undo = std::move(undo_.back());
            undo_.pop_back();
            undo();
        }
    }

  private:
    std::vector<std::function<void()>> undo_;
};

}  // namespace vessel::container::runtime
