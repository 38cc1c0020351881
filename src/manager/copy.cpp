// `vessel copy`: a new instance from an existing one, for both kinds. The copy's row reserves its
// name and stays "creating" until the copy is whole, so a vesseld that dies on the way rolls it
// back at its next start as it does a launch (reconcile.cpp); a failure removes it at once.
#include <sys/stat.h>

#include "base/file.h"
#include "manager/crash_point.h"
#include "manager/instance/name.h"
#include "manager/instance/snapshot_files.h"
#include "manager/manager.h"
#include "manager/progress.h"

namespace vessel::manager {

Result<OperationRecord> Manager::copy_instance(const std::string& source, const std::string& target,
                                               bool instance_only) {
    if (auto valid = validate_instance_name(target); !valid)
        return fail_errno(EINVAL, valid.error().message());
    auto record = TRY(find(source));
    TRY(refuse_unsettled(record));
    TRY(store_->insert_instance({.name = target,
                                 .kind = record.kind,
                                 .image = record.image,
                                 .config = record.config,
                                 .state = InstanceState::creating}));
    return operations_->start("copy", target, [this, source, target, instance_only]() -> Result<> {
        auto target_lock = lock_for(target);
        std::lock_guard guard(*target_lock);
        if (auto copied = copy_files(source, target, instance_only); !copied) {
            discard_unfinished(target);
            return std::unexpected(
                copied.error().context(fmt::format("copy {} to {}", source, target)));
        }
        return finish_creation(target, {{"copied_from", source}});
    });
}

void Manager::discard_unfinished(const std::string& name) {
    if (auto row = store_->find_instance(name); row && *row)
        if (auto instance = make_instance(context_, **row); instance)
            (void)remove_instance_tree((*instance)->directory());
    (void)store_->delete_instance(name);
}

Result<> Manager::finish_creation(const std::string& name, const Json& origin) {
    TRY(store_->set_state(name, InstanceState::stopped));
    events_.publish({{"type", "lifecycle"},
                     {"action", "instance-created"},
                     {"instance", name},
                     {"metadata", origin}});
    return {};
}

Result<> Manager::copy_files(const std::string& source, const std::string& target,
                             bool instance_only) {
    // Two copies of one source at once are fine; the source's lock keeps a restore or a delete of
    // it from changing its files meanwhile.
    auto source_lock = lock_for(source);
    std::lock_guard guard(*source_lock);
    auto record = TRY(find(source));
    TRY(refuse_unsettled(record));
    auto image = TRY(image_of(record));
    auto copy = TRY(make_instance(context_, TRY(find(target))));
    TRY(copy->create(image, Instance::CreateFrom::restore));
    crash_point("copy-created");
    // Made inside the copy's directory: the same filesystem, so its files move into place, and
    // gone with the copy if it fails.
    auto staging = copy->directory() + "/.copy-staging";
    if (::mkdir(staging.c_str(), 0700) != 0) return fail_errno(fmt::format("create {}", staging));
    ProgressReporter progress(events_, "copy", target);
    progress.stage("copying the instance's files");
    TRY(while_still(record, [&](Instance& still) { return still.snapshot_into(staging); }));
    TRY(copy->restore_from(staging, true));
    TRY(remove_instance_tree(staging));
    if (instance_only) return {};
    auto source_snapshots = snapshots_directory(context_.instances_dir + "/" + source);
    auto copy_snapshots = snapshots_directory(copy->directory());
    for (const auto& snapshot : TRY(store_->list_snapshots(source))) {
        progress.stage("copying snapshot " + snapshot.name);
        TRY(make_directories(copy_snapshots, 0700));
        TRY(copy_tree_exactly(source_snapshots + "/" + snapshot.name,
                              copy_snapshots + "/" + snapshot.name));
        TRY(store_->insert_snapshot({.instance = target,
                                     .name = snapshot.name,
                                     .config = snapshot.config,
                                     .created_at = snapshot.created_at}));
    }
    return {};
}

}  // namespace vessel::manager
