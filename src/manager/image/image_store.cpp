#include "manager/image/image_store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/file.h"
#include "base/log.h"
#include "base/process.h"
#include "base/sparse_copy.h"
#include "manager/image/init_scripts.h"
#include "manager/instance/instance.h"
#include "manager/instance/name.h"
#include "manager/json_text.h"

namespace vessel::manager {

namespace {

// Bump when the built-in image's layout changes, so that a new vesseld makes a new image.
constexpr const char* busybox_layout = "vessel-busybox-2";

// A system container's init for images without one: waits forever, and exits on SIGTERM (pid 1
// ignores signals it has no handler for, so the trap is what makes a graceful stop work).
const std::vector<std::string> idle_init = {
    "/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"};

Result<> copy_file(const std::string& from, const std::string& to, mode_t mode,
                   const Cancellation& cancel = {}) {
    auto in = TRY(open_file(from, O_RDONLY));
    auto out = TRY(open_file(to, O_WRONLY | O_CREAT | O_EXCL, mode));
    char buffer[1 << 16];
    for (;;) {
        if (cancel.requested()) return std::unexpected(cancel.error(fmt::format("copy {}", from)));
        ssize_t n = ::read(in.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno(fmt::format("read {}", from));
        if (n == 0) break;
        TRY(write_all(out.get(), std::string_view(buffer, static_cast<size_t>(n))));
    }
    if (::fchmod(out.get(), mode) != 0) return fail_errno(fmt::format("chmod {}", to));
    return {};
}

Result<> write_new_file(const std::string& path, std::string_view data, mode_t mode = 0644) {
    auto out = TRY(open_file(path, O_WRONLY | O_CREAT | O_EXCL, mode));
    return write_all(out.get(), data);
}

}  // namespace

Result<std::string> sha256_file(const std::string& path, const Cancellation& cancel) {
    auto result = TRY(run_cancellable(
        {.argv = {"sha256sum", "--", path}, .timeout = std::chrono::minutes(5)}, cancel));
    if (!result.status.success() || result.out.size() < 64)
        return fail("sha256sum {}: {}", path, result.err.substr(0, result.err.find('\n')));
    return result.out.substr(0, 64);
}

Result<> expect_regular_file(const std::string& path, std::string_view what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return fail_errno(EINVAL, fmt::format("{} {}: {}", what, path, std::strerror(errno)));
    if (!S_ISREG(st.st_mode))
        return fail_errno(EINVAL, fmt::format("{} {} is not a regular file", what, path));
    return {};
}

Result<std::string> sha256_text(const std::string& text) {
    auto sum = TRY(run_checked({"sha256sum"}, std::chrono::minutes(1), text));
    if (sum.size() < 64) return fail("sha256sum: short output");
    return sum.substr(0, 64);
}

Result<std::string> ImageStore::make_temporary() {
    TRY(make_directories(images_dir_, 0700));
    std::string pattern = images_dir_ + "/.tmp-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        return fail_errno(fmt::format("create a temporary directory in {}", images_dir_));
    ::chmod(pattern.c_str(), 0755);
    return pattern;
}

Result<ImageRecord> ImageStore::commit(const std::string& temporary, ImageRecord record) {
    record.path = images_dir_ + "/" + record.fingerprint;
    if (::rename(temporary.c_str(), record.path.c_str()) != 0) {
        auto error = fail_errno(fmt::format("move image into {}", record.path));
        (void)remove_instance_tree(temporary);
        return error;
    }
    if (auto inserted = store_.insert_image(record); !inserted) {
        (void)remove_instance_tree(record.path);
        return std::unexpected(inserted.error());
    }
    return record;
}

Result<ImageRecord> ImageStore::ensure_busybox(const std::string& busybox_binary) {
    if (auto existing = TRY(store_.find_image("busybox")); existing) return *existing;
    if (!path_exists(busybox_binary))
        return fail("{} is missing: install Debian's busybox-static", busybox_binary);
    auto binary_hash = TRY(sha256_file(busybox_binary));
    // The fingerprint covers the binary and the layout this code builds around it.
    auto layout_file = TRY(make_temporary());
    auto cleanup_on_error = [&](Error error) {
        (void)remove_instance_tree(layout_file);
        return std::unexpected(std::move(error));
    };
    {
        auto id = write_new_file(layout_file + "/id", binary_hash + busybox_layout);
        if (!id) return cleanup_on_error(id.error());
    }
    auto fingerprint = sha256_file(layout_file + "/id");
    ::unlink((layout_file + "/id").c_str());
    if (!fingerprint) return cleanup_on_error(fingerprint.error());

    auto build = [&]() -> Result<> {
        std::string root = layout_file + "/rootfs";
        for (const char* dir :
             {"", "/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/etc", "/root", "/home",
              "/tmp", "/proc", "/sys", "/dev", "/run", "/var", "/var/log", "/mnt"}) {
            mode_t mode = std::string_view(dir) == "/tmp" ? 01777 : 0755;
            if (std::string_view(dir) == "/root") mode = 0700;
            if (::mkdir((root + dir).c_str(), mode) != 0)
                return fail_errno(fmt::format("mkdir {}{}", root, dir));
            ::chmod((root + dir).c_str(), mode);
        }
        TRY(copy_file(busybox_binary, root + "/bin/busybox", 0755));
        // Every applet as a symlink where busybox itself says it belongs.
        auto list = TRY(run_capture({busybox_binary, "--list-full"}, std::chrono::seconds(10)));
        if (!list.status.success()) return fail("{} --list-full failed", busybox_binary);
        size_t start = 0;
        while (start < list.out.size()) {
            auto end = list.out.find('\n', start);
            if (end == std::string::npos) end = list.out.size();
            auto applet = list.out.substr(start, end - start);
            start = end + 1;
            if (applet.empty() || applet == "bin/busybox" || applet.find("..") != std::string::npos)
                continue;
            auto depth = std::count(applet.begin(), applet.end(), '/');
            std::string target;
            for (long i = 0; i < depth; ++i)
                target += "../";
            target += "bin/busybox";
            if (::symlink(target.c_str(), (root + "/" + applet).c_str()) != 0 && errno != EEXIST)
                return fail_errno(fmt::format("symlink {}", applet));
        }
        TRY(write_new_file(root + "/etc/passwd",
                           "root:x:0:0:root:/root:/bin/sh\n"
                           "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"));
        TRY(write_new_file(root + "/etc/group", "root:x:0:\nnogroup:x:65534:\n"));
        TRY(write_new_file(root + "/etc/shadow", "root:*:19000:0:99999:7:::\n", 0600));
        TRY(write_new_file(root + "/etc/hosts", "127.0.0.1 localhost\n::1 localhost\n"));
        TRY(write_new_file(root + "/sbin/vessel-init", image_init_script, 0755));
        TRY(make_directories(root + "/usr/share/udhcpc", 0755));
        TRY(write_new_file(root + "/usr/share/udhcpc/default.script", udhcpc_lease_script, 0755));
        TRY(write_new_file(
            root + "/etc/os-release",
            "NAME=\"Vessel busybox\"\nID=busybox\nPRETTY_NAME=\"Vessel busybox\"\n"));
        Json metadata = {{"type", "container"},
                         {"description", "BusyBox from the host's busybox-static"},
                         {"command", Json::array({"/sbin/vessel-init"})}};
        TRY(write_new_file(layout_file + "/metadata.json",
                           TRY(dump_json_exact(metadata, "metadata.json", 2))));
        return {};
    };
    if (auto built = build(); !built) return cleanup_on_error(built.error());
    return commit(layout_file, {.fingerprint = *fingerprint,
                                .kind = InstanceKind::container,
                                .path = "",
                                .description = "BusyBox from the host's busybox-static",
                                .aliases = {"busybox"}});
}

Result<ImageRecord> ImageStore::ensure_riscv64_busybox(const std::string& guest_cache) {
    constexpr const char* alias = "riscv64/busybox";
    if (auto existing = TRY(store_.find_image(alias)); existing) return *existing;
    std::string kernel = guest_cache + "/riscv64-kernel/Image";
    std::string disk = guest_cache + "/riscv64-rootfs/root.ext4";
    for (const auto& file : {kernel, disk})
        if (!path_exists(file))
            return fail_errno(ENOENT,
                              fmt::format("{} is missing: build it with `make guest`", file));
    // Root on the disk, which has vessel-agent. Without vessel.run the guest's init starts a
    // shell on the console and stays up.
    return import_vm(
        {.kernel = kernel, .disk = disk, .append = "root=/dev/vda rw console=ttyS0", .agent = true},
        alias);
}

Result<ImageRecord> ImageStore::import_rootfs_tarball(const std::string& tarball,
                                                      const std::string& alias,
                                                      std::string description,
                                                      std::vector<std::string> command,
                                                      const Cancellation& cancel) {
    if (description.empty()) description = fmt::format("imported from {}", tarball);
    if (command.empty()) command = idle_init;
    if (alias.empty()) return fail("an imported image needs an alias");
    if (auto taken = TRY(store_.find_image(alias)); taken)
        return fail_errno(EEXIST, fmt::format("image alias {} is already in use", alias));
    TRY(expect_regular_file(tarball, "rootfs tarball"));
    auto fingerprint = TRY(sha256_file(tarball, cancel));
    if (auto existing = TRY(store_.find_image(fingerprint)); existing)
        return fail_errno(EEXIST, fmt::format("this tarball is already imported as image {}",
                                              fingerprint.substr(0, 12)));
    auto temporary = TRY(make_temporary());
    auto build = [&]() -> Result<> {
        auto root = temporary + "/rootfs";
        if (::mkdir(root.c_str(), 0755) != 0) return fail_errno("mkdir rootfs");
        TRY(extract_rootfs(tarball, root, cancel));
        Json metadata = {{"type", "container"}, {"description", description}, {"command", command}};
        return write_new_file(temporary + "/metadata.json",
                              TRY(dump_json_exact(metadata, "metadata.json", 2)));
    };
    if (auto built = build(); !built) {
        (void)remove_instance_tree(temporary);
        return std::unexpected(built.error());
    }
    return commit(temporary, {.fingerprint = fingerprint,
                              .kind = InstanceKind::container,
                              .path = "",
                              .description = description,
                              .aliases = {alias}});
}

Result<ImageRecord> ImageStore::import_vm(const VmImageSource& source, const std::string& alias,
                                          const Cancellation& cancel) {
    if (alias.empty()) return fail("an imported image needs an alias");
    if (auto taken = TRY(store_.find_image(alias)); taken)
        return fail_errno(EEXIST, fmt::format("image alias {} is already in use", alias));
    if (source.kernel.empty()) return fail_errno(EINVAL, "a VM image needs a kernel");
    TRY(expect_regular_file(source.kernel, "kernel"));
    if (!source.initrd.empty()) TRY(expect_regular_file(source.initrd, "initramfs"));
    if (!source.disk.empty()) TRY(expect_regular_file(source.disk, "disk"));
    auto fingerprint = TRY(sha256_file(source.kernel, cancel));
    if (!source.initrd.empty() || !source.disk.empty()) {
        std::string parts = fingerprint;
        if (!source.initrd.empty()) parts += "initrd" + TRY(sha256_file(source.initrd, cancel));
        if (!source.disk.empty()) parts += "disk" + TRY(sha256_file(source.disk, cancel));
        fingerprint = TRY(sha256_text(parts + source.append));
    }
    auto temporary = TRY(make_temporary());
    auto build = [&]() -> Result<> {
        TRY(copy_file(source.kernel, temporary + "/kernel", 0644, cancel));
        Json metadata = {{"type", "vm"}, {"kernel", "kernel"}, {"append", source.append}};
        if (!source.initrd.empty()) {
            TRY(copy_file(source.initrd, temporary + "/initrd", 0644, cancel));
            metadata["initrd"] = "initrd";
        }
        if (!source.disk.empty()) {
            TRY(copy_sparse_file(source.disk, temporary + "/disk.img", 0644));
            metadata["disk"] = "disk.img";
        }
        if (source.agent) metadata["agent"] = true;
        if (source.agent_timeout_s) metadata["agent_timeout"] = *source.agent_timeout_s;
        return write_new_file(temporary + "/metadata.json",
                              TRY(dump_json_exact(metadata, "metadata.json", 2)));
    };
    if (auto built = build(); !built) {
        (void)remove_instance_tree(temporary);
        return std::unexpected(built.error());
    }
    return commit(temporary, {.fingerprint = fingerprint,
                              .kind = InstanceKind::vm,
                              .path = "",
                              .description = source.description.empty()
                                                 ? fmt::format("kernel {}", source.kernel)
                                                 : source.description,
                              .aliases = {alias}});
}

bool is_image_file_name(std::string_view name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

Result<std::string> ImageStore::begin_extraction() {
    return make_temporary();
}

namespace {

// A file an image's metadata.json names: one name inside the image's directory, a regular file.
Result<> check_image_file(const std::string& directory, const JsonAt& metadata,
                          std::string_view key, bool required) {
    auto name = TRY(metadata.optional_string(key));
    if (!name) {
        if (required) return fail("metadata.json: {}: is required", key);
        return {};
    }
    if (!is_image_file_name(*name))
        return fail("metadata.json: {}: {} is not a file name inside the image", key,
                    single_line(*name));
    struct stat info {};
    if (::lstat((directory + "/" + *name).c_str(), &info) != 0 || !S_ISREG(info.st_mode))
        return fail("metadata.json: {}: the image has no file {}", key, *name);
    return {};
}

// That an image directory from outside is what vesseld would have made: metadata.json of the
// right type naming files that are there, and a rootfs/ directory for a container image.
Result<> check_image_directory(const std::string& directory, InstanceKind kind) {
    auto path = directory + "/metadata.json";
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode))
        return fail("the image has no metadata.json");
    if (info.st_size > (1 << 20)) return fail("the image's metadata.json is larger than 1 MiB");
    auto metadata = TRY(parse_json(TRY(read_file(path)), "metadata.json"));
    JsonAt at(metadata, "metadata.json");
    TRY(at.expect_object());
    auto type = TRY(at.optional_string("type")).value_or("");
    if (type != name_of(kind))
        return fail("metadata.json: type: {} is not {}", single_line(type), name_of(kind));
    if (kind == InstanceKind::container) {
        (void)TRY(at.optional_string_array("command"));
        if (::lstat((directory + "/rootfs").c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
            return fail("the container image has no rootfs directory");
        return {};
    }
    TRY(check_image_file(directory, at, "kernel", true));
    TRY(check_image_file(directory, at, "initrd", false));
    TRY(check_image_file(directory, at, "disk", false));
    (void)TRY(at.optional_string("append"));
    (void)TRY(at.optional_boolean("agent"));
    return {};
}

}  // namespace

Result<ImageRecord> ImageStore::adopt_extracted(const std::string& directory, InstanceKind kind,
                                                const std::string& fingerprint,
                                                std::string description,
                                                const std::vector<std::string>& aliases) {
    auto adopt = [&]() -> Result<ImageRecord> {
        TRY_CTX(check_image_directory(directory, kind), "the backup's image");
        ImageRecord record{.fingerprint = fingerprint, .kind = kind, .description = description};
        for (const auto& alias : aliases)
            if (!TRY(store_.find_image(alias))) record.aliases.push_back(alias);
        return commit(directory, std::move(record));
    };
    auto adopted = adopt();
    if (!adopted && path_exists(directory)) (void)remove_instance_tree(directory);
    return adopted;
}

Result<ImageRecord> ImageStore::resolve(const std::string& name) {
    if (auto found = TRY(store_.find_image(name)); found) return *found;
    std::vector<std::string> known;
    for (const auto& image : TRY(store_.list_images()))
        known.insert(known.end(), image.aliases.begin(), image.aliases.end());
    return fail_errno(ENOENT, not_found_message("image", name, known));
}

Result<> ImageStore::remove(const std::string& name) {
    auto image = TRY(resolve(name));
    auto users = TRY(store_.instances_using_image(image.fingerprint));
    if (!users.empty())
        return fail_errno(EBUSY, fmt::format("image {} is used by instance {}", name, users[0]));
    TRY(store_.delete_image(image.fingerprint));
    return remove_instance_tree(image.path);
}

}  // namespace vessel::manager
