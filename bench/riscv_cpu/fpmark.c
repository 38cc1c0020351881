/* fpmark: the floating-point workload for comparing CPU engines, in double and single precision:
 * an n-body integration (sqrt, division, fused multiply-add), matrix products with fmaf/fma,
 * square roots and quotients, and integer/float conversions both ways. Each part checks itself:
 * conserved quantities within a tolerance, products that are exact by construction compared
 * exactly, identities that hold to an ulp or two, and a few correctly rounded results compared bit
 * for bit (an engine that rounds wrongly or loses a flag-free NaN box fails). Nothing depends on
 * time: every engine executes the same instruction stream. Bare-metal only (start.S calls
 * workload()); built with -fno-math-errno so sqrt/fma are single instructions, not libm calls. */
#include <stdint.h>

#ifndef FPMARK_ROUNDS
#define FPMARK_ROUNDS 72
#endif

/* Loaded through volatile so the compiler cannot fold the checks at build time. */
static volatile double v_two = 2.0, v_one = 1.0, v_three = 3.0, v_tenth = 0.1, v_ten = 10.0;
static volatile float vf_two = 2.0f, vf_one = 1.0f, vf_three = 3.0f;

static uint64_t bits64(double d) {
    union {
        double d;
        uint64_t u;
    } v = {.d = d};
    return v.u;
}

static uint32_t bits32(float f) {
    union {
        float f;
        uint32_t u;
    } v = {.f = f};
    return v.u;
}

static double absd(double x) {
    return __builtin_fabs(x);
}

/* ---- n-body: a heavy central body and four lighter ones on roughly circular orbits (G = 1),
 * integrated with the symplectic kick-drift scheme. Pairwise forces are applied to both bodies
 * from one computation, so momentum is conserved to rounding; energy drifts only slightly. */

#define BODIES 5

struct body {
    double x[3], v[3], mass;
};

static struct body bodies[BODIES];

static void nbody_init(int round) {
    static const double radius[BODIES] = {0.0, 9.0, 14.0, 21.0, 31.0};
    static const double mass[BODIES] = {900.0, 0.4, 1.1, 0.7, 0.25};
    for (int i = 0; i < BODIES; ++i) {
        /* Alternate the orbit planes a little so all three coordinates take part. */
        double r = radius[i], speed = i ? __builtin_sqrt(mass[0] / r) : 0.0;
        double tilt = 0.05 * (double)(i + round % 6);
        bodies[i].x[0] = r;
        bodies[i].x[1] = 0.0;
        bodies[i].x[2] = r * tilt;
        bodies[i].v[0] = 0.0;
        bodies[i].v[1] = speed;
        bodies[i].v[2] = -speed * tilt * 0.5;
        bodies[i].mass = mass[i];
    }
    /* Give the central body the opposite momentum so the system's is near zero. */
    for (int i = 1; i < BODIES; ++i)
        for (int k = 0; k < 3; ++k)
            bodies[0].v[k] -= bodies[i].v[k] * bodies[i].mass / bodies[0].mass;
}

static double nbody_energy(void) {
    double energy = 0.0;
    for (int i = 0; i < BODIES; ++i) {
        const struct body* a = &bodies[i];
        energy += 0.5 * a->mass * (a->v[0] * a->v[0] + a->v[1] * a->v[1] + a->v[2] * a->v[2]);
        for (int j = i + 1; j < BODIES; ++j) {
            const struct body* b = &bodies[j];
            double dx = a->x[0] - b->x[0], dy = a->x[1] - b->x[1], dz = a->x[2] - b->x[2];
            energy -= a->mass * b->mass / __builtin_sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return energy;
}

static void nbody_momentum(double p[3]) {
    for (int k = 0; k < 3; ++k) {
        p[k] = 0.0;
        for (int i = 0; i < BODIES; ++i)
            p[k] += bodies[i].v[k] * bodies[i].mass;
    }
}

static void nbody_advance(double dt, int steps) {
    for (int s = 0; s < steps; ++s) {
        for (int i = 0; i < BODIES; ++i) {
            struct body* a = &bodies[i];
            for (int j = i + 1; j < BODIES; ++j) {
                struct body* b = &bodies[j];
                double dx = a->x[0] - b->x[0], dy = a->x[1] - b->x[1], dz = a->x[2] - b->x[2];
                double d2 = __builtin_fma(dx, dx, __builtin_fma(dy, dy, dz * dz));
                double scale = dt / (d2 * __builtin_sqrt(d2));
                double fa = b->mass * scale, fb = a->mass * scale;
                a->v[0] -= dx * fa;
                a->v[1] -= dy * fa;
                a->v[2] -= dz * fa;
                b->v[0] += dx * fb;
                b->v[1] += dy * fb;
                b->v[2] += dz * fb;
            }
        }
        for (int i = 0; i < BODIES; ++i)
            for (int k = 0; k < 3; ++k)
                bodies[i].x[k] = __builtin_fma(dt, bodies[i].v[k], bodies[i].x[k]);
    }
}

static int nbody_work(int round) {
    nbody_init(round);
    double e0 = nbody_energy(), p0[3], p1[3];
    nbody_momentum(p0);
    nbody_advance(0.002, 6000);
    double e1 = nbody_energy();
    nbody_momentum(p1);
    /* Kick-drift is first order: its energy error oscillates with an amplitude near 2e-5 of the
     * total at this step, and stays bounded. Momenta are ~10; their rounding stays near 1e-13. */
    int ok = absd(e1 - e0) <= 2e-4 * absd(e0) && e1 < 0.0;
    for (int k = 0; k < 3; ++k)
        ok &= absd(p1[k] - p0[k]) <= 1e-9;
    /* Bodies still in orbit: none escaped or fell in. */
    for (int i = 1; i < BODIES; ++i) {
        double r2 = bodies[i].x[0] * bodies[i].x[0] + bodies[i].x[1] * bodies[i].x[1];
        ok &= r2 > 25.0 && r2 < 2500.0;
    }
    return ok;
}

/* ---- Matrices. Single precision with fmaf over dyadic values (multiples of 1/4 in [-4, 4]):
 * every partial sum is exact in a float, so the product equals the integer product exactly.
 * Double precision over non-dyadic values: (A B) x and A (B x) agree to rounding. */

#define MAT_F 24
#define MAT_D 20

static float fa[MAT_F][MAT_F], fb[MAT_F][MAT_F], fc[MAT_F][MAT_F];
static int32_t ia[MAT_F][MAT_F], ib[MAT_F][MAT_F];
static double da[MAT_D][MAT_D], db[MAT_D][MAT_D], dc[MAT_D][MAT_D];

static int matrix_work(int round) {
    for (int i = 0; i < MAT_F; ++i)
        for (int j = 0; j < MAT_F; ++j) {
            ia[i][j] = (int32_t)((i * 7 + j * 3 + round) % 33) - 16;
            ib[i][j] = (int32_t)((i * 5 + j * 11 + 2 * round) % 29) - 14;
            fa[i][j] = (float)ia[i][j] * 0.25f;
            fb[i][j] = (float)ib[i][j] * 0.25f;
        }
    for (int i = 0; i < MAT_F; ++i)
        for (int j = 0; j < MAT_F; ++j) {
            float sum = 0.0f;
            for (int k = 0; k < MAT_F; ++k)
                sum = __builtin_fmaf(fa[i][k], fb[k][j], sum);
            fc[i][j] = sum;
        }
    int ok = 1;
    for (int i = 0; i < MAT_F; ++i)
        for (int j = 0; j < MAT_F; ++j) {
            int32_t exact = 0;
            for (int k = 0; k < MAT_F; ++k)
                exact += ia[i][k] * ib[k][j];
            /* float -> int32 conversion (fcvt.w.s) of a value that is exact by construction. */
            ok &= (int32_t)(fc[i][j] * 16.0f) == exact;
        }

    for (int i = 0; i < MAT_D; ++i)
        for (int j = 0; j < MAT_D; ++j) {
            da[i][j] = 1.0 / (double)(i + j + 1 + round);
            db[i][j] = (double)((i * 3 + j) % 7) / 3.0 - 1.0;
        }
    for (int i = 0; i < MAT_D; ++i)
        for (int j = 0; j < MAT_D; ++j) {
            double sum = 0.0;
            for (int k = 0; k < MAT_D; ++k)
                sum = __builtin_fma(da[i][k], db[k][j], sum);
            dc[i][j] = sum;
        }
    double x[MAT_D], bx[MAT_D];
    for (int i = 0; i < MAT_D; ++i)
        x[i] = __builtin_sqrt((double)(i + 1));
    for (int i = 0; i < MAT_D; ++i) {
        bx[i] = 0.0;
        for (int k = 0; k < MAT_D; ++k)
            bx[i] += db[i][k] * x[k];
    }
    for (int i = 0; i < MAT_D; ++i) {
        double direct = 0.0, chained = 0.0, scale = 0.0;
        for (int k = 0; k < MAT_D; ++k) {
            direct += dc[i][k] * x[k];
            chained += da[i][k] * bx[k];
            scale += absd(da[i][k]) * 3.0 * x[k];
        }
        ok &= absd(direct - chained) <= 1e-12 * scale;
    }
    return ok;
}

/* ---- Square roots and quotients: s = sqrt(x) squares back to x and x / s gives s, within an
 * ulp or two; a Newton reciprocal with fma converges to the hardware quotient. */

static int root_work(int round) {
    int ok = 1;
    for (int i = 1; i <= 3000; ++i) {
        double x = (double)i * 0.731 + (double)round * 0.125;
        double s = __builtin_sqrt(x);
        ok &= absd(s * s - x) <= 4.5e-16 * x;
        ok &= absd(x / s - s) <= 4.5e-16 * s;
        /* Newton's reciprocal of s from a float-precision start: three steps reach double. */
        double r = (double)(1.0f / (float)s);
        for (int n = 0; n < 3; ++n)
            r = r * __builtin_fma(-s, r, 2.0);
        ok &= absd(r - 1.0 / s) <= 4.5e-16 / s;

        float xf = (float)i * 0.37f + 1.0f;
        float sf = __builtin_sqrtf(xf);
        ok &= __builtin_fabsf(sf * sf - xf) <= 2.5e-7f * xf;
        ok &= __builtin_fabsf(xf / sf - sf) <= 2.5e-7f * sf;
    }
    /* Correctly rounded results, bit for bit. */
    ok &= bits64(__builtin_sqrt(v_two)) == 0x3FF6A09E667F3BCDull;
    ok &= bits64(v_one / v_three) == 0x3FD5555555555555ull;
    ok &= bits64(__builtin_fma(v_tenth, v_ten, -v_one)) == 0x3C90000000000000ull; /* 2^-54 */
    ok &= bits32(__builtin_sqrtf(vf_two)) == 0x3FB504F3u;
    ok &= bits32(vf_one / vf_three) == 0x3EAAAAABu;
    return ok;
}

/* ---- Conversions between integers and both precisions, signed and unsigned, with C's
 * truncation toward zero, and narrowing from double to float with round-to-nearest-even. */

static volatile double v_tie_low = 1.0 + 0x1p-24, v_tie_high = 1.0 + 0x1.8p-23;

static int convert_work(int round) {
    int ok = 1;
    uint64_t state = 0x9E3779B97F4A7C15ull + (uint64_t)round;
    for (int i = 0; i < 4000; ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        int64_t k = (int64_t)(state >> 11) - (int64_t)(1ll << 52); /* |k| <= 2^52: exact */
        double d = (double)k;
        ok &= (int64_t)d == k;
        /* k / 2.0 is exact, and both it and C's integer division truncate toward zero. */
        ok &= (int64_t)(d * 0.5) == k / 2;
        uint64_t u = state >> 12;
        ok &= (uint64_t)(double)u == u;

        int32_t w = (int32_t)(state >> 40) - (1 << 23); /* |w| <= 2^23: exact in float */
        float f = (float)w;
        ok &= (int32_t)f == w && (int64_t)f == w;
        ok &= (double)f == (double)w && (float)(double)w == f;
        uint32_t uw = (uint32_t)(state >> 40);
        ok &= (uint32_t)(float)uw == uw;
        /* A relative offset of 2^-26 is under half a float ulp: narrowing drops it. */
        ok &= (float)((double)f * (1.0 + 0x1p-26)) == f;
        ok &= (int32_t)(f * 0.5f) == w / 2;
    }
    /* Exact ties round to the even neighbour. */
    ok &= (float)v_tie_low == 1.0f && (float)v_tie_high == 1.0f + 0x1p-22f;
    return ok;
}

int workload(void);

int workload(void) {
    int ok = 1;
    for (int round = 0; round < FPMARK_ROUNDS; ++round) {
        ok &= nbody_work(round);
        ok &= matrix_work(round);
        ok &= root_work(round);
        ok &= convert_work(round);
    }
    return ok ? 0 : 1;
}
