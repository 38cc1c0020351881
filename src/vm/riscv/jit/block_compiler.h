// Compiles one guest block to x86-64 at the code buffer's cursor. The generated code runs with the
// Hart in rbx and the translator's RunState in r12; guest registers live in the Hart's x_ array.
// Conventions every block follows:
// - on entry the stack is 16-byte aligned, so helpers are called directly;
// - leaving for the hart's loop is `ret`, with pc_ and instret_ written (or, after a trap, with
//   pc_ at the handler as the helper left it and instret_ counting the instructions before it);
// - passing to the next block goes through the jump cache after the attention and budget checks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vm/riscv/jit/translator.h"

namespace vessel::riscv::jit {

// Emits the shared code at `buffer`'s cursor and sets its addresses in `helpers` (whose
// load_slow and store_slow it calls). Returns its size.
Result<size_t> emit_shared_code(const HartLayout& layout, Helpers& helpers, CodeBuffer& buffer);

struct CompileRequest {
    uint64_t vaddr = 0;                  // the block's first instruction
    const uint8_t* host_page = nullptr;  // the guest page it lies in, as the host sees it
    // The next virtual page as the host sees it, when the fetch TLB maps it: an instruction
    // straddling the two pages is translated with a guard that checks, each time it runs, that
    // the mapping and its second half are still the same (nullptr: the interpreter runs it).
    const uint8_t* next_host_page = nullptr;
    // The jump cache of the block's privilege, which its computed jumps look the next block up
    // in (emit_dispatch_rax).
    const JumpSlot* jump_cache = nullptr;
    // The block runs in user mode, whose data key (Hart::recompute_privilege_keys) is 0 unless
    // MXR is set: its inline TLB checks compare tags without the key. Under MXR the tags they
    // look for are missing, and every access takes the slow path, which is right.
    bool user_mode = false;
};

struct CompiledBlock {
    size_t code_bytes = 0;
    uint32_t guest_instructions = 0;  // 0: the first instruction is one the interpreter runs
};

// Emits the block at `buffer`'s cursor (not committed). Fails only when the buffer is too small.
Result<CompiledBlock> compile_block(const CompileRequest& request, const HartLayout& layout,
                                    const Helpers& helpers, CodeBuffer& buffer);

}  // namespace vessel::riscv::jit
