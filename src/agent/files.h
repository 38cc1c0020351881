// The "push" and "pull" operations: whole files streamed in frames, never held in memory.
#pragma once

#include "base/error.h"
#include "base/json.h"

namespace vessel::agent {

// {"op":"push","path":ABS,...}: input frames up to input_end become the file, written beside it
// and renamed over it only when complete, so a cut-off push never leaves a partial file.
Result<> run_push(int connection, const JsonAt& request);

// {"op":"pull","path":ABS}: the regular file's metadata in the reply, then its contents.
Result<> run_pull(int connection, const JsonAt& request);

}  // namespace vessel::agent
