// The CLI's view of the daemon's event stream while an operation runs: subscribed before the
// request that starts the operation is sent (the daemon confirms the subscription with the
// response head), so that no event of it is missed, and with no fixed wait.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/error.h"
#include "base/json.h"
#include "manager/api/client.h"

namespace vessel::cli {

class EventWatch {
  public:
    // Returns once the daemon has subscribed `client`; `on_event` then runs on a thread of the
    // watch for each event until the watch is destroyed.
    static Result<std::unique_ptr<EventWatch>> start(manager::ApiClient client,
                                                     std::function<void(const Json&)> on_event);
    ~EventWatch();

    // Waits (up to 2 s) until the last event of the operation whose final record is `operation`
    // (what ApiClient::run returns) has been handled: the events come on a stream of their own,
    // which may lag the reply that ended the operation, and every event the operation published
    // came before its last.
    void wait_for_end_of(const Json& operation);

    struct Shared;

  private:
    explicit EventWatch(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
    // Until an event for which `seen` is true has been handled (one already handled counts) or
    // `timeout` passed. False on time-out.
    bool wait_for(const std::function<bool(const Json&)>& seen, std::chrono::milliseconds timeout);
    std::shared_ptr<Shared> shared_;
};

// A progress line on stderr for `action` ("export", "import") of `instance`, drawn from the
// daemon's "progress" events while stderr is a terminal, and cleared when it goes.
class ProgressLine {
  public:
    ProgressLine(std::string action, std::string instance);
    ~ProgressLine();
    // Feeds an event; those of other work are ignored. An empty `instance` takes any instance's
    // (an import learns its name from the archive).
    void on_event(const Json& event);

  private:
    std::string action_;
    std::string instance_;
    bool terminal_;
    bool drawn_ = false;
};

}  // namespace vessel::cli
