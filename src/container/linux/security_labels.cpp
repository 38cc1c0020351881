#include "container/linux/security_labels.h"

#include "base/file.h"

namespace vessel::container::sys {

SecurityModules detect_security_modules() {
    SecurityModules modules;
    if (auto enabled = read_file("/sys/module/apparmor/parameters/enabled"))
        modules.apparmor = enabled->starts_with('Y');
    modules.selinux = path_exists("/sys/fs/selinux/enforce");
    return modules;
}

Result<> check_security_labels(const spec::Spec& spec, const SecurityModules& modules,
                               const std::string& source, const std::string& what,
                               const Logger& log) {
    struct Label {
        const char* field;
        const std::string* value;
        bool enabled;
        const char* module;
    };
    static const std::string kNone;
    const spec::Process* process = spec.process ? &*spec.process : nullptr;
    const Label labels[] = {
        {"process.apparmorProfile", process ? &process->apparmor_profile : &kNone, modules.apparmor,
         "AppArmor"},
        {"process.selinuxLabel", process ? &process->selinux_label : &kNone, modules.selinux,
         "SELinux"},
        {"linux.mountLabel", &spec.linux_config.mount_label, modules.selinux, "SELinux"},
    };
    for (const Label& label : labels) {
        if (label.value->empty()) continue;
        if (label.enabled)
            return fail(
                "{}: {}: {} is enabled on this host and applying its labels is not "
                "supported yet",
                source, label.field, label.module);
        log.debug("{}: {} is not enabled on this host: {} \"{}\" ignored", what, label.module,
                  label.field, *label.value);
    }
    return {};
}

}  // namespace vessel::container::sys
