#include "container/linux/memory_policy.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <climits>
#include <string_view>

namespace vessel::container::sys {

namespace {

// A node mask as set_mempolicy takes it: as many bits as the largest kernel's MAX_NUMNODES.
constexpr size_t kNodeBits = 1024;
using NodeMask = std::array<unsigned long, kNodeBits / (sizeof(unsigned long) * CHAR_BIT)>;

// "0-1,3" (checked by the spec parser) as a mask.
NodeMask node_mask(std::string_view list) {
    NodeMask mask{};
    constexpr size_t kBitsPerWord = sizeof(unsigned long) * CHAR_BIT;
    while (!list.empty()) {
        std::string_view item = list.substr(0, list.find(','));
        list.remove_prefix(std::min(list.size(), item.size() + 1));
        size_t first = 0, last = 0;
        std::from_chars(item.data(), item.data() + item.size(), first);
        last = first;
        if (size_t dash = item.find('-'); dash != std::string_view::npos)
            std::from_chars(item.data() + dash + 1, item.data() + item.size(), last);
        for (size_t node = first; node <= last && node < kNodeBits; ++node)
            mask[node / kBitsPerWord] |= 1UL << (node % kBitsPerWord);
    }
    return mask;
}

}  // namespace

Result<> set_memory_policy(const spec::Linux& config) {
    if (!config.memory_policy) return {};
    const auto& policy = *config.memory_policy;
    NodeMask mask = node_mask(policy.nodes);
    bool empty = policy.nodes.empty();
    // maxnode counts one more than the bits the kernel reads (set_mempolicy(2), BUGS).
    if (::syscall(SYS_set_mempolicy, policy.mode | static_cast<int>(policy.flags),
                  empty ? nullptr : mask.data(), empty ? 0 : kNodeBits + 1) != 0)
        return fail_errno(fmt::format("linux.memoryPolicy: set_mempolicy ({} nodes \"{}\")",
                                      policy.mode, policy.nodes));
    return {};
}

}  // namespace vessel::container::sys
