#include "manager/backup/backup_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include "base/file.h"
#include "base/sparse_copy.h"
#include "manager/image/archive_member.h"

namespace vessel::manager {

namespace {

struct ArchiveWriteDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};

struct WalkEntry {
    std::string disk_path;
    std::string archive_name;
    struct stat info {};
};

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

Result<std::vector<std::string>> sorted_names(const std::string& directory) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(directory.c_str()), ::closedir);
    if (!dir) return fail_errno(fmt::format("open directory {}", directory));
    std::vector<std::string> names;
    errno = 0;
    while (auto* item = ::readdir(dir.get())) {
        std::string_view name = item->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
    }
    if (errno != 0) return fail_errno(fmt::format("read directory {}", directory));
    std::sort(names.begin(), names.end());
    return names;
}

// Every file of the tree, parents before children, in name order; sockets are skipped (a tar
// archive cannot hold one, and a socket is only a name once its server is gone).
Result<> walk(const std::string& disk_path, const std::string& archive_name,
              const std::function<Result<>(const WalkEntry&)>& visit) {
    WalkEntry entry{.disk_path = disk_path, .archive_name = archive_name};
    if (::lstat(disk_path.c_str(), &entry.info) != 0)
        return fail_errno(fmt::format("stat {}", disk_path));
    if (S_ISSOCK(entry.info.st_mode)) return {};
    if ((S_ISCHR(entry.info.st_mode) && entry.info.st_rdev != 0) || S_ISBLK(entry.info.st_mode))
        return fail_errno(
            EINVAL, fmt::format("{} is a device node ({} {}:{}); a backup carries no device node "
                                "but overlay whiteouts: remove it from the instance first",
                                disk_path, S_ISBLK(entry.info.st_mode) ? "block" : "character",
                                major(entry.info.st_rdev), minor(entry.info.st_rdev)));
    TRY(visit(entry));
    if (!S_ISDIR(entry.info.st_mode)) return {};
    for (const auto& name : TRY(sorted_names(disk_path)))
        TRY(walk(disk_path + "/" + name, archive_name + "/" + name, visit));
    return {};
}

Result<> walk_trees(const std::vector<BackupTree>& trees,
                    const std::function<Result<>(const WalkEntry&)>& visit) {
    for (const auto& tree : trees)
        TRY(walk(tree.path, tree.archive_name, visit));
    return {};
}

uint64_t data_bytes_of(const std::vector<DataExtent>& extents) {
    uint64_t total = 0;
    for (const auto& extent : extents)
        total += static_cast<uint64_t>(extent.length);
    return total;
}

// Hard-linked files are written once; later names are links to the first (by device and inode).
using FirstNames = std::map<std::pair<dev_t, ino_t>, std::string>;

std::optional<std::string> earlier_link(FirstNames& first, const WalkEntry& entry) {
    if (!S_ISREG(entry.info.st_mode) || entry.info.st_nlink < 2) return std::nullopt;
    auto [at, inserted] =
        first.try_emplace({entry.info.st_dev, entry.info.st_ino}, entry.archive_name);
    if (inserted) return std::nullopt;
    return at->second;
}

class ArchiveWriter {
  public:
    ArchiveWriter(archive* out, archive* disk, const BackupWriteOptions& options)
        : out_(out), disk_(disk), options_(options) {}

    Result<> index(const std::string& text) {
        std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
        archive_entry_set_pathname(entry.get(), "index.json");
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_perm(entry.get(), 0600);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(text.size()));
        archive_entry_set_mtime(entry.get(), ::time(nullptr), 0);
        TRY(header(entry.get(), "index.json"));
        return data(text.data(), text.size(), "index.json");
    }

    Result<> file(const WalkEntry& walked) {
        if (options_.cancel.requested()) return std::unexpected(options_.cancel.error("export"));
        std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
        archive_entry_copy_sourcepath(entry.get(), walked.disk_path.c_str());
        archive_entry_copy_pathname(entry.get(), walked.archive_name.c_str());
        UniqueFd fd;
        if (S_ISREG(walked.info.st_mode))
            fd = TRY(open_file(walked.disk_path, O_RDONLY | O_NOFOLLOW));
        auto info = walked.info;
        if (archive_read_disk_entry_from_file(disk_, entry.get(), fd ? fd.get() : -1, &info) !=
            ARCHIVE_OK)
            return fail("read {}: {}", walked.disk_path, archive_error_text(disk_));
        if (auto link = earlier_link(first_names_, walked)) {
            archive_entry_copy_hardlink(entry.get(), link->c_str());
            archive_entry_set_size(entry.get(), 0);
            return header(entry.get(), walked.disk_path);
        }
        if (!S_ISREG(walked.info.st_mode)) return header(entry.get(), walked.disk_path);
        auto extents = TRY(data_extents(fd.get(), walked.info.st_size));
        if (data_bytes_of(extents) < static_cast<uint64_t>(walked.info.st_size)) {
            // Only the extents go in the archive; an import leaves the rest a hole.
            archive_entry_sparse_clear(entry.get());
            for (const auto& extent : extents)
                archive_entry_sparse_add_entry(entry.get(), extent.offset, extent.length);
            // A file that is all hole still needs a map, or it would be taken as all data.
            if (extents.empty())
                archive_entry_sparse_add_entry(entry.get(), walked.info.st_size, 0);
        }
        TRY(header(entry.get(), walked.disk_path));
        // The pax writer takes a sparse file whole, holes included, and leaves out the bytes
        // its sparse map calls holes: they are fed from a buffer of zeros, never read.
        off_t position = 0;
        auto skip_hole_to = [&](off_t offset) -> Result<> {
            while (position < offset) {
                auto size = static_cast<size_t>(std::min<off_t>(offset - position, zeros_.size()));
                TRY(data(zeros_.data(), size, walked.disk_path));
                position += static_cast<off_t>(size);
            }
            return {};
        };
        for (const auto& extent : extents) {
            TRY(skip_hole_to(extent.offset));
            off_t at = extent.offset, end = extent.offset + extent.length;
            while (at < end) {
                if (options_.cancel.requested())
                    return std::unexpected(options_.cancel.error("export"));
                auto want = static_cast<size_t>(std::min<off_t>(end - at, buffer_.size()));
                ssize_t n = ::pread(fd.get(), buffer_.data(), want, at);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) return fail_errno(fmt::format("read {}", walked.disk_path));
                if (n == 0)
                    return fail("{} became shorter while it was exported", walked.disk_path);
                TRY(data(buffer_.data(), static_cast<size_t>(n), walked.disk_path));
                at += n;
                written_ += static_cast<uint64_t>(n);
                if (options_.progress) options_.progress(written_);
            }
            position = end;
        }
        return skip_hole_to(walked.info.st_size);
    }

  private:
    Result<> header(archive_entry* entry, const std::string& what) {
        if (archive_write_header(out_, entry) < ARCHIVE_WARN)
            return fail("write {}: {}", what, archive_error_text(out_));
        return {};
    }
    Result<> data(const char* bytes, size_t size, const std::string& what) {
        while (size > 0) {
            la_ssize_t n = archive_write_data(out_, bytes, size);
            if (n <= 0) return fail("write {}: {}", what, archive_error_text(out_));
            bytes += n;
            size -= static_cast<size_t>(n);
        }
        return {};
    }

    archive* out_;
    archive* disk_;
    const BackupWriteOptions& options_;
    FirstNames first_names_;
    uint64_t written_ = 0;
    const std::vector<char> zeros_ = std::vector<char>(1 << 20, 0);
    // One read buffer for every file: an image has thousands of small ones.
    std::vector<char> buffer_ = std::vector<char>(1 << 20);
};

Result<> add_compression(archive* out, BackupCompression compression) {
    int rc = ARCHIVE_OK;
    switch (compression) {
        case BackupCompression::none:
            break;
        case BackupCompression::gzip:
            rc = archive_write_add_filter_gzip(out);
            break;
        case BackupCompression::zstd:
            rc = archive_write_add_filter_zstd(out);
            break;
        case BackupCompression::xz:
            rc = archive_write_add_filter_xz(out);
            break;
    }
    if (rc != ARCHIVE_OK) return fail("compression: {}", archive_error_text(out));
    return {};
}

}  // namespace

Result<BackupCompression> backup_compression_for(const std::string& file_name) {
    auto slash = file_name.rfind('/');
    std::string_view base = file_name;
    if (slash != std::string::npos) base.remove_prefix(slash + 1);
    if (ends_with(base, ".tar.zst")) return BackupCompression::zstd;
    if (ends_with(base, ".tar.xz")) return BackupCompression::xz;
    if (ends_with(base, ".tar")) return BackupCompression::none;
    if (ends_with(base, ".tar.gz") || ends_with(base, ".tgz")) return BackupCompression::gzip;
    for (std::string_view other : {".zip", ".bz2", ".lz4", ".7z", ".rar", ".gz", ".zst", ".xz"})
        if (ends_with(base, other))
            return fail_errno(EINVAL, fmt::format("{}: a backup is a .tar.gz, .tar.zst, .tar.xz "
                                                  "or .tar file",
                                                  file_name));
    return BackupCompression::gzip;
}

Result<BackupSize> measure_backup(const std::vector<BackupTree>& trees) {
    BackupSize size;
    FirstNames first_names;
    TRY(walk_trees(trees, [&](const WalkEntry& entry) -> Result<> {
        ++size.entries;
        if (earlier_link(first_names, entry) || !S_ISREG(entry.info.st_mode)) return {};
        auto fd = TRY(open_file(entry.disk_path, O_RDONLY | O_NOFOLLOW));
        size.data_bytes += data_bytes_of(TRY(data_extents(fd.get(), entry.info.st_size)));
        return {};
    }));
    return size;
}

Result<> write_backup(int out, const std::string& index_json, const std::vector<BackupTree>& trees,
                      const BackupWriteOptions& options) {
    std::unique_ptr<archive, ArchiveWriteDeleter> writer(archive_write_new());
    if (archive_write_set_format_pax(writer.get()) != ARCHIVE_OK)
        return fail("pax format: {}", archive_error_text(writer.get()));
    TRY(add_compression(writer.get(), options.compression));
    // No padding of the last block to 10 KiB: the file ends where the archive does.
    archive_write_set_bytes_in_last_block(writer.get(), 1);
    if (archive_write_open_fd(writer.get(), out) != ARCHIVE_OK)
        return fail("open the archive: {}", archive_error_text(writer.get()));

    std::unique_ptr<archive, ArchiveReadDeleter> disk(archive_read_disk_new());
    // Numeric owners only (no user database lookups: the names are the guest's, not the host's);
    // no file flags (chattr +i is no part of an instance's data); holes found by data_extents.
    archive_read_disk_set_behavior(disk.get(),
                                   ARCHIVE_READDISK_NO_FFLAGS | ARCHIVE_READDISK_NO_SPARSE);
    ArchiveWriter archive_writer(writer.get(), disk.get(), options);
    TRY(archive_writer.index(index_json));
    TRY(walk_trees(trees, [&](const WalkEntry& entry) { return archive_writer.file(entry); }));
    if (archive_write_close(writer.get()) != ARCHIVE_OK)
        return fail("finish the archive: {}", archive_error_text(writer.get()));
    return {};
}

}  // namespace vessel::manager
