// What vesseld makes of its database at start-up. The database says what vesseld last believed;
// the monitors (alive or not, holding their lock or not), exit.json, the runtime's state, mounts
// and cgroups say what is. A vesseld killed at any point of a launch, a start or a delete leaves
// rows that this turns back into the truth.
#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <thread>

#include "base/file.h"
#include "manager/backup/partial_file.h"
#include "manager/instance/snapshot_files.h"
#include "manager/manager.h"

namespace vessel::manager {

namespace {

// An atomic write's temporary file is named after its writer (NAME.tmp.PID). One whose writer
// still runs is not a leftover: a monitor started just before vesseld died may be writing its
// identity or payload file right now, and taking that file from under it makes it fail.
bool writer_still_runs(const std::string& name) {
    auto marker = name.rfind(".tmp.");
    if (marker == std::string::npos) return false;
    auto digits = name.substr(marker + 5);
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
        return false;
    auto pid = static_cast<pid_t>(std::stol(digits));
    return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

// What a vesseld that died left in an instance directory: the temporary files of unfinished
// atomic writes (config.json.tmp.PID) and exec scratch directories.
void sweep_leftovers(const std::string& directory) {
    std::vector<std::string> leftovers;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
        auto name = entry.path().filename().string();
        bool unfinished_write = name.find(".tmp.") != std::string::npos && !writer_still_runs(name);
        if (unfinished_write || name.starts_with("exec-"))
            leftovers.push_back(entry.path().string());
    }
    for (const auto& path : leftovers)
        (void)remove_instance_tree(path);
}

}  // namespace

Result<> Manager::reconcile() {
    for (const auto& record : TRY(store_->list_instances()))
        if (auto done = reconcile_instance(record); !done)
            logger_.warning("instance {}: {}", record.name, done.error().message());
    // An image import or build cut short leaves its temporary directory (image_store.cpp).
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(images_->directory(), error)) {
        if (!entry.path().filename().string().starts_with(".tmp-")) continue;
        if (auto removed = remove_instance_tree(entry.path()); removed)
            logger_.info("removed {}, left by an image import vesseld did not finish",
                         entry.path().string());
    }
    return {};
}

std::optional<ProcessIdentity> Manager::live_monitor(const InstanceRecord& record,
                                                     const std::string& directory) {
    ProcessIdentity known{.pid = record.pid, .start_time = record.pid_start_time};
    if (process_matches(known)) return known;
    // A monitor that vesseld started without living to record it still holds the instance's
    // lock. One still setting its payload up (or tearing it down) is waited for, as long as
    // launch_monitor would have waited.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (monitor_holds_lock(directory)) {
        bool late = std::chrono::steady_clock::now() >= deadline;
        auto identity = read_monitor_identity(directory);
        if (identity && *identity && process_matches(**identity)) {
            bool payload_runs =
                path_exists(directory + "/payload.json") && !path_exists(directory + "/exit.json");
            if (payload_runs || late) return **identity;
        }
        if (late) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
}

void Manager::roll_back_launch(const InstanceRecord& record, Instance& instance) {
    (void)instance.clean_up();
    if (auto removed = remove_instance_tree(instance.directory()); !removed) {
        // The row stays "creating": the next start tries again.
        logger_.warning("instance {}: cannot roll back its unfinished launch: {}", record.name,
                        removed.error().message());
        return;
    }
    if (auto deleted = store_->delete_instance(record.name); !deleted) {
        logger_.warning("instance {}: {}", record.name, deleted.error().message());
        return;
    }
    logger_.info("instance {}: rolled back a launch that vesseld did not finish", record.name);
}

Result<> Manager::reconcile_instance(const InstanceRecord& record) {
    auto directory = options_.state_dir + "/instances/" + record.name;
    // After the wait for a monitor still starting: by then it has written what it writes.
    auto monitor = live_monitor(record, directory);
    sweep_leftovers(directory);
    InstanceRecord current = record;
    if (monitor) {
        current.pid = monitor->pid;
        current.pid_start_time = monitor->start_time;
    }
    auto instance = TRY(make_instance(context_, current));
    if (record.state != InstanceState::deleting) {
        std::vector<std::string> snapshots;
        for (const auto& snapshot : TRY(store_->list_snapshots(record.name)))
            snapshots.push_back(snapshot.name);
        for (const auto& removed : TRY(remove_snapshot_leftovers(directory, snapshots)))
            logger_.info(
                "instance {}: removed {}, left by a snapshot operation vesseld did not "
                "finish",
                record.name, removed);
    }
    for (const auto& removed : TRY(remove_unfinished_export(export_marker(directory))))
        logger_.info("instance {}: removed {}, left by an export vesseld did not finish",
                     record.name, removed);

    if (record.state == InstanceState::deleting) {
        if (monitor) TRY(instance->stop(std::chrono::seconds(0), true));
        TRY(instance->destroy());
        TRY(store_->delete_instance(record.name));
        logger_.info("instance {}: finished a deletion that vesseld did not finish", record.name);
        return {};
    }
    if (!monitor) {
        if (record.state == InstanceState::creating) {
            roll_back_launch(record, *instance);
            return {};
        }
        // Not running: stopped with what its monitor recorded, and nothing of it left behind.
        record_exit(record.name, {.pid = record.pid, .start_time = record.pid_start_time});
        (void)instance->clean_up();
        return {};
    }
    // A live monitor: the instance runs, whatever the row said ("creating" and "stopped" when
    // vesseld died before recording the start), frozen or not as its cgroup or process is.
    if (record.pid != monitor->pid || record.pid_start_time != monitor->start_time) {
        TRY(store_->set_running(record.name, monitor->pid, monitor->start_time));
        logger_.info("instance {}: found its monitor (pid {}), started as vesseld died",
                     record.name, monitor->pid);
    } else {
        logger_.info("re-attached to instance {} (monitor pid {})", record.name, monitor->pid);
    }
    TRY(store_->set_state(record.name,
                          instance->frozen() ? InstanceState::frozen : InstanceState::running));
    watch(record.name, *monitor);
    return {};
}

}  // namespace vessel::manager
