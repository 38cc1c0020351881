/* vm-user-time: the in-guest stopwatch of bench/vm_user. Timing inside the guest leaves out boot
 * and the VMM's start-up, which differ between Vessel and QEMU and are measured by bench/vm_boot.
 *   vm-user-time NAME COMMAND [ARG...]  runs COMMAND and prints "VM_USER NAME SECONDS", or
 *                                       "VM_USER NAME FAIL STATUS" when it fails, for the host
 *                                       script to parse from the console;
 *   vm-user-time --now                  prints the guest's monotonic clock, which the host compares
 *                                       with its own to trust (or not) the guest's seconds. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
    if (argc == 2 && strcmp(argv[1], "--now") == 0) {
        printf("%.6f\n", now());
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: vm-user-time NAME COMMAND [ARG...] | vm-user-time --now\n");
        return 2;
    }
    /* Nothing buffered may be written twice by the child. */
    fflush(stdout);
    double start = now();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "vm-user-time: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "vm-user-time: %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "vm-user-time: waitpid: %s\n", strerror(errno));
            return 1;
        }
    }
    double elapsed = now() - start;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        printf("VM_USER %s %.3f\n", argv[1], elapsed);
        return 0;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("VM_USER %s FAIL %d\n", argv[1], code);
    return 1;
}
