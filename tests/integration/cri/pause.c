/* The pod sandbox's first process: it holds the pod's namespaces open and does nothing else.
 * As PID 1 of the pod it reaps orphans, and it exits at once on SIGINT or SIGTERM (PID 1 has no
 * default signal actions, so without handlers a stop would wait for SIGKILL). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void leave(int signal_number) {
    _exit(128 + signal_number);
}

static void reap(int signal_number) {
    (void)signal_number;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(void) {
    struct sigaction stop = {.sa_handler = leave};
    struct sigaction child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
    if (sigaction(SIGINT, &stop, NULL) || sigaction(SIGTERM, &stop, NULL) ||
        sigaction(SIGCHLD, &child, NULL)) {
        perror("pause: sigaction");
        return 1;
    }
    for (;;)
        pause();
}
