// Seccomp for a container's process: the OCI `linux.seccomp` object parsed and validated, compiled
// to a classic BPF program with libseccomp in the runtime (before clone), and loaded in the
// container's init with seccomp(2) — so the child does no JSON or libseccomp work and the runtime
// could cache the program.
//
// Call sequence for the runtime:
//
//   parent, before clone:  profile  = TRY(parse_seccomp(config.at("linux.seccomp")));
//                          compiled = TRY(compile_seccomp_cached(json, profile,
//                          cache_dir)).compiled; (seccomp_cache.h; compile_seccomp(profile) without
//                          a cache: ~4 ms CPU for the default profile against ~40 us for a cache
//                          hit)
//   init, last step before execve (after mounts, user and capabilities):
//     if process.noNewPrivileges: set PR_SET_NO_NEW_PRIVS, then listener =
//     TRY(load_seccomp_filter(compiled)); else: load while the init still has CAP_SYS_ADMIN, i.e.
//     BEFORE apply_capabilities drops it
//           (the kernel only lets a process without no_new_privs install a filter with
//           CAP_SYS_ADMIN); the profile then also filters the capability and setuid calls that
//           follow, which the default profile allows.
//   if compiled.uses_notify: listener is the notify fd. Pass it to the runtime (SCM_RIGHTS over
//     the init's sync socket) and close it in the init; the runtime calls
//     send_seccomp_listener_fd(profile.listener_path, fd, seccomp_listener_state(...)) and closes
//     its copy. Syscalls the init makes between loading and execve must not be notified (nobody
//     answers yet), so keep notify rules away from sendmsg/close/execve.
//
// Rules of interpretation (the same as runc and crun, so existing profiles mean the same thing):
// - Syscall names libseccomp does not know are skipped: profiles list syscalls of newer kernels and
//   of other architectures, and Docker's default profile depends on that.
// - A rule whose action equals the default action is skipped (libseccomp refuses it; it is a
// no-op).
// - When a rule has several argument conditions that all test the same argument index, each
//   condition becomes its own rule (they are ORed); otherwise the conditions are ANDed.
// - errnoRet defaults to EPERM for SCMP_ACT_ERRNO and to 0 (as libseccomp) for SCMP_ACT_TRACE; it
//   is an error on any other action.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "base/unique_fd.h"

namespace vessel::container {

enum class SeccompActionKind {
    kill_thread,
    kill_process,
    trap,
    errno_ret,
    trace,
    allow,
    log,
    notify
};

struct SeccompAction {
    SeccompActionKind kind = SeccompActionKind::allow;
    uint32_t ret = 0;  // the errno for errno_ret, the message for trace

    bool operator==(const SeccompAction&) const = default;
};

enum class SeccompOperator {
    not_equal,
    less,
    less_equal,
    equal,
    greater_equal,
    greater,
    masked_equal
};

struct SeccompArgument {
    uint32_t index = 0;  // 0..5
    // As in libseccomp (and runc): for masked_equal the test is (arg & value) == value_two.
    uint64_t value = 0;
    uint64_t value_two = 0;
    SeccompOperator op = SeccompOperator::equal;

    bool operator==(const SeccompArgument&) const = default;
};

struct SeccompRule {
    std::vector<std::string> names;
    SeccompAction action;
    std::vector<SeccompArgument> args;
};

struct SeccompProfile {
    SeccompAction default_action;
    std::vector<uint32_t> architectures;  // libseccomp SCMP_ARCH_* tokens
    uint32_t flags = 0;                   // SECCOMP_FILTER_FLAG_* for seccomp(2)
    std::vector<SeccompRule> rules;
    std::string listener_path;
    std::string listener_metadata;
};

// Parses OCI `linux.seccomp`. Every bad field is an error naming its JSON path, e.g.
//   linux.seccomp.syscalls[2].action: unknown action "SCMP_ACT_FOO"
//   linux.seccomp.syscalls[0].args[1].index: 6 is out of range (0..5)
// SCMP_ACT_NOTIFY needs listenerPath (nothing would answer otherwise) and cannot be the default.
Result<SeccompProfile> parse_seccomp(const JsonAt& node);

// A ready-to-load program: position independent, so it can be built before clone and even cached.
struct CompiledSeccomp {
    std::vector<sock_filter> program;
    uint32_t flags = 0;  // SECCOMP_FILTER_FLAG_* (NEW_LISTENER added when uses_notify)
    bool uses_notify = false;
};

// Builds the filter with libseccomp (all architectures, argument conditions) and exports the BPF.
Result<CompiledSeccomp> compile_seccomp(const SeccompProfile& profile);

// Installs the program on the calling process with seccomp(SECCOMP_SET_MODE_FILTER). Needs
// no_new_privs or CAP_SYS_ADMIN. Returns the notification fd when the program uses
// SCMP_ACT_NOTIFY, an invalid UniqueFd otherwise.
Result<UniqueFd> load_seccomp_filter(const CompiledSeccomp& compiled);

// compile_seccomp + load_seccomp_filter, for callers that do both in one process.
Result<UniqueFd> load_seccomp(const SeccompProfile& profile);

// The OCI "containerProcessState" a seccomp agent expects with the notify fd.
Json seccomp_listener_state(const Json& container_state, int pid, const std::string& metadata);

// Connects to the agent's unix socket at `path` and sends `state` (JSON text) with `fd` attached
// (SCM_RIGHTS), as the OCI runtime spec describes for listenerPath.
Result<> send_seccomp_listener_fd(const std::string& path, int fd, const Json& state);

// The built-in default profile that `vessel-runc spec` writes (see seccomp_default_profile.cpp).
Json default_seccomp_profile_json();

}  // namespace vessel::container
