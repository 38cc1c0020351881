// ctest runs the hart tests twice, the second time (NAME.jit) for the translator: worth it only if
// those harts really get the translator rather than falling back to the interpreter.
#include <gtest/gtest.h>

#include "test_machine.h"

namespace vessel::riscv {
namespace {

TEST(EngineUnderTest, HartsRunTheEngineTheTestRunAsksFor) {
    TestMachine machine;
    Hart hart(machine.context, 0);
    EXPECT_EQ(hart.engine(), engine_under_test());
}

}  // namespace
}  // namespace vessel::riscv
