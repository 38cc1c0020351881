// Snapshots of instances, for both kinds (docs/instance-layout.md). The files are made first and
// the row inserted when they are whole; a deletion removes the row first and the files after: a
// vesseld that dies in between leaves files without a row, which its next start removes
// (reconcile.cpp), never a row without files.
#include <fmt/ranges.h>
#include <sys/stat.h>

#include <algorithm>

#include "base/file.h"
#include "manager/crash_point.h"
#include "manager/instance/name.h"
#include "manager/instance/snapshot_files.h"
#include "manager/manager.h"

namespace vessel::manager {

namespace {

std::unexpected<Error> invalid(const Error& error) {
    return fail_errno(EINVAL, error.message());
}

}  // namespace

Result<SnapshotRecord> Manager::find_snapshot(const std::string& name,
                                              const std::string& snapshot) {
    TRY(find(name));
    if (auto found = TRY(store_->find_snapshot(name, snapshot))) return *found;
    std::vector<std::string> known;
    for (const auto& s : TRY(store_->list_snapshots(name)))
        known.push_back(s.name);
    auto message = fmt::format("instance {} has no snapshot {}", name, snapshot);
    if (auto close = close_names(snapshot, known); !close.empty())
        message += fmt::format(" (did you mean {}?)", fmt::join(close, ", "));
    return fail_errno(ENOENT, message);
}

Result<std::string> Manager::next_snapshot_name(const std::string& name) {
    auto taken = TRY(store_->list_snapshots(name));
    for (size_t index = 0;; ++index) {
        auto candidate = fmt::format("snap{}", index);
        if (std::none_of(taken.begin(), taken.end(),
                         [&](const SnapshotRecord& s) { return s.name == candidate; }))
            return candidate;
    }
}

Result<> Manager::refuse_unsettled(const InstanceRecord& record) {
    if (record.state == InstanceState::creating || record.state == InstanceState::deleting)
        return fail_errno(
            EBUSY, fmt::format("instance {} is being {}", record.name,
                               record.state == InstanceState::creating ? "created" : "deleted"));
    return {};
}

Result<> Manager::while_still(const InstanceRecord& record,
                              const std::function<Result<>(Instance&)>& work) {
    auto instance = TRY(make_instance(context_, record));
    // A running instance is frozen for the copy, so that it is of one moment: no file
    // half-written, no two files from different times. One frozen already stays so.
    if (instance->status().state != InstanceState::running || instance->frozen())
        return work(*instance);
    TRY(instance->freeze());
    auto done = work(*instance);
    if (auto thawed = instance->unfreeze(); !thawed && done) return thawed;
    return done;
}

Result<OperationRecord> Manager::create_snapshot(const std::string& name, std::string snapshot) {
    auto record = TRY(find(name));
    if (snapshot.empty()) snapshot = TRY(next_snapshot_name(name));
    if (auto valid = validate_snapshot_name(snapshot); !valid) return invalid(valid.error());
    if (TRY(store_->find_snapshot(name, snapshot)))
        return fail_errno(EEXIST,
                          fmt::format("instance {} already has a snapshot {}", name, snapshot));
    return operations_->start("snapshot", name, [this, name, snapshot]() -> Result<> {
        auto lock = lock_for(name);
        std::lock_guard guard(*lock);
        auto record = TRY(find(name));
        TRY(refuse_unsettled(record));
        auto instance = TRY(make_instance(context_, record));
        auto directory = instance->directory();
        TRY(make_directories(snapshots_directory(directory), 0700));
        auto staging = snapshot_staging_directory(directory, snapshot);
        TRY(remove_instance_tree(staging));
        if (::mkdir(staging.c_str(), 0700) != 0)
            return fail_errno(fmt::format("create {}", staging));
        auto taken = while_still(
            record, [&](Instance& still) -> Result<> { return still.snapshot_into(staging); });
        if (taken) {
            crash_point("snapshot-files-made");
            auto final_directory = snapshots_directory(directory) + "/" + snapshot;
            if (::rename(staging.c_str(), final_directory.c_str()) != 0)
                taken = fail_errno(fmt::format("rename {} to {}", staging, final_directory));
            else if (auto inserted = store_->insert_snapshot(
                         {.instance = name, .name = snapshot, .config = record.config});
                     !inserted) {
                (void)remove_instance_tree(final_directory);
                taken = inserted;
            }
        }
        if (!taken) {
            (void)remove_instance_tree(staging);
            return std::unexpected(
                taken.error().context(fmt::format("snapshot {} of {}", snapshot, name)));
        }
        events_.publish({{"type", "lifecycle"},
                         {"action", "instance-snapshot-created"},
                         {"instance", name},
                         {"metadata", {{"snapshot", snapshot}}}});
        return {};
    });
}

Result<std::vector<SnapshotRecord>> Manager::list_snapshots(const std::string& name) {
    TRY(find(name));
    return store_->list_snapshots(name);
}

Result<OperationRecord> Manager::restore_snapshot(const std::string& name,
                                                  const std::string& snapshot) {
    auto record = TRY(find(name));
    TRY(find_snapshot(name, snapshot));
    // Refused rather than stopped behind the user's back: a restore throws away what the
    // instance wrote since, and its processes with it; `vessel stop` first says so.
    auto refuse_running = [&](const Instance& instance) -> Result<> {
        if (instance.status().state != InstanceState::stopped)
            return fail_errno(EBUSY, fmt::format("instance {} is running: stop it before restoring "
                                                 "snapshot {} (vessel stop {})",
                                                 name, snapshot, name));
        return {};
    };
    TRY(refuse_running(*TRY(make_instance(context_, record))));
    return operations_->start(
        "snapshot-restore", name, [this, name, snapshot, refuse_running]() -> Result<> {
            auto lock = lock_for(name);
            std::lock_guard guard(*lock);
            auto record = TRY(find(name));
            if (record.state != InstanceState::stopped)
                return fail_errno(EBUSY, fmt::format("instance {} is {}", name, record.state));
            auto instance = TRY(make_instance(context_, record));
            TRY(refuse_running(*instance));
            auto saved = TRY(find_snapshot(name, snapshot));
            // A monitor killed earlier may have left the root mounted over the directory that is
            // about to be replaced.
            (void)instance->clean_up();
            TRY(instance->restore_from(snapshots_directory(instance->directory()) + "/" +
                                       snapshot));
            crash_point("restore-files-replaced");
            TRY(store_->set_config(name, saved.config));
            events_.publish({{"type", "lifecycle"},
                             {"action", "instance-snapshot-restored"},
                             {"instance", name},
                             {"metadata", {{"snapshot", snapshot}}}});
            return {};
        });
}

Result<OperationRecord> Manager::delete_snapshot(const std::string& name,
                                                 const std::string& snapshot) {
    TRY(find_snapshot(name, snapshot));
    return operations_->start("snapshot-delete", name, [this, name, snapshot]() -> Result<> {
        auto lock = lock_for(name);
        std::lock_guard guard(*lock);
        auto record = TRY(find(name));
        TRY(store_->delete_snapshot(name, snapshot));
        crash_point("snapshot-row-deleted");
        auto instance = TRY(make_instance(context_, record));
        TRY(remove_instance_tree(snapshots_directory(instance->directory()) + "/" + snapshot));
        events_.publish({{"type", "lifecycle"},
                         {"action", "instance-snapshot-deleted"},
                         {"instance", name},
                         {"metadata", {{"snapshot", snapshot}}}});
        return {};
    });
}

}  // namespace vessel::manager
