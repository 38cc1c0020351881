// Runs one program image on a hart of each engine, from identical state, and compares what they
// did: every trap the handlers logged, all of RAM (data, code the program rewrote, page-table A/D
// bits), and the hart's registers, pc, instret and privilege at the end.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vm/riscv/hart.h"
#include "vm/riscv/jit/translator.h"

namespace vessel::riscv::difftest {

struct Outcome {
    Engine engine = Engine::interpreter;  // the engine the hart really ran
    bool finished = false;                // the program reached its end before the deadline
    uint32_t mailbox = 0;                 // 1: finished, 2: the trap log filled up
    std::span<const uint8_t> memory;      // RAM afterwards, until the runner's next run
    std::array<uint64_t, 32> x{}, f{};
    uint64_t pc = 0, instret = 0;
    Priv priv = Priv::machine;
    jit::TranslatorStats stats;            // the translator's; zero for the interpreter
    std::chrono::microseconds elapsed{0};  // from the start to the hart's stop
};

struct RunOptions {
    std::chrono::milliseconds deadline{10000};
    size_t translator_code_bytes = 0;  // 0: the translator's default
};

// Runs programs on a hart of each engine at the same time. The two machines (RAM, code-page
// tracking) are kept from one program to the next, since faulting in fresh guest RAM costs more
// than running a program; every program gets new harts, so none sees what another translated.
class DifferentialRunner {
  public:
    DifferentialRunner();
    ~DifferentialRunner();
    DifferentialRunner(const DifferentialRunner&) = delete;
    DifferentialRunner& operator=(const DifferentialRunner&) = delete;

    // The interpreter's outcome, then the translator's.
    std::pair<Outcome, Outcome> run(std::span<const uint8_t> image, const RunOptions& options);
    // With a different image for each (the tester's own check that it sees differences).
    std::pair<Outcome, Outcome> run(std::span<const uint8_t> interpreter_image,
                                    std::span<const uint8_t> translator_image,
                                    const RunOptions& options);

  private:
    struct Machine;
    std::unique_ptr<Machine> interpreter_, translator_;
};

// Empty when the two agree; otherwise what differs, the earliest logged trap first.
std::string compare(const Outcome& interpreter, const Outcome& translator);

}  // namespace vessel::riscv::difftest
