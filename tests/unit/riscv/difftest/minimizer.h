// Shrinks a diverging program to the instructions the divergence needs (delta debugging over the
// body, replacing instructions by nops so nothing moves), for a regression case a person can read.
#pragma once

#include <functional>

#include "program_generator.h"

namespace vessel::riscv::difftest {

// `fails`: whether a candidate still shows the divergence. The closing ecall always stays.
Program minimize(const Program& program, const std::function<bool(const Program&)>& fails);

}  // namespace vessel::riscv::difftest
