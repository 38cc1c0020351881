// `vessel export` and `vessel import` (docs/backup-format.md): an instance, its image and its
// snapshots in one tar archive, and back. An export archives a frozen moment of the instance
// (taken as a snapshot is) into a hidden file beside the target, renamed into place when whole. An
// import reads the archive as hostile input (backup/backup_reader.h): its row reserves the name and
// stays "creating" until the instance is whole, so that a vesseld killed on the way rolls it back
// at its next start, as it does a launch; a failure removes everything it made.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/file.h"
#include "manager/backup/backup_index.h"
#include "manager/backup/backup_reader.h"
#include "manager/backup/backup_writer.h"
#include "manager/backup/partial_file.h"
#include "manager/crash_point.h"
#include "manager/instance/name.h"
#include "manager/instance/snapshot_files.h"
#include "manager/json_text.h"
#include "manager/manager.h"
#include "manager/progress.h"

namespace vessel::manager {

namespace {

// What an import keeps free beyond the archive's data, so that it never fills the filesystem
// vesseld's database lives on.
constexpr uint64_t import_space_reserve = uint64_t{256} << 20;

std::string parent_directory(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

Result<> expect_absolute(const std::string& path, std::string_view what) {
    if (path.empty() || path.front() != '/')
        return fail_errno(EINVAL, fmt::format("{} {}: must be an absolute path", what, path));
    return {};
}

Result<> check_free_space(const std::string& directory, const BackupIndex& index) {
    struct statvfs fs {};
    if (::statvfs(directory.c_str(), &fs) != 0)
        return fail_errno(fmt::format("statvfs {}", directory));
    uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    if (index.data_bytes > free_bytes || free_bytes - index.data_bytes < import_space_reserve)
        return fail_errno(
            ENOSPC,
            fmt::format("the backup holds {} bytes of data and {} has {} bytes free "
                        "(an import leaves {} MiB free)",
                        index.data_bytes, directory, free_bytes, import_space_reserve >> 20));
    if (fs.f_favail != 0 && index.entries > fs.f_favail)
        return fail_errno(ENOSPC, fmt::format("the backup holds {} files and {} has room for {}",
                                              index.entries, directory, fs.f_favail));
    return {};
}

Result<std::string> read_backup_index_text(const std::string& file) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0)
        return fail_errno(errno == ENOENT ? ENOENT : EINVAL,
                          fmt::format("backup {}: {}", file, std::strerror(errno)));
    if (!S_ISREG(info.st_mode))
        return fail_errno(EINVAL, fmt::format("backup {} is not a regular file", file));
    auto reader = TRY(BackupReader::open(file));
    return reader.read_index();
}

}  // namespace

Result<OperationRecord> Manager::export_instance(const std::string& name, const std::string& file,
                                                 bool instance_only) {
    auto record = TRY(find(name));
    TRY(refuse_unsettled(record));
    TRY(expect_absolute(file, "export file"));
    auto compression = TRY(backup_compression_for(file));
    struct stat info {};
    if (::lstat(file.c_str(), &info) == 0)
        return fail_errno(EEXIST, fmt::format("{} already exists: vessel export never replaces a "
                                              "file; remove it or name another",
                                              file));
    auto directory = parent_directory(file);
    if (::stat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
        return fail_errno(ENOENT, fmt::format("directory {} does not exist", directory));
    return operations_->start("export", name, [=, this]() -> Result<> {
        ProgressReporter progress(events_, "export", name);
        auto lock = lock_for(name);
        std::lock_guard guard(*lock);
        auto record = TRY(find(name));
        TRY(refuse_unsettled(record));
        auto image = TRY(image_of(record));
        auto instance_dir = context_.instances_dir + "/" + name;
        auto staging = export_staging_directory(instance_dir);
        TRY(remove_instance_tree(staging));
        if (::mkdir(staging.c_str(), 0700) != 0)
            return fail_errno(fmt::format("create {}", staging));
        auto exported = [&]() -> Result<> {
            progress.stage("taking the instance's files");
            TRY(while_still(record, [&](Instance& still) { return still.snapshot_into(staging); }));
            BackupIndex index{.name = name,
                              .kind = record.kind,
                              .config = record.config,
                              .created_at = record.created_at,
                              .image = {.fingerprint = image.fingerprint,
                                        .description = image.description,
                                        .aliases = image.aliases},
                              .exported_at = unix_now()};
            std::vector<BackupTree> trees = {{"image", image.path}, {"instance", staging}};
            if (!instance_only) {
                for (const auto& snapshot : TRY(store_->list_snapshots(name))) {
                    trees.push_back({"snapshots/" + snapshot.name,
                                     snapshots_directory(instance_dir) + "/" + snapshot.name});
                    index.snapshots.push_back({.name = snapshot.name,
                                               .config = snapshot.config,
                                               .created_at = snapshot.created_at});
                }
            }
            auto size = TRY(measure_backup(trees));
            index.data_bytes = size.data_bytes;
            index.entries = size.entries;
            auto out = TRY(PartialFile::create(file, export_marker(instance_dir)));
            progress.stage("archiving", size.data_bytes);
            TRY(write_backup(out.fd(),
                             TRY(dump_json_exact(backup_index_json(index), "index.json", 2)), trees,
                             {.compression = compression,
                              .progress = [&](uint64_t done) { progress.bytes(done); }}));
            crash_point("export-written");
            return out.keep(file);
        }();
        (void)remove_instance_tree(staging);
        if (!exported)
            return std::unexpected(exported.error().context(fmt::format("export {}", name)));
        events_.publish({{"type", "lifecycle"},
                         {"action", "instance-exported"},
                         {"instance", name},
                         {"metadata", {{"file", file}}}});
        return {};
    });
}

Result<OperationRecord> Manager::import_instance(const std::string& file, std::string name) {
    TRY(expect_absolute(file, "backup"));
    auto index_text = TRY(read_backup_index_text(file));
    auto index = TRY_CTX(parse_backup_index(index_text), "backup {}", file);
    if (name.empty()) name = index.name;
    if (auto valid = validate_instance_name(name); !valid)
        return fail_errno(EINVAL, valid.error().message());
    TRY(make_directories(context_.instances_dir, 0700));
    TRY(check_free_space(context_.instances_dir, index));
    TRY(store_->insert_instance({.name = name,
                                 .kind = index.kind,
                                 .image = index.image.fingerprint,
                                 .config = index.config,
                                 .state = InstanceState::creating}));
    return operations_->start("import", name, [=, this]() -> Result<> {
        auto lock = lock_for(name);
        std::lock_guard guard(*lock);
        std::optional<ImageRecord> made_image;
        auto imported = import_files(file, index_text, index, name, made_image);
        if (!imported) {
            discard_unfinished(name);
            // An image only this import brought is no one's now.
            if (made_image) (void)images_->remove(made_image->fingerprint);
            return std::unexpected(imported.error().context(fmt::format("import {}", file)));
        }
        return finish_creation(name, {{"imported_from", file}});
    });
}

Result<> Manager::import_files(const std::string& file, const std::string& index_text,
                               const BackupIndex& index, const std::string& name,
                               std::optional<ImageRecord>& made_image) {
    ProgressReporter progress(events_, "import", name);
    auto reader = TRY(BackupReader::open(file));
    if (TRY(reader.read_index()) != index_text)
        return fail_errno(EINVAL, "the file changed while it was imported");
    // This host may have the image already: then the backup's copy is read past, not kept.
    std::optional<ImageRecord> image = TRY(store_->find_image(index.image.fingerprint));
    if (image && image->kind != index.kind) image.reset();
    std::string image_directory;
    std::unique_ptr<Instance> instance;
    std::string staging;

    BackupExtraction plan;
    for (const auto& snapshot : index.snapshots)
        plan.snapshots.push_back(snapshot.name);
    plan.overlay_files = index.kind == InstanceKind::container;
    plan.max_data_bytes = index.data_bytes;
    plan.max_entries = index.entries;
    plan.progress = [&](uint64_t done) { progress.bytes(done); };
    plan.image_complete = [&](const std::string& digest) -> Result<> {
        if (image) return {};
        // Named by what it holds: an archive cannot pass its files off as an image this host
        // has, and the same image imported twice is one image.
        if (auto same = TRY(store_->find_image(digest)); same && same->kind == index.kind) {
            image = *same;
            return remove_instance_tree(image_directory);
        }
        image = TRY(images_->adopt_extracted(image_directory, index.kind, digest,
                                             index.image.description, index.image.aliases));
        made_image = image;
        return {};
    };
    plan.directory_for = [&](const BackupSection& section) -> Result<std::optional<std::string>> {
        switch (section.part) {
            case BackupSection::Part::image:
                if (image) return std::optional<std::string>();
                image_directory = TRY(images_->begin_extraction());
                return std::optional<std::string>(image_directory);
            case BackupSection::Part::instance: {
                if (!image)
                    return fail_errno(EINVAL, fmt::format("the backup holds no image, and image "
                                                          "{} is not here",
                                                          index.image.fingerprint.substr(0, 12)));
                TRY(store_->set_image(name, image->fingerprint));
                instance = TRY(make_instance(context_, TRY(find(name))));
                TRY(instance->create(*image, Instance::CreateFrom::restore));
                crash_point("import-created");
                staging = instance->directory() + "/.import-staging";
                TRY(make_directories(staging + "/instance", 0700));
                return std::optional<std::string>(staging + "/instance");
            }
            case BackupSection::Part::snapshot: {
                if (staging.empty())
                    return fail_errno(EINVAL, "the backup's snapshots come before its instance");
                auto directory = staging + "/snapshots/" + section.snapshot;
                TRY(make_directories(directory, 0700));
                return std::optional<std::string>(directory);
            }
        }
        return fail("unknown section");
    };
    progress.stage("extracting", index.data_bytes);
    auto contents = reader.extract(plan);
    if (!contents) {
        // The image's directory, if it was being extracted when the archive failed.
        if (!image && !image_directory.empty()) (void)remove_instance_tree(image_directory);
        return std::unexpected(contents.error());
    }
    if (!contents->had_instance)
        return fail_errno(EINVAL, "the backup holds no instance files (instance/)");
    for (const auto& snapshot : index.snapshots)
        if (std::find(contents->snapshots.begin(), contents->snapshots.end(), snapshot.name) ==
            contents->snapshots.end())
            return fail_errno(EINVAL,
                              fmt::format("snapshot {} has no files in the backup", snapshot.name));
    progress.stage("putting the files in place");
    TRY(instance->restore_from(staging + "/instance", true));
    auto snapshots = snapshots_directory(instance->directory());
    for (const auto& snapshot : index.snapshots) {
        TRY(make_directories(snapshots, 0700));
        auto from = staging + "/snapshots/" + snapshot.name;
        auto to = snapshots + "/" + snapshot.name;
        if (::rename(from.c_str(), to.c_str()) != 0)
            return fail_errno(fmt::format("rename {} to {}", from, to));
        TRY(store_->insert_snapshot({.instance = name,
                                     .name = snapshot.name,
                                     .config = snapshot.config,
                                     .created_at = snapshot.created_at}));
    }
    return remove_instance_tree(staging);
}

}  // namespace vessel::manager
