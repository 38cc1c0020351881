#include "child_process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "base/unique_fd.h"

namespace vessel::container::testing {

void report(int report_fd, const std::string& text) {
    (void)write_all(report_fd, text);
}

ChildOutcome run_in_child(const std::function<int(int report_fd)>& body) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return {.report = "pipe2 failed"};
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    pid_t pid = ::fork();
    if (pid < 0) return {.report = "fork failed"};
    if (pid == 0) {
        read_end.reset();
        int code = body(write_end.get());
        ::_exit(code);
    }
    write_end.reset();
    ChildOutcome outcome;
    outcome.report = read_fd(read_end.get()).value_or("(report unreadable)");
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
    return outcome;
}

}  // namespace vessel::container::testing
