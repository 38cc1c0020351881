#include "manager/image/debian_build.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "base/file.h"
#include "base/process.h"
#include "manager/image/image_store.h"
#include "manager/image/init_scripts.h"
#include "manager/instance/instance.h"

namespace vessel::manager {

namespace {

// Bumped whenever what the recipe puts in the tree changes: part of the cache key.
constexpr const char* kRecipeVersion = "vessel-debian-2";
constexpr const char* kExtraPackages = "iproute2,udhcpc";

// The VM recipe. Beyond minbase: systemd as init with udev (device units, module autoloading,
// networkd's links), D-Bus and resolved for a usual systemd system, e2fsprogs for the root's
// fsck and resize, and initramfs-tools named so that debootstrap does not pick another provider of
// linux-initramfs-tool. The kernel package is linux-image-<architecture>.
constexpr const char* kVmRecipeVersion = "vessel-debian-vm-1";
constexpr const char* kVmPackages =
    "systemd-sysv,udev,dbus,systemd-resolved,iproute2,procps,e2fsprogs,initramfs-tools";
// Room to install packages in the guest; the file is sparse, so only what is written costs.
constexpr off_t kVmDiskBytes = off_t{2} << 30;
// net.ifnames=0 keeps the kernel's eth0: the network file matches it, and udev's predictable
// names have nothing stable to go on for virtio-mmio devices anyway.
constexpr const char* kVmAppend = "root=/dev/vda rw console=ttyS0 net.ifnames=0";
constexpr const char* kAgentPath = "/usr/local/sbin/vessel-agent";
// Boot to agent-ready of a Debian 13 riscv64 guest on the emulated board: about 60-70 s with one
// idle host core, several times that on a host busy with other guests and builds.
constexpr uint32_t kEmulatedAgentTimeoutSeconds = 300;

struct RootFile {
    const char* path;
    const char* content;
    mode_t mode = 0644;
};

// What a VM image's root gets beyond Debian's packages (the agent itself comes later, per build).
const RootFile kVmFiles[] = {
    {"/etc/hostname", "debian\n"},
    {"/etc/hosts",
     "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\t\tlocalhost ip6-localhost ip6-loopback\n"},
    {"/etc/fstab",
     "# The root disk. The kernel mounts it read-write (root=/dev/vda rw), and vessel-agent\n"
     "# grows it at boot to fill a disk the host made larger (limits.disk).\n"
     "/dev/vda / ext4 defaults,errors=remount-ro 0 1\n"},
    {"/etc/initramfs-tools/conf.d/vessel.conf",
     "# Only the root disk's drivers (../modules), not MODULES=most's hundreds: the initramfs is\n"
     "# unpacked into guest RAM, and built in a chroot that has none of the guest's devices for\n"
     "# MODULES=dep to find. gzip: zstd is not in minbase.\n"
     "MODULES=list\nCOMPRESS=gzip\n"},
    {"/etc/initramfs-tools/modules",
     "# The root disk /dev/vda: virtio-blk over virtio-mmio, vessel-vmm's devices on every board.\n"
     "virtio_mmio\nvirtio_blk\next4\n"},
    {"/etc/modules-load.d/vessel.conf",
     "# vessel-agent's transport: vsock over virtio, there from early boot for the agent's unit.\n"
     "vmw_vsock_virtio_transport\n"},
    {"/etc/udev/rules.d/60-vessel-vsock.rules",
     "# A device unit for /dev/vsock (dev-vsock.device), which vessel-agent.service waits for.\n"
     "KERNEL==\"vsock\", SUBSYSTEM==\"misc\", TAG+=\"systemd\"\n"},
    {"/etc/systemd/network/50-vessel-eth0.network",
     "# vesseld adds VESSEL_DHCP=eth0 to the kernel command line when it plugs the VM into its\n"
     "# bridge: then, and only then, eth0 takes its address by DHCP from the bridge's dnsmasq.\n"
     "[Match]\nName=eth0\nKernelCommandLine=VESSEL_DHCP=eth0\n\n[Network]\nDHCP=ipv4\n"},
    {"/etc/systemd/system/vessel-agent.service",
     "# The host's way into the VM (vsock port 7700): exec, files, state, clean shutdown.\n"
     "[Unit]\n"
     "Description=Vessel guest agent (vsock port 7700)\n"
     "# Early: vesseld counts the VM as started once the agent answers. It needs the root\n"
     "# writable (local-fs) and the vsock transport; it also retries for 30 s by itself.\n"
     "DefaultDependencies=no\n"
     "Wants=systemd-modules-load.service dev-vsock.device\n"
     "After=systemd-modules-load.service dev-vsock.device local-fs.target\n"
     "Conflicts=shutdown.target\n"
     "Before=shutdown.target\n"
     "\n[Service]\n"
     "ExecStart=/usr/local/sbin/vessel-agent\n"
     "Restart=always\n"
     "RestartSec=1\n"
     "\n[Install]\n"
     "WantedBy=sysinit.target\n"},
};

// Run in the new root once its packages are configured (as root, /proc mounted, under
// qemu-user for a foreign architecture). The initramfs is made again for the module list above;
// the machine id is emptied so that every VM makes its own at first boot instead of sharing one.
constexpr const char* kVmChrootScript = R"sh(set -e
systemctl enable systemd-networkd.service vessel-agent.service
update-initramfs -u -k all
apt-get clean
rm -rf /var/lib/apt/lists/*
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
)sh";

// How this host runs another architecture's programs: Debian's qemu-user-static, as Debian's
// own binfmt.d entries (package qemu-user-static) name it. P keeps argv[0]; F opens the
// interpreter now, so that it also runs inside the chroot, which has no qemu of its own.
struct ForeignArchitecture {
    const char* name;
    const char* magic;
    const char* mask;
    const char* interpreter;
};
constexpr ForeignArchitecture kForeign[] = {
    {"riscv64",
     R"(\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)",
     "/usr/libexec/qemu-binfmt/riscv64-binfmt-P"},
};

std::vector<std::string> words(const std::string& text) {
    std::istringstream stream(text);
    std::vector<std::string> out;
    for (std::string word; stream >> word;)
        out.push_back(word);
    return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

// One deb822 stanza's fields (continuation lines and comments skipped).
std::optional<std::string> archive_in_stanza(const std::map<std::string, std::string>& fields,
                                             const std::string& suite) {
    auto field = [&](const char* name) {
        auto found = fields.find(name);
        return found == fields.end() ? std::vector<std::string>() : words(found->second);
    };
    auto enabled = fields.find("Enabled");
    if (enabled != fields.end() && words(enabled->second) == std::vector<std::string>{"no"})
        return std::nullopt;
    auto uris = field("URIs");
    if (!contains(field("Types"), "deb") || !contains(field("Suites"), suite) ||
        !contains(field("Components"), "main") || uris.empty())
        return std::nullopt;
    return uris.front();
}

std::optional<std::string> archive_in_deb822(const std::string& text, const std::string& suite) {
    std::map<std::string, std::string> fields;
    std::istringstream stream(text + "\n\n");
    for (std::string line; std::getline(stream, line);) {
        if (line.empty() || line.find_first_not_of(" \t") == std::string::npos) {
            if (auto uri = archive_in_stanza(fields, suite)) return uri;
            fields.clear();
            continue;
        }
        if (line[0] == '#' || line[0] == ' ' || line[0] == '\t') continue;
        auto colon = line.find(':');
        if (colon != std::string::npos) fields[line.substr(0, colon)] = line.substr(colon + 1);
    }
    return std::nullopt;
}

// "deb [options] URI SUITE COMPONENT..."
std::optional<std::string> archive_in_one_line(const std::string& text, const std::string& suite) {
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) {
        auto fields = words(line.substr(0, line.find('#')));
        if (fields.empty() || fields[0] != "deb") continue;
        size_t at = 1;
        if (at < fields.size() && fields[at].starts_with('[')) {
            while (at < fields.size() && !fields[at].ends_with(']'))
                ++at;
            ++at;
        }
        if (at + 2 < fields.size() && fields[at + 1] == suite &&
            std::find(fields.begin() + static_cast<long>(at) + 2, fields.end(), "main") !=
                fields.end())
            return fields[at];
    }
    return std::nullopt;
}

// A directory for one build's work, removed with everything in it when the build ends, failed or
// not. Only this process writes there; --one-file-system keeps rm out of anything still mounted.
// Named after the building process (".build-PID-XXXXXX"): the next build removes those of a
// vesseld that died before its own clean-up could run.
class ScratchDirectory {
  public:
    static Result<ScratchDirectory> make(const std::string& parent) {
        TRY(make_directories(parent, 0700));
        remove_abandoned(parent);
        std::string pattern = fmt::format("{}/.build-{}-XXXXXX", parent, ::getpid());
        if (::mkdtemp(pattern.data()) == nullptr)
            return fail_errno(fmt::format("create a build directory in {}", parent));
        return ScratchDirectory(std::move(pattern));
    }
    ScratchDirectory(ScratchDirectory&& other) noexcept : path_(std::exchange(other.path_, {})) {}
    ScratchDirectory& operator=(ScratchDirectory&&) = delete;
    ~ScratchDirectory() {
        if (!path_.empty())
            (void)run_capture({"rm", "-rf", "--one-file-system", "--", path_},
                              std::chrono::minutes(5));
    }
    const std::string& path() const { return path_; }

  private:
    explicit ScratchDirectory(std::string path) : path_(std::move(path)) {}

    static void remove_abandoned(const std::string& parent) {
        struct CloseDir {
            void operator()(DIR* dir) const { ::closedir(dir); }
        };
        std::unique_ptr<DIR, CloseDir> dir(::opendir(parent.c_str()));
        if (!dir) return;
        std::vector<std::string> abandoned;
        while (dirent* entry = ::readdir(dir.get())) {
            std::string_view name = entry->d_name;
            if (!name.starts_with(".build-")) continue;
            char* end = nullptr;
            long pid = std::strtol(entry->d_name + 7, &end, 10);
            if (end == entry->d_name + 7 || (*end != '-' && *end != '\0') || pid <= 0) continue;
            if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
                abandoned.push_back(parent + "/" + entry->d_name);
        }
        for (const auto& path : abandoned)
            (void)run_capture({"rm", "-rf", "--one-file-system", "--", path},
                              std::chrono::minutes(5));
    }

    std::string path_;
};

// Runs a program whose output is a stream of status lines: each goes to `progress`, the last one
// into the error if it fails.
Result<> run_with_progress(const std::vector<std::string>& argv,
                           std::optional<std::vector<std::string>> env,
                           const std::function<void(const std::string&)>& progress) {
    auto pipe = TRY(make_pipe());
    auto child = TRY(spawn({.argv = argv,
                            .env = std::move(env),
                            .stdin_fd = -1,
                            .stdout_fd = pipe.write.get(),
                            .stderr_fd = pipe.write.get()}));
    pipe.write.reset();
    std::string pending, last;
    char buffer[4096];
    for (;;) {
        ssize_t got = ::read(pipe.read.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        pending.append(buffer, static_cast<size_t>(got));
        for (size_t end; (end = pending.find('\n')) != std::string::npos;) {
            std::string line = pending.substr(0, end);
            pending.erase(0, end + 1);
            if (line.empty()) continue;
            last = line;
            progress(line);
        }
    }
    auto status = TRY(child.wait());
    if (!status.success()) return fail("failed ({}): {}", status.describe(), last);
    return {};
}

// debootstrap in a mount namespace of its own: the /proc and /sys it mounts in the new root go
// away with it, even when it is killed before it unmounts them.
Result<> run_debootstrap(const std::string& suite, const std::string& architecture,
                         const std::string& packages, const std::string& archive,
                         const std::string& target,
                         const std::function<void(const std::string&)>& progress) {
    std::vector<std::string> argv = {"unshare", "--mount",     "--propagation",
                                     "private", "debootstrap", "--variant=minbase"};
    if (!architecture.empty()) argv.push_back("--arch=" + architecture);
    argv.insert(argv.end(), {"--include=" + packages, suite, target, archive});
    TRY_CTX(run_with_progress(argv, std::nullopt, progress), "debootstrap {} {} from {}", suite,
            architecture, archive);
    return {};
}

// A binfmt_misc entry that runs `architecture`'s programs under qemu-user-static while the object
// lives. The kernel drops an entry with the last mount of binfmt_misc, so a helper process holds
// one in a mount namespace of its own (the host's mounts never change) and removes the entry when
// its standard input closes: when this object goes, and also when vesseld dies mid-build. The
// entry is host-wide, so it is named after the helper ("vessel-riscv64-PID"), and one whose helper
// was killed is removed by the next build.
class ForeignPrograms {
  public:
    static Result<ForeignPrograms> enable(const std::string& architecture) {
        auto known = std::find_if(std::begin(kForeign), std::end(kForeign),
                                  [&](const auto& entry) { return architecture == entry.name; });
        if (known == std::end(kForeign))
            return fail_errno(EINVAL,
                              fmt::format("cannot run {} programs on this host", architecture));
        if (::access(known->interpreter, X_OK) != 0)
            return fail_errno(ENOENT, fmt::format("{} is missing: install Debian's "
                                                  "qemu-user-static to build {} images",
                                                  known->interpreter, architecture));
        auto input = TRY(make_pipe());
        auto output = TRY(make_pipe());
        auto helper = TRY(spawn({.argv = {"unshare", "--mount", "--propagation", "private", "sh",
                                          "-c", kHelper, "sh", architecture,
                                          fmt::format("M::{}:{}:{}:POF", known->magic, known->mask,
                                                      known->interpreter)},
                                 .stdin_fd = input.read.get(),
                                 .stdout_fd = output.write.get(),
                                 .stderr_fd = output.write.get()}));
        input.read.reset();
        output.write.reset();
        ForeignPrograms held(std::move(input.write), std::move(helper));
        // The helper says "registered NAME", or fails and says why.
        std::string said;
        char buffer[512];
        while (said.find('\n') == std::string::npos) {
            ssize_t got = ::read(output.read.get(), buffer, sizeof buffer);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) break;
            said.append(buffer, static_cast<size_t>(got));
        }
        if (!said.starts_with("registered "))
            return fail("register {} programs with binfmt_misc: {}", architecture,
                        said.substr(0, said.find('\n')));
        return held;
    }
    ForeignPrograms(ForeignPrograms&& other) noexcept
        : hold_(std::move(other.hold_)), helper_(std::exchange(other.helper_, std::nullopt)) {}
    ForeignPrograms& operator=(ForeignPrograms&&) = delete;
    ~ForeignPrograms() {
        if (!helper_) return;
        hold_.reset();
        if (auto ended = helper_->wait_for(std::chrono::seconds(30)); !ended || !*ended) {
            (void)helper_->signal(SIGKILL);
            (void)helper_->wait();
        }
    }

  private:
    ForeignPrograms(UniqueFd hold, Child helper)
        : hold_(std::move(hold)), helper_(std::move(helper)) {}

    // $1 the architecture, $2 the entry after its name (":M::magic:mask:interpreter:flags").
    static constexpr const char* kHelper = R"sh(set -e
fs=/proc/sys/fs/binfmt_misc
mount -t binfmt_misc binfmt_misc "$fs"
for entry in "$fs"/vessel-*; do
    [ -e "$entry" ] || continue
    pid=${entry##*-}
    [ -d "/proc/$pid" ] || echo -1 >"$entry"
done
name=vessel-$1-$$
trap '[ ! -e "$fs/$name" ] || echo -1 >"$fs/$name"' EXIT
trap 'exit 1' HUP INT TERM
printf ':%s:%s' "$name" "$2" >"$fs/register"
echo "registered $name"
read -r _ || true
)sh";

    UniqueFd hold_;
    std::optional<Child> helper_;
};

// The kernel release of the one kernel in root/boot (from its config-RELEASE file).
Result<std::string> installed_kernel_release(const std::string& root) {
    struct CloseDir {
        void operator()(DIR* dir) const { ::closedir(dir); }
    };
    std::unique_ptr<DIR, CloseDir> boot(::opendir((root + "/boot").c_str()));
    if (!boot) return fail_errno(fmt::format("open {}/boot", root));
    std::vector<std::string> releases;
    while (dirent* entry = ::readdir(boot.get()))
        if (std::string_view name = entry->d_name; name.starts_with("config-"))
            releases.emplace_back(name.substr(7));
    if (releases.size() != 1) return fail("{}/boot has {} kernels, not one", root, releases.size());
    return releases.front();
}

// The kernel image an architecture's Debian kernel package installs, and the magic vessel-vmm
// checks in it: x86's bzImage "HdrS", RISC-V's Image "RSC\x05".
struct KernelLayout {
    const char* prefix;
    off_t magic_offset;
    std::string_view magic;
};

Result<KernelLayout> kernel_layout(const std::string& architecture) {
    using namespace std::string_view_literals;
    if (architecture == "amd64") return KernelLayout{"vmlinuz-", 0x202, "HdrS"sv};
    if (architecture == "riscv64") return KernelLayout{"vmlinux-", 0x38, "RSC\x05"sv};
    return fail_errno(EINVAL, fmt::format("no VM kernel layout for {}", architecture));
}

Result<> expect_bytes_at(const std::string& path, off_t offset, std::string_view expected,
                         std::string_view what) {
    auto fd = TRY(open_file(path, O_RDONLY));
    std::string got(expected.size(), '\0');
    if (::pread(fd.get(), got.data(), got.size(), offset) != static_cast<ssize_t>(got.size()) ||
        got != expected)
        return fail("{} is not {}", path, what);
    return {};
}

// The configured root filesystem of a VM image: debootstrap, the files above, the chroot script.
// Cached as a directory, whole or not at all (built aside, renamed into place).
Result<std::string> ensure_vm_root(const DebianBuild& build, const std::string& suite,
                                   const std::string& architecture, const std::string& archive,
                                   const std::function<void(const std::string&)>& progress) {
    std::string packages = fmt::format("{},linux-image-{}", kVmPackages, architecture);
    std::string inputs = fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n", kVmRecipeVersion, suite,
                                     architecture, archive, packages, kVmChrootScript);
    for (const auto& file : kVmFiles)
        inputs += fmt::format("{} {:o}\n{}\n", file.path, file.mode, file.content);
    std::string key = TRY(sha256_text(inputs));
    std::string entry =
        fmt::format("{}/debian-{}-{}-vm-{}", build.cache_dir, suite, architecture, key);
    if (path_exists(entry + "/rootfs")) {
        progress("cached: " + entry);
        return entry + "/rootfs";
    }
    auto scratch = TRY(ScratchDirectory::make(build.cache_dir));
    std::optional<ForeignPrograms> foreign;
    if (architecture != host_debian_architecture()) {
        progress(
            fmt::format("running {} programs under qemu-user-static (binfmt_misc)", architecture));
        foreign.emplace(TRY(ForeignPrograms::enable(architecture)));
    }
    std::string root = scratch.path() + "/entry/rootfs";
    TRY(make_directories(root, 0755));
    progress(fmt::format("debootstrap --variant=minbase --arch={} {} from {}", architecture, suite,
                         archive));
    TRY(run_debootstrap(suite, architecture, packages, archive, root, progress));
    for (const auto& file : kVmFiles) {
        std::string path = root + file.path;
        TRY(make_directories(path.substr(0, path.rfind('/')), 0755));
        TRY(write_file_atomic(path, file.content, file.mode));
    }
    progress("configuring: the agent's unit, networkd, the initramfs");
    TRY_CTX(
        run_with_progress({"unshare", "--mount", "--propagation", "private", "sh", "-c",
                           "mount -t proc proc \"$1/proc\" && exec chroot \"$1\" /bin/sh -c \"$2\"",
                           "sh", root, kVmChrootScript},
                          std::vector<std::string>{
                              "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                              "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"},
                          progress),
        "configure the {} root", suite);
    auto layout = TRY(kernel_layout(architecture));
    auto release = TRY(installed_kernel_release(root));
    TRY(expect_bytes_at(root + "/boot/" + layout.prefix + release, layout.magic_offset,
                        layout.magic, fmt::format("a {} kernel image", architecture)));
    if (::rename((scratch.path() + "/entry").c_str(), entry.c_str()) != 0) {
        // A concurrent build of the same inputs finished first: the same tree is there.
        if ((errno == ENOTEMPTY || errno == EEXIST) && path_exists(entry + "/rootfs"))
            return entry + "/rootfs";
        return fail_errno("rename into " + entry);
    }
    return entry + "/rootfs";
}

}  // namespace

Result<std::string> debian_archive_for(const std::string& apt_dir, const std::string& suite) {
    std::vector<std::string> sources;
    if (DIR* dir = ::opendir((apt_dir + "/sources.list.d").c_str())) {
        while (dirent* entry = ::readdir(dir))
            if (std::string_view(entry->d_name).ends_with(".sources"))
                sources.push_back(apt_dir + "/sources.list.d/" + entry->d_name);
        ::closedir(dir);
    }
    std::sort(sources.begin(), sources.end());
    for (const auto& path : sources)
        if (auto text = read_file(path))
            if (auto uri = archive_in_deb822(*text, suite)) return *uri;
    if (auto text = read_file(apt_dir + "/sources.list"))
        if (auto uri = archive_in_one_line(*text, suite)) return *uri;
    return fail_errno(ENOENT,
                      fmt::format("apt has no archive for {} main (in {}/sources.list or {}/"
                                  "sources.list.d/*.sources)",
                                  suite, apt_dir, apt_dir));
}

Result<std::string> debian_archive_for_build(const std::string& apt_dir, const std::string& suite,
                                             const std::string& os_release) {
    auto own = debian_archive_for(apt_dir, suite);
    if (own) return own;
    auto text = read_file(os_release);
    if (!text) return own;
    std::istringstream lines(*text);
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("VERSION_CODENAME=")) continue;
        std::string host_suite = line.substr(17);
        std::erase(host_suite, '"');
        if (host_suite.empty() || host_suite == suite) break;
        if (auto host_archive = debian_archive_for(apt_dir, host_suite)) return host_archive;
        break;
    }
    return own;
}

Result<std::string> debian_suite(const std::string& distribution) {
    if (distribution == "debian/12" || distribution == "debian/bookworm") return "bookworm";
    if (distribution == "debian/13" || distribution == "debian/trixie") return "trixie";
    return fail_errno(EINVAL,
                      fmt::format("cannot build {}: only debian/12 (bookworm) and debian/13 "
                                  "(trixie), from the Debian archive apt already reaches",
                                  distribution));
}

std::string host_debian_architecture() {
    struct utsname names {};
    ::uname(&names);
    std::string_view machine = names.machine;
    if (machine == "x86_64") return "amd64";
    if (machine == "aarch64") return "arm64";
    return std::string(machine);
}

Result<> check_vm_build(const std::string& suite, const std::string& architecture) {
    std::string host = host_debian_architecture();
    if (architecture == "riscv64" && suite == "bookworm")
        return fail_errno(EINVAL,
                          "Debian 12 (bookworm) has no riscv64 release: riscv64 VM images "
                          "start with debian/13 (trixie)");
    if (architecture != host && architecture != "riscv64")
        return fail_errno(EINVAL, fmt::format("cannot build {} VM images here: {} (this host's, "
                                              "for KVM) or riscv64 (vessel-vmm's emulated board)",
                                              architecture, host));
    if (architecture != host) TRY(kernel_layout(architecture));
    return {};
}

Result<> check_static_program(const std::string& binary, const std::string& architecture) {
    // ELF64 little-endian: e_machine at 18, e_phoff at 32, e_phentsize and e_phnum at 54 and 56.
    const std::map<std::string, uint16_t> machines = {
        {"amd64", 62}, {"arm64", 183}, {"riscv64", 243}};
    auto wanted = machines.find(architecture);
    if (wanted == machines.end())
        return fail_errno(EINVAL, fmt::format("no ELF machine known for {}", architecture));
    auto fd = TRY(open_file(binary, O_RDONLY));
    std::array<unsigned char, 64> header{};
    if (::pread(fd.get(), header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()) ||
        std::memcmp(header.data(),
                    "\x7f"
                    "ELF\x02\x01",
                    6) != 0)
        return fail_errno(EINVAL,
                          fmt::format("{} is not a 64-bit little-endian ELF program", binary));
    auto u16 = [&](size_t at) { return static_cast<uint16_t>(header[at] | header[at + 1] << 8); };
    uint64_t phoff = 0;
    for (int i = 7; i >= 0; --i)
        phoff = phoff << 8 | header[32 + static_cast<size_t>(i)];
    if (u16(18) != wanted->second)
        return fail_errno(EINVAL, fmt::format("{} is not a {} program (ELF machine {})", binary,
                                              architecture, u16(18)));
    // PT_INTERP names a dynamic loader the guest may not have.
    for (uint16_t i = 0; i < u16(56); ++i) {
        uint32_t type = 0;
        if (::pread(fd.get(), &type, sizeof type,
                    static_cast<off_t>(phoff + uint64_t{i} * u16(54))) != sizeof type)
            return fail_errno(EINVAL, fmt::format("{}: truncated program headers", binary));
        if (type == 3)
            return fail_errno(EINVAL, fmt::format("{} is dynamically linked; the guest needs a "
                                                  "static vessel-agent",
                                                  binary));
    }
    return {};
}

Result<std::string> build_debian_tarball(const DebianBuild& build,
                                         const std::function<void(const std::string&)>& progress) {
    std::string suite = TRY(debian_suite(build.distribution));
    if (!build.architecture.empty() && build.architecture != host_debian_architecture())
        return fail_errno(EINVAL, fmt::format("a container image runs on this host's kernel: {}, "
                                              "not {} (a VM image can be another architecture)",
                                              host_debian_architecture(), build.architecture));
    std::string archive = TRY(debian_archive_for_build(build.apt_dir, suite, build.os_release));
    TRY(make_directories(build.cache_dir, 0700));
    std::string key = TRY(sha256_text(fmt::format("{}\n{}\n{}\n{}\n{}\n", kRecipeVersion, suite,
                                                  archive, kExtraPackages, image_init_script)));
    std::string tarball =
        fmt::format("{}/debian-{}-minbase-{}.tar.gz", build.cache_dir, suite, key);
    if (path_exists(tarball)) {
        progress("cached: " + tarball);
        return tarball;
    }
    // Built aside and renamed into place: an interrupted build leaves no half tarball.
    auto scratch = TRY(ScratchDirectory::make(build.cache_dir));
    std::string work = scratch.path();
    TRY(make_directories(work + "/rootfs", 0755));
    progress(fmt::format("debootstrap --variant=minbase {} from {}", suite, archive));
    TRY(run_debootstrap(suite, "", kExtraPackages, archive, work + "/rootfs", progress));
    TRY(write_file_atomic(work + "/rootfs/sbin/vessel-init", image_init_script, 0755));
    TRY(make_directories(work + "/rootfs/usr/share/udhcpc", 0755));
    TRY(write_file_atomic(work + "/rootfs/usr/share/udhcpc/default.script", udhcpc_lease_script,
                          0755));
    progress("packing the root filesystem");
    // Without debootstrap's device nodes: the runtime makes /dev, and images may not carry any.
    TRY(run_checked({"tar", "--numeric-owner", "--exclude=./dev/*", "-C", work + "/rootfs", "-czf",
                     work + "/rootfs.tar.gz", "."},
                    std::chrono::minutes(10)));
    if (::rename((work + "/rootfs.tar.gz").c_str(), tarball.c_str()) != 0)
        return fail_errno("rename into " + tarball);
    return tarball;
}

Result<> build_debian_vm(const DebianBuild& build, const std::string& agent_binary,
                         const std::function<void(const std::string&)>& progress,
                         const std::function<Result<>(const DebianVmFiles&)>& use) {
    std::string suite = TRY(debian_suite(build.distribution));
    std::string architecture =
        build.architecture.empty() ? host_debian_architecture() : build.architecture;
    TRY(check_vm_build(suite, architecture));
    TRY(check_static_program(agent_binary, architecture));
    std::string archive = TRY(debian_archive_for_build(build.apt_dir, suite, build.os_release));
    std::string root = TRY(ensure_vm_root(build, suite, architecture, archive, progress));

    // The disk: the cached tree with this agent in it. Hard links make the copy cheap and leave
    // the cache as it was: the agent is a new file, and mke2fs only reads.
    auto scratch = TRY(ScratchDirectory::make(build.cache_dir));
    std::string tree = scratch.path() + "/root";
    TRY(run_checked({"cp", "-al", "--", root, tree}, std::chrono::minutes(10)));
    TRY(write_file_atomic(tree + kAgentPath, TRY(read_file(agent_binary)), 0755));
    std::string disk = scratch.path() + "/disk.img";
    {
        auto file = TRY(open_file(disk, O_WRONLY | O_CREAT | O_EXCL, 0644));
        if (::ftruncate(file.get(), kVmDiskBytes) != 0) return fail_errno("size " + disk);
    }
    progress(fmt::format("mkfs.ext4 -d: a {} GiB root disk (sparse)", kVmDiskBytes >> 30));
    TRY(run_checked({"mkfs.ext4", "-q", "-F", "-b", "4096", "-L", "vessel-root", "-E",
                     "root_owner=0:0", "-d", tree, disk},
                    std::chrono::minutes(10)));
    TRY(run_checked({"e2fsck", "-fn", disk}, std::chrono::minutes(5)));
    auto layout = TRY(kernel_layout(architecture));
    auto release = TRY(installed_kernel_release(root));
    return use({.kernel = root + "/boot/" + layout.prefix + release,
                .initrd = root + "/boot/initrd.img-" + release,
                .disk = disk,
                .append = kVmAppend,
                .agent_timeout_s = architecture == host_debian_architecture()
                                       ? std::nullopt
                                       : std::optional(kEmulatedAgentTimeoutSeconds)});
}

}  // namespace vessel::manager
