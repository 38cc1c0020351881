/* A deterministic mix for comparing CPU engines: integer arithmetic (hashing, multiply/divide),
 * memory-heavy loops (streaming and strided array work, an insertion-sort pass), branchy code
 * (binary search, Collatz) and a little double-precision FP. Nothing depends on time, so every
 * engine executes exactly the same instruction stream. Returns 0 when the self-check holds. */
#include <stdint.h>

#define ROUNDS 96
#define WORDS 16384

static uint64_t data[WORDS];
static uint32_t keys[4096];
static double vec_a[1024], vec_b[1024];

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static uint64_t integer_work(uint64_t seed) {
    uint64_t acc = seed;
    for (uint32_t i = 1; i < 40000; ++i) {
        acc = mix(acc + i);
        acc += (acc % (i | 1)) + (acc / ((i & 0xff) + 1));
        acc ^= (uint64_t)((int64_t)acc >> 7);
    }
    return acc;
}

static uint64_t memory_work(uint64_t seed) {
    for (uint32_t i = 0; i < WORDS; ++i) data[i] = mix(seed + i);
    uint64_t sum = 0;
    for (uint32_t pass = 0; pass < 4; ++pass) {
        for (uint32_t i = 0; i < WORDS; ++i) sum += data[i];
        for (uint32_t i = 0; i < WORDS; i += 17) data[(i * 97) % WORDS] ^= sum;
        for (uint32_t i = 1; i < WORDS; ++i) data[i] += data[i - 1] >> 3;
    }
    /* One insertion-sort pass over a small window of bytes. */
    uint8_t* bytes = (uint8_t*)data;
    for (uint32_t i = 1; i < 2048; ++i) {
        uint8_t v = bytes[i];
        uint32_t j = i;
        while (j > 0 && bytes[j - 1] > v && i - j < 8) {
            bytes[j] = bytes[j - 1];
            --j;
        }
        bytes[j] = v;
    }
    return sum ^ data[WORDS - 1];
}

static uint64_t branch_work(uint64_t seed) {
    for (uint32_t i = 0; i < 4096; ++i) keys[i] = i * 3 + (uint32_t)(seed & 1);
    uint64_t found = 0;
    for (uint32_t q = 0; q < 20000; ++q) {
        uint32_t target = (uint32_t)mix(seed + q) % 12288;
        uint32_t lo = 0, hi = 4096;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (keys[mid] < target)
                lo = mid + 1;
            else
                hi = mid;
        }
        found += lo;
    }
    for (uint64_t n = 1; n < 3000; ++n) {
        uint64_t x = n + (seed & 7), steps = 0;
        while (x != 1) {
            x = (x & 1) ? 3 * x + 1 : x / 2;
            ++steps;
        }
        found += steps;
    }
    return found;
}

static uint64_t fp_work(uint64_t seed) {
    for (int i = 0; i < 1024; ++i) {
        vec_a[i] = (double)((seed + i) % 1000) * 0.001;
        vec_b[i] = 1.0 / (double)(i + 1);
    }
    double total = 0.0;
    for (int pass = 0; pass < 20; ++pass) {
        double dot = 0.0;
        for (int i = 0; i < 1024; ++i) dot += vec_a[i] * vec_b[i];
        total += dot;
        for (int i = 0; i < 1024; ++i) vec_a[i] = vec_a[i] * 0.5 + dot * 1e-3;
    }
    return (uint64_t)(total * 1e6);
}

int workload(void) {
    uint64_t check = 0;
    for (uint64_t round = 0; round < ROUNDS; ++round) {
        check ^= integer_work(round);
        check += memory_work(check);
        check ^= branch_work(check);
        check += fp_work(round);
    }
    /* The result must be consistent between two evaluations of a cheap part. */
    return integer_work(1) == integer_work(1) && check != 0 ? 0 : 1;
}
