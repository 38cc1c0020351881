#include "vm/riscv_virt/plic.h"

namespace vessel::riscv_virt {

namespace {
constexpr uint64_t kPendingBase = 0x1000;
constexpr uint64_t kEnableBase = 0x2000;
constexpr uint64_t kEnableStride = 0x80;
constexpr uint64_t kContextBase = 0x200000;
constexpr uint64_t kContextStride = 0x1000;

bool test(const auto& bits, unsigned source) {
    return (bits[source / 32] >> (source % 32)) & 1;
}
void assign(auto& bits, unsigned source, bool value) {
    uint32_t mask = uint32_t{1} << (source % 32);
    bits[source / 32] = value ? bits[source / 32] | mask : bits[source / 32] & ~mask;
}
}  // namespace

Plic::Plic(std::span<riscv::Hart* const> harts) : harts_(harts), contexts_(2 * harts.size()) {
    lines_.resize(kSources);
}

vm::InterruptLine& Plic::line(unsigned source) {
    std::lock_guard lock(mutex_);
    source %= kSources;
    if (!lines_[source]) lines_[source] = std::make_unique<SourceLine>(*this, source);
    return *lines_[source];
}

void Plic::set_source_level(unsigned source, bool asserted) {
    if (source == 0 || source >= kSources) return;
    std::lock_guard lock(mutex_);
    assign(level_, source, asserted);
    // Level-triggered gateway: a raised line becomes pending unless it is being serviced; a
    // lowered line withdraws a request nobody has claimed yet.
    if (!test(claimed_, source)) assign(pending_, source, asserted);
    update_outputs_locked();
}

unsigned Plic::best_pending_locked(const Context& context) const {
    unsigned best = 0;
    uint32_t best_priority = context.threshold;
    for (unsigned word = 0; word < kWords; ++word) {
        uint32_t candidates = pending_[word] & context.enable[word];
        while (candidates) {
            unsigned source = word * 32 + static_cast<unsigned>(__builtin_ctz(candidates));
            candidates &= candidates - 1;
            if (priority_[source] > best_priority) {
                best = source;
                best_priority = priority_[source];
            }
        }
    }
    return best;
}

uint32_t Plic::claim_locked(unsigned context_index) {
    unsigned source = best_pending_locked(contexts_[context_index]);
    if (source) {
        assign(pending_, source, false);
        assign(claimed_, source, true);
        update_outputs_locked();
    }
    return source;
}

void Plic::update_outputs_locked() {
    for (unsigned index = 0; index < contexts_.size(); ++index) {
        Context& context = contexts_[index];
        bool output = best_pending_locked(context) != 0;
        if (output == context.output) continue;
        context.output = output;
        harts_[index / 2]->set_interrupt_line(index % 2 ? riscv::irq::sei : riscv::irq::mei,
                                              output);
    }
}

uint32_t Plic::read_word_locked(uint64_t offset) {
    if (offset < kPendingBase) {
        unsigned source = static_cast<unsigned>(offset / 4);
        return source < kSources ? priority_[source] : 0;
    }
    if (offset < kEnableBase) {
        uint64_t word = (offset - kPendingBase) / 4;
        return word < kWords ? pending_[word] : 0;
    }
    if (offset < kContextBase) {
        uint64_t index = (offset - kEnableBase) / kEnableStride;
        uint64_t word = (offset - kEnableBase) % kEnableStride / 4;
        if (index >= contexts_.size() || word >= kWords) return 0;
        return contexts_[index].enable[word];
    }
    uint64_t index = (offset - kContextBase) / kContextStride;
    uint64_t reg = (offset - kContextBase) % kContextStride;
    if (index >= contexts_.size()) return 0;
    if (reg == 0) return contexts_[index].threshold;
    if (reg == 4) return claim_locked(static_cast<unsigned>(index));
    return 0;
}

void Plic::write_word_locked(uint64_t offset, uint32_t value) {
    if (offset < kPendingBase) {
        unsigned source = static_cast<unsigned>(offset / 4);
        if (source != 0 && source < kSources) priority_[source] = value & 7;
    } else if (offset < kEnableBase) {
        return;  // pending bits are read-only
    } else if (offset < kContextBase) {
        uint64_t index = (offset - kEnableBase) / kEnableStride;
        uint64_t word = (offset - kEnableBase) % kEnableStride / 4;
        if (index >= contexts_.size() || word >= kWords) return;
        contexts_[index].enable[word] = word == 0 ? value & ~1u : value;
    } else {
        uint64_t index = (offset - kContextBase) / kContextStride;
        uint64_t reg = (offset - kContextBase) % kContextStride;
        if (index >= contexts_.size()) return;
        if (reg == 0) {
            contexts_[index].threshold = value & 7;
        } else if (reg == 4) {
            // Complete: the source may interrupt again; if its line is still up it is pending.
            if (value == 0 || value >= kSources || !test(claimed_, value)) return;
            assign(claimed_, value, false);
            if (test(level_, value)) assign(pending_, value, true);
        } else {
            return;
        }
    }
    update_outputs_locked();
}

uint64_t Plic::read(uint64_t offset, unsigned size) {
    if (size != 4 || offset % 4) return 0;
    std::lock_guard lock(mutex_);
    return read_word_locked(offset);
}

void Plic::write(uint64_t offset, unsigned size, uint64_t value) {
    if (size != 4 || offset % 4) return;
    std::lock_guard lock(mutex_);
    write_word_locked(offset, static_cast<uint32_t>(value));
}

}  // namespace vessel::riscv_virt
