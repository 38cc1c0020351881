// A small RV64GC assembler for generated test programs: instructions appended at a known address,
// forward and backward labels for branches, jumps and pc-relative addresses, and `li` of any
// 64-bit constant. Fixups are resolved by finish(), which fails loudly on an out-of-range one: a
// generator bug, never something to paper over.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vessel::riscv::difftest {

class Assembler {
  public:
    struct Label {
        unsigned id = ~0u;
    };

    explicit Assembler(uint64_t base) : base_(base) {}

    uint64_t here() const { return base_ + bytes_.size(); }
    size_t size() const { return bytes_.size(); }
    const std::vector<uint8_t>& bytes() const { return bytes_; }
    // Offsets of every instruction emitted, in order (the minimizer replaces them one by one).
    const std::vector<uint32_t>& instruction_offsets() const { return starts_; }

    void word(uint32_t instruction);
    void half(uint16_t instruction);
    // A 16-bit or 32-bit instruction by its low bits.
    void instruction(uint32_t encoding);
    // Pads with c.nop to a multiple of `alignment` bytes.
    void align(unsigned alignment);

    Label new_label();
    void bind(Label label);
    uint64_t address(Label label) const;  // bound labels only

    // funct3 as in enc::branch.
    void branch(uint32_t funct3, unsigned rs1, unsigned rs2, Label target);
    void jal(unsigned rd, Label target);
    void c_j(Label target);
    void c_branch(bool bnez, unsigned rs1p, Label target);
    // auipc rd + addi rd: the address of `target` in the view the code runs in.
    void la(unsigned rd, Label target);
    // The shortest lui/addi(w)/slli sequence that leaves `value` in rd.
    void li(unsigned rd, int64_t value);

    // Resolves the fixups; throws std::logic_error naming one that does not fit.
    std::vector<uint8_t> finish();

  private:
    enum class Fixup { branch, jal, c_j, c_branch, la };
    struct Pending {
        Fixup kind;
        size_t offset;
        unsigned label;
    };
    void patch32(size_t offset, uint32_t value);
    uint32_t read32(size_t offset) const;

    uint64_t base_;
    std::vector<uint8_t> bytes_;
    std::vector<uint32_t> starts_;
    std::vector<int64_t> labels_;  // offset from base_, or -1 while unbound
    std::vector<Pending> pending_;
};

}  // namespace vessel::riscv::difftest
