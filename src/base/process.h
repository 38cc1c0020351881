// Child processes tracked by pidfd, so that a signal or a wait can never hit a recycled pid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel {

// How a process ended: exactly one of exit code or signal is meaningful.
struct ExitStatus {
    int code = 0;
    int signal = 0;

    bool success() const { return signal == 0 && code == 0; }
    // The convention of shells and of runc: the code, or 128 + the signal number.
    int shell_code() const { return signal != 0 ? 128 + signal : code; }
    std::string describe() const;
};

// A pipe for a child's standard streams or a report channel; both ends close on exec.
struct Pipe {
    UniqueFd read;
    UniqueFd write;
};
Result<Pipe> make_pipe();

struct SpawnOptions {
    std::vector<std::string> argv;
    // When unset, the child inherits this process's environment.
    std::optional<std::vector<std::string>> env;
    std::string cwd;
    // -1 leaves the descriptor as inherited; every other descriptor is closed in the child unless
    // it is listed in keep_fds (which are passed at the same numbers).
    int stdin_fd = -1;
    int stdout_fd = -1;
    int stderr_fd = -1;
    std::vector<int> keep_fds;
    // Resolve argv[0] through PATH when it has no slash.
    bool search_path = true;
    // Puts the child in a new session (setsid), detaching it from our terminal and process group.
    bool new_session = false;
    // Starts the child as the first process (pid 1) of a new pid namespace: it sees none of the
    // host's processes, and whatever it starts ends with it.
    bool new_pid_namespace = false;
};

class Child {
  public:
    Child(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
    Child(Child&&) noexcept = default;
    Child& operator=(Child&&) noexcept = default;

    pid_t pid() const { return pid_; }
    int pidfd() const { return pidfd_.get(); }

    Result<> signal(int signal_number) const;
    // Blocks until the child ends and reaps it.
    Result<ExitStatus> wait();
    // Waits at most `timeout`; nullopt when the child is still running.
    Result<std::optional<ExitStatus>> wait_for(std::chrono::milliseconds timeout);

  private:
    pid_t pid_;
    UniqueFd pidfd_;
};

// Starts a program. An exec failure (missing binary, no permission) is reported here as an error,
// not as a child that exits 127.
Result<Child> spawn(const SpawnOptions& options);

struct CapturedOutput {
    ExitStatus status;
    std::string out;
    std::string err;
};

// Runs a program to completion, capturing stdout and stderr. On timeout the child is killed and an
// ETIMEDOUT error names the program.
Result<CapturedOutput> run_capture(const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout = std::chrono::minutes(5),
                                   const std::string& stdin_data = {});

// run_capture for a host tool that must succeed (ip, nft, tar...): its standard output, or an
// error "<command line>: <first line of its stderr>" (its exit status when stderr is empty).
Result<std::string> run_checked(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout = std::chrono::minutes(5),
                                const std::string& stdin_data = {});

// Puts every signal back to its default disposition (SIGKILL and SIGSTOP aside), ignored ones
// included: a program must not inherit what its starter ignores (vesseld's SIGPIPE, a background
// start's SIGINT). For a child between fork and exec: only system calls.
void reset_signal_dispositions() noexcept;

// Opens a pidfd for a process that is not our child (O_CLOEXEC).
Result<UniqueFd> open_pidfd(pid_t pid);

// Decodes a waitpid()/waitid() status.
ExitStatus exit_status_from_wait(int wait_status);

}  // namespace vessel
