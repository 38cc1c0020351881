#include "manager/operations.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/file.h"
#include "manager/client_message.h"

namespace vessel::manager {

namespace {

constexpr size_t max_queued_events = 1024;

// 128 random bits, hex: ids must not be guessable or collide across daemon restarts.
std::string new_operation_id() {
    unsigned char bytes[16] = {};
    if (auto fd = open_file("/dev/urandom", O_RDONLY); fd)
        (void)!::read(fd->get(), bytes, sizeof bytes);
    std::string id;
    for (unsigned char b : bytes)
        id += fmt::format("{:02x}", b);
    return id;
}

}  // namespace

std::optional<Json> EventBus::Subscription::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [&] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return std::nullopt;
    auto event = std::move(queue_.front());
    queue_.pop_front();
    return event;
}

std::shared_ptr<EventBus::Subscription> EventBus::subscribe() {
    auto subscription = std::make_shared<Subscription>();
    std::lock_guard lock(mutex_);
    subscribers_.push_back(subscription);
    return subscription;
}

void EventBus::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
    std::lock_guard lock(mutex_);
    subscribers_.remove(subscription);
}

void EventBus::publish(Json event) {
    event["timestamp"] = unix_now();
    std::lock_guard lock(mutex_);
    for (auto& subscriber : subscribers_) {
        std::lock_guard sub_lock(subscriber->mutex_);
        if (subscriber->queue_.size() >= max_queued_events) subscriber->queue_.pop_front();
        subscriber->queue_.push_back(event);
        subscriber->ready_.notify_one();
    }
}

void EventBus::close() {
    std::lock_guard lock(mutex_);
    for (auto& subscriber : subscribers_) {
        std::lock_guard sub_lock(subscriber->mutex_);
        subscriber->closed_ = true;
        subscriber->ready_.notify_all();
    }
}

Json operation_json(const OperationRecord& record) {
    return {{"id", record.id},
            {"class", "task"},
            {"description", record.kind},
            {"instance", record.instance},
            {"status", name_of(record.status)},
            {"err", record.error},
            {"created_at", record.created_at},
            {"updated_at", record.updated_at}};
}

Operations::~Operations() {
    std::map<std::string, std::shared_ptr<Entry>> entries;
    {
        std::lock_guard lock(mutex_);
        entries = entries_;
    }
    for (auto& [id, entry] : entries)
        if (entry->thread.joinable()) entry->thread.join();
}

void Operations::reap_finished() {
    // Joins every finished thread, and forgets the records that outlived their retention. The
    // join comes first: it waits for the record's last write to the database, which `find` falls
    // back on once the record is gone from memory.
    auto now = std::chrono::steady_clock::now();
    for (auto it = entries_.begin(); it != entries_.end();) {
        auto& entry = *it->second;
        if (entry.finished && entry.thread.joinable()) entry.thread.join();
        if (entry.finished && now - entry.finished_at >= retention_)
            it = entries_.erase(it);
        else
            ++it;
    }
}

OperationRecord Operations::start(std::string kind, std::string instance,
                                  std::function<Result<>()> work) {
    auto entry = std::make_shared<Entry>();
    entry->record = {.id = new_operation_id(),
                     .kind = std::move(kind),
                     .instance = std::move(instance),
                     .status = OperationStatus::running,
                     .error = "",
                     .created_at = unix_now(),
                     .updated_at = unix_now()};
    (void)store_.put_operation(entry->record);
    std::lock_guard lock(mutex_);
    reap_finished();
    ++counter_;
    ++counts_.running;
    entries_[entry->record.id] = entry;
    events_.publish({{"type", "operation"}, {"metadata", operation_json(entry->record)}});
    entry->thread = std::thread([this, entry, work = std::move(work)] {
        Result<> result;
        try {
            result = work();
        } catch (const std::exception& e) {
            // Work returns errors as values; this only keeps a bug from taking vesseld down.
            result = fail("internal error: {}", e.what());
        }
        OperationRecord done;
        {
            std::lock_guard done_lock(mutex_);
            entry->record.status = result ? OperationStatus::success : OperationStatus::failure;
            entry->record.error = result ? "" : client_message(result.error());
            entry->record.updated_at = unix_now();
            entry->finished = true;
            entry->finished_at = std::chrono::steady_clock::now();
            --counts_.running;
            ++counts_.ended[{entry->record.kind, entry->record.status}];
            done = entry->record;
        }
        (void)store_.put_operation(done);
        events_.publish({{"type", "operation"}, {"metadata", operation_json(done)}});
        changed_.notify_all();
    });
    return entry->record;
}

OperationCounts Operations::counts() {
    std::lock_guard lock(mutex_);
    return counts_;
}

size_t Operations::retained() {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

std::optional<OperationRecord> Operations::find(const std::string& id) {
    {
        std::lock_guard lock(mutex_);
        if (auto it = entries_.find(id); it != entries_.end()) return it->second->record;
    }
    // Older operations (or a previous daemon's) are only in the database.
    if (auto stored = store_.find_operation(id); stored && *stored) return **stored;
    return std::nullopt;
}

std::optional<OperationRecord> Operations::wait(const std::string& id,
                                                std::chrono::milliseconds timeout,
                                                const Cancellation& client) {
    std::unique_lock lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) {
        lock.unlock();
        return find(id);
    }
    auto entry = it->second;
    // In slices, so that a waiter whose client hung up stops holding its thread soon.
    constexpr auto slice = std::chrono::milliseconds(250);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!entry->finished && !client.requested()) {
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) break;
        changed_.wait_for(lock, std::min<std::chrono::nanoseconds>(slice, deadline - now),
                          [&] { return entry->finished; });
    }
    return entry->record;
}

}  // namespace vessel::manager
