// Per-process settings applied by the container's init before exec: hostname and domainname,
// sysctls, OOM score, rlimits, user and groups, umask, no_new_privs, and finding the executable.
#pragma once

#include <signal.h>

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "container/spec/spec.h"

namespace vessel::container::sys {

Result<> set_host_and_domain_name(const spec::Spec& spec);
// Written through the host's /proc before pivot_root: net.* and IPC keys act on the namespaces
// of the writing task, which are the container's by then.
Result<> apply_sysctls(const spec::Linux& config);
Result<> set_oom_score_adj(const spec::Process& process);
Result<> apply_rlimits(const spec::Process& process);
// linux.personality: the execution domain, which execve keeps.
Result<> set_personality(const spec::Linux& config);
Result<> switch_user(const spec::Process& process);
Result<> set_no_new_privileges(const spec::Process& process);

// The last step of a container process: every descriptor above stdio closes on exec (no runtime
// descriptor may reach the container, CVE-2024-21626 class; a sync channel's closing tells the
// runtime the exec worked), the signal mask is restored and `executable` replaces the process
// with process.args and process.env. Returns only when execve failed (errno is set).
// `preserve_fds` descriptors from 3 on stay open (--preserve-fds).
void exec_container_process(const std::string& executable, const spec::Process& process,
                            const sigset_t& original_mask, int preserve_fds = 0);

// process.terminal: opens a pty of the devpts at /dev/pts (the container's, once its mounts are
// in place), sizes it (process.consoleSize), gives it to the process's user, makes it the
// controlling terminal of a new session and stdin/stdout/stderr. Returns the master.
Result<UniqueFd> open_terminal_as_stdio(const spec::Process& process);

// Resolves process.args[0] through PATH from process.env (as a shell would), inside the
// container's root; "config.json: process.args[0]: ..." when nothing executable is found.
Result<std::string> find_executable(const spec::Process& process);

}  // namespace vessel::container::sys
