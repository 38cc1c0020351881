#include "manager/backup/backup_reader.h"

#include <archive_entry.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>

#include "manager/backup/backup_index.h"
#include "manager/backup/content_digest.h"
#include "manager/image/archive_member.h"

namespace vessel::manager {

namespace {

struct WriteDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};

// Larger than any disk a VM is given; a member claiming more is not a disk.
constexpr la_int64_t max_file_size = la_int64_t{16} << 40;

Error invalid(const std::string& source, const std::string& member, std::string_view problem) {
    return Error(fmt::format("{}: member {}: {}", source, member, problem), EINVAL);
}

// Extended attributes an instance's files carry for a reason: the guest's own (user.*), file
// capabilities (ping's cap_net_raw), and in a container's files overlayfs's opaque-directory mark.
// Others (trusted.overlay.redirect, security.selinux labels of another host...) are dropped.
bool keep_xattr(std::string_view name, bool overlay_files) {
    if (name.starts_with("user.") || name == "security.capability") return true;
    return overlay_files && name == "trusted.overlay.opaque";
}

struct SectionOfMember {
    BackupSection section;
    std::string relative;  // below the section's root; empty for the root itself
    size_t order = 0;      // image 0, instance 1, snapshot k 2+k
};

Result<SectionOfMember> section_of(const std::string& source, const std::string& name,
                                   const std::vector<std::string>& snapshots) {
    auto slash = name.find('/');
    std::string top = name.substr(0, slash);
    std::string rest = slash == std::string::npos ? "" : name.substr(slash + 1);
    if (top == "image") return SectionOfMember{{BackupSection::Part::image, ""}, rest, 0};
    if (top == "instance") return SectionOfMember{{BackupSection::Part::instance, ""}, rest, 1};
    if (top == "snapshots" && !rest.empty()) {
        auto inner = rest.find('/');
        std::string snapshot = rest.substr(0, inner);
        auto known = std::find(snapshots.begin(), snapshots.end(), snapshot);
        if (known == snapshots.end())
            return std::unexpected(
                invalid(source, name, fmt::format("snapshot {} is not in index.json", snapshot)));
        return SectionOfMember{{BackupSection::Part::snapshot, snapshot},
                               inner == std::string::npos ? "" : rest.substr(inner + 1),
                               2 + static_cast<size_t>(known - snapshots.begin())};
    }
    return std::unexpected(invalid(
        source, name, "is outside the backup's sections (image/, instance/, snapshots/NAME/)"));
}

// One section's files on disk: a writer of its own, so that the directory modes and times it
// sets last are applied (close()) before the caller moves the section's directory anywhere.
class SectionWriter {
  public:
    Result<> open(const std::string& directory) {
        char resolved[PATH_MAX];
        // Resolved once, so that the secure-symlinks check judges only what the archive creates.
        if (::realpath(directory.c_str(), resolved) == nullptr)
            return fail_errno(fmt::format("resolve {}", directory));
        root_ = resolved;
        writer_.reset(archive_write_disk_new());
        // SECURE_SYMLINKS: never through a symlink an earlier member planted ("etc -> /etc" then
        // "etc/passwd"); SECURE_NODOTDOT behind our own check of the names. No FFLAGS: an
        // immutable flag would make the files undeletable.
        archive_write_disk_set_options(
            writer_.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                               ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |
                               ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
        return {};
    }
    archive* get() const { return writer_.get(); }
    const std::string& root() const { return root_; }
    Result<> close(const std::string& source) {
        if (!writer_) return {};
        auto writer = std::move(writer_);
        if (archive_write_close(writer.get()) != ARCHIVE_OK)
            return fail("{}: {}", source, archive_error_text(writer.get()));
        return {};
    }

  private:
    std::unique_ptr<archive, WriteDeleter> writer_;
    std::string root_;
};

// Every variable-length field goes in with its length first, so that no two different members
// feed the digest the same bytes.
std::string field(std::string_view text) {
    return fmt::format("{}:{};", text.size(), text);
}

void digest_member(ContentDigest& digest, const std::string& relative, archive_entry* entry) {
    const char* symlink = archive_entry_symlink(entry);
    const char* hardlink = archive_entry_hardlink(entry);
    digest.add(fmt::format(
        "member {}{:o} {} {} {} {} {}{}", field(relative), archive_entry_mode(entry),
        archive_entry_uid(entry), archive_entry_gid(entry), archive_entry_size(entry),
        archive_entry_rdev(entry), field(symlink ? symlink : ""), field(hardlink ? hardlink : "")));
    const char* name;
    const void* value;
    size_t size;
    archive_entry_xattr_reset(entry);
    while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK)
        digest.add(fmt::format("xattr {}{}", field(name),
                               field(std::string_view(static_cast<const char*>(value), size))));
}

}  // namespace

namespace {

// A tar reader with any compression libarchive knows.
archive* new_tar_reader() {
    archive* reader = archive_read_new();
    archive_read_support_filter_all(reader);
    archive_read_support_format_tar(reader);
    return reader;
}

}  // namespace

Result<BackupReader> BackupReader::open(const std::string& path) {
    std::unique_ptr<archive, Deleter> reader(new_tar_reader());
    if (archive_read_open_filename(reader.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
        return fail_errno(EINVAL, fmt::format("{}: {}", path, archive_error_text(reader.get())));
    return BackupReader(std::move(reader), path);
}

Result<BackupReader> BackupReader::open_memory(const void* data, size_t size) {
    std::unique_ptr<archive, Deleter> reader(new_tar_reader());
    if (archive_read_open_memory(reader.get(), data, size) != ARCHIVE_OK)
        return fail_errno(EINVAL, fmt::format("backup: {}", archive_error_text(reader.get())));
    return BackupReader(std::move(reader), "backup");
}

Result<std::string> BackupReader::read_index() {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(reader_.get(), &entry);
    if (rc == ARCHIVE_EOF)
        return fail_errno(EINVAL, fmt::format("{}: the archive is empty", source_));
    if (rc < ARCHIVE_WARN)
        return fail_errno(EINVAL,
                          fmt::format("{}: {}", source_, archive_error_text(reader_.get())));
    const char* raw = archive_entry_pathname(entry);
    auto name = clean_member_name(raw ? raw : "");
    if (!name || *name != backup_index_member || archive_entry_filetype(entry) != AE_IFREG)
        return fail_errno(EINVAL, fmt::format("{}: not a Vessel instance backup (its first member "
                                              "is not index.json)",
                                              source_));
    auto size = archive_entry_size(entry);
    if (size < 0 || static_cast<uint64_t>(size) > backup_index_max_bytes)
        return fail_errno(EINVAL, fmt::format("{}: index.json is larger than {} bytes", source_,
                                              backup_index_max_bytes));
    std::string text(static_cast<size_t>(size), '\0');
    size_t have = 0;
    while (have < text.size()) {
        la_ssize_t n = archive_read_data(reader_.get(), text.data() + have, text.size() - have);
        if (n < 0)
            return fail_errno(EINVAL, fmt::format("{}: index.json: {}", source_,
                                                  archive_error_text(reader_.get())));
        if (n == 0) break;
        have += static_cast<size_t>(n);
    }
    text.resize(have);
    return text;
}

Result<BackupContents> BackupReader::extract(const BackupExtraction& plan) {
    BackupContents contents;
    ContentDigest image_digest;
    SectionWriter writer;
    std::optional<size_t> current_order;
    bool keeping = false;

    // A section ends: its files get their directories' modes and times, and the image, once
    // whole, goes to its caller with its digest.
    auto finish_section = [&]() -> Result<> {
        TRY(writer.close(source_));
        if (current_order && *current_order == 0) {
            contents.image_digest = image_digest.hex();
            if (plan.image_complete) TRY(plan.image_complete(contents.image_digest));
        }
        return {};
    };
    for (;;) {
        if (plan.cancel.requested()) return std::unexpected(plan.cancel.error(source_));
        archive_entry* entry = nullptr;
        int rc = archive_read_next_header(reader_.get(), &entry);
        if (rc == ARCHIVE_EOF) break;
        if (rc < ARCHIVE_WARN)
            return fail_errno(EINVAL,
                              fmt::format("{}: {}", source_, archive_error_text(reader_.get())));
        const char* raw_name = archive_entry_pathname(entry);
        auto cleaned = clean_member_name(raw_name ? raw_name : "");
        if (!cleaned)
            return fail_errno(EINVAL, fmt::format("{}: {}", source_, cleaned.error().message()));
        const std::string& name = *cleaned;
        if (name.empty()) return std::unexpected(invalid(source_, raw_name, "has no name"));
        if (++contents.entries > plan.max_entries)
            return std::unexpected(invalid(
                source_, name,
                fmt::format("the archive holds more than the {} members its index.json declares",
                            plan.max_entries)));
        auto member = TRY(section_of(source_, name, plan.snapshots));

        if (!current_order || member.order != *current_order) {
            if (current_order && member.order < *current_order)
                return std::unexpected(
                    invalid(source_, name, "is out of order (image/, instance/, then snapshots/)"));
            TRY(finish_section());
            auto directory = TRY(plan.directory_for(member.section));
            keeping = directory.has_value();
            if (keeping) TRY(writer.open(*directory));
            current_order = member.order;
            if (member.section.part == BackupSection::Part::instance) contents.had_instance = true;
            if (member.section.part == BackupSection::Part::snapshot)
                contents.snapshots.push_back(member.section.snapshot);
        }

        auto type = archive_entry_filetype(entry);
        bool hardlink = archive_entry_hardlink(entry) != nullptr;
        bool is_image = member.section.part == BackupSection::Part::image;
        if (member.relative.empty()) {
            // A section's root is the directory the caller made; its own mode stays the caller's.
            if (type != AE_IFDIR)
                return std::unexpected(invalid(source_, name, "must be a directory"));
            continue;
        }
        if (type == AE_IFCHR || type == AE_IFBLK) {
            bool whiteout = type == AE_IFCHR && archive_entry_rdev(entry) == 0 &&
                            plan.overlay_files && !is_image;
            if (!whiteout)
                return std::unexpected(invalid(source_, name,
                                               "device nodes are not allowed (only a container's "
                                               "overlay whiteouts, character devices 0:0)"));
        } else if (!hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK &&
                   type != AE_IFIFO) {
            return std::unexpected(invalid(source_, name, "unsupported file type"));
        }
        if (archive_entry_size(entry) > max_file_size)
            return std::unexpected(invalid(source_, name, "is larger than 16 TiB"));

        // Only the extended attributes that belong to an instance's files.
        std::vector<std::pair<std::string, std::string>> xattrs;
        const char* xattr_name;
        const void* xattr_value;
        size_t xattr_size;
        archive_entry_xattr_reset(entry);
        while (archive_entry_xattr_next(entry, &xattr_name, &xattr_value, &xattr_size) ==
               ARCHIVE_OK)
            if (keep_xattr(xattr_name, plan.overlay_files && !is_image))
                xattrs.emplace_back(xattr_name,
                                    std::string(static_cast<const char*>(xattr_value), xattr_size));
        archive_entry_xattr_clear(entry);
        for (const auto& [key, value] : xattrs)
            archive_entry_xattr_add_entry(entry, key.c_str(), value.data(), value.size());
        // Numeric owners: the names are the guest's, and this host's user database means
        // nothing inside it.
        archive_entry_set_uname(entry, nullptr);
        archive_entry_set_gname(entry, nullptr);

        if (hardlink) {
            auto target = clean_member_name(archive_entry_hardlink(entry));
            if (!target) return std::unexpected(invalid(source_, name, target.error().message()));
            auto target_member = TRY(section_of(source_, *target, plan.snapshots));
            if (target_member.order != member.order || target_member.relative.empty())
                return std::unexpected(
                    invalid(source_, name, "is a hard link out of its own section"));
            archive_entry_set_size(entry, 0);
            archive_entry_copy_hardlink(entry, target_member.relative.c_str());
        }
        // Digested with the archive's own names, before they become paths of this host: the
        // same image has the same digest wherever it is extracted.
        if (is_image) digest_member(image_digest, member.relative, entry);
        if (keeping && hardlink)
            archive_entry_copy_hardlink(
                entry, (writer.root() + "/" + archive_entry_hardlink(entry)).c_str());
        if (keeping) {
            archive_entry_copy_pathname(entry, (writer.root() + "/" + member.relative).c_str());
            if (archive_write_header(writer.get(), entry) < ARCHIVE_WARN)
                return fail("{}: member {}: {}", source_, name, archive_error_text(writer.get()));
        }
        if (type == AE_IFREG && !hardlink) {
            const void* block;
            size_t size;
            la_int64_t offset;
            while ((rc = archive_read_data_block(reader_.get(), &block, &size, &offset)) ==
                   ARCHIVE_OK) {
                if (plan.cancel.requested()) return std::unexpected(plan.cancel.error(source_));
                contents.data_bytes += size;
                if (contents.data_bytes > plan.max_data_bytes)
                    return std::unexpected(
                        invalid(source_, name,
                                fmt::format("the archive holds more than the {} bytes of data its "
                                            "index.json declares",
                                            plan.max_data_bytes)));
                if (offset < 0 || offset > max_file_size)
                    return std::unexpected(invalid(source_, name, "has data past 16 TiB"));
                if (is_image) {
                    image_digest.add(fmt::format("data {} {};", offset, size));
                    image_digest.add(std::string_view(static_cast<const char*>(block), size));
                }
                if (keeping &&
                    archive_write_data_block(writer.get(), block, size, offset) < ARCHIVE_WARN)
                    return fail("{}: member {}: {}", source_, name,
                                archive_error_text(writer.get()));
                if (plan.progress) plan.progress(contents.data_bytes);
            }
            if (rc != ARCHIVE_EOF)
                return fail_errno(EINVAL, fmt::format("{}: member {}: {}", source_, name,
                                                      archive_error_text(reader_.get())));
        }
        if (keeping && archive_write_finish_entry(writer.get()) < ARCHIVE_WARN)
            return fail("{}: member {}: {}", source_, name, archive_error_text(writer.get()));
    }
    TRY(finish_section());
    return contents;
}

}  // namespace vessel::manager
