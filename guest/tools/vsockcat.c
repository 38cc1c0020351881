/* vsockcat: netcat for AF_VSOCK, for the test guests (busybox has no vsock).
 *   vsockcat CID PORT         connect; stdin goes to the socket, the socket to stdout
 *   vsockcat -l PORT          accept one connection and do the same
 *   vsockcat -l -e PORT       accept connections for ever, echoing each back (one process each)
 * When stdin ends, the write side is shut down and the rest of the socket is still read, so a
 * checksum over what comes back covers everything. Exit status 0 on a clean end. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
/* After sys/socket.h: it uses struct sockaddr. */
#include <linux/vm_sockets.h>

static int fail(const char *what) {
    fprintf(stderr, "vsockcat: %s: %s\n", what, strerror(errno));
    return 1;
}

static int write_all(int fd, const char *data, size_t size) {
    while (size > 0) {
        ssize_t done = write(fd, data, size);
        if (done < 0 && errno == EINTR) continue;
        if (done <= 0) return -1;
        data += done;
        size -= (size_t)done;
    }
    return 0;
}

/* stdin -> socket and socket -> stdout until the socket ends. */
static int relay(int socket_fd) {
    static char buffer[65536];
    struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = socket_fd, .events = POLLIN}};
    int input_open = 1;
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return fail("poll");
        }
        if (input_open && fds[0].revents) {
            ssize_t got = read(0, buffer, sizeof buffer);
            if (got > 0) {
                if (write_all(socket_fd, buffer, (size_t)got) != 0) return fail("send");
            } else {
                input_open = 0;
                fds[0].fd = -1;
                shutdown(socket_fd, SHUT_WR);
            }
        }
        if (fds[1].revents) {
            ssize_t got = read(socket_fd, buffer, sizeof buffer);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) return fail("receive");
            if (got == 0) return 0;
            if (write_all(1, buffer, (size_t)got) != 0) return fail("stdout");
        }
    }
}

static int echo(int socket_fd) {
    static char buffer[65536];
    for (;;) {
        ssize_t got = read(socket_fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return got == 0 ? 0 : 1;
        if (write_all(socket_fd, buffer, (size_t)got) != 0) return 1;
    }
}

int main(int argc, char **argv) {
    int listen_mode = 0, echo_mode = 0, arg = 1;
    while (arg < argc && argv[arg][0] == '-') {
        if (strcmp(argv[arg], "-l") == 0) listen_mode = 1;
        else if (strcmp(argv[arg], "-e") == 0) echo_mode = 1;
        else break;
        ++arg;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_vm address = {.svm_family = AF_VSOCK};
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0) return fail("socket");
    if (!listen_mode) {
        if (argc - arg != 2) {
            fprintf(stderr, "usage: vsockcat CID PORT | vsockcat -l [-e] PORT\n");
            return 2;
        }
        address.svm_cid = (unsigned)strtoul(argv[arg], NULL, 10);
        address.svm_port = (unsigned)strtoul(argv[arg + 1], NULL, 10);
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) return fail("connect");
        return relay(fd);
    }
    if (argc - arg != 1) {
        fprintf(stderr, "usage: vsockcat -l [-e] PORT\n");
        return 2;
    }
    address.svm_cid = VMADDR_CID_ANY;
    address.svm_port = (unsigned)strtoul(argv[arg], NULL, 10);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) return fail("bind");
    if (listen(fd, 128) != 0) return fail("listen");
    if (!echo_mode) {
        int connection = accept(fd, NULL, NULL);
        if (connection < 0) return fail("accept");
        close(fd);
        return relay(connection);
    }
    signal(SIGCHLD, SIG_IGN); /* children reaped by the kernel */
    for (;;) {
        int connection = accept(fd, NULL, NULL);
        if (connection < 0) {
            if (errno == EINTR) continue;
            return fail("accept");
        }
        pid_t child = fork();
        if (child == 0) {
            close(fd);
            _exit(echo(connection));
        }
        close(connection);
    }
}
