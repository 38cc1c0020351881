#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <memory>

#include "manager/image/archive_member.h"
#include "manager/image/image_store.h"

namespace vessel::manager {

namespace {

struct ArchiveReadDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};

}  // namespace

std::string archive_error_text(archive* a) {
    const char* text = archive_error_string(a);
    return text ? text : "unknown error";
}

Result<std::string> clean_member_name(std::string_view name) {
    if (name.empty()) return fail("an entry has an empty name");
    if (name.front() == '/') return fail("entry {}: absolute paths are not allowed", name);
    std::string out;
    size_t start = 0;
    while (start <= name.size()) {
        size_t end = name.find('/', start);
        if (end == std::string_view::npos) end = name.size();
        auto part = name.substr(start, end - start);
        start = end + 1;
        if (part.empty() || part == ".") continue;
        if (part == "..") return fail("entry {}: '..' components are not allowed", name);
        if (!out.empty()) out += '/';
        out += part;
    }
    return out;
}

Result<> extract_rootfs(const std::string& tarball, const std::string& target,
                        const Cancellation& cancel) {
    char resolved[PATH_MAX];
    // The target's own path may contain symlinks (a /var/lib on another disk); resolve them once so
    // that the secure-symlinks check below only judges what the archive creates.
    if (::realpath(target.c_str(), resolved) == nullptr)
        return fail_errno(fmt::format("resolve {}", target));
    std::string root = resolved;

    std::unique_ptr<archive, ArchiveReadDeleter> reader(archive_read_new());
    archive_read_support_filter_all(reader.get());
    archive_read_support_format_tar(reader.get());
    archive_read_support_format_gnutar(reader.get());
    if (archive_read_open_filename(reader.get(), tarball.c_str(), 1 << 16) != ARCHIVE_OK)
        return fail("{}: {}", tarball, archive_error_text(reader.get()));

    std::unique_ptr<archive, ArchiveWriteDeleter> writer(archive_write_disk_new());
    // SECURE_SYMLINKS: never write through a symlink an earlier entry planted ("etc -> /etc" then
    // "etc/passwd"): without ARCHIVE_EXTRACT_UNLINK such an archive is refused outright.
    // SECURE_NODOTDOT is a second line behind our own check.
    archive_write_disk_set_options(
        writer.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                          ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);

    size_t entries = 0;
    for (;;) {
        if (cancel.requested()) return std::unexpected(cancel.error(tarball));
        archive_entry* entry = nullptr;
        int rc = archive_read_next_header(reader.get(), &entry);
        if (rc == ARCHIVE_EOF) break;
        if (rc < ARCHIVE_WARN) return fail("{}: {}", tarball, archive_error_text(reader.get()));
        const char* raw_name = archive_entry_pathname(entry);
        auto name = TRY_CTX(clean_member_name(raw_name ? raw_name : ""), "{}", tarball);
        if (name.empty()) continue;  // "./" itself
        auto type = archive_entry_filetype(entry);
        if (type == AE_IFCHR || type == AE_IFBLK)
            return fail("{}: entry {}: device nodes are not allowed (the runtime creates /dev)",
                        tarball, name);
        bool hardlink = archive_entry_hardlink(entry) != nullptr;
        if (!hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK &&
            type != AE_IFIFO)
            return fail("{}: entry {}: unsupported file type", tarball, name);
        archive_entry_set_pathname(entry, (root + "/" + name).c_str());
        if (const char* link = archive_entry_hardlink(entry)) {
            auto link_name = TRY_CTX(clean_member_name(link), "{}: hard link {}", tarball, name);
            archive_entry_set_hardlink(entry, (root + "/" + link_name).c_str());
        }
        rc = archive_write_header(writer.get(), entry);
        if (rc < ARCHIVE_WARN)
            return fail("{}: entry {}: {}", tarball, name, archive_error_text(writer.get()));
        if (archive_entry_size(entry) > 0 && type == AE_IFREG) {
            const void* block;
            size_t size;
            la_int64_t offset;
            while ((rc = archive_read_data_block(reader.get(), &block, &size, &offset)) ==
                   ARCHIVE_OK) {
                if (cancel.requested()) return std::unexpected(cancel.error(tarball));
                if (archive_write_data_block(writer.get(), block, size, offset) < ARCHIVE_WARN)
                    return fail("{}: entry {}: {}", tarball, name,
                                archive_error_text(writer.get()));
            }
            if (rc != ARCHIVE_EOF)
                return fail("{}: entry {}: {}", tarball, name, archive_error_text(reader.get()));
        }
        if (archive_write_finish_entry(writer.get()) < ARCHIVE_WARN)
            return fail("{}: entry {}: {}", tarball, name, archive_error_text(writer.get()));
        ++entries;
    }
    if (archive_write_close(writer.get()) != ARCHIVE_OK)
        return fail("{}: {}", tarball, archive_error_text(writer.get()));
    if (entries == 0) return fail("{}: the archive is empty", tarball);
    return {};
}

}  // namespace vessel::manager
