// Linux capabilities of a container's process: the OCI `process.capabilities` object parsed into
// five bitmasks, checked against what the host can grant, and applied in the container's init.
//
// Call sequence for the runtime (init = the process that will execve the container's program):
//
//   parent, before clone:  sets = TRY(parse_capabilities(config.at("process.capabilities")));
//                          TRY(check_capabilities_available(sets));   // clear error, nothing
//                          created
//   init, still uid 0:     TRY(keep_capabilities_across_uid_change());  // PR_SET_KEEPCAPS = 1
//                          setgroups / setresgid / setresuid to process.user
//   init:                  TRY(apply_capabilities(sets));
//                          (no_new_privileges, seccomp as described in seccomp.h), then execve.
//
// apply_capabilities works whether or not the uid changed; it only needs the permitted set to
// still hold CAP_SETPCAP (and every configured capability), which
// keep_capabilities_across_uid_change guarantees across a change to a non-zero uid. Without it the
// kernel empties the permitted set on that change and apply_capabilities reports so.
//
// execve semantics to keep in mind: for a non-root uid and a program without file capabilities,
// the new permitted and effective sets are exactly the ambient set. For uid 0 the kernel grants
// permitted = bounding ∩ (inheritable ∪ full) — i.e. root gets the bounding set back — unless
// securebits say otherwise; that is why the bounding set is the real limit for root containers,
// as in runc and crun.
//
// Unknown capability names are errors (runc and crun only warn and ignore them; the project rule is
// that a configuration problem is reported, not guessed around). A capability the host's bounding
// set lacks (here CAP_SYS_RESOURCE) is an error too, in every set, bounding included: runc and crun
// fail later with a bare "capset: operation not permitted" for permitted/effective and silently
// drop it from bounding; we name it up front instead so "exactly as configured" holds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/json.h"

namespace vessel::container {

// One bit per capability number (bit n = capability n, 0..63).
using CapabilityMask = uint64_t;

struct CapabilitySets {
    CapabilityMask bounding = 0;
    CapabilityMask effective = 0;
    CapabilityMask permitted = 0;
    CapabilityMask inheritable = 0;
    CapabilityMask ambient = 0;

    bool operator==(const CapabilitySets&) const = default;
};

// The highest capability number this build knows a name for (CAP_LAST_CAP of the kernel headers).
int known_last_capability();

// "CAP_NET_ADMIN" for 12; nullopt for a number without a known name.
std::optional<std::string> capability_name(int capability);
// 12 for "CAP_NET_ADMIN" (exact spelling, as the OCI spec and runc require); nullopt otherwise.
std::optional<int> capability_from_name(std::string_view name);

// /proc/sys/kernel/cap_last_cap: the highest capability the running kernel implements.
Result<int> kernel_last_capability();

// Parses the OCI `process.capabilities` object (each of bounding, effective, permitted,
// inheritable, ambient is optional; absent means empty). Errors name the entry:
//   process.capabilities.bounding[3]: unknown capability "CAP_FOO"
//   process.capabilities.effective[0]: CAP_BPF is not supported by the running kernel (its last
//   capability is 38)
// and reject sets the kernel would refuse or silently shrink: effective not within permitted, and
// ambient not within permitted ∩ inheritable.
Result<CapabilitySets> parse_capabilities(const JsonAt& node, int kernel_last_cap);
// The same, reading the kernel's last capability from /proc.
Result<CapabilitySets> parse_capabilities(const JsonAt& node);

// Fails, naming the capability and the set, if the calling process's bounding set lacks any
// configured capability (the host or an outer container removed it). Call it in the runtime before
// creating anything; the bounding set is inherited, also into a new user namespace.
Result<> check_capabilities_available(const CapabilitySets& sets);

// PR_SET_KEEPCAPS = 1, so the permitted set survives the init's switch to a non-zero uid. Call it
// right before setresuid. apply_capabilities clears the flag again (execve clears it anyway).
Result<> keep_capabilities_across_uid_change();

// Makes the calling thread's capability sets exactly `sets`: raises effective to the current
// permitted set (effective is emptied by a uid change), drops every capability outside `bounding`
// from the bounding set (PR_CAPBSET_DROP, needs CAP_SETPCAP), sets effective/permitted/inheritable
// with capset(2) version 3, clears the ambient set and raises the configured ambient capabilities,
// and clears keep-caps. Afterwards the process cannot regain what was dropped.
//
// Uses the raw syscalls rather than libcap: the work is three system calls and a loop, libcap would
// be one more runtime dependency in the init path and its text form is not what OCI uses.
Result<> apply_capabilities(const CapabilitySets& sets);

// Reads the calling thread's current sets from /proc/thread-self/status (CapBnd, CapEff, ...).
Result<CapabilitySets> current_capabilities();

// The default `process.capabilities` that `vessel-runc spec` writes (the same as runc spec):
// CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE in bounding, effective and permitted; empty
// inheritable and ambient.
Json default_capabilities_json();

// The set as the OCI object (names in capability order), the inverse of parse_capabilities.
Json capabilities_to_json(const CapabilitySets& sets);

}  // namespace vessel::container
