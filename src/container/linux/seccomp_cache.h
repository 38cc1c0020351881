// A cache of compiled seccomp programs. libseccomp needs ~4 ms of CPU to compile the default
// profile (bench/seccomp_compile) — a large share of a container start whose floor is ~14 ms —
// while reading the program back takes microseconds. Engines start thousands of containers with
// the same few profiles, so the runtime keeps each compiled program in a directory it owns.
//
// A program in the cache decides what a container may do, so the cache trusts only a directory
// owned by the caller's euid and not writable by group or others (it creates it 0700), opens files
// without following symlinks, and keys each entry by the full profile text plus everything else
// the program depends on (libseccomp version, its API level for this kernel, the native
// architecture), compared byte for byte on every hit — the file name is only a hash of that key.
// Any cache problem falls back to compiling: the cache is an optimisation, never a requirement.
#pragma once

#include <string>

#include "container/linux/seccomp.h"

namespace vessel::container {

struct CachedCompile {
    CompiledSeccomp compiled;
    bool from_cache = false;
};

// Returns the program for `profile`, from `cache_dir` when an entry for exactly this profile text
// exists there, otherwise compiled and stored. `profile_json` is the `linux.seccomp` object that
// `profile` was parsed from (its text is the key).
Result<CachedCompile> compile_seccomp_cached(const Json& profile_json,
                                             const SeccompProfile& profile,
                                             const std::string& cache_dir);

}  // namespace vessel::container
