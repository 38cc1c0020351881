// riscv-difftest: runs many random programs on the interpreter and the translator and reports
// every divergence; --minimize shrinks the first few (--max-minimize, 3 by default; a minimization
// takes seconds) to regression cases for differential_test.cpp.
//   riscv-difftest [--seeds N] [--start S] [--minimize] [--max-minimize N] [--deadline-ms MS]
//                  [--quiet] [--verbose] [--fence-i-after-code-stores]
// Exit status 1 when any program diverged.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine_runner.h"
#include "minimizer.h"
#include "program_generator.h"

using namespace vessel::riscv::difftest;

namespace {

std::string regression_case(uint64_t seed, const Program& program) {
    std::string text =
        fmt::format("    {{\"seed_{}\",\n     {},\n     {{", seed, to_cpp(program.setup));
    unsigned count = 0;
    for (const Placed& placed : placed_instructions(program))
        text += fmt::format("{}{{{:#x}, {:#010x}}}", count++ ? ", " : "", placed.offset,
                            placed.encoding);
    return text + "}},\n";
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t seeds = 1000, start = 1, max_minimize = 3;
    bool minimize_failures = false, quiet = false, verbose = false;
    Features features;
    RunOptions options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> uint64_t {
            if (i + 1 >= argc) {
                fmt::print(stderr, "riscv-difftest: {} needs a value\n", arg);
                std::exit(2);
            }
            return std::strtoull(argv[++i], nullptr, 0);
        };
        if (arg == "--seeds")
            seeds = value();
        else if (arg == "--start")
            start = value();
        else if (arg == "--deadline-ms")
            options.deadline = std::chrono::milliseconds(value());
        else if (arg == "--minimize")
            minimize_failures = true;
        else if (arg == "--max-minimize")
            max_minimize = value();
        else if (arg == "--quiet")
            quiet = true;
        else if (arg == "--verbose")
            verbose = true;
        else if (arg == "--fence-i-after-code-stores")
            features.fence_i_after_code_stores = true;
        else {
            fmt::print(stderr,
                       "usage: riscv-difftest [--seeds N] [--start S] [--minimize] "
                       "[--max-minimize N] [--deadline-ms MS] [--quiet] [--verbose] "
                       "[--fence-i-after-code-stores]\n");
            return 2;
        }
    }
    auto began = std::chrono::steady_clock::now();
    DifferentialRunner runner;
    uint64_t failures = 0, traps = 0;
    for (uint64_t seed = start; seed < start + seeds; ++seed) {
        Program program = generate_program(seed, features);
        auto [interpreter, translator] = runner.run(program.image(), options);
        std::string report = compare(interpreter, translator);
        uint64_t cursor = 0;
        std::memcpy(&cursor, interpreter.memory.data() + (kLogCursor - kRam), 8);
        traps += (cursor - kLog) / RecordLayout::bytes;
        if (verbose)
            fmt::print(
                "seed {}: {} bytes of body, mailbox {}/{}, {} traps, instret {}/{}, {} and {} "
                "µs; translator: {}\n",
                seed, program.body.size(), interpreter.mailbox, translator.mailbox,
                (cursor - kLog) / RecordLayout::bytes, interpreter.instret, translator.instret,
                interpreter.elapsed.count(), translator.elapsed.count(),
                vessel::riscv::jit::describe(translator.stats));
        if (report.empty()) continue;
        ++failures;
        fmt::print("seed {} diverges:\n{}", seed, report);
        if (!minimize_failures || failures > max_minimize) continue;
        RunOptions quick = options;
        quick.deadline = std::chrono::milliseconds(500);
        // Only candidates the interpreter runs to their end count: dropping a loop's counter
        // set-up makes a program that merely runs on until its trap log fills.
        Program reduced = minimize(program, [&quick, &runner](const Program& candidate) {
            auto [a, b] = runner.run(candidate.image(), quick);
            return a.finished && a.mailbox == 1 && !compare(a, b).empty();
        });
        auto [a, b] = runner.run(reduced.image(), options);
        fmt::print("minimized ({} instructions):\n{}regression case:\n{}",
                   placed_instructions(reduced).size(), compare(a, b),
                   regression_case(seed, reduced));
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    if (!quiet || failures)
        fmt::print(
            "riscv-difftest: {} programs from seed {}, {} traps compared, {} diverged, "
            "{:.1f} s\n",
            seeds, start, traps, failures, seconds);
    return failures ? 1 : 0;
}
