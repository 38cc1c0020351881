#include "container/linux/seccomp.h"

#include <linux/seccomp.h>
#include <seccomp.h>

#include <gtest/gtest.h>

#include <cstring>
#include <set>

namespace vessel::container {
namespace {

Result<SeccompProfile> parse(const std::string& text) {
    Json document = Json::parse(text);
    return parse_seccomp(JsonAt(document, "linux.seccomp"));
}

// Expects parsing to fail with exactly `message`.
void expect_error(const std::string& text, const std::string& message) {
    auto profile = parse(text);
    ASSERT_FALSE(profile) << "accepted: " << text;
    EXPECT_EQ(profile.error().message(), message);
}

TEST(ParseSeccomp, FullProfile) {
    auto profile = parse(R"({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64", "SCMP_ARCH_RISCV64"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "listenerPath": "/run/agent.sock",
        "listenerMetadata": "opaque",
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 1, "value": 448, "op": "SCMP_CMP_EQ"},
                      {"index": 0, "value": 255, "valueTwo": 7, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["kill"], "action": "SCMP_ACT_KILL"},
            {"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"},
            {"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 5},
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}
        ]})");
    ASSERT_TRUE(profile) << profile.error().message();
    EXPECT_EQ(profile->default_action, (SeccompAction{SeccompActionKind::errno_ret, 38}));
    EXPECT_EQ(profile->architectures,
              (std::vector<uint32_t>{SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64, SCMP_ARCH_RISCV64}));
    EXPECT_EQ(profile->flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    EXPECT_EQ(profile->listener_path, "/run/agent.sock");
    EXPECT_EQ(profile->listener_metadata, "opaque");
    ASSERT_EQ(profile->rules.size(), 6u);
    EXPECT_EQ(profile->rules[0].names, (std::vector<std::string>{"read", "write"}));
    EXPECT_EQ(profile->rules[0].action.kind, SeccompActionKind::allow);
    EXPECT_EQ(profile->rules[1].action, (SeccompAction{SeccompActionKind::errno_ret, 13}));
    ASSERT_EQ(profile->rules[1].args.size(), 2u);
    EXPECT_EQ(profile->rules[1].args[0],
              (SeccompArgument{.index = 1, .value = 448, .op = SeccompOperator::equal}));
    EXPECT_EQ(profile->rules[1].args[1],
              (SeccompArgument{
                  .index = 0, .value = 255, .value_two = 7, .op = SeccompOperator::masked_equal}));
    EXPECT_EQ(profile->rules[2].action.kind, SeccompActionKind::kill_thread);
    EXPECT_EQ(profile->rules[3].action.kind, SeccompActionKind::notify);
    EXPECT_EQ(profile->rules[4].action, (SeccompAction{SeccompActionKind::trace, 5}));
    // SCMP_ACT_ERRNO without errnoRet means EPERM, as in runc and crun.
    EXPECT_EQ(profile->rules[5].action, (SeccompAction{SeccompActionKind::errno_ret, EPERM}));
}

TEST(ParseSeccomp, MinimalProfileDefaultsErrnoToEperm) {
    auto profile = parse(R"({"defaultAction": "SCMP_ACT_ERRNO"})");
    ASSERT_TRUE(profile) << profile.error().message();
    EXPECT_EQ(profile->default_action, (SeccompAction{SeccompActionKind::errno_ret, EPERM}));
    EXPECT_TRUE(profile->rules.empty());
    EXPECT_TRUE(profile->architectures.empty());
    EXPECT_EQ(profile->flags, 0u);
}

TEST(ParseSeccomp, EveryOperatorAndAction) {
    auto profile = parse(R"({"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [
        {"names": ["a"], "action": "SCMP_ACT_KILL_THREAD", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_NE"},
            {"index": 1, "value": 1, "op": "SCMP_CMP_LT"},
            {"index": 2, "value": 1, "op": "SCMP_CMP_LE"},
            {"index": 3, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 4, "value": 1, "op": "SCMP_CMP_GE"},
            {"index": 5, "value": 18446744073709551615, "op": "SCMP_CMP_GT"}]},
        {"names": ["b"], "action": "SCMP_ACT_TRAP"},
        {"names": ["c"], "action": "SCMP_ACT_LOG"}]})");
    ASSERT_TRUE(profile) << profile.error().message();
    EXPECT_EQ(profile->default_action.kind, SeccompActionKind::kill_process);
    const auto& args = profile->rules[0].args;
    ASSERT_EQ(args.size(), 6u);
    EXPECT_EQ(args[0].op, SeccompOperator::not_equal);
    EXPECT_EQ(args[1].op, SeccompOperator::less);
    EXPECT_EQ(args[2].op, SeccompOperator::less_equal);
    EXPECT_EQ(args[3].op, SeccompOperator::equal);
    EXPECT_EQ(args[4].op, SeccompOperator::greater_equal);
    EXPECT_EQ(args[5].op, SeccompOperator::greater);
    EXPECT_EQ(args[5].value, UINT64_MAX);
    EXPECT_EQ(profile->rules[1].action.kind, SeccompActionKind::trap);
    EXPECT_EQ(profile->rules[2].action.kind, SeccompActionKind::log);
}

TEST(ParseSeccomp, BadFieldsNameTheirPath) {
    expect_error(R"({})", "linux.seccomp.defaultAction: is required");
    expect_error(R"([])", "linux.seccomp: must be an object");
    expect_error(R"({"defaultAction": "SCMP_ACT_DENY"})",
                 "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_DENY\"");
    expect_error(R"({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"})",
                 "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action (the "
                 "runtime itself could not run to hand over the fd)");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1})",
                 "linux.seccomp.defaultErrnoRet: is only meaningful with SCMP_ACT_ERRNO or "
                 "SCMP_ACT_TRACE, not SCMP_ACT_ALLOW");
    expect_error(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 65536})",
                 "linux.seccomp.defaultErrnoRet: 65536 is out of range (0..65535)");
    expect_error(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1})",
                 "linux.seccomp.defaultErrnoRet: must be an unsigned integer");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64",
                     "SCMP_ARCH_VAX"]})",
                 "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86_64"]})",
                 "linux.seccomp.architectures[0]: unknown architecture \"x86_64\"");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_TSYNC",
                     "SECCOMP_FILTER_FLAG_NEW_LISTENER"]})",
                 "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_NEW_LISTENER\"");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}})",
                 "linux.seccomp.syscalls: must be an array");
}

TEST(ParseSeccomp, BadRulesNameTheirPath) {
    const std::string head = R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"}, )";
    expect_error(head + R"({"names": ["write"], "action": "SCMP_ACT_MAYBE"}]})",
                 "linux.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_MAYBE\"");
    expect_error(head + R"({"names": ["write"]}]})",
                 "linux.seccomp.syscalls[1].action: is required");
    expect_error(head + R"({"action": "SCMP_ACT_ALLOW"}]})",
                 "linux.seccomp.syscalls[1].names: is required");
    expect_error(head + R"({"names": [], "action": "SCMP_ACT_ALLOW"}]})",
                 "linux.seccomp.syscalls[1].names: must not be empty");
    expect_error(head + R"({"names": ["write", ""], "action": "SCMP_ACT_ALLOW"}]})",
                 "linux.seccomp.syscalls[1].names[1]: is empty");
    expect_error(head + R"({"names": ["write", 3], "action": "SCMP_ACT_ALLOW"}]})",
                 "linux.seccomp.syscalls[1].names[1]: must be a string");
    expect_error(head + R"({"names": ["write"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]})",
                 "linux.seccomp.syscalls[1].errnoRet: is only meaningful with SCMP_ACT_ERRNO or "
                 "SCMP_ACT_TRACE, not SCMP_ACT_ALLOW");
    expect_error(head + R"({"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [
                     {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                     {"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})",
                 "linux.seccomp.syscalls[1].args[1].index: 6 is out of range (syscalls have "
                 "arguments 0..5)");
    expect_error(head + R"({"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [
                     {"index": 0, "value": 1, "op": "SCMP_CMP_APPROX"}]}]})",
                 "linux.seccomp.syscalls[1].args[0].op: unknown operator \"SCMP_CMP_APPROX\"");
    expect_error(head + R"({"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [
                     {"index": 0, "op": "SCMP_CMP_EQ"}]}]})",
                 "linux.seccomp.syscalls[1].args[0].value: is required");
    expect_error(head + R"({"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [
                     {"index": 0, "value": -5, "op": "SCMP_CMP_EQ"}]}]})",
                 "linux.seccomp.syscalls[1].args[0].value: must be an unsigned integer");
    expect_error(head + R"({"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]})",
                 "linux.seccomp.listenerPath: is required when a rule uses SCMP_ACT_NOTIFY (the "
                 "agent that answers the notifications listens there)");
    expect_error(head + R"({"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}],
                     "listenerPath": "agent.sock"})",
                 "linux.seccomp.listenerPath: must be an absolute path");
}

TEST(CompileSeccomp, UnknownSyscallNamesAreSkippedLikeRunc) {
    auto profile = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "no_such_syscall_anywhere", "write"], "action": "SCMP_ACT_ALLOW"}]})");
    ASSERT_TRUE(profile) << profile.error().message();
    auto with_unknown = compile_seccomp(*profile);
    ASSERT_TRUE(with_unknown) << with_unknown.error().message();

    auto plain = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]})");
    auto plain_compiled = compile_seccomp(*plain).value();
    ASSERT_EQ(with_unknown->program.size(), plain_compiled.program.size());
    EXPECT_EQ(0, std::memcmp(with_unknown->program.data(), plain_compiled.program.data(),
                             plain_compiled.program.size() * sizeof(sock_filter)));
}

TEST(CompileSeccomp, RulesEqualToTheDefaultActionAreSkipped) {
    auto profile = parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})");
    ASSERT_TRUE(profile) << profile.error().message();
    auto compiled = compile_seccomp(*profile);
    ASSERT_TRUE(compiled) << compiled.error().message();
    EXPECT_FALSE(compiled->uses_notify);
    EXPECT_EQ(compiled->flags, 0u);
}

TEST(CompileSeccomp, NotifyAddsTheListenerFlag) {
    auto profile = parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/a.sock",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]})");
    ASSERT_TRUE(profile) << profile.error().message();
    auto compiled = compile_seccomp(*profile);
    ASSERT_TRUE(compiled) << compiled.error().message();
    EXPECT_TRUE(compiled->uses_notify);
    EXPECT_EQ(compiled->flags, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_NEW_LISTENER |
                                   SECCOMP_FILTER_FLAG_TSYNC_ESRCH);
}

TEST(CompileSeccomp, ArchitecturesGrowTheProgram) {
    auto native = compile_seccomp(*parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})"));
    auto three = compile_seccomp(*parse(R"({"defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})"));
    ASSERT_TRUE(native) << native.error().message();
    ASSERT_TRUE(three) << three.error().message();
    EXPECT_GT(three->program.size(), native->program.size());
}

TEST(DefaultSeccompProfile, ParsesAndCompiles) {
    Json json = default_seccomp_profile_json();
    EXPECT_EQ(json["defaultAction"], "SCMP_ACT_ERRNO");
    EXPECT_EQ(json["defaultErrnoRet"], EPERM);
    auto profile = parse_seccomp(JsonAt(json, "linux.seccomp"));
    ASSERT_TRUE(profile) << profile.error().message();
    auto compiled = compile_seccomp(*profile);
    ASSERT_TRUE(compiled) << compiled.error().message();
    EXPECT_FALSE(compiled->uses_notify);
    EXPECT_LT(compiled->program.size(), size_t{BPF_MAXINSNS});
}

TEST(DefaultSeccompProfile, LeavesDangerousSyscallsOut) {
    Json json = default_seccomp_profile_json();
    std::set<std::string> allowed_unconditionally;
    for (const auto& rule : json["syscalls"])
        if (rule["action"] == "SCMP_ACT_ALLOW" && !rule.contains("args"))
            for (const auto& name : rule["names"])
                allowed_unconditionally.insert(name);
    for (const char* blocked : {"kexec_load",
                                "kexec_file_load",
                                "init_module",
                                "finit_module",
                                "delete_module",
                                "keyctl",
                                "add_key",
                                "request_key",
                                "mount",
                                "umount2",
                                "move_mount",
                                "fsopen",
                                "pivot_root",
                                "swapon",
                                "swapoff",
                                "reboot",
                                "bpf",
                                "perf_event_open",
                                "userfaultfd",
                                "setns",
                                "unshare",
                                "clone",
                                "clone3",
                                "personality",
                                "io_uring_setup",
                                "open_by_handle_at",
                                "clock_settime",
                                "settimeofday",
                                "acct",
                                "quotactl",
                                "syslog",
                                "iopl",
                                "ioperm",
                                "process_vm_writev",
                                "kcmp",
                                "socket"})
        EXPECT_FALSE(allowed_unconditionally.contains(blocked)) << blocked;
    for (const char* needed : {"execve", "prctl", "read", "openat", "mmap", "wait4", "futex",
                               "capset", "setresuid", "rt_sigreturn", "exit_group"})
        EXPECT_TRUE(allowed_unconditionally.contains(needed)) << needed;
}

TEST(SeccompListenerState, FollowsTheRuntimeSpec) {
    Json state = {{"ociVersion", "1.2.0"}, {"id", "c1"}, {"status", "creating"}, {"pid", 42}};
    Json message = seccomp_listener_state(state, 42, "meta");
    EXPECT_EQ(message["ociVersion"], "1.2.0");
    EXPECT_EQ(message["fds"], Json::array({"seccompFd"}));
    EXPECT_EQ(message["pid"], 42);
    EXPECT_EQ(message["metadata"], "meta");
    EXPECT_EQ(message["state"], state);
}

TEST(SendSeccompListenerFd, ReportsAnUnreachableListener) {
    auto sent = send_seccomp_listener_fd("/nonexistent-dir/agent.sock", 0, Json::object());
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code(), ENOENT);
    EXPECT_EQ(sent.error().message(),
              "connecting to the seccomp listener at /nonexistent-dir/agent.sock: No such file or "
              "directory");
}

}  // namespace
}  // namespace vessel::container
