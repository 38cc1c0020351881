// Asynchronous operations (as in Incus): a long request (launch, stop, delete...) answers at once
// with an operation id; the work runs on its own thread, its fate is kept in memory for waiters
// and in the database for history. Lifecycle events go to every subscriber of the event stream.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/error.h"
#include "base/json.h"
#include "manager/cancel.h"
#include "manager/store/store.h"

namespace vessel::manager {

class EventBus {
  public:
    class Subscription {
      public:
        // The next event, or nullopt after `timeout` or once the bus closed.
        std::optional<Json> next(std::chrono::milliseconds timeout);

      private:
        friend class EventBus;
        std::mutex mutex_;
        std::condition_variable ready_;
        std::deque<Json> queue_;
        bool closed_ = false;
    };

    std::shared_ptr<Subscription> subscribe();
    void unsubscribe(const std::shared_ptr<Subscription>& subscription);
    // Adds a timestamp and delivers to every subscriber (a slow one loses its oldest events
    // rather than growing without bound).
    void publish(Json event);
    void close();

  private:
    std::mutex mutex_;
    std::list<std::shared_ptr<Subscription>> subscribers_;
};

// For metrics: what runs now and what ended since vesseld started.
struct OperationCounts {
    size_t running = 0;
    // (kind, success or failure) -> how many ended.
    std::map<std::pair<std::string, OperationStatus>, uint64_t> ended;
};

class Operations {
  public:
    // How long a finished operation's record stays in memory for its waiters. After that it is
    // only in the database, where `find` and `wait` still see it; a long-lived vesseld must not
    // keep a record of every operation it ever ran.
    static constexpr std::chrono::milliseconds default_retention = std::chrono::minutes(5);

    Operations(Store& store, EventBus& events,
               std::chrono::milliseconds retention = default_retention)
        : store_(store), events_(events), retention_(retention) {}
    ~Operations();

    // Starts `work` on a thread and returns the operation's record (status "running").
    OperationRecord start(std::string kind, std::string instance, std::function<Result<>()> work);
    std::optional<OperationRecord> find(const std::string& id);
    // Waits until the operation finished, the timeout passed or the waiter's client left; returns
    // its record then.
    std::optional<OperationRecord> wait(const std::string& id, std::chrono::milliseconds timeout,
                                        const Cancellation& client = {});
    OperationCounts counts();
    // Operations whose records are in memory: the running ones and those finished recently.
    size_t retained();

  private:
    struct Entry {
        OperationRecord record;
        std::thread thread;
        bool finished = false;
        std::chrono::steady_clock::time_point finished_at;
    };
    void reap_finished();

    Store& store_;
    EventBus& events_;
    const std::chrono::milliseconds retention_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::string, std::shared_ptr<Entry>> entries_;
    uint64_t counter_ = 0;
    OperationCounts counts_;
};

Json operation_json(const OperationRecord& record);

}  // namespace vessel::manager
