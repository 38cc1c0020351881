// Which engine the hart and board tests run their harts on. ctest runs those binaries twice, the
// second time with VESSEL_TEST_ENGINE=jit: every test that asserts behaviour of the interpreter
// then asserts it of the translator too, with no test written twice.
#pragma once

#include <cstdlib>
#include <string_view>

#include "vm/riscv/hart.h"

namespace vessel::riscv {

inline Engine engine_under_test() {
    const char* name = std::getenv("VESSEL_TEST_ENGINE");
    return name && std::string_view(name) == "jit" ? Engine::translator : Engine::interpreter;
}

}  // namespace vessel::riscv
