// Fault injection for the crash-recovery tests: with VESSEL_TEST_CRASH_AT=<point> in its
// environment, vesseld dies (_exit, as abruptly as a SIGKILL: no destructor, no flush) when it
// reaches that named step, so a test can restart it and check what it makes of the half-done work.
// Only tests set the variable; without it each point costs a getenv.
#pragma once

#include <string_view>

namespace vessel::manager {

// Exit status of a daemon that stopped at a crash point.
inline constexpr int crash_point_exit_code = 86;

void crash_point(std::string_view point);

}  // namespace vessel::manager
