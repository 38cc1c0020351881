/* Reads the clock the way a riscv64 Linux program does: clock_gettime through the kernel's vDSO,
 * which reads the `time` CSR in U-mode, and that CSR directly. Either one traps (SIGILL) when the
 * board leaves scounteren.TM clear. Prints one line; status 0 when both read a clock that moves. */
#include <stdint.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <time.h>

static uint64_t read_time_csr(void) {
    uint64_t value;
    __asm__ volatile("rdtime %0" : "=r"(value));
    return value;
}

int main(void) {
    struct timespec first, second;
    uint64_t ticks = read_time_csr();
    if (clock_gettime(CLOCK_MONOTONIC, &first) != 0) return 1;
    do {
        if (clock_gettime(CLOCK_MONOTONIC, &second) != 0) return 1;
    } while (second.tv_sec == first.tv_sec && second.tv_nsec == first.tv_nsec);
    uint64_t later = read_time_csr();
    printf("clock-probe: vdso=%s rdtime=%s monotonic=%lld.%09ld\n",
           getauxval(AT_SYSINFO_EHDR) ? "yes" : "no", later > ticks ? "moves" : "stuck",
           (long long)second.tv_sec, second.tv_nsec);
    return later > ticks ? 0 : 1;
}
