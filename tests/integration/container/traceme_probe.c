/* A program that makes its parent its tracer (PTRACE_TRACEME), as anti-debugging code and some
 * sandboxes do, says so, and waits for signals: every signal it receives then stops it until
 * the tracer acts. Static, so that it runs in a busybox container. */
#include <stdio.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(void) {
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
        perror("ptrace");
        return 2;
    }
    printf("traced\n");
    fflush(stdout);
    for (;;)
        pause();
}
