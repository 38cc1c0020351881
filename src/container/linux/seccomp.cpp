#include "container/linux/seccomp.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <memory>
#include <string_view>

#include "base/fd_passing.h"
#include "base/file.h"
#include "host/seccomp/bpf_export.h"

namespace vessel::container {
namespace {

struct ActionName {
    std::string_view name;
    SeccompActionKind kind;
};
constexpr std::array<ActionName, 9> kActions = {{
    {"SCMP_ACT_KILL", SeccompActionKind::kill_thread},
    {"SCMP_ACT_KILL_THREAD", SeccompActionKind::kill_thread},
    {"SCMP_ACT_KILL_PROCESS", SeccompActionKind::kill_process},
    {"SCMP_ACT_TRAP", SeccompActionKind::trap},
    {"SCMP_ACT_ERRNO", SeccompActionKind::errno_ret},
    {"SCMP_ACT_TRACE", SeccompActionKind::trace},
    {"SCMP_ACT_ALLOW", SeccompActionKind::allow},
    {"SCMP_ACT_LOG", SeccompActionKind::log},
    {"SCMP_ACT_NOTIFY", SeccompActionKind::notify},
}};

struct OperatorName {
    std::string_view name;
    SeccompOperator op;
};
constexpr std::array<OperatorName, 7> kOperators = {{
    {"SCMP_CMP_NE", SeccompOperator::not_equal},
    {"SCMP_CMP_LT", SeccompOperator::less},
    {"SCMP_CMP_LE", SeccompOperator::less_equal},
    {"SCMP_CMP_EQ", SeccompOperator::equal},
    {"SCMP_CMP_GE", SeccompOperator::greater_equal},
    {"SCMP_CMP_GT", SeccompOperator::greater},
    {"SCMP_CMP_MASKED_EQ", SeccompOperator::masked_equal},
}};

struct FlagName {
    std::string_view name;
    uint32_t flag;
};
// The flags a profile may ask for; NEW_LISTENER and TSYNC_ESRCH are the runtime's business.
constexpr std::array<FlagName, 4> kFlags = {{
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
}};

constexpr uint64_t kMaxRet = 0xffff;  // SECCOMP_RET_DATA: what the filter can return

// Parses an action name plus the optional errnoRet beside it (`ret_key` in `owner`).
Result<SeccompAction> parse_action(const JsonAt& owner, std::string_view action_key,
                                   std::string_view ret_key) {
    auto action_node = TRY(owner.child(action_key));
    auto name = TRY(action_node.string());
    auto found = std::find_if(kActions.begin(), kActions.end(),
                              [&](const ActionName& a) { return a.name == name; });
    if (found == kActions.end())
        return std::unexpected(action_node.error(fmt::format("unknown action \"{}\"", name)));
    SeccompAction action{.kind = found->kind};
    auto ret = TRY(owner.optional_unsigned(ret_key));
    if (ret) {
        auto ret_node = *owner.optional_child(ret_key);
        if (action.kind != SeccompActionKind::errno_ret && action.kind != SeccompActionKind::trace)
            return std::unexpected(ret_node.error(fmt::format(
                "is only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {}", name)));
        if (*ret > kMaxRet)
            return std::unexpected(
                ret_node.error(fmt::format("{} is out of range (0..{})", *ret, kMaxRet)));
        action.ret = static_cast<uint32_t>(*ret);
    } else if (action.kind == SeccompActionKind::errno_ret) {
        action.ret = EPERM;
    }
    return action;
}

Result<SeccompArgument> parse_argument(const JsonAt& node) {
    TRY(node.expect_object());
    SeccompArgument arg;
    auto index_node = TRY(node.child("index"));
    auto index = TRY(index_node.unsigned_integer());
    if (index > 5)
        return std::unexpected(index_node.error(
            fmt::format("{} is out of range (syscalls have arguments 0..5)", index)));
    arg.index = static_cast<uint32_t>(index);
    arg.value = TRY(TRY(node.child("value")).unsigned_integer());
    arg.value_two = TRY(node.optional_unsigned("valueTwo")).value_or(0);
    auto op_node = TRY(node.child("op"));
    auto op_name = TRY(op_node.string());
    auto found = std::find_if(kOperators.begin(), kOperators.end(),
                              [&](const OperatorName& o) { return o.name == op_name; });
    if (found == kOperators.end())
        return std::unexpected(op_node.error(fmt::format("unknown operator \"{}\"", op_name)));
    arg.op = found->op;
    return arg;
}

Result<SeccompRule> parse_rule(const JsonAt& node) {
    TRY(node.expect_object());
    SeccompRule rule;
    auto names_node = TRY(node.child("names"));
    rule.names = TRY(names_node.string_array());
    if (rule.names.empty()) return std::unexpected(names_node.error("must not be empty"));
    for (size_t i = 0; i < rule.names.size(); ++i)
        if (rule.names[i].empty())
            return std::unexpected(
                JsonAt(names_node.value()[i], json_path(names_node.path(), i)).error("is empty"));
    rule.action = TRY(parse_action(node, "action", "errnoRet"));
    if (auto args = node.optional_child("args"))
        for (const auto& arg : TRY(args->array()))
            rule.args.push_back(TRY(parse_argument(arg)));
    return rule;
}

Result<uint32_t> parse_architecture(const JsonAt& node) {
    auto name = TRY(node.string());
    constexpr std::string_view prefix = "SCMP_ARCH_";
    uint32_t token = 0;
    if (name.starts_with(prefix) && name.size() > prefix.size() && name != "SCMP_ARCH_NATIVE") {
        std::string libseccomp_name = name.substr(prefix.size());
        std::transform(libseccomp_name.begin(), libseccomp_name.end(), libseccomp_name.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        token = seccomp_arch_resolve_name(libseccomp_name.c_str());
    }
    if (token == 0)
        return std::unexpected(node.error(fmt::format("unknown architecture \"{}\"", name)));
    return token;
}

uint32_t to_libseccomp(const SeccompAction& action) {
    switch (action.kind) {
        case SeccompActionKind::kill_thread:
            return SCMP_ACT_KILL_THREAD;
        case SeccompActionKind::kill_process:
            return SCMP_ACT_KILL_PROCESS;
        case SeccompActionKind::trap:
            return SCMP_ACT_TRAP;
        case SeccompActionKind::errno_ret:
            return SCMP_ACT_ERRNO(action.ret);
        case SeccompActionKind::trace:
            return SCMP_ACT_TRACE(action.ret);
        case SeccompActionKind::allow:
            return SCMP_ACT_ALLOW;
        case SeccompActionKind::log:
            return SCMP_ACT_LOG;
        case SeccompActionKind::notify:
            return SCMP_ACT_NOTIFY;
    }
    return SCMP_ACT_KILL_PROCESS;
}

scmp_compare to_libseccomp(SeccompOperator op) {
    switch (op) {
        case SeccompOperator::not_equal:
            return SCMP_CMP_NE;
        case SeccompOperator::less:
            return SCMP_CMP_LT;
        case SeccompOperator::less_equal:
            return SCMP_CMP_LE;
        case SeccompOperator::equal:
            return SCMP_CMP_EQ;
        case SeccompOperator::greater_equal:
            return SCMP_CMP_GE;
        case SeccompOperator::greater:
            return SCMP_CMP_GT;
        case SeccompOperator::masked_equal:
            return SCMP_CMP_MASKED_EQ;
    }
    return SCMP_CMP_EQ;
}

struct FilterReleaser {
    void operator()(void* context) const { seccomp_release(context); }
};
using FilterContext = std::unique_ptr<void, FilterReleaser>;

// libseccomp returns -errno.
std::unexpected<Error> fail_libseccomp(int rc, std::string what) {
    return fail_errno(-rc, std::move(what));
}

Result<> add_rule(scmp_filter_ctx context, const SeccompRule& rule, size_t rule_index,
                  uint32_t action, int syscall, const std::string& name) {
    std::vector<scmp_arg_cmp> conditions;
    for (const auto& arg : rule.args)
        conditions.push_back({arg.index, to_libseccomp(arg.op), arg.value, arg.value_two});
    const bool same_index =
        conditions.size() > 1 &&
        std::all_of(conditions.begin(), conditions.end(),
                    [&](const scmp_arg_cmp& c) { return c.arg == conditions.front().arg; });
    auto add = [&](unsigned count, const scmp_arg_cmp* array) -> Result<> {
        int rc = seccomp_rule_add_array(context, action, syscall, count, array);
        if (rc < 0)
            return fail_libseccomp(rc, fmt::format("linux.seccomp.syscalls[{}]: adding the rule "
                                                   "for \"{}\"",
                                                   rule_index, name));
        return {};
    };
    if (same_index) {
        for (const auto& condition : conditions)
            TRY(add(1, &condition));
        return {};
    }
    return add(static_cast<unsigned>(conditions.size()), conditions.data());
}

}  // namespace

Result<SeccompProfile> parse_seccomp(const JsonAt& node) {
    TRY(node.expect_object());
    SeccompProfile profile;
    profile.default_action = TRY(parse_action(node, "defaultAction", "defaultErrnoRet"));
    if (profile.default_action.kind == SeccompActionKind::notify)
        return std::unexpected(TRY(node.child("defaultAction"))
                                   .error("SCMP_ACT_NOTIFY cannot be the default action (the "
                                          "runtime itself could not run to hand over the fd)"));

    if (auto architectures = node.optional_child("architectures"))
        for (const auto& arch : TRY(architectures->array()))
            profile.architectures.push_back(TRY(parse_architecture(arch)));

    if (auto flags = node.optional_child("flags")) {
        for (const auto& flag_node : TRY(flags->array())) {
            auto name = TRY(flag_node.string());
            auto found = std::find_if(kFlags.begin(), kFlags.end(),
                                      [&](const FlagName& f) { return f.name == name; });
            if (found == kFlags.end())
                return std::unexpected(flag_node.error(fmt::format("unknown flag \"{}\"", name)));
            profile.flags |= found->flag;
        }
    }

    bool uses_notify = false;
    if (auto syscalls = node.optional_child("syscalls")) {
        for (const auto& rule_node : TRY(syscalls->array())) {
            profile.rules.push_back(TRY(parse_rule(rule_node)));
            uses_notify |= profile.rules.back().action.kind == SeccompActionKind::notify;
        }
    }

    profile.listener_path = TRY(node.optional_string("listenerPath")).value_or("");
    profile.listener_metadata = TRY(node.optional_string("listenerMetadata")).value_or("");
    if (uses_notify && profile.listener_path.empty())
        return std::unexpected(
            JsonAt(node.value(), json_path(node.path(), "listenerPath"))
                .error("is required when a rule uses SCMP_ACT_NOTIFY (the agent that answers "
                       "the notifications listens there)"));
    if (!profile.listener_path.empty() && !profile.listener_path.starts_with('/'))
        return std::unexpected(JsonAt(node.value(), json_path(node.path(), "listenerPath"))
                                   .error("must be an absolute path"));
    return profile;
}

Result<CompiledSeccomp> compile_seccomp(const SeccompProfile& profile) {
    const uint32_t default_action = to_libseccomp(profile.default_action);
    FilterContext context(seccomp_init(default_action));
    if (!context) return fail("libseccomp could not create a filter (seccomp_init)");
    // The runtime decides about no_new_privs itself (process.noNewPrivileges).
    if (int rc = seccomp_attr_set(context.get(), SCMP_FLTATR_CTL_NNP, 0); rc < 0)
        return fail_libseccomp(rc, "seccomp_attr_set(CTL_NNP)");

    for (uint32_t arch : profile.architectures) {
        int rc = seccomp_arch_add(context.get(), arch);
        if (rc < 0 && rc != -EEXIST) return fail_libseccomp(rc, "adding a seccomp architecture");
    }

    CompiledSeccomp compiled;
    for (size_t i = 0; i < profile.rules.size(); ++i) {
        const auto& rule = profile.rules[i];
        const uint32_t action = to_libseccomp(rule.action);
        if (action == default_action) continue;
        for (const auto& name : rule.names) {
            int syscall = seccomp_syscall_resolve_name(name.c_str());
            if (syscall == __NR_SCMP_ERROR) continue;  // not a syscall libseccomp knows here
            TRY(add_rule(context.get(), rule, i, action, syscall, name));
            compiled.uses_notify |= rule.action.kind == SeccompActionKind::notify;
        }
    }

    compiled.program = TRY(host::export_bpf(context.get()));
    compiled.flags = profile.flags;
    if (compiled.uses_notify) {
        compiled.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // The kernel refuses TSYNC together with a listener unless failures report ESRCH.
        if (compiled.flags & SECCOMP_FILTER_FLAG_TSYNC)
            compiled.flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }
    return compiled;
}

Result<UniqueFd> load_seccomp_filter(const CompiledSeccomp& compiled) {
    if (compiled.program.empty() || compiled.program.size() > BPF_MAXINSNS)
        return fail("seccomp program has {} instructions (1..{} allowed)", compiled.program.size(),
                    BPF_MAXINSNS);
    sock_fprog program{.len = static_cast<unsigned short>(compiled.program.size()),
                       .filter = const_cast<sock_filter*>(compiled.program.data())};
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, compiled.flags, &program);
    if (rc < 0) {
        if (errno == EACCES)
            return fail_errno(
                "loading the seccomp filter (the process needs no_new_privs or "
                "CAP_SYS_ADMIN)");
        return fail_errno("loading the seccomp filter");
    }
    if (compiled.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) return UniqueFd(static_cast<int>(rc));
    return UniqueFd();
}

Result<UniqueFd> load_seccomp(const SeccompProfile& profile) {
    return load_seccomp_filter(TRY(compile_seccomp(profile)));
}

Json seccomp_listener_state(const Json& container_state, int pid, const std::string& metadata) {
    return Json{{"ociVersion", container_state.value("ociVersion", "1.0.2")},
                {"fds", Json::array({"seccompFd"})},
                {"pid", pid},
                {"metadata", metadata},
                {"state", container_state}};
}

Result<> send_seccomp_listener_fd(const std::string& path, int fd, const Json& state) {
    if (path.empty()) return fail("seccomp listener path is empty");
    auto socket = connect_unix(path);
    if (!socket) {
        std::string what = fmt::format("connecting to the seccomp listener at {}", path);
        if (socket.error().code() == 0) return std::unexpected(socket.error().context(what));
        return fail_errno(socket.error().code(), what);
    }
    return with_context(send_fd(socket->get(), fd, state.dump()),
                        fmt::format("sending the seccomp fd to {}", path));
}

}  // namespace vessel::container
