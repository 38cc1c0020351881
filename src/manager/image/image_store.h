// The local image store: each image is a directory images/<fingerprint>/ holding metadata.json and
// either rootfs/ (a container image, used read-only as the overlayfs lower layer of every
// instance) or a kernel and an initramfs (a VM image). Images are built in a temporary directory
// and renamed into place, then recorded in the database: a failure at any step leaves nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "manager/cancel.h"
#include "manager/store/store.h"

namespace vessel::manager {

// What a VM image is made of.
struct VmImageSource {
    std::string kernel;
    std::string initrd;  // empty: none
    std::string disk;    // empty: none; else the root disk each instance gets a copy of
    std::string append = "console=ttyS0";
    bool agent = false;
    std::string description;  // empty: "kernel <path>"
    // Seconds an instance's start waits for the agent (vesseld's default when unset).
    std::optional<uint32_t> agent_timeout_s;
};

// Whether `name`, from an image's metadata.json, names a file inside the image's own directory: a
// name that reached out of it would hand another host file to a guest as its kernel or disk.
bool is_image_file_name(std::string_view name);

class ImageStore {
  public:
    ImageStore(Store& store, std::string images_dir)
        : store_(store), images_dir_(std::move(images_dir)) {}

    // The built-in `busybox` container image from the host's static busybox (Debian's
    // busybox-static): made once, found again on later starts.
    Result<ImageRecord> ensure_busybox(const std::string& busybox_binary = "/bin/busybox");

    // The built-in `riscv64/busybox` VM image: the riscv64 kernel and busybox initramfs that
    // `make guest` builds (guest/), found in the guest cache directory. Made once; ENOENT when
    // the cache has no such build.
    Result<ImageRecord> ensure_riscv64_busybox(const std::string& guest_cache);

    // A container image from a root filesystem tarball (any compression libarchive reads), which
    // must be a regular file. `description` and `command` (its init) default to "imported from
    // ..." and an idle shell. Stops, leaving nothing, once `cancel` fires.
    Result<ImageRecord> import_rootfs_tarball(const std::string& tarball, const std::string& alias,
                                              std::string description = {},
                                              std::vector<std::string> command = {},
                                              const Cancellation& cancel = {});

    // A VM image from a kernel, an optional initramfs and an optional root disk (regular files;
    // the disk's holes are kept). `agent`: the guest runs vessel-agent, so an instance counts as
    // started once it answers.
    Result<ImageRecord> import_vm(const VmImageSource& source, const std::string& alias,
                                  const Cancellation& cancel = {});

    // An image that arrives inside an instance backup (`vessel import`): extracted into
    // begin_extraction()'s directory, then adopt_extracted() checks that its metadata.json
    // describes an image of `kind` whose files are there, and records it under `fingerprint`
    // (what its contents hash to) with those of `aliases` that are free. On failure the
    // directory is removed.
    Result<std::string> begin_extraction();
    Result<ImageRecord> adopt_extracted(const std::string& directory, InstanceKind kind,
                                        const std::string& fingerprint, std::string description,
                                        const std::vector<std::string>& aliases);

    // By alias or fingerprint (prefix); the error suggests close aliases.
    Result<ImageRecord> resolve(const std::string& name);
    // Refuses while instances use the image.
    Result<> remove(const std::string& name);

    const std::string& directory() const { return images_dir_; }

  private:
    // Moves a finished temporary directory into place and records it.
    Result<ImageRecord> commit(const std::string& temporary, ImageRecord record);
    Result<std::string> make_temporary();

    Store& store_;
    std::string images_dir_;
};

// Extracts a tarball into `target` (an existing empty directory). Refuses absolute names, ".."
// components, device nodes and hard links that point outside, and never writes through a symlink;
// on failure (or cancellation) the caller removes the target.
Result<> extract_rootfs(const std::string& tarball, const std::string& target,
                        const Cancellation& cancel = {});

// sha256 of a file, hex.
Result<std::string> sha256_file(const std::string& path, const Cancellation& cancel = {});

// An image's source must be a regular file: a device (/dev/zero) or a FIFO never ends, a
// directory is not an image. EINVAL naming `what` and the path otherwise.
Result<> expect_regular_file(const std::string& path, std::string_view what);
// sha256 of a text (a cache key, a combined fingerprint), hex.
Result<std::string> sha256_text(const std::string& text);

}  // namespace vessel::manager
