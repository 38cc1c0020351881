#include "assembler.h"

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

#include "encoding.h"

namespace vessel::riscv::difftest {

void Assembler::word(uint32_t instruction) {
    starts_.push_back(static_cast<uint32_t>(bytes_.size()));
    for (unsigned i = 0; i < 4; ++i)
        bytes_.push_back(static_cast<uint8_t>(instruction >> (8 * i)));
}

void Assembler::half(uint16_t instruction) {
    starts_.push_back(static_cast<uint32_t>(bytes_.size()));
    bytes_.push_back(static_cast<uint8_t>(instruction));
    bytes_.push_back(static_cast<uint8_t>(instruction >> 8));
}

void Assembler::instruction(uint32_t encoding) {
    if ((encoding & 3) == 3)
        word(encoding);
    else
        half(static_cast<uint16_t>(encoding));
}

void Assembler::align(unsigned alignment) {
    while (bytes_.size() % alignment)
        half(enc::kCNop);
}

Assembler::Label Assembler::new_label() {
    labels_.push_back(-1);
    return Label{static_cast<unsigned>(labels_.size() - 1)};
}

void Assembler::bind(Label label) {
    labels_.at(label.id) = static_cast<int64_t>(bytes_.size());
}

uint64_t Assembler::address(Label label) const {
    int64_t offset = labels_.at(label.id);
    if (offset < 0) throw std::logic_error("address of an unbound label");
    return base_ + static_cast<uint64_t>(offset);
}

void Assembler::branch(uint32_t funct3, unsigned rs1, unsigned rs2, Label target) {
    pending_.push_back({Fixup::branch, bytes_.size(), target.id});
    word(enc::branch(funct3, rs1, rs2, 0));
}

void Assembler::jal(unsigned rd, Label target) {
    pending_.push_back({Fixup::jal, bytes_.size(), target.id});
    word(enc::jal(rd, 0));
}

void Assembler::c_j(Label target) {
    pending_.push_back({Fixup::c_j, bytes_.size(), target.id});
    half(enc::c_j(0));
}

void Assembler::c_branch(bool bnez, unsigned rs1p, Label target) {
    pending_.push_back({Fixup::c_branch, bytes_.size(), target.id});
    half(enc::c_branch(bnez, rs1p, 0));
}

void Assembler::la(unsigned rd, Label target) {
    pending_.push_back({Fixup::la, bytes_.size(), target.id});
    word(enc::auipc(rd, 0));
    word(enc::addi(rd, rd, 0));
}

void Assembler::li(unsigned rd, int64_t value) {
    if (value >= -2048 && value < 2048) {
        word(enc::addi(rd, 0, static_cast<int32_t>(value)));
        return;
    }
    if (value >= INT32_MIN && value <= INT32_MAX) {
        auto low = static_cast<int32_t>(static_cast<uint32_t>(value) << 20) >> 20;
        auto upper = static_cast<uint32_t>(value - low);
        word(enc::lui(rd, upper));
        if (low) word(enc::addiw(rd, rd, low));
        return;
    }
    // The upper part first, then shift in twelve bits at a time (the classic recursion).
    auto low = static_cast<int32_t>(static_cast<uint64_t>(value) << 52 >> 52);
    if (low & 0x800) low -= 0x1000;
    // Two's complement wrap-around: INT64_MAX less a negative low part still yields the right
    // bits once shifted back and added (signed overflow there was UB, found by the fuzzer).
    int64_t rest = static_cast<int64_t>(static_cast<uint64_t>(value) -
                                        static_cast<uint64_t>(static_cast<int64_t>(low))) >>
                   12;
    unsigned shift = 12;
    while ((rest & 1) == 0 && shift < 52 && !(rest >= INT32_MIN && rest <= INT32_MAX)) {
        rest >>= 1;
        ++shift;
    }
    li(rd, rest);
    word(enc::slli(rd, rd, shift));
    if (low) word(enc::addi(rd, rd, low));
}

uint32_t Assembler::read32(size_t offset) const {
    uint32_t value;
    std::memcpy(&value, bytes_.data() + offset, 4);
    return value;
}

void Assembler::patch32(size_t offset, uint32_t value) {
    std::memcpy(bytes_.data() + offset, &value, 4);
}

std::vector<uint8_t> Assembler::finish() {
    for (const Pending& fixup : pending_) {
        int64_t target = labels_.at(fixup.label);
        if (target < 0) throw std::logic_error("a fixup to an unbound label");
        int64_t distance = target - static_cast<int64_t>(fixup.offset);
        auto fits = [&](int64_t limit, const char* what) {
            if (distance < -limit || distance >= limit || (distance & 1))
                throw std::logic_error(fmt::format("{} at +{:#x}: distance {} out of range", what,
                                                   fixup.offset, distance));
        };
        auto offset = static_cast<int32_t>(distance);
        uint32_t old = read32(fixup.offset);
        switch (fixup.kind) {
            case Fixup::branch:
                fits(4096, "branch");
                patch32(fixup.offset,
                        enc::branch((old >> 12) & 7, (old >> 15) & 31, (old >> 20) & 31, offset));
                break;
            case Fixup::jal:
                fits(1 << 20, "jal");
                patch32(fixup.offset, enc::jal((old >> 7) & 31, offset));
                break;
            case Fixup::c_j: {
                fits(2048, "c.j");
                uint16_t value = enc::c_j(offset);
                std::memcpy(bytes_.data() + fixup.offset, &value, 2);
                break;
            }
            case Fixup::c_branch: {
                fits(256, "c.beqz/c.bnez");
                uint16_t raw;
                std::memcpy(&raw, bytes_.data() + fixup.offset, 2);
                uint16_t value = enc::c_branch((raw >> 13) == 7, 8 + ((raw >> 7) & 7), offset);
                std::memcpy(bytes_.data() + fixup.offset, &value, 2);
                break;
            }
            case Fixup::la: {
                unsigned rd = (old >> 7) & 31;
                auto low = static_cast<int32_t>(static_cast<uint32_t>(offset) << 20) >> 20;
                patch32(fixup.offset, enc::auipc(rd, static_cast<uint32_t>(offset - low)));
                patch32(fixup.offset + 4, enc::addi(rd, rd, low));
                break;
            }
        }
    }
    pending_.clear();
    return bytes_;
}

}  // namespace vessel::riscv::difftest
