#include "container/linux/security_plan.h"

#include <linux/seccomp.h>
#include <sys/prctl.h>

#include "container/linux/process_setup.h"
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
        plan.seccomp_listener_path = profile.listener_path;
        plan.seccomp_listener_metadata = profile.listener_metadata;
        if (seccomp_cache_dir.empty())
            plan.seccomp = TRY_CTX(compile_seccomp(profile), "linux.seccomp");
        else
            plan.seccomp = TRY_CTX(compile_seccomp_cached(seccomp_json, profile, seccomp_cache_dir),
                                   "linux.seccomp")
                               .compiled;
    }
    return plan;
}

bool SecurityPlan::hands_out_listener() const {
    return seccomp && (seccomp->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
}

Result<UniqueFd> security_before_user_switch(const SecurityPlan& plan) {
    UniqueFd listener;
    if (plan.seccomp && !plan.no_new_privileges)
        listener = TRY_CTX(load_seccomp_filter(*plan.seccomp), "linux.seccomp");
    TRY(keep_capabilities_across_uid_change());
    return listener;
}

Result<UniqueFd> become_process_user(const SecurityPlan& plan, const spec::Process& process) {
    UniqueFd listener = TRY(security_before_user_switch(plan));
    TRY(switch_user(process));
    UniqueFd loaded_late = TRY(security_after_user_switch(plan));
    return loaded_late ? std::move(loaded_late) : std::move(listener);
}

Result<UniqueFd> security_after_user_switch(const SecurityPlan& plan) {
    TRY_CTX(apply_capabilities(plan.capabilities), "process.capabilities");
    if (plan.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fail_errno("process.noNewPrivileges: prctl");
    if (plan.seccomp && plan.no_new_privileges)
        return with_context(load_seccomp_filter(*plan.seccomp), "linux.seccomp");
    return UniqueFd();
}

}  // namespace vessel::container::sys
