#include "container/linux/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <charconv>

#include "base/file.h"

namespace vessel::container {
namespace {

// Indexed by capability number; the kernel headers define the numbers, the OCI names are the
// macro names.
constexpr std::array<std::string_view, CAP_LAST_CAP + 1> kCapabilityNames = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
static_assert(CAP_CHECKPOINT_RESTORE == 40 && CAP_SYS_RESOURCE == 24 && CAP_NET_ADMIN == 12,
              "the name table follows the kernel's numbering");

constexpr CapabilityMask bit(int capability) {
    return CapabilityMask{1} << capability;
}

// Names of the capabilities in `mask`, in numeric order, for messages and JSON.
std::vector<std::string> mask_names(CapabilityMask mask) {
    std::vector<std::string> names;
    for (int cap = 0; cap < 64; ++cap) {
        if (!(mask & bit(cap))) continue;
        auto name = capability_name(cap);
        names.push_back(name ? *name : fmt::format("capability {}", cap));
    }
    return names;
}

std::string first_name(CapabilityMask mask) {
    return mask_names(mask).front();
}

Result<CapabilityMask> parse_set(const JsonAt& node, std::string_view key, int kernel_last_cap) {
    auto list = node.optional_child(key);
    if (!list) return CapabilityMask{0};
    CapabilityMask mask = 0;
    for (const auto& entry : TRY(list->array())) {
        auto name = TRY(entry.string());
        auto number = capability_from_name(name);
        if (!number)
            return std::unexpected(entry.error(fmt::format("unknown capability \"{}\"", name)));
        if (*number > kernel_last_cap)
            return std::unexpected(entry.error(
                fmt::format("{} is not supported by the running kernel (its last capability is {})",
                            name, kernel_last_cap)));
        mask |= bit(*number);
    }
    return mask;
}

// capset/capget version 3 splits each 64-bit set into two 32-bit words.
struct RawCapabilities {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, 2> data{};
};

Result<> set_capabilities(CapabilityMask effective, CapabilityMask permitted,
                          CapabilityMask inheritable) {
    RawCapabilities raw;
    for (int word = 0; word < 2; ++word) {
        raw.data[word].effective = static_cast<uint32_t>(effective >> (32 * word));
        raw.data[word].permitted = static_cast<uint32_t>(permitted >> (32 * word));
        raw.data[word].inheritable = static_cast<uint32_t>(inheritable >> (32 * word));
    }
    if (::syscall(SYS_capset, &raw.header, raw.data.data()) != 0) return fail_errno("capset");
    return {};
}

Result<CapabilityMask> get_permitted() {
    RawCapabilities raw;
    if (::syscall(SYS_capget, &raw.header, raw.data.data()) != 0) return fail_errno("capget");
    return CapabilityMask{raw.data[0].permitted} | (CapabilityMask{raw.data[1].permitted} << 32);
}

// The init may run where /proc is not mounted (yet): ask the kernel instead, which answers EINVAL
// for capability numbers it does not implement.
int last_capability_by_probing() {
    int last = 0;
    while (last < 63 && ::prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
        ++last;
    return last;
}

Result<CapabilityMask> parse_hex_mask(std::string_view text, std::string_view field) {
    CapabilityMask mask = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), mask, 16);
    if (error != std::errc() || end != text.data() + text.size())
        return fail("/proc/thread-self/status: {} is not a hexadecimal mask", field);
    return mask;
}

}  // namespace

int known_last_capability() {
    return CAP_LAST_CAP;
}

std::optional<std::string> capability_name(int capability) {
    if (capability < 0 || capability > CAP_LAST_CAP) return std::nullopt;
    return std::string(kCapabilityNames[capability]);
}

std::optional<int> capability_from_name(std::string_view name) {
    for (size_t number = 0; number < kCapabilityNames.size(); ++number)
        if (kCapabilityNames[number] == name) return static_cast<int>(number);
    return std::nullopt;
}

Result<int> kernel_last_capability() {
    auto text = TRY_CTX(read_file("/proc/sys/kernel/cap_last_cap"),
                        "reading the kernel's last "
                        "capability");
    int last = -1;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), last);
    if (error != std::errc() || last < 0 || last > 63)
        return fail("/proc/sys/kernel/cap_last_cap: unexpected content \"{}\"", text);
    (void)end;
    return last;
}

Result<CapabilitySets> parse_capabilities(const JsonAt& node, int kernel_last_cap) {
    TRY(node.expect_object());
    CapabilitySets sets;
    sets.bounding = TRY(parse_set(node, "bounding", kernel_last_cap));
    sets.effective = TRY(parse_set(node, "effective", kernel_last_cap));
    sets.permitted = TRY(parse_set(node, "permitted", kernel_last_cap));
    sets.inheritable = TRY(parse_set(node, "inheritable", kernel_last_cap));
    sets.ambient = TRY(parse_set(node, "ambient", kernel_last_cap));

    // The kernel refuses a capset whose effective set exceeds permitted, and refuses to raise an
    // ambient capability that is not both permitted and inheritable: say so at parse time.
    if (auto extra = sets.effective & ~sets.permitted)
        return std::unexpected(JsonAt(node.value(), json_path(node.path(), "effective"))
                                   .error(fmt::format("{} is not in the permitted set (effective "
                                                      "capabilities must also be permitted)",
                                                      first_name(extra))));
    if (auto extra = sets.ambient & ~(sets.permitted & sets.inheritable))
        return std::unexpected(JsonAt(node.value(), json_path(node.path(), "ambient"))
                                   .error(fmt::format("{} must also be in the permitted and "
                                                      "inheritable sets to be ambient",
                                                      first_name(extra))));
    return sets;
}

Result<CapabilitySets> parse_capabilities(const JsonAt& node) {
    return parse_capabilities(node, TRY(kernel_last_capability()));
}

Result<> check_capabilities_available(const CapabilitySets& sets) {
    struct Named {
        std::string_view name;
        CapabilityMask mask;
    };
    const std::array<Named, 5> all = {{{"bounding", sets.bounding},
                                       {"effective", sets.effective},
                                       {"permitted", sets.permitted},
                                       {"inheritable", sets.inheritable},
                                       {"ambient", sets.ambient}}};
    for (const auto& [set_name, mask] : all) {
        for (int cap = 0; cap < 64; ++cap) {
            if (!(mask & bit(cap))) continue;
            int present = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
            if (present < 0) return fail_errno(fmt::format("reading bounding capability {}", cap));
            if (present == 0)
                return fail(
                    "process.capabilities.{}: {} is not in this host's capability bounding set, "
                    "so no process started here can have it; remove it from the configuration",
                    set_name, capability_name(cap).value_or(std::to_string(cap)));
        }
    }
    return {};
}

Result<> keep_capabilities_across_uid_change() {
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return fail_errno("prctl(PR_SET_KEEPCAPS, 1)");
    return {};
}

Result<> apply_capabilities(const CapabilitySets& sets) {
    TRY(check_capabilities_available(sets));
    const CapabilityMask held = TRY(get_permitted());
    // Everything configured must still be held: once gone from permitted it cannot come back.
    const CapabilityMask wanted = sets.permitted | sets.inheritable;
    if (auto missing = wanted & ~held)
        return fail(
            "cannot grant {}: the container's init no longer holds it (was the uid "
            "changed without keep_capabilities_across_uid_change, or does the host lack "
            "it?)",
            first_name(missing));
    if (!(held & bit(CAP_SETPCAP)))
        return fail(
            "cannot set the capability bounding set: the container's init does not hold "
            "CAP_SETPCAP");

    // A change to a non-zero uid empties the effective set; raise it again from permitted so that
    // CAP_SETPCAP (bounding drops, inheritable changes) is in force.
    TRY_CTX(set_capabilities(held, held, 0), "raising the effective set before dropping");

    const int last = last_capability_by_probing();
    for (int cap = 0; cap <= last; ++cap) {
        if (sets.bounding & bit(cap)) continue;
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
            return fail_errno(fmt::format("dropping {} from the bounding set",
                                          capability_name(cap).value_or(std::to_string(cap))));
    }

    TRY_CTX(set_capabilities(sets.effective, sets.permitted, sets.inheritable),
            "setting the effective, permitted and inheritable capabilities");

    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
        return fail_errno("clearing the ambient capabilities");
    for (int cap = 0; cap <= last; ++cap) {
        if (!(sets.ambient & bit(cap))) continue;
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
            return fail_errno(fmt::format("raising ambient {}",
                                          capability_name(cap).value_or(std::to_string(cap))));
    }

    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return fail_errno("prctl(PR_SET_KEEPCAPS, 0)");
    return {};
}

Result<CapabilitySets> current_capabilities() {
    auto status = TRY(read_file("/proc/thread-self/status"));
    CapabilitySets sets;
    struct Field {
        std::string_view label;
        CapabilityMask* target;
    };
    const std::array<Field, 5> fields = {{{"CapInh:", &sets.inheritable},
                                          {"CapPrm:", &sets.permitted},
                                          {"CapEff:", &sets.effective},
                                          {"CapBnd:", &sets.bounding},
                                          {"CapAmb:", &sets.ambient}}};
    for (const auto& [label, target] : fields) {
        auto at = status.find(fmt::format("\n{}", label));
        if (at == std::string::npos) return fail("/proc/thread-self/status: no {} line", label);
        auto begin = status.find_first_not_of(" \t", at + 1 + label.size());
        auto end = status.find('\n', begin);
        *target = TRY(parse_hex_mask(std::string_view(status).substr(begin, end - begin), label));
    }
    return sets;
}

Json capabilities_to_json(const CapabilitySets& sets) {
    return Json{{"bounding", mask_names(sets.bounding)},
                {"effective", mask_names(sets.effective)},
                {"permitted", mask_names(sets.permitted)},
                {"inheritable", mask_names(sets.inheritable)},
                {"ambient", mask_names(sets.ambient)}};
}

Json default_capabilities_json() {
    const CapabilityMask defaults =
        bit(CAP_AUDIT_WRITE) | bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE);
    return capabilities_to_json(
        {.bounding = defaults, .effective = defaults, .permitted = defaults});
}

}  // namespace vessel::container
