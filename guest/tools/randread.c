/* randread: 4 KiB random reads with O_DIRECT for a fixed time, one request at a time, as the VM
 * I/O benchmark's IOPS figure (busybox's dd cannot seek randomly).
 *   randread DEVICE SECONDS    prints "iops=N reads=N seconds=S" */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: randread DEVICE SECONDS\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY | O_DIRECT);
    if (fd < 0) {
        fprintf(stderr, "randread: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    uint64_t bytes = 0;
    if (ioctl(fd, BLKGETSIZE64, &bytes) != 0) bytes = (uint64_t)lseek(fd, 0, SEEK_END);
    uint64_t blocks = bytes / 4096;
    if (blocks == 0) {
        fprintf(stderr, "randread: %s is smaller than 4 KiB\n", argv[1]);
        return 1;
    }
    void *buffer;
    if (posix_memalign(&buffer, 4096, 4096) != 0) return 1;
    double seconds = atof(argv[2]), start = now(), elapsed = 0;
    uint64_t reads = 0, state = 88172645463325252ull;
    while ((elapsed = now() - start) < seconds) {
        for (int i = 0; i < 64; ++i) {
            state ^= state << 13, state ^= state >> 7, state ^= state << 17; /* xorshift64 */
            off_t offset = (off_t)((state % blocks) * 4096);
            if (pread(fd, buffer, 4096, offset) != 4096) {
                fprintf(stderr, "randread: read at %lld: %s\n", (long long)offset, strerror(errno));
                return 1;
            }
            ++reads;
        }
    }
    printf("iops=%.0f reads=%llu seconds=%.2f\n", (double)reads / elapsed, (unsigned long long)reads,
           elapsed);
    return 0;
}
