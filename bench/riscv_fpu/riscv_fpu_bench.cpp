// Cost of one emulated F/D operation as the interpreter will call it: raw bits in, bits and
// accrued fflags out. Operands cycle through a table of ordinary random doubles so nothing folds.
#include <benchmark/benchmark.h>

#include <array>
#include <bit>
#include <cstdint>
#include <random>

#include "vm/riscv/fpu.h"

namespace {

using vessel::riscv::fp::Rounding;
namespace fp = vessel::riscv::fp;

constexpr size_t kTable = 1024;

const std::array<uint64_t, kTable>& operands() {
    static const auto table = [] {
        std::array<uint64_t, kTable> t{};
        std::mt19937_64 rng(42);
        std::uniform_real_distribution<double> dist(-1000.0, 1000.0);
        for (auto& v : t)
            v = std::bit_cast<uint64_t>(dist(rng));
        return t;
    }();
    return table;
}

template <class Op>
void run(benchmark::State& state, Op op) {
    const auto& t = operands();
    auto rm = static_cast<Rounding>(state.range(0));
    uint32_t flags = 0;
    size_t i = 0;
    for (auto _ : state) {
        uint64_t r = op(t[i], t[(i + 1) % kTable], t[(i + 2) % kTable], rm, flags);
        benchmark::DoNotOptimize(r);
        i = (i + 1) % kTable;
    }
    benchmark::DoNotOptimize(flags);
}

void add_d(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t b, uint64_t, Rounding rm, uint32_t& f) {
        return fp::add_d(a, b, rm, f);
    });
}
void mul_d(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t b, uint64_t, Rounding rm, uint32_t& f) {
        return fp::mul_d(a, b, rm, f);
    });
}
void div_d(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t b, uint64_t, Rounding rm, uint32_t& f) {
        return fp::div_d(a, b, rm, f);
    });
}
void sqrt_d(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t, uint64_t, Rounding rm, uint32_t& f) {
        return fp::sqrt_d(a & ~fp::kSignD, rm, f);
    });
}
void fma_d(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& f) {
        return fp::fmadd_d(a, b, c, rm, f);
    });
}
void add_s(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t b, uint64_t, Rounding rm, uint32_t& f) {
        // The top half of a double in [-1000, 1000] is a float of moderate magnitude.
        auto single = [](uint64_t v) { return static_cast<uint32_t>(v >> 32); };
        return uint64_t{fp::add_s(single(a), single(b), rm, f)};
    });
}
void cvt_l_d(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t, uint64_t, Rounding rm, uint32_t& f) {
        return static_cast<uint64_t>(fp::cvt_l_d(a, rm, f));
    });
}
void cvt_d_l(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t, uint64_t, Rounding rm, uint32_t& f) {
        return fp::cvt_d_l(static_cast<int64_t>(a >> 3), rm, f);
    });
}
void cvt_s_d(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t, uint64_t, Rounding rm, uint32_t& f) {
        return uint64_t{fp::cvt_s_d(a, rm, f)};
    });
}
// The portable software implementation (what rmm falls back to, and non-x86 hosts use).
void soft_add_d(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t b, uint64_t, Rounding rm, uint32_t& f) {
        return fp::soft::add_d(a, b, rm, f);
    });
}
void soft_mul_d(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t b, uint64_t, Rounding rm, uint32_t& f) {
        return fp::soft::mul_d(a, b, rm, f);
    });
}
void soft_div_d(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t b, uint64_t, Rounding rm, uint32_t& f) {
        return fp::soft::div_d(a, b, rm, f);
    });
}
void soft_fma_d(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& f) {
        return fp::soft::fma_d(a, b, c, rm, f);
    });
}
// The floor: a plain host addition with no rounding-mode switch and no flags.
void host_add_no_flags(benchmark::State& s) {
    run(s, [](uint64_t a, uint64_t b, uint64_t, Rounding, uint32_t&) {
        return std::bit_cast<uint64_t>(std::bit_cast<double>(a) + std::bit_cast<double>(b));
    });
}

// Argument: 0 = rne, 1 = rtz, 4 = rmm.
#define MODES ->Arg(0)->Arg(1)->Arg(4)
BENCHMARK(add_d) MODES;
BENCHMARK(mul_d) MODES;
BENCHMARK(div_d) MODES;
BENCHMARK(sqrt_d) MODES;
BENCHMARK(fma_d) MODES;
BENCHMARK(add_s) MODES;
BENCHMARK(cvt_l_d) MODES;
BENCHMARK(cvt_d_l) MODES;
BENCHMARK(cvt_s_d) MODES;
BENCHMARK(soft_add_d)->Arg(0);
BENCHMARK(soft_mul_d)->Arg(0);
BENCHMARK(soft_div_d)->Arg(0);
BENCHMARK(soft_fma_d)->Arg(0);
BENCHMARK(host_add_no_flags)->Arg(0);

}  // namespace

BENCHMARK_MAIN();
