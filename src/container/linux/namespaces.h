// Creating and joining namespaces. New namespaces are made by clone3 flags (runtime/); this file
// works out those flags and joins namespaces given by path.
#pragma once

#include <vector>

#include "base/error.h"
#include "container/spec/spec.h"

namespace vessel::container::sys {

// CLONE_NEW* flags for the namespaces the config asks to create (those without a path).
// Time namespaces are left out: clone3 cannot take offsets, so the parent unshares those.
int clone_flags_for(const spec::Linux& config);

// Namespace types whose setns only affects children (pid, time): joined before clone.
bool joins_for_children(spec::NamespaceType type);

// setns() into every namespace that has a path, except `skip` types. Errors name
// linux.namespaces[i].path.
Result<> join_namespaces(const spec::Linux& config, bool for_children);

}  // namespace vessel::container::sys
