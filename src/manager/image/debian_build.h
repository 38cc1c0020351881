// `vessel image build debian/12`: a Debian container image made with debootstrap (minbase, plus
// iproute2 and udhcpc so the container takes its address on the managed network), from the Debian
// archive this host's apt already uses. The result is cached as a tarball keyed by a hash of its
// inputs (suite, archive, package list, recipe version), so a rebuild is an import.
#pragma once

#include <functional>
#include <string>

#include "base/error.h"

namespace vessel::manager {

// The archive URI apt uses for `suite` (main component, binary packages): from the deb822
// *.sources files in <apt_dir>/sources.list.d and the one-line <apt_dir>/sources.list.
Result<std::string> debian_archive_for(const std::string& apt_dir, const std::string& suite);

struct DebianBuild {
    std::string distribution;  // "debian/12"
    std::string apt_dir = "/etc/apt";
    std::string cache_dir = "/var/cache/vessel/images";
};

// The suite of a distribution name ("debian/12" -> "bookworm"); EINVAL for one we cannot build.
Result<std::string> debian_suite(const std::string& distribution);

// The cached rootfs tarball for the build, made first if missing. `progress` gets debootstrap's
// status lines as they come.
Result<std::string> build_debian_tarball(const DebianBuild& build,
                                         const std::function<void(const std::string&)>& progress);

}  // namespace vessel::manager
