// Labels of the Linux security modules a config may carry: process.apparmorProfile,
// process.selinuxLabel and linux.mountLabel. Where the module is not enabled on the host they
// mean nothing, and the runtime goes on without them, as runc and crun do (a debug line says so).
// Where it is enabled, leaving a label unapplied would run the container with less confinement
// than asked, so the config is refused instead, naming the field.
#pragma once

#include <string>

#include "base/error.h"
#include "base/log.h"
#include "container/spec/spec.h"

namespace vessel::container::sys {

struct SecurityModules {
    bool apparmor = false;  // /sys/module/apparmor/parameters/enabled is "Y"
    bool selinux = false;   // selinuxfs is mounted (/sys/fs/selinux/enforce exists)
};

// What this host has enabled.
SecurityModules detect_security_modules();

// `source` names the config in errors ("config.json", an exec's --process file); `what` names
// the container or process in debug lines.
Result<> check_security_labels(const spec::Spec& spec, const SecurityModules& modules,
                               const std::string& source, const std::string& what,
                               const Logger& log);

}  // namespace vessel::container::sys
