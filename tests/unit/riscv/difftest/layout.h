// The differential tester's machine: where the prologue, the trap handlers, their log, the page
// tables, the generated code and its data live, and what a program starts from (Setup). Both
// engines run the same image from the same state; everything they do that the ISA defines ends
// up in this memory (the handlers log every trap) or in the hart's registers.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "vm/riscv/mmu.h"

namespace vessel::riscv::difftest {

inline constexpr uint64_t kRam = 0x80000000;
inline constexpr uint64_t kRamBytes = 2 << 20;

// Physical layout.
inline constexpr uint64_t kBoot = kRam;                   // M-mode prologue
inline constexpr uint64_t kMHandler = kRam + 0x1000;      // M-mode trap handler
inline constexpr uint64_t kSHandler = kRam + 0x1800;      // S-mode trap handler (delegated traps)
inline constexpr uint64_t kHandlerData = kRam + 0x2000;   // mscratch: the M handler's save area
inline constexpr uint64_t kSArea = kHandlerData + 0x100;  // sscratch: the S handler's
inline constexpr uint64_t kLogCursor = kHandlerData + 0x200;  // next record; +8: end of the log
inline constexpr uint64_t kInitialF = kHandlerData + 0x400;   // f0..f31 for the prologue
inline constexpr uint64_t kMailbox = kHandlerData + 0xf00;    // 1: finished, 2: the log filled up
// A device outside RAM: the M handler's last store, the mailbox's value, which stops the hart
// right after it (so the final pc and instret do not depend on when the test thread looks).
inline constexpr uint64_t kFinisher = 0x100000;
inline constexpr uint64_t kPageTables = kRam + 0x3000;  // root, two mid tables, four leaf tables
inline constexpr unsigned kPageTablePages = 7;
inline constexpr uint64_t kCode = kRam + 0x10000;
inline constexpr unsigned kCodePages = 16;
inline constexpr unsigned kBodyPages = 12;  // the generated body; the last four hold snippets
inline constexpr uint64_t kSnippets = kCode + kBodyPages * 0x1000;
inline constexpr uint64_t kData = kRam + 0x20000;
inline constexpr unsigned kDataPages = 16;
inline constexpr uint64_t kLog = kRam + 0x30000;
inline constexpr uint64_t kLogBytes = 0x80000;

// One trap as a handler logged it: the trapped hart's state at the trap.
struct RecordLayout {
    static constexpr unsigned cause = 0, epc = 8, tval = 16, status = 24, instret = 32, fcsr = 40,
                              handler = 48, x = 64, f = 320, bytes = 576;
};
inline constexpr unsigned kLogRecords = kLogBytes / RecordLayout::bytes;

// Virtual views (Sv39) of the code and data. Supervisor code and data use the identity mapping
// (S pages); user code and data an alias of the same pages (U pages); the write aliases map the
// code and data pages writable and not executable, for stores into code that runs elsewhere.
inline constexpr uint64_t kUserAlias = 0x40000000;
inline constexpr uint64_t kMegaAlias = 0x50000000;  // a 2 MiB megapage over the first 2 MiB of RAM
inline constexpr uint64_t kWriteS = 0x60000000;
inline constexpr uint64_t kWriteU = 0x60200000;
inline constexpr uint64_t kUnmapped = 0x70000000;
inline constexpr uint64_t kGigaAlias = 0xc0000000;  // a 1 GiB gigapage at RAM's base

// Where a program starts, in full: the rest of its image is the generated body. Bulk contents
// (registers, data bytes) come from `seed` through a fixed generator, so a Setup printed as C++
// reproduces a program exactly.
struct Setup {
    uint64_t seed = 1;
    Priv priv = Priv::machine;  // the body's starting privilege
    bool paging = false;        // satp: Sv39, or Bare
    uint32_t medeleg = 0;       // exceptions the S handler takes (never ecalls)
    uint64_t mstatus = 0;       // FS, SUM, MXR, MPRV, TVM, TW bits the body starts with
    uint32_t fcsr = 0;
    uint32_t scounteren = 0;
    // Low PTE bits (V R W X A D; U is the view's) of each code and data page in the supervisor
    // (identity) and user views; 0 leaves the page unmapped there.
    std::array<uint8_t, kCodePages> code_s{}, code_u{};
    std::array<uint8_t, kDataPages> data_s{}, data_u{};
    uint8_t mega = 0;  // the megapage's PTE bits, U included
};

// C++ that constructs `setup`, for regression cases.
std::string to_cpp(const Setup& setup);

// The address the body uses for physical address `pa` while running at `priv`.
inline uint64_t view(const Setup& setup, Priv priv, uint64_t pa) {
    if (!setup.paging || priv != Priv::user) return pa;
    return pa - kRam + kUserAlias;
}

}  // namespace vessel::riscv::difftest
