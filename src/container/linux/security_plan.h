// The container's capabilities and seccomp filter, prepared by the runtime and applied by the init.
//
// Everything that can fail on bad input — capability names, seccomp rules, compiling the filter —
// happens in the runtime before clone (prepare_security), so a bad config is reported with its JSON
// path before anything exists. The init only issues system calls, in the order capabilities.h and
// seccomp.h document:
//
//   init, still root:  before_user_switch  — seccomp when noNewPrivileges is false (loading needs
//                                            CAP_SYS_ADMIN, which the caps step may drop), then
//                                            PR_SET_KEEPCAPS so a non-zero uid keeps the sets
//   setgroups / setresgid / setresuid
//   init:              after_user_switch   — the five capability sets, no_new_privs, then seccomp
//                                            when noNewPrivileges is true (as late as possible)
#pragma once

#include <optional>
#include <string>

#include "base/error.h"
#include "container/linux/capabilities.h"
#include "container/linux/seccomp.h"
#include "container/spec/spec.h"

namespace vessel::container::sys {

struct SecurityPlan {
    // An absent process.capabilities means empty sets, as in crun: a config has to ask for power.
    CapabilitySets capabilities;
    std::optional<CompiledSeccomp> seccomp;
    bool no_new_privileges = false;
    // linux.seccomp.listenerPath/listenerMetadata: where the runtime sends the notify descriptor
    // of a filter with SCMP_ACT_NOTIFY rules, and the string the agent gets with it.
    std::string seccomp_listener_path;
    std::string seccomp_listener_metadata;

    // The filter has notify rules: loading it yields a descriptor for the agent.
    bool hands_out_listener() const;
};

// Parses process.capabilities and linux.seccomp and compiles the filter (through the cache in
// `seccomp_cache_dir` when it is non-empty). Errors name the JSON path:
//   process.capabilities.bounding[2]: unknown capability "CAP_FOO"
Result<SecurityPlan> prepare_security(const spec::Spec& spec, const std::string& seccomp_cache_dir);

// Each returns the seccomp notify descriptor when it loaded a filter with notify rules (else an
// invalid one): the caller hands it to the runtime, which passes it to the agent. Until the agent
// answers, a notify rule's system calls block, so a profile must not aim them at the hand-over
// (sendmsg, close) or at execve.
Result<UniqueFd> security_before_user_switch(const SecurityPlan& plan);
Result<UniqueFd> security_after_user_switch(const SecurityPlan& plan);

// The last steps before exec, in order: before_user_switch, the switch to process.user,
// after_user_switch. Returns the seccomp notify descriptor, if any.
Result<UniqueFd> become_process_user(const SecurityPlan& plan, const spec::Process& process);

}  // namespace vessel::container::sys
