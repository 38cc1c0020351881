// `vessel console NAME`: attaches the terminal to a VM's serial console (its monitor's socket).
// Ctrl-A q detaches; Ctrl-A Ctrl-A sends one Ctrl-A. The local terminal is raw while attached.
#pragma once

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel {

// Returns once the user detached or the console closed (the VM stopped).
Result<> attach_console(const std::string& socket_path, const std::string& name);
// The same over a connected socket that carries the console's bytes both ways.
Result<> attach_console(UniqueFd console, const std::string& name);

}  // namespace vessel
