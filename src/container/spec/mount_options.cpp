#include "container/spec/mount_options.h"

#include <fmt/ranges.h>
#include <sys/mount.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace vessel::container::spec {

namespace {

struct FlagOption {
    const char* name;
    bool clear;  // the option removes the flag ("rw", "suid")
    unsigned long flag;
};

constexpr std::array kFlagOptions{
    FlagOption{"defaults", false, 0},
    FlagOption{"ro", false, MS_RDONLY},
    FlagOption{"rw", true, MS_RDONLY},
    FlagOption{"nosuid", false, MS_NOSUID},
    FlagOption{"suid", true, MS_NOSUID},
    FlagOption{"nodev", false, MS_NODEV},
    FlagOption{"dev", true, MS_NODEV},
    FlagOption{"noexec", false, MS_NOEXEC},
    FlagOption{"exec", true, MS_NOEXEC},
    FlagOption{"sync", false, MS_SYNCHRONOUS},
    FlagOption{"async", true, MS_SYNCHRONOUS},
    FlagOption{"dirsync", false, MS_DIRSYNC},
    FlagOption{"mand", false, MS_MANDLOCK},
    FlagOption{"nomand", true, MS_MANDLOCK},
    FlagOption{"noatime", false, MS_NOATIME},
    FlagOption{"atime", true, MS_NOATIME},
    FlagOption{"nodiratime", false, MS_NODIRATIME},
    FlagOption{"diratime", true, MS_NODIRATIME},
    FlagOption{"relatime", false, MS_RELATIME},
    FlagOption{"norelatime", true, MS_RELATIME},
    FlagOption{"strictatime", false, MS_STRICTATIME},
    FlagOption{"nostrictatime", true, MS_STRICTATIME},
};

// Options of newer runtimes that Vessel does not implement yet: an error, never silently ignored.
constexpr std::array kUnsupported{"tmpcopyup", "remount"};

}  // namespace

unsigned long propagation_flags(const std::string& name) {
    if (name == "private") return MS_PRIVATE;
    if (name == "rprivate") return MS_PRIVATE | MS_REC;
    if (name == "shared") return MS_SHARED;
    if (name == "rshared") return MS_SHARED | MS_REC;
    if (name == "slave") return MS_SLAVE;
    if (name == "rslave") return MS_SLAVE | MS_REC;
    if (name == "unbindable") return MS_UNBINDABLE;
    if (name == "runbindable") return MS_UNBINDABLE | MS_REC;
    return 0;
}

Result<> apply_mount_options(Mount& mount, const std::string& path) {
    mount.bind = mount.type == "bind";
    mount.recursive = false;
    mount.flags = 0;
    mount.propagation = 0;
    mount.data.clear();
    mount.ignored_options.clear();
    mount.idmap = false;
    mount.idmap_recursive = false;
    std::vector<std::string> filesystem_options;
    for (size_t i = 0; i < mount.options.size(); ++i) {
        const std::string& option = mount.options[i];
        if (option == "bind" || option == "rbind") {
            mount.bind = true;
            mount.recursive = mount.recursive || option == "rbind";
            continue;
        }
        if (option == "idmap" || option == "ridmap") {
            // ridmap: the mapping also applies to the mounts below a recursive bind.
            mount.idmap = true;
            mount.idmap_recursive = mount.idmap_recursive || option == "ridmap";
            continue;
        }
        if (unsigned long propagation = propagation_flags(option)) {
            mount.propagation = propagation;
            continue;
        }
        if (std::find(kUnsupported.begin(), kUnsupported.end(), option) != kUnsupported.end())
            return fail("{}.options[{}]: \"{}\" is not supported yet", path, i, option);
        auto known = std::find_if(kFlagOptions.begin(), kFlagOptions.end(),
                                  [&](const FlagOption& f) { return option == f.name; });
        if (known != kFlagOptions.end()) {
            if (known->clear)
                mount.flags &= ~known->flag;
            else
                mount.flags |= known->flag;
            continue;
        }
        filesystem_options.push_back(option);
    }
    // "bind" may come after them in the list: only now is it known whether anything takes them.
    if (mount.bind)
        mount.ignored_options = std::move(filesystem_options);
    else
        mount.data = fmt::format("{}", fmt::join(filesystem_options, ","));
    return {};
}

}  // namespace vessel::container::spec
