#include "cli/event_watch.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace vessel::cli {

// Lives as long as the watch or its thread, whichever is longer: the thread blocks in a read the
// watch cannot interrupt portably, so it is detached, and it stops calling on_event once the
// watch is gone.
struct EventWatch::Shared {
    std::mutex mutex;
    std::condition_variable changed;
    bool subscribed = false;
    bool ended = false;
    std::optional<Error> failure;
    bool watching = true;
    std::function<void(const Json&)> on_event;
    // The latest events handled, for a wait_for that comes after its event.
    std::deque<Json> recent;
};

Result<std::unique_ptr<EventWatch>> EventWatch::start(manager::ApiClient client,
                                                      std::function<void(const Json&)> on_event) {
    auto shared = std::make_shared<Shared>();
    shared->on_event = std::move(on_event);
    std::thread([shared, client = std::move(client)]() mutable {
        auto read = client.events(
            [&](const Json& event) {
                std::lock_guard lock(shared->mutex);
                if (!shared->watching) return false;
                shared->on_event(event);
                shared->recent.push_back(event);
                if (shared->recent.size() > 64) shared->recent.pop_front();
                shared->changed.notify_all();
                return true;
            },
            [&] {
                std::lock_guard lock(shared->mutex);
                shared->subscribed = true;
                shared->changed.notify_all();
            });
        std::lock_guard lock(shared->mutex);
        if (!read) shared->failure = read.error();
        shared->ended = true;
        shared->changed.notify_all();
    }).detach();
    std::unique_lock lock(shared->mutex);
    shared->changed.wait(lock, [&] { return shared->subscribed || shared->ended; });
    if (!shared->subscribed) {
        shared->watching = false;
        return fail("subscribe to vesseld's events: {}",
                    shared->failure ? shared->failure->message() : "the stream ended");
    }
    return std::unique_ptr<EventWatch>(new EventWatch(shared));
}

bool EventWatch::wait_for(const std::function<bool(const Json&)>& seen,
                          std::chrono::milliseconds timeout) {
    std::unique_lock lock(shared_->mutex);
    return shared_->changed.wait_for(lock, timeout, [&] {
        return shared_->ended || std::any_of(shared_->recent.begin(), shared_->recent.end(), seen);
    }) && !shared_->ended;
}

void EventWatch::wait_for_end_of(const Json& operation) {
    if (!operation.is_object() || !operation.contains("id")) return;
    const auto& id = operation["id"];
    wait_for(
        [&](const Json& event) {
            if (!event.is_object() || event.value("type", "") != "operation") return false;
            auto metadata = event.find("metadata");
            return metadata != event.end() && metadata->is_object() &&
                   metadata->value("id", Json()) == id &&
                   metadata->value("status", "") != "running";
        },
        std::chrono::seconds(2));
}

EventWatch::~EventWatch() {
    std::lock_guard lock(shared_->mutex);
    shared_->watching = false;
}

namespace {

std::string mebibytes(uint64_t bytes) {
    return fmt::format("{:.1f} MiB", bytes / 1048576.0);
}

std::string capitalized(std::string word) {
    if (!word.empty() && word[0] >= 'a' && word[0] <= 'z')
        word[0] = static_cast<char>(word[0] - 32);
    return word;
}

}  // namespace

ProgressLine::ProgressLine(std::string action, std::string instance)
    : action_(std::move(action)), instance_(std::move(instance)), terminal_(::isatty(2) == 1) {}

ProgressLine::~ProgressLine() {
    if (drawn_) std::fputs("\r\033[K", stderr);
}

void ProgressLine::on_event(const Json& event) try {
    if (!terminal_ || !event.is_object() || event.value("type", "") != "progress") return;
    auto metadata = event.find("metadata");
    if (metadata == event.end() || !metadata->is_object()) return;
    if (metadata->value("action", "") != action_ ||
        (!instance_.empty() && metadata->value("instance", "") != instance_))
        return;
    auto stage = metadata->value("stage", "");
    uint64_t done = metadata->value("bytes", uint64_t{0});
    uint64_t total = metadata->value("total", uint64_t{0});
    std::string line =
        fmt::format("{}ing {}: {}", capitalized(action_), metadata->value("instance", ""), stage);
    if (total > 0)
        line +=
            fmt::format(" {}% ({} of {})", done * 100 / total, mebibytes(done), mebibytes(total));
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
    drawn_ = true;
} catch (const Json::exception&) {
    // An event of another shape is not progress; the line stays as it was.
}

}  // namespace vessel::cli
