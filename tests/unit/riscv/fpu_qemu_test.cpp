// Cross-check against an independent RISC-V implementation: a static riscv64 Linux program
// (fpu_oracle_riscv.c) executes each F/D instruction under qemu-riscv64 with the same operands and
// dynamic rounding mode, and its result and fflags must equal the library's. This pins the
// RISC-V-specific rules (canonical NaNs, fmin/fmax, saturating fcvt, NV for inf*0+qNaN) that the
// GMP reference encodes from the spec text.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/process.h"
#include "fpu_operands.h"
#include "vm/riscv/fpu.h"

namespace vessel::riscv::fp {
namespace {

namespace ref = reference;

struct Outcome {
    uint64_t bits;
    uint32_t flags;
};

enum class Kind { single, dual, integer };  // operand source

struct Op {
    int code;  // the oracle's op number
    const char* name;
    Kind kind;  // single: single operands; dual: double operands; integer: 64-bit integers
    std::function<Outcome(Rounding, uint64_t, uint64_t, uint64_t)> run;
};

uint64_t sext32(uint32_t v) {
    return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
}

template <class Fn>
Outcome with_flags(Fn fn) {
    uint32_t flags = 0;
    uint64_t bits = fn(flags);
    return {bits, flags};
}

#define S(x) static_cast<uint32_t>(x)
#define OP_S2(code, name, fn)                                                              \
    Op {                                                                                   \
        code, name, Kind::single, [](Rounding rm, uint64_t a, uint64_t b, uint64_t) {      \
            return with_flags([&](uint32_t& f) { return sext32(fn(S(a), S(b), rm, f)); }); \
        }                                                                                  \
    }
#define OP_D2(code, name, fn)                                                       \
    Op {                                                                            \
        code, name, Kind::dual, [](Rounding rm, uint64_t a, uint64_t b, uint64_t) { \
            return with_flags([&](uint32_t& f) { return fn(a, b, rm, f); });        \
        }                                                                           \
    }

std::vector<Op> operations() {
    return {
        OP_S2(0, "fadd.s", add_s),
        OP_S2(1, "fsub.s", sub_s),
        OP_S2(2, "fmul.s", mul_s),
        OP_S2(3, "fdiv.s", div_s),
        Op{4, "fsqrt.s", Kind::single,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) { return sext32(sqrt_s(S(a), rm, f)); });
           }},
        Op{5, "fmadd.s", Kind::single,
           [](Rounding rm, uint64_t a, uint64_t b, uint64_t c) {
               return with_flags(
                   [&](uint32_t& f) { return sext32(fmadd_s(S(a), S(b), S(c), rm, f)); });
           }},
        Op{6, "fmsub.s", Kind::single,
           [](Rounding rm, uint64_t a, uint64_t b, uint64_t c) {
               return with_flags(
                   [&](uint32_t& f) { return sext32(fmsub_s(S(a), S(b), S(c), rm, f)); });
           }},
        Op{7, "fnmsub.s", Kind::single,
           [](Rounding rm, uint64_t a, uint64_t b, uint64_t c) {
               return with_flags(
                   [&](uint32_t& f) { return sext32(fnmsub_s(S(a), S(b), S(c), rm, f)); });
           }},
        Op{8, "fnmadd.s", Kind::single,
           [](Rounding rm, uint64_t a, uint64_t b, uint64_t c) {
               return with_flags(
                   [&](uint32_t& f) { return sext32(fnmadd_s(S(a), S(b), S(c), rm, f)); });
           }},
        Op{9, "fmin.s", Kind::single,
           [](Rounding, uint64_t a, uint64_t b, uint64_t) {
               return with_flags([&](uint32_t& f) { return sext32(min_s(S(a), S(b), f)); });
           }},
        Op{10, "fmax.s", Kind::single,
           [](Rounding, uint64_t a, uint64_t b, uint64_t) {
               return with_flags([&](uint32_t& f) { return sext32(max_s(S(a), S(b), f)); });
           }},
        Op{11, "feq.s", Kind::single,
           [](Rounding, uint64_t a, uint64_t b, uint64_t) {
               return with_flags([&](uint32_t& f) { return uint64_t{eq_s(S(a), S(b), f)}; });
           }},
        Op{12, "flt.s", Kind::single,
           [](Rounding, uint64_t a, uint64_t b, uint64_t) {
               return with_flags([&](uint32_t& f) { return uint64_t{lt_s(S(a), S(b), f)}; });
           }},
        Op{13, "fle.s", Kind::single,
           [](Rounding, uint64_t a, uint64_t b, uint64_t) {
               return with_flags([&](uint32_t& f) { return uint64_t{le_s(S(a), S(b), f)}; });
           }},
        Op{14, "fclass.s", Kind::single,
           [](Rounding, uint64_t a, uint64_t, uint64_t) {
               return Outcome{classify_s(S(a)), 0};
           }},
        Op{15, "fcvt.w.s", Kind::single,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) {
                   return sext32(static_cast<uint32_t>(cvt_w_s(S(a), rm, f)));
               });
           }},
        Op{16, "fcvt.wu.s", Kind::single,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) { return sext32(cvt_wu_s(S(a), rm, f)); });
           }},
        Op{17, "fcvt.l.s", Kind::single,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags(
                   [&](uint32_t& f) { return static_cast<uint64_t>(cvt_l_s(S(a), rm, f)); });
           }},
        Op{18, "fcvt.lu.s", Kind::single,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) { return cvt_lu_s(S(a), rm, f); });
           }},
        Op{19, "fcvt.s.w", Kind::integer,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags(
                   [&](uint32_t& f) { return sext32(cvt_s_w(static_cast<int32_t>(a), rm, f)); });
           }},
        Op{20, "fcvt.s.wu", Kind::integer,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) { return sext32(cvt_s_wu(S(a), rm, f)); });
           }},
        Op{21, "fcvt.s.l", Kind::integer,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags(
                   [&](uint32_t& f) { return sext32(cvt_s_l(static_cast<int64_t>(a), rm, f)); });
           }},
        Op{22, "fcvt.s.lu", Kind::integer,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) { return sext32(cvt_s_lu(a, rm, f)); });
           }},
        Op{23, "fcvt.s.d", Kind::dual,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) { return sext32(cvt_s_d(a, rm, f)); });
           }},
        OP_D2(24, "fadd.d", add_d),
        OP_D2(25, "fsub.d", sub_d),
        OP_D2(26, "fmul.d", mul_d),
        OP_D2(27, "fdiv.d", div_d),
        Op{28, "fsqrt.d", Kind::dual,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) { return sqrt_d(a, rm, f); });
           }},
        Op{29, "fmadd.d", Kind::dual,
           [](Rounding rm, uint64_t a, uint64_t b, uint64_t c) {
               return with_flags([&](uint32_t& f) { return fmadd_d(a, b, c, rm, f); });
           }},
        Op{30, "fmsub.d", Kind::dual,
           [](Rounding rm, uint64_t a, uint64_t b, uint64_t c) {
               return with_flags([&](uint32_t& f) { return fmsub_d(a, b, c, rm, f); });
           }},
        Op{31, "fnmsub.d", Kind::dual,
           [](Rounding rm, uint64_t a, uint64_t b, uint64_t c) {
               return with_flags([&](uint32_t& f) { return fnmsub_d(a, b, c, rm, f); });
           }},
        Op{32, "fnmadd.d", Kind::dual,
           [](Rounding rm, uint64_t a, uint64_t b, uint64_t c) {
               return with_flags([&](uint32_t& f) { return fnmadd_d(a, b, c, rm, f); });
           }},
        Op{33, "fmin.d", Kind::dual,
           [](Rounding, uint64_t a, uint64_t b, uint64_t) {
               return with_flags([&](uint32_t& f) { return min_d(a, b, f); });
           }},
        Op{34, "fmax.d", Kind::dual,
           [](Rounding, uint64_t a, uint64_t b, uint64_t) {
               return with_flags([&](uint32_t& f) { return max_d(a, b, f); });
           }},
        Op{35, "feq.d", Kind::dual,
           [](Rounding, uint64_t a, uint64_t b, uint64_t) {
               return with_flags([&](uint32_t& f) { return uint64_t{eq_d(a, b, f)}; });
           }},
        Op{36, "flt.d", Kind::dual,
           [](Rounding, uint64_t a, uint64_t b, uint64_t) {
               return with_flags([&](uint32_t& f) { return uint64_t{lt_d(a, b, f)}; });
           }},
        Op{37, "fle.d", Kind::dual,
           [](Rounding, uint64_t a, uint64_t b, uint64_t) {
               return with_flags([&](uint32_t& f) { return uint64_t{le_d(a, b, f)}; });
           }},
        Op{38, "fclass.d", Kind::dual,
           [](Rounding, uint64_t a, uint64_t, uint64_t) {
               return Outcome{classify_d(a), 0};
           }},
        Op{39, "fcvt.w.d", Kind::dual,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags(
                   [&](uint32_t& f) { return sext32(static_cast<uint32_t>(cvt_w_d(a, rm, f))); });
           }},
        Op{40, "fcvt.wu.d", Kind::dual,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) { return sext32(cvt_wu_d(a, rm, f)); });
           }},
        Op{41, "fcvt.l.d", Kind::dual,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags(
                   [&](uint32_t& f) { return static_cast<uint64_t>(cvt_l_d(a, rm, f)); });
           }},
        Op{42, "fcvt.lu.d", Kind::dual,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) { return cvt_lu_d(a, rm, f); });
           }},
        Op{43, "fcvt.d.w", Kind::integer,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags(
                   [&](uint32_t& f) { return cvt_d_w(static_cast<int32_t>(a), rm, f); });
           }},
        Op{44, "fcvt.d.wu", Kind::integer,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) { return cvt_d_wu(S(a), rm, f); });
           }},
        Op{45, "fcvt.d.l", Kind::integer,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags(
                   [&](uint32_t& f) { return cvt_d_l(static_cast<int64_t>(a), rm, f); });
           }},
        Op{46, "fcvt.d.lu", Kind::integer,
           [](Rounding rm, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) { return cvt_d_lu(a, rm, f); });
           }},
        Op{47, "fcvt.d.s", Kind::single,
           [](Rounding, uint64_t a, uint64_t, uint64_t) {
               return with_flags([&](uint32_t& f) { return cvt_d_s(S(a), f); });
           }},
    };
}
#undef S
#undef OP_S2
#undef OP_D2

// VESSEL_FPU_SOAK=<n> (see fpu_random_test.cpp) scales this up for a long one-off run.
const int kVectorsPerOpAndMode = [] {
    const char* soak = std::getenv("VESSEL_FPU_SOAK");
    return soak != nullptr ? std::max(1, std::atoi(soak) / 50) : 300;
}();

TEST(RiscvFpuQemu, EveryInstructionMatchesQemu) {
    std::string qemu = VESSEL_QEMU_RISCV64;
    std::string oracle = VESSEL_FPU_ORACLE;
    if (qemu.empty() || access(qemu.c_str(), X_OK) != 0)
        FAIL() << "qemu-riscv64 (Debian package qemu-user) is missing: run make deps";
    ASSERT_FALSE(oracle.empty()) << "riscv64-linux-gnu-gcc is missing: run make deps";

    struct Vector {
        const Op* op;
        Rounding rm;
        uint64_t a, b, c;
    };
    std::vector<Op> ops = operations();
    std::vector<Vector> vectors;
    std::string input;
    ref::Operands singles(ref::kSingle, 7001);
    ref::Operands doubles(ref::kDouble, 7002);
    std::mt19937_64 rng(7003);
    for (const Op& op : ops) {
        for (int mode = 0; mode < 5; ++mode) {
            for (int i = 0; i < kVectorsPerOpAndMode; ++i) {
                uint64_t v[3];
                for (uint64_t& x : v) {
                    if (op.kind == Kind::single) {
                        x = singles.next();
                    } else if (op.kind == Kind::dual) {
                        x = doubles.next();
                    } else {
                        x = rng() >> (rng() % 64);
                        if (rng() & 1) x = ~x;
                    }
                }
                if (op.kind == Kind::single && (i & 3) == 0) v[1] = singles.near(v[0]);
                if (op.kind == Kind::dual && (i & 3) == 0) v[1] = doubles.near(v[0]);
                vectors.push_back({&op, static_cast<Rounding>(mode), v[0], v[1], v[2]});
                input += fmt::format("{} {:x} {:x} {:x} {:x}\n", op.code, mode, v[0], v[1], v[2]);
            }
        }
    }
    auto result =
        run_capture({qemu, oracle}, std::chrono::seconds(120 + kVectorsPerOpAndMode / 10), input);
    ASSERT_TRUE(result.has_value()) << result.error().message();
    ASSERT_TRUE(result->status.success()) << result->err;

    std::istringstream lines(result->out);
    int failures = 0;
    size_t count = 0;
    for (const Vector& v : vectors) {
        uint64_t bits = 0;
        uint32_t flags = 0;
        ASSERT_TRUE(lines >> std::hex >> bits >> flags) << "oracle output ended at " << count;
        ++count;
        Outcome ours = v.op->run(v.rm, v.a, v.b, v.c);
        if ((ours.bits != bits || ours.flags != flags) && ++failures <= 10) {
            ADD_FAILURE() << fmt::format(
                "{} rm={} ({:#x}, {:#x}, {:#x}): qemu {:#x} flags {:#x}, ours {:#x} flags {:#x}",
                v.op->name, static_cast<int>(v.rm), v.a, v.b, v.c, bits, flags, ours.bits,
                ours.flags);
        }
    }
    EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace vessel::riscv::fp
