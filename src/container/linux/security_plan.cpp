#include "container/linux/security_plan.h"

#include <sys/prctl.h>

#include "container/linux/seccomp_cache.h"

namespace vessel::container::sys {

Result<SecurityPlan> prepare_security(const spec::Spec& spec,
                                      const std::string& seccomp_cache_dir) {
    SecurityPlan plan;
    const spec::Process& process = *spec.process;
    plan.no_new_privileges = process.no_new_privileges;
    if (!process.capabilities.is_null()) {
        plan.capabilities =
            TRY(parse_capabilities(JsonAt(process.capabilities, "process.capabilities")));
        TRY_CTX(check_capabilities_available(plan.capabilities), "process.capabilities");
    }
    const Json& seccomp_json = spec.linux_config.seccomp;
    if (!seccomp_json.is_null()) {
        SeccompProfile profile = TRY(parse_seccomp(JsonAt(seccomp_json, "linux.seccomp")));
        if (!profile.listener_path.empty())
            return fail("linux.seccomp.listenerPath: seccomp notify agents are not supported yet");
        if (seccomp_cache_dir.empty())
            plan.seccomp = TRY_CTX(compile_seccomp(profile), "linux.seccomp");
        else
            plan.seccomp = TRY_CTX(compile_seccomp_cached(seccomp_json, profile, seccomp_cache_dir),
                                   "linux.seccomp")
                               .compiled;
    }
    return plan;
}

Result<> security_before_user_switch(const SecurityPlan& plan) {
    if (plan.seccomp && !plan.no_new_privileges)
        TRY_CTX(load_seccomp_filter(*plan.seccomp), "linux.seccomp");
    return keep_capabilities_across_uid_change();
}

Result<> security_after_user_switch(const SecurityPlan& plan) {
    TRY_CTX(apply_capabilities(plan.capabilities), "process.capabilities");
    if (plan.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fail_errno("process.noNewPrivileges: prctl");
    if (plan.seccomp && plan.no_new_privileges)
        TRY_CTX(load_seccomp_filter(*plan.seccomp), "linux.seccomp");
    return {};
}

}  // namespace vessel::container::sys
