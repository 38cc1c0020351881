// The cgroup v2 device program's generator: its shape (one block per rule, last rule first, a
// deny at the end) and its verdicts, run through a small interpreter of the instructions it emits.
// device_filter_test loads the same programs into the kernel.
#include <gtest/gtest.h>
#include <linux/filter.h>

#include <algorithm>
#include <cstring>

#include "host/cgroup/device_program.h"

namespace vessel::host::cgroup {
namespace {

constexpr size_t kPrologue = 6;

bool is_exit(const bpf_insn& insn) {
    return insn.code == (BPF_JMP | BPF_EXIT);
}

size_t count_exits(const std::vector<bpf_insn>& program) {
    return static_cast<size_t>(std::count_if(program.begin(), program.end(), is_exit));
}

// The verdict each exit returns, in program order (the instruction before an exit sets r0).
std::vector<int32_t> exit_verdicts(const std::vector<bpf_insn>& program) {
    std::vector<int32_t> verdicts;
    for (size_t i = 1; i < program.size(); ++i)
        if (is_exit(program[i])) {
            EXPECT_EQ(program[i - 1].code, BPF_ALU64 | BPF_MOV | BPF_K);
            EXPECT_EQ(program[i - 1].dst_reg, BPF_REG_0);
            verdicts.push_back(program[i - 1].imm);
        }
    return verdicts;
}

// The minors the program compares with, in program order.
std::vector<int32_t> compared_minors(const std::vector<bpf_insn>& program) {
    std::vector<int32_t> minors;
    for (const bpf_insn& insn : program)
        if (insn.code == (BPF_JMP | BPF_JNE | BPF_K) && insn.dst_reg == BPF_REG_5)
            minors.push_back(insn.imm);
    return minors;
}

// Runs the program on one access as the kernel would, for the instructions the generator uses.
int run(const std::vector<bpf_insn>& program, char type, uint32_t major, uint32_t minor,
        std::string_view access) {
    bpf_cgroup_dev_ctx context{(device_access_bits(access) << 16) | device_type_bits(type), major,
                               minor};
    uint64_t reg[11] = {};
    size_t pc = 0;
    for (int steps = 0; steps < 100000 && pc < program.size(); ++steps) {
        const bpf_insn& insn = program[pc++];
        switch (insn.code) {
            case BPF_LDX | BPF_MEM | BPF_W: {
                EXPECT_EQ(insn.src_reg, BPF_REG_1);
                uint32_t value = 0;
                std::memcpy(&value, reinterpret_cast<const char*>(&context) + insn.off, 4);
                reg[insn.dst_reg] = value;
                break;
            }
            case BPF_ALU64 | BPF_MOV | BPF_X:
                reg[insn.dst_reg] = reg[insn.src_reg];
                break;
            case BPF_ALU64 | BPF_MOV | BPF_K:
                reg[insn.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(insn.imm));
                break;
            case BPF_ALU64 | BPF_AND | BPF_K:
                reg[insn.dst_reg] &= static_cast<uint64_t>(static_cast<int64_t>(insn.imm));
                break;
            case BPF_ALU64 | BPF_RSH | BPF_K:
                reg[insn.dst_reg] >>= insn.imm;
                break;
            case BPF_JMP | BPF_JNE | BPF_K:
                if (reg[insn.dst_reg] != static_cast<uint64_t>(static_cast<int64_t>(insn.imm)))
                    pc += insn.off;
                break;
            case BPF_JMP | BPF_JEQ | BPF_K:
                if (reg[insn.dst_reg] == static_cast<uint64_t>(static_cast<int64_t>(insn.imm)))
                    pc += insn.off;
                break;
            case BPF_JMP | BPF_EXIT:
                return static_cast<int>(reg[0]);
            default:
                ADD_FAILURE() << "unexpected opcode " << int(insn.code) << " at " << pc - 1;
                return -1;
        }
    }
    ADD_FAILURE() << "the program ran off its end";
    return -1;
}

std::vector<bpf_insn> generate(const std::vector<DeviceRule>& rules) {
    auto program = device_program(rules);
    EXPECT_TRUE(program) << program.error().message();
    return program.value_or(std::vector<bpf_insn>{});
}

// The list the runtime builds for a root container (runtime.cpp with_device_policy).
std::vector<DeviceRule> default_policy() {
    std::vector<DeviceRule> rules = {{.allow = false, .type = 'a', .access = "rwm"},
                                     {.allow = true, .type = 'c', .access = "m"},
                                     {.allow = true, .type = 'b', .access = "m"}};
    for (auto [major, minor] : {std::pair{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 2}})
        rules.push_back({.allow = true, .type = 'c', .major = major, .minor = minor});
    rules.push_back({.allow = true, .type = 'c', .major = 136, .access = "rwm"});
    return rules;
}

TEST(DeviceProgram, NoRulesDeniesEverything) {
    std::vector<bpf_insn> program = generate({});
    ASSERT_EQ(program.size(), kPrologue + 2);
    EXPECT_EQ(exit_verdicts(program), std::vector<int32_t>{0});
    EXPECT_EQ(run(program, 'c', 1, 3, "rw"), 0);
}

TEST(DeviceProgram, OneBlockPerRuleLastRuleFirstAndADenyAtTheEnd) {
    std::vector<DeviceRule> rules = {{.allow = true, .type = 'c', .major = 1, .minor = 3},
                                     {.allow = false, .type = 'c', .major = 1, .minor = 5},
                                     {.allow = true, .type = 'c', .major = 1, .minor = 7}};
    std::vector<bpf_insn> program = generate(rules);
    EXPECT_EQ(count_exits(program), rules.size() + 1);
    EXPECT_EQ(exit_verdicts(program), (std::vector<int32_t>{1, 0, 1, 0}));
    EXPECT_EQ(compared_minors(program), (std::vector<int32_t>{7, 5, 3}));
}

TEST(DeviceProgram, ARuleForEveryAccessEndsTheProgram) {
    // The runtime's lists start with "deny a": it is the last block, and nothing follows it (the
    // verifier refuses unreachable instructions).
    std::vector<DeviceRule> rules = {{.allow = false, .type = 'a', .access = "rwm"},
                                     {.allow = true, .type = 'c', .major = 1, .minor = 3}};
    std::vector<bpf_insn> program = generate(rules);
    EXPECT_EQ(exit_verdicts(program), (std::vector<int32_t>{1, 0}));
    ASSERT_GE(program.size(), 2u);
    EXPECT_EQ(program[program.size() - 2].code, BPF_ALU64 | BPF_MOV | BPF_K);  // no test first
    EXPECT_TRUE(is_exit(program[program.size() - 3]));

    // Rules before an "allow a" are never reached: they are left out.
    rules.push_back({.allow = true, .type = 'a', .access = "rwm"});
    program = generate(rules);
    EXPECT_EQ(program.size(), kPrologue + 2);
    EXPECT_EQ(exit_verdicts(program), std::vector<int32_t>{1});
    EXPECT_EQ(run(program, 'b', 8, 0, "rwm"), 1);
}

TEST(DeviceProgram, JumpsStayInsideTheProgramAndLandOnABlockStart) {
    std::vector<bpf_insn> program = generate(default_policy());
    for (size_t i = 0; i < program.size(); ++i) {
        uint8_t op = program[i].code & 0xf0;
        if ((program[i].code & 0x07) != BPF_JMP || op == BPF_EXIT) continue;
        size_t target = i + 1 + static_cast<size_t>(program[i].off);
        ASSERT_LT(target, program.size()) << "jump at " << i;
        // A failed test goes on with the next rule's first check, or the final deny.
        EXPECT_TRUE(is_exit(program[target - 1])) << "jump at " << i << " lands mid-block";
    }
}

TEST(DeviceProgram, DefaultPolicyAllowsTheStandardNodesOnly) {
    std::vector<bpf_insn> program = generate(default_policy());
    EXPECT_EQ(run(program, 'c', 1, 3, "rw"), 1);    // /dev/null
    EXPECT_EQ(run(program, 'c', 1, 9, "r"), 1);     // /dev/urandom
    EXPECT_EQ(run(program, 'c', 136, 4, "rw"), 1);  // a pty
    EXPECT_EQ(run(program, 'c', 5, 1, "rw"), 0);    // /dev/console is not in this list
    EXPECT_EQ(run(program, 'b', 8, 0, "r"), 0);     // /dev/sda
    EXPECT_EQ(run(program, 'b', 8, 0, "m"), 1);     // making it is allowed, using it is not
    EXPECT_EQ(run(program, 'b', 8, 0, "rm"), 0);
    EXPECT_EQ(run(program, 'c', 10, 200, "rw"), 0);  // /dev/net/tun
}

TEST(DeviceProgram, TheLastMatchingRuleWins) {
    std::vector<DeviceRule> rules = {{.allow = true, .type = 'a', .access = "rwm"},
                                     {.allow = false, .type = 'c', .major = 1, .access = "rwm"},
                                     {.allow = true, .type = 'c', .major = 1, .minor = 3}};
    std::vector<bpf_insn> program = generate(rules);
    EXPECT_EQ(run(program, 'c', 1, 3, "rw"), 1);
    EXPECT_EQ(run(program, 'c', 1, 7, "r"), 0);
    EXPECT_EQ(run(program, 'b', 8, 0, "rw"), 1);  // the allow-all rule

    // The same rules the other way round: the deny of major 1 now comes last.
    std::vector<DeviceRule> reversed = {rules[0], rules[2], rules[1]};
    EXPECT_EQ(run(generate(reversed), 'c', 1, 3, "rw"), 0);
}

TEST(DeviceProgram, EachAccessBitIsDecidedByItsOwnLastRule) {
    std::vector<DeviceRule> rules = {
        {.allow = false, .type = 'a', .access = "rwm"},
        {.allow = true, .type = 'c', .major = 1, .minor = 3},
        {.allow = false, .type = 'c', .major = 1, .minor = 3, .access = "w"},
        {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "r"},
        {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "w"}};
    std::vector<bpf_insn> program = generate(rules);
    EXPECT_EQ(run(program, 'c', 1, 3, "r"), 1);
    EXPECT_EQ(run(program, 'c', 1, 3, "w"), 0);
    EXPECT_EQ(run(program, 'c', 1, 3, "rw"), 0);
    EXPECT_EQ(run(program, 'c', 1, 3, "m"), 1);
    // Read and write allowed by two rules: an O_RDWR open needs both.
    EXPECT_EQ(run(program, 'c', 1, 5, "rw"), 1);
    EXPECT_EQ(run(program, 'c', 1, 5, "m"), 0);
    EXPECT_EQ(run(program, 'c', 1, 5, "rm"), 0);
}

TEST(DeviceProgram, TypeAndWildcardsMatchAsInCgroupV1) {
    std::vector<DeviceRule> rules = {{.allow = true, .type = 'b', .minor = 0, .access = "r"}};
    std::vector<bpf_insn> program = generate(rules);
    EXPECT_EQ(run(program, 'b', 8, 0, "r"), 1);
    EXPECT_EQ(run(program, 'b', 259, 0, "r"), 1);
    EXPECT_EQ(run(program, 'b', 8, 1, "r"), 0);
    EXPECT_EQ(run(program, 'c', 8, 0, "r"), 0);
}

TEST(DeviceProgram, NumbersBeyondTheKernelsFieldsAreRefusedNamingTheRule) {
    auto negative = device_program({{.allow = true, .type = 'c', .major = 1, .minor = -3}});
    ASSERT_FALSE(negative);
    EXPECT_NE(negative.error().message().find("allow c 1:-3 rwm"), std::string::npos)
        << negative.error().message();
    auto huge = device_program({{.allow = true, .type = 'b', .major = int64_t{1} << 32}});
    ASSERT_FALSE(huge);
    EXPECT_NE(huge.error().message().find("major"), std::string::npos);
}

}  // namespace
}  // namespace vessel::host::cgroup
