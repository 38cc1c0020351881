#include "host/cgroup/device_program.h"

#include <linux/filter.h>

#include <cstddef>
#include <limits>

namespace vessel::host::cgroup {

namespace {

// The registers the program keeps the access in while it walks the rules (r1 is the context).
constexpr uint8_t kVerdict = BPF_REG_0;
constexpr uint8_t kContext = BPF_REG_1;
constexpr uint8_t kPending = BPF_REG_2;  // the access bits no rule has allowed yet
constexpr uint8_t kType = BPF_REG_3;
constexpr uint8_t kMajor = BPF_REG_4;
constexpr uint8_t kMinor = BPF_REG_5;

constexpr uint32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

bpf_insn instruction(uint8_t code, uint8_t dst, uint8_t src, int16_t offset, int32_t imm) {
    bpf_insn insn{};
    insn.code = code;
    insn.dst_reg = dst & 0xf;
    insn.src_reg = src & 0xf;
    insn.off = offset;
    insn.imm = imm;
    return insn;
}

bpf_insn load_u32(uint8_t dst, uint8_t base, int16_t offset) {
    return instruction(BPF_LDX | BPF_MEM | BPF_W, dst, base, offset, 0);
}
bpf_insn alu_imm(uint8_t op, uint8_t dst, int32_t imm) {
    return instruction(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn move_reg(uint8_t dst, uint8_t src) {
    return instruction(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
void append_return(std::vector<bpf_insn>& code, int32_t verdict) {
    code.push_back(alu_imm(BPF_MOV, kVerdict, verdict));
    code.push_back(instruction(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

// One rule's instructions. A test that fails jumps past the block to the next (earlier) rule;
// those jumps are written with offset 0 and patched once the block's length is known.
class RuleBlock {
  public:
    void skip_unless_equal(uint8_t reg, int32_t value) {
        jumps_.push_back(code_.size());
        code_.push_back(instruction(BPF_JMP | BPF_JNE | BPF_K, reg, 0, 0, value));
    }
    void skip_if_zero(uint8_t reg) {
        jumps_.push_back(code_.size());
        code_.push_back(instruction(BPF_JMP | BPF_JEQ | BPF_K, reg, 0, 0, 0));
    }
    void skip_unless_zero(uint8_t reg) {
        jumps_.push_back(code_.size());
        code_.push_back(instruction(BPF_JMP | BPF_JNE | BPF_K, reg, 0, 0, 0));
    }
    void add(bpf_insn insn) { code_.push_back(insn); }
    void finish(int32_t verdict) { append_return(code_, verdict); }

    void append_to(std::vector<bpf_insn>& program) {
        for (size_t jump : jumps_)
            code_[jump].off = static_cast<int16_t>(code_.size() - jump - 1);
        program.insert(program.end(), code_.begin(), code_.end());
    }

  private:
    std::vector<bpf_insn> code_;
    std::vector<size_t> jumps_;
};

std::string describe(const DeviceRule& rule) {
    auto number = [](const std::optional<int64_t>& n) {
        return n ? std::to_string(*n) : std::string("*");
    };
    return fmt::format("{} {} {}:{} {}", rule.allow ? "allow" : "deny", rule.type,
                       number(rule.major), number(rule.minor), rule.access);
}

// The context's major and minor are u32 and a jump compares with a sign-extended 32-bit
// immediate: numbers beyond 2^31-1 cannot be matched (and no device has them).
Result<int32_t> device_number(const DeviceRule& rule, int64_t value, const char* what) {
    if (value < 0 || value > std::numeric_limits<int32_t>::max())
        return fail("device rule \"{}\": the {} number must be between 0 and {}", describe(rule),
                    what, std::numeric_limits<int32_t>::max());
    return static_cast<int32_t>(value);
}

}  // namespace

uint32_t device_type_bits(char type) {
    if (type == 'b') return BPF_DEVCG_DEV_BLOCK;
    if (type == 'c') return BPF_DEVCG_DEV_CHAR;
    return 0;
}

uint32_t device_access_bits(std::string_view access) {
    uint32_t bits = 0;
    for (char letter : access) {
        if (letter == 'r') bits |= BPF_DEVCG_ACC_READ;
        if (letter == 'w') bits |= BPF_DEVCG_ACC_WRITE;
        if (letter == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
    }
    return bits;
}

Result<std::vector<bpf_insn>> device_program(const std::vector<DeviceRule>& rules) {
    std::vector<bpf_insn> program = {
        load_u32(kPending, kContext, offsetof(bpf_cgroup_dev_ctx, access_type)),
        move_reg(kType, kPending),
        alu_imm(BPF_AND, kType, 0xffff),
        alu_imm(BPF_RSH, kPending, 16),
        load_u32(kMajor, kContext, offsetof(bpf_cgroup_dev_ctx, major)),
        load_u32(kMinor, kContext, offsetof(bpf_cgroup_dev_ctx, minor)),
    };
    // Last rule first: the first block that decides is the last rule that matches.
    for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
        const DeviceRule& rule = *it;
        uint32_t access = device_access_bits(rule.access);
        if (access == 0) continue;  // matches no access
        // A rule for every access decides all that reach it: the earlier rules and the final
        // deny would be dead code, which the verifier refuses.
        bool decides_all = rule.type == 'a' && !rule.major && !rule.minor && access == kAllAccess;
        RuleBlock block;
        if (uint32_t type = device_type_bits(rule.type)) block.skip_unless_equal(kType, type);
        if (rule.major)
            block.skip_unless_equal(kMajor, TRY(device_number(rule, *rule.major, "major")));
        if (rule.minor)
            block.skip_unless_equal(kMinor, TRY(device_number(rule, *rule.minor, "minor")));
        if (access != kAllAccess) {
            // The rule speaks only for the bits it names: an access without any of them is left
            // to an earlier rule.
            block.add(move_reg(kVerdict, kPending));
            block.add(alu_imm(BPF_AND, kVerdict, static_cast<int32_t>(access)));
            block.skip_if_zero(kVerdict);
        }
        if (!rule.allow) {
            block.finish(0);
        } else if (access == kAllAccess) {
            block.finish(1);
        } else {
            // Allowed bits are settled; the rest are still up to earlier rules.
            block.add(alu_imm(BPF_AND, kPending, static_cast<int32_t>(kAllAccess & ~access)));
            block.skip_unless_zero(kPending);
            block.finish(1);
        }
        block.append_to(program);
        if (decides_all) return program;
    }
    append_return(program, 0);
    return program;
}

}  // namespace vessel::host::cgroup
