#include "container/linux/memory_policy.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <utility>
#include <vector>

#include "container/spec/number_list.h"

namespace vessel::container::sys {

namespace {

// A node mask as set_mempolicy takes it: as many bits as the largest kernel's MAX_NUMNODES.
constexpr size_t kNodeBits = spec::kMaxNumaNodes;
using NodeMask = std::array<unsigned long, kNodeBits / (sizeof(unsigned long) * CHAR_BIT)>;

// The nodes of the ranges as a mask.
NodeMask node_mask(const std::vector<std::pair<unsigned, unsigned>>& ranges) {
    NodeMask mask{};
    constexpr size_t kBitsPerWord = sizeof(unsigned long) * CHAR_BIT;
    for (auto [first, last] : ranges)
        for (size_t node = first; node <= last; ++node)
            mask[node / kBitsPerWord] |= 1UL << (node % kBitsPerWord);
    return mask;
}

}  // namespace

Result<> set_memory_policy(const spec::Linux& config) {
    if (!config.memory_policy) return {};
    const auto& policy = *config.memory_policy;
    bool empty = policy.nodes.empty();
    NodeMask mask{};
    if (!empty)
        mask = node_mask(
            TRY_CTX(spec::parse_number_list(policy.nodes, kNodeBits), "linux.memoryPolicy.nodes"));
    // maxnode counts one more than the bits the kernel reads (set_mempolicy(2), BUGS).
    if (::syscall(SYS_set_mempolicy, policy.mode | static_cast<int>(policy.flags),
                  empty ? nullptr : mask.data(), empty ? 0 : kNodeBits + 1) != 0)
        return fail_errno(fmt::format("linux.memoryPolicy: set_mempolicy ({} nodes \"{}\")",
                                      policy.mode, policy.nodes));
    return {};
}

}  // namespace vessel::container::sys
