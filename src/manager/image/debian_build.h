// `vessel image build debian/12 [--vm] [--arch riscv64]`: Debian images made with debootstrap from
// the Debian archive this host's apt already uses.
// - A container image is minbase plus iproute2 and udhcpc (so the container takes its address on
//   the managed network), cached as a rootfs tarball.
// - A VM image is a kernel, its initramfs and an ext4 root disk: minbase plus Debian's kernel,
//   systemd, udev, systemd-networkd (DHCP on eth0 when vesseld plugs in a NIC) and vessel-agent,
//   baked in and started at boot by a unit. The configured root filesystem is cached as a
//   directory; the disk is made from it (mke2fs -d: no loop device, no mount) with the agent of
//   the moment. A foreign architecture (riscv64 on an amd64 host) is configured under Debian's
//   qemu-user-static through a binfmt_misc entry that lives only as long as the build.
// Both caches are keyed by a hash of their inputs (suite, architecture, archive, packages, what the
// recipe writes), so a rebuild is an import.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/error.h"

namespace vessel::manager {

// The archive URI apt uses for `suite` (main component, binary packages): from the deb822
// *.sources files in <apt_dir>/sources.list.d and the one-line <apt_dir>/sources.list.
Result<std::string> debian_archive_for(const std::string& apt_dir, const std::string& suite);

// The archive to debootstrap `suite` from: apt's for that suite, else apt's for this host's own
// release (VERSION_CODENAME in `os_release`), since one Debian archive serves every release and
// debootstrap checks the other release's signatures with debian-archive-keyring.
Result<std::string> debian_archive_for_build(const std::string& apt_dir, const std::string& suite,
                                             const std::string& os_release);

// The suite of a distribution name ("debian/12" -> "bookworm", "debian/13" -> "trixie"); EINVAL
// for one we cannot build.
Result<std::string> debian_suite(const std::string& distribution);

// This host's architecture in Debian's naming (amd64, arm64, riscv64...).
std::string host_debian_architecture();

struct DebianBuild {
    std::string distribution;  // "debian/12"
    std::string architecture;  // Debian's name; empty: this host's
    std::string apt_dir = "/etc/apt";
    std::string os_release = "/etc/os-release";
    std::string cache_dir = "/var/cache/vessel/images";
};

// Whether a VM image of `architecture` can be built here: this host's architecture (for KVM), or
// riscv64 (vessel-vmm's emulated board), whose first Debian release is 13. EINVAL saying why not.
Result<> check_vm_build(const std::string& suite, const std::string& architecture);

// That `binary` is a static ELF program for `architecture` (Debian's name), so that it runs in
// any guest userland of that architecture; EINVAL naming what it is instead.
Result<> check_static_program(const std::string& binary, const std::string& architecture);

// The cached rootfs tarball for a container image of this host's architecture, made first if
// missing. `progress` gets debootstrap's status lines as they come.
Result<std::string> build_debian_tarball(const DebianBuild& build,
                                         const std::function<void(const std::string&)>& progress);

// A VM image's files, in a scratch directory that exists only while `use` runs.
struct DebianVmFiles {
    std::string kernel;
    std::string initrd;
    std::string disk;    // ext4, sparse, the whole device (no partition table)
    std::string append;  // the kernel command line the image boots with
    // How long an instance's start waits for the agent, where vesseld's default is too short:
    // systemd under the riscv64 interpreter takes a minute or more to get there.
    std::optional<uint32_t> agent_timeout_s;
};

// Builds (or takes from the cache) the configured root filesystem, makes the kernel, initramfs
// and root disk with `agent_binary` (a static vessel-agent for the architecture) in it, and hands
// them to `use`; the scratch directory is removed afterwards whatever happened.
Result<> build_debian_vm(const DebianBuild& build, const std::string& agent_binary,
                         const std::function<void(const std::string&)>& progress,
                         const std::function<Result<>(const DebianVmFiles&)>& use);

}  // namespace vessel::manager
