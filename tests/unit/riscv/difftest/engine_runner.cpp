#include "engine_runner.h"

#include <fmt/format.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "../test_machine.h"
#include "layout.h"
#include "vm/devices/bus_device.h"

namespace vessel::riscv::difftest {

namespace {

constexpr const char* kRegisterNames[32] = {"zero", "ra", "sp",  "gp",  "tp", "t0", "t1", "t2",
                                            "s0",   "s1", "a0",  "a1",  "a2", "a3", "a4", "a5",
                                            "a6",   "a7", "s2",  "s3",  "s4", "s5", "s6", "s7",
                                            "s8",   "s9", "s10", "s11", "t3", "t4", "t5", "t6"};

// The program's end: the value written (the mailbox's), and the hart stopped at once, on its own
// thread, so that it stops at the same instruction whatever the test thread is doing.
class Finisher : public vm::BusDevice {
  public:
    uint64_t read(uint64_t, unsigned) override { return 0; }
    void write(uint64_t, unsigned, uint64_t value) override {
        value_.store(static_cast<uint32_t>(value), std::memory_order_release);
        if (hart_) hart_->request_stop();
    }
    void attach(Hart* hart) { hart_ = hart; }
    void reset() { value_.store(0, std::memory_order_release); }
    uint32_t value() const { return value_.load(std::memory_order_acquire); }

  private:
    Hart* hart_ = nullptr;
    std::atomic<uint32_t> value_{0};
};

}  // namespace

struct DifferentialRunner::Machine {
    TestMachine machine{kRamBytes};
    Finisher finisher;
    std::unique_ptr<Hart> hart;
    std::optional<std::jthread> thread;
    std::chrono::microseconds stopped_after{0};

    Machine() {
        if (!machine.bus.attach(kFinisher, 8, finisher, "finisher"))
            throw std::runtime_error("attaching the finisher");
    }
    void start(std::span<const uint8_t> image, Engine engine, const RunOptions& options) {
        if (!machine.memory.write(kRam, image)) throw std::runtime_error("loading the image");
        // Fresh code-page tracking: nothing the last program ran counts as code.
        machine.code_pages = std::move(*CodePages::create(machine.memory));
        machine.context.engine = engine;
        machine.context.translator_code_bytes = options.translator_code_bytes;
        finisher.reset();
        hart = std::make_unique<Hart>(machine.context, 0);
        finisher.attach(hart.get());
        hart->reset(kBoot, Priv::machine);
        thread.emplace([hart = hart.get()] { hart->run(); });
    }
    Outcome finish(bool finished) {
        hart->request_stop();  // a hung program's hart; a finished one has stopped already
        thread.reset();        // joins
        Outcome outcome;
        outcome.engine = hart->engine();
        outcome.finished = finished;
        outcome.mailbox = finisher.value();
        outcome.memory = std::span(machine.memory.host_pointer(kRam, kRamBytes), kRamBytes);
        for (unsigned i = 0; i < 32; ++i) {
            outcome.x[i] = hart->reg(i);
            outcome.f[i] = hart->fp_reg(i);
        }
        outcome.pc = hart->pc();
        outcome.instret = hart->instret();
        outcome.priv = hart->priv();
        if (const jit::Translator* translator = hart->translator())
            outcome.stats = translator->stats();
        outcome.elapsed = stopped_after;
        finisher.attach(nullptr);
        hart.reset();
        return outcome;
    }
};

namespace {

std::string field_name(unsigned offset) {
    static constexpr const char* fixed[] = {"cause",   "epc",  "tval",    "status",
                                            "instret", "fcsr", "handler", "(unused)"};
    if (offset < RecordLayout::x) return fixed[offset / 8];
    if (offset < RecordLayout::f)
        return fmt::format("x{} ({})", (offset - RecordLayout::x) / 8,
                           kRegisterNames[(offset - RecordLayout::x) / 8]);
    return fmt::format("f{}", (offset - RecordLayout::f) / 8);
}

std::string place(uint64_t pa) {
    if (pa >= kLog && pa < kLog + kLogBytes) {
        uint64_t record = (pa - kLog) / RecordLayout::bytes;
        return fmt::format("trap #{} {}", record,
                           field_name(static_cast<unsigned>((pa - kLog) % RecordLayout::bytes)));
    }
    if (pa >= kData && pa < kData + kDataPages * 0x1000)
        return fmt::format("data page {} +{:#x}", (pa - kData) >> 12, pa & 0xfff);
    if (pa >= kCode && pa < kCode + kCodePages * 0x1000)
        return fmt::format("code +{:#x} (pa {:#x})", pa - kCode, pa);
    if (pa >= kPageTables && pa < kPageTables + kPageTablePages * 0x1000)
        return fmt::format("page table {} entry {}", (pa - kPageTables) >> 12, (pa & 0xfff) / 8);
    return fmt::format("pa {:#x}", pa);
}

uint64_t word_at(std::span<const uint8_t> memory, uint64_t pa) {
    uint64_t value = 0;
    std::memcpy(&value, memory.data() + (pa - kRam), 8);
    return value;
}

}  // namespace

DifferentialRunner::DifferentialRunner()
    : interpreter_(std::make_unique<Machine>()), translator_(std::make_unique<Machine>()) {}

DifferentialRunner::~DifferentialRunner() = default;

std::pair<Outcome, Outcome> DifferentialRunner::run(std::span<const uint8_t> image,
                                                    const RunOptions& options) {
    return run(image, image, options);
}

std::pair<Outcome, Outcome> DifferentialRunner::run(std::span<const uint8_t> interpreter_image,
                                                    std::span<const uint8_t> translator_image,
                                                    const RunOptions& options) {
    const auto started = std::chrono::steady_clock::now();
    interpreter_->start(interpreter_image, Engine::interpreter, options);
    translator_->start(translator_image, Engine::translator, options);
    const auto deadline = started + options.deadline;
    bool interpreter_done = false, translator_done = false;
    auto check = [started](Machine& machine, bool& done) {
        if (done || machine.finisher.value() == 0) return;
        done = true;
        machine.stopped_after = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - started);
    };
    while (!(interpreter_done && translator_done) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        check(*interpreter_, interpreter_done);
        check(*translator_, translator_done);
    }
    return {interpreter_->finish(interpreter_done), translator_->finish(translator_done)};
}

std::string compare(const Outcome& interpreter, const Outcome& translator) {
    std::string report;
    auto line = [&report](std::string text) { report += text + "\n"; };
    if (translator.engine != Engine::translator) line("the translator hart ran the interpreter");
    if (!interpreter.finished || !translator.finished)
        line(fmt::format("did not finish: interpreter {}, translator {}",
                         interpreter.finished ? "finished" : "HUNG",
                         translator.finished ? "finished" : "HUNG"));
    if (interpreter.mailbox != translator.mailbox)
        line(fmt::format("mailbox: interpreter {}, translator {}", interpreter.mailbox,
                         translator.mailbox));
    // The first trap record that differs tells the most: show it whole.
    std::optional<uint64_t> first_record;
    unsigned other_differences = 0;
    for (uint64_t pa = kRam; pa < kRam + kRamBytes; pa += 8) {
        if ((pa & 0xfff) == 0 && std::memcmp(interpreter.memory.data() + (pa - kRam),
                                             translator.memory.data() + (pa - kRam), 0x1000) == 0) {
            pa += 0x1000 - 8;
            continue;
        }
        uint64_t a = word_at(interpreter.memory, pa), b = word_at(translator.memory, pa);
        if (a == b) continue;
        if (pa >= kLog && pa < kLog + kLogBytes) {
            uint64_t record = (pa - kLog) / RecordLayout::bytes;
            if (!first_record) first_record = record;
            if (record != *first_record) ++other_differences;
            continue;
        }
        if (++other_differences <= 8)
            line(fmt::format("{}: interpreter {:#018x}, translator {:#018x}", place(pa), a, b));
    }
    if (first_record) {
        uint64_t base = kLog + *first_record * RecordLayout::bytes;
        line(fmt::format(
            "first differing trap #{}: interpreter cause {:#x} epc {:#x} tval {:#x} instret {}, "
            "translator cause {:#x} epc {:#x} tval {:#x} instret {}",
            *first_record, word_at(interpreter.memory, base + RecordLayout::cause),
            word_at(interpreter.memory, base + RecordLayout::epc),
            word_at(interpreter.memory, base + RecordLayout::tval),
            word_at(interpreter.memory, base + RecordLayout::instret),
            word_at(translator.memory, base + RecordLayout::cause),
            word_at(translator.memory, base + RecordLayout::epc),
            word_at(translator.memory, base + RecordLayout::tval),
            word_at(translator.memory, base + RecordLayout::instret)));
        for (unsigned offset = 0; offset < RecordLayout::bytes; offset += 8) {
            uint64_t a = word_at(interpreter.memory, base + offset),
                     b = word_at(translator.memory, base + offset);
            if (a != b)
                line(fmt::format("  {}: interpreter {:#018x}, translator {:#018x}",
                                 field_name(offset), a, b));
        }
    }
    if (other_differences > 8) line(fmt::format("... {} more differing words", other_differences));
    for (unsigned i = 0; i < 32; ++i) {
        if (interpreter.x[i] != translator.x[i])
            line(fmt::format("final x{} ({}): interpreter {:#x}, translator {:#x}", i,
                             kRegisterNames[i], interpreter.x[i], translator.x[i]));
        if (interpreter.f[i] != translator.f[i])
            line(fmt::format("final f{}: interpreter {:#x}, translator {:#x}", i, interpreter.f[i],
                             translator.f[i]));
    }
    if (interpreter.pc != translator.pc)
        line(fmt::format("final pc: interpreter {:#x}, translator {:#x}", interpreter.pc,
                         translator.pc));
    if (interpreter.instret != translator.instret)
        line(fmt::format("final instret: interpreter {}, translator {}", interpreter.instret,
                         translator.instret));
    if (interpreter.priv != translator.priv)
        line(fmt::format("final privilege: interpreter {}, translator {}",
                         static_cast<int>(interpreter.priv), static_cast<int>(translator.priv)));
    return report;
}

}  // namespace vessel::riscv::difftest
