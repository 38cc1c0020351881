/* vsockcat: netcat for AF_VSOCK (busybox has none) and TCP (busybox's small nc stops after its
 * first buffer), for the test guests.
 *   vsockcat CID PORT          connect; stdin goes to the socket, the socket to stdout
 *   vsockcat -l PORT           accept one connection and do the same
 *   vsockcat -l -e PORT        accept connections for ever, echoing each back (one process each)
 *   -t                         TCP instead: vsockcat -t ADDRESS PORT, vsockcat -l -t PORT
 *   -u                         a unix socket instead: vsockcat -u PATH, vsockcat -l -u PATH (the
 *                              host side of vessel-vmm's vsock, for hosts without python)
 * When stdin ends, the write side is shut down and the rest of the socket is still read, so a
 * checksum over what comes back covers everything. Exit status 0 on a clean end. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/* stdin -> socket and socket -> stdout, until both directions have ended: a peer that shuts its
 * side early (it has nothing to send) still gets all of stdin. */
static int relay(int socket_fd) {
    static char buffer[65536];
    struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = socket_fd, .events = POLLIN}};
    int input_open = 1, socket_open = 1;
    while (input_open || socket_open) {
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
        if (socket_open && fds[1].revents) {
            ssize_t got = read(socket_fd, buffer, sizeof buffer);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) return fail("receive");
            if (got == 0) {
                socket_open = 0;
                fds[1].fd = -1;
            } else if (write_all(1, buffer, (size_t)got) != 0) {
                return fail("stdout");
            }
        }
    }
    return 0;
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
    int listen_mode = 0, echo_mode = 0, tcp = 0, unix_path = 0, arg = 1;
    while (arg < argc && argv[arg][0] == '-') {
        if (strcmp(argv[arg], "-l") == 0) listen_mode = 1;
        else if (strcmp(argv[arg], "-e") == 0) echo_mode = 1;
        else if (strcmp(argv[arg], "-t") == 0) tcp = 1;
        else if (strcmp(argv[arg], "-u") == 0) unix_path = 1;
        else break;
        ++arg;
    }
    signal(SIGPIPE, SIG_IGN);
    if (argc - arg != (listen_mode || unix_path ? 1 : 2)) {
        fprintf(stderr,
                "usage: vsockcat [-t] CID|ADDRESS PORT | vsockcat -u PATH | vsockcat -l [-e] [-t] PORT"
                " | vsockcat -l [-e] -u PATH\n");
        return 2;
    }
    struct sockaddr_vm vsock = {.svm_family = AF_VSOCK};
    struct sockaddr_in inet = {.sin_family = AF_INET};
    struct sockaddr_un local = {.sun_family = AF_UNIX};
    struct sockaddr *address = tcp         ? (struct sockaddr *)&inet
                               : unix_path ? (struct sockaddr *)&local
                                           : (struct sockaddr *)&vsock;
    socklen_t length = tcp ? sizeof inet : unix_path ? sizeof local : sizeof vsock;
    if (unix_path) strncpy(local.sun_path, argv[argc - 1], sizeof local.sun_path - 1);
    int fd = socket(tcp ? AF_INET : unix_path ? AF_UNIX : AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0) return fail("socket");
    unsigned port = (unsigned)strtoul(argv[argc - 1], NULL, 10);
    vsock.svm_port = port;
    inet.sin_port = htons((uint16_t)port);
    if (!listen_mode) {
        if (tcp && inet_pton(AF_INET, argv[arg], &inet.sin_addr) != 1) {
            fprintf(stderr, "vsockcat: %s is not an IPv4 address\n", argv[arg]);
            return 2;
        }
        vsock.svm_cid = (unsigned)strtoul(argv[arg], NULL, 10);
        if (connect(fd, address, length) != 0) return fail("connect");
        return relay(fd);
    }
    vsock.svm_cid = VMADDR_CID_ANY;
    inet.sin_addr.s_addr = htonl(INADDR_ANY);
    int one = 1;
    if (tcp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, address, length) != 0) return fail("bind");
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
