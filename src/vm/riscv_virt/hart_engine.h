// Which engine the harts of a RISC-V machine run, from what the user asked (--engine).
#pragma once

#include "vm/boot/vm_config.h"
#include "vm/riscv/hart.h"

namespace vessel::riscv_virt {

inline riscv::Engine hart_engine(vm::CpuEngine choice) {
    switch (choice) {
        case vm::CpuEngine::interpreter:
            return riscv::Engine::interpreter;
        case vm::CpuEngine::translator:
            return riscv::Engine::translator;
        case vm::CpuEngine::automatic:
            break;
    }
    return riscv::kTranslatorAvailable ? riscv::Engine::translator : riscv::Engine::interpreter;
}

}  // namespace vessel::riscv_virt
