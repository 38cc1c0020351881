// Placeholder until the F/D arithmetic library lands: FP instructions are illegal.
#include "vm/riscv/hart.h"

namespace vessel::riscv {
bool Hart::execute_fp(const Insn& insn) {
    raise(cause::illegal_instruction, static_cast<uint32_t>(insn.imm));
    return false;
}
}  // namespace vessel::riscv
