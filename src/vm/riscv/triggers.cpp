#include "vm/riscv/triggers.h"

#include <algorithm>
#include <bit>

namespace vessel::riscv {

namespace {

constexpr uint64_t bit(unsigned n) {
    return uint64_t{1} << n;
}
constexpr uint64_t kEnables = TriggerModule::kLoad | TriggerModule::kStore |
                              TriggerModule::kExecute | TriggerModule::kU | TriggerModule::kS |
                              TriggerModule::kM;
constexpr uint64_t kMcontrolHit = bit(20);
constexpr uint64_t kMcontrolMaskmax = uint64_t{63} << 53;  // NAPOT ranges up to 2^63 bytes
constexpr uint64_t kMcontrol6Hit0 = bit(22), kMcontrol6Hit1 = bit(25);
constexpr uint64_t kTinfoVersion1 = uint64_t{1} << 24;

uint64_t type_of(uint64_t tdata1) {
    return tdata1 >> TriggerModule::kTypeShift;
}
bool is_match_trigger(uint64_t tdata1) {
    uint64_t type = type_of(tdata1);
    return type == TriggerModule::kTypeMcontrol || type == TriggerModule::kTypeMcontrol6;
}
unsigned action_of(uint64_t tdata1) {
    return (tdata1 >> TriggerModule::kActionShift) & 0xf;
}
unsigned match_of(uint64_t tdata1) {
    return (tdata1 >> TriggerModule::kMatchShift) & 0xf;
}
// The access-size code both types share for the sizes this hart has: 1 = 8 bits, 2 = 16, 3 = 32,
// 5 = 64; 0 matches any size.
unsigned size_code_of(uint64_t tdata1) {
    if (type_of(tdata1) == TriggerModule::kTypeMcontrol)
        return static_cast<unsigned>((((tdata1 >> 21) & 3) << 2) | ((tdata1 >> 16) & 3));
    return static_cast<unsigned>((tdata1 >> 16) & 7);
}
unsigned size_code_for(unsigned bytes) {
    switch (bytes) {
        case 1:
            return 1;
        case 2:
            return 2;
        case 4:
            return 3;
        case 8:
            return 5;
        default:
            return 0;  // unknown: only size-0 ("any") triggers match
    }
}
bool supported_match(unsigned match) {
    switch (match) {
        case TriggerModule::match_equal:
        case TriggerModule::match_napot:
        case TriggerModule::match_ge:
        case TriggerModule::match_lt:
        case TriggerModule::match_mask_low:
        case TriggerModule::match_mask_high:
        case TriggerModule::match_not_equal:
        case TriggerModule::match_not_napot:
        case TriggerModule::match_not_mask_low:
        case TriggerModule::match_not_mask_high:
            return true;
        default:
            return false;
    }
}

bool compare(unsigned match, uint64_t value, uint64_t tdata2) {
    bool result;
    switch (match & 7) {
        case TriggerModule::match_equal:
            result = value == tdata2;
            break;
        case TriggerModule::match_napot: {
            // The bits up to and including tdata2's lowest 0 are ignored.
            uint64_t ignored = tdata2 ^ (tdata2 + 1);
            result = (value & ~ignored) == (tdata2 & ~ignored);
            break;
        }
        case TriggerModule::match_ge:
            result = value >= tdata2;
            break;
        case TriggerModule::match_lt:
            result = value < tdata2;
            break;
        case TriggerModule::match_mask_low:
            result = ((value & 0xffffffff) & (tdata2 >> 32)) == (tdata2 & 0xffffffff);
            break;
        default:  // mask high
            result = ((value >> 32) & (tdata2 >> 32)) == (tdata2 & 0xffffffff);
            break;
    }
    return (match & 8) ? !result : result;
}

}  // namespace

void TriggerModule::reset(bool keep_debugger) {
    for (unsigned i = 0; i < kCount; ++i) {
        if (keep_debugger && (tdata1_[i] & kDmode)) continue;
        tdata1_[i] = kTypeDisabled << kTypeShift;
        tdata2_[i] = 0;
    }
    select_ = 0;
    recompute_summary();
}

void TriggerModule::write_tselect(uint64_t value) {
    // WARL: an index past the last trigger leaves tselect as it was, so reading it back tells
    // software how many triggers there are.
    if (value < kCount) select_ = value;
}

uint64_t TriggerModule::tinfo() const {
    return kTinfoVersion1 | bit(kTypeMcontrol) | bit(kTypeMcontrol6) | bit(kTypeDisabled);
}

uint64_t TriggerModule::tdata1_at(unsigned index) const {
    return index < kCount ? tdata1_[index] : 0;
}

uint64_t TriggerModule::tdata2_at(unsigned index) const {
    return index < kCount ? tdata2_[index] : 0;
}

uint64_t TriggerModule::legalize_tdata1(unsigned index, uint64_t value, Writer writer) const {
    uint64_t type = type_of(value);
    uint64_t dmode = writer == Writer::debugger ? (value & kDmode) : 0;
    // Writing 0, or a type this trigger cannot be, disables it.
    if (type != kTypeMcontrol && type != kTypeMcontrol6)
        return (kTypeDisabled << kTypeShift) | dmode;
    uint64_t action = action_of(value);
    // Only a debugger's trigger may enter Debug Mode; trace and external actions do not exist.
    if (action != kActionBreakpoint && !(action == kActionDebugger && dmode))
        action = kActionBreakpoint;
    uint64_t chain = value & kChain;
    // The last trigger has nothing to chain to, and a guest's chain must not reach into a
    // debugger's trigger.
    if (index + 1 == kCount || (!dmode && (tdata1_[index + 1] & kDmode))) chain = 0;
    uint64_t match = match_of(value);
    if (!supported_match(static_cast<unsigned>(match))) match = match_equal;
    uint64_t size = size_code_of(value);
    if (size != 0 && size != 1 && size != 2 && size != 3 && size != 5) size = 0;
    // select (data matching) and timing (after) are hard-wired 0: address matches, before.
    uint64_t common = (type << kTypeShift) | dmode | (action << kActionShift) | chain |
                      (match << kMatchShift) | (value & kEnables);
    if (type == kTypeMcontrol)
        return common | kMcontrolMaskmax | ((size >> 2) << 21) | (value & kMcontrolHit) |
               ((size & 3) << 16);
    return common | (value & (kMcontrol6Hit0 | kMcontrol6Hit1)) | (size << 16);
}

void TriggerModule::write_tdata1_at(unsigned index, uint64_t value, Writer writer) {
    if (index >= kCount) return;
    // A debugger's trigger is out of M-mode's reach.
    if (writer == Writer::machine && (tdata1_[index] & kDmode)) return;
    // A debugger must not take over the end of a chain M-mode started (the spec: ignore it).
    if ((value & kDmode) && index > 0 && (tdata1_[index - 1] & (kDmode | kChain)) == kChain) return;
    tdata1_[index] = legalize_tdata1(index, value, writer);
    recompute_summary();
}

void TriggerModule::write_tdata2_at(unsigned index, uint64_t value, Writer writer) {
    if (index >= kCount) return;
    if (writer == Writer::machine && (tdata1_[index] & kDmode)) return;
    // mcontrol6 NAPOT: all ones in bits maskmax6-1:0 clears bit maskmax6-1, which is how software
    // finds maskmax6 (here 63).
    uint64_t tdata1 = tdata1_[index];
    constexpr uint64_t kLow63 = ~uint64_t{0} >> 1;
    unsigned match = match_of(tdata1);
    if (type_of(tdata1) == kTypeMcontrol6 && (match == match_napot || match == match_not_napot) &&
        (value & kLow63) == kLow63)
        value &= ~bit(62);
    tdata2_[index] = value;
}

void TriggerModule::recompute_summary() {
    watches_execute_ = watches_data_ = false;
    for (uint64_t tdata1 : tdata1_) {
        if (!is_match_trigger(tdata1) || !(tdata1 & (kM | kS | kU))) continue;
        if (tdata1 & kExecute) watches_execute_ = true;
        if (tdata1 & (kLoad | kStore)) watches_data_ = true;
    }
}

unsigned TriggerModule::matched_bytes(unsigned index, Access access, uint64_t address,
                                      unsigned size, Priv priv) const {
    uint64_t tdata1 = tdata1_[index];
    if (!is_match_trigger(tdata1)) return 0;
    uint64_t wanted_access = access == Access::fetch  ? kExecute
                             : access == Access::load ? kLoad
                                                      : kStore;
    uint64_t wanted_priv = priv == Priv::machine ? kM : priv == Priv::supervisor ? kS : kU;
    if (!(tdata1 & wanted_access) || !(tdata1 & wanted_priv)) return 0;
    unsigned size_code = size_code_of(tdata1);
    if (size_code != 0 && size_code != size_code_for(size)) return 0;
    // Compare values: an instruction's address; every byte a load or store touches.
    unsigned values = access == Access::fetch ? 1 : std::clamp(size, 1u, 8u);
    unsigned match = match_of(tdata1);
    unsigned mask = 0;
    for (unsigned k = 0; k < values; ++k)
        if (compare(match, address + k, tdata2_[index])) mask |= 1u << k;
    return mask;
}

std::optional<TriggerModule::Hit> TriggerModule::match(Access access, uint64_t address,
                                                       unsigned size, Priv priv,
                                                       bool native_enabled) {
    std::optional<Hit> result;
    unsigned index = 0;
    while (index < kCount) {
        // One chain: triggers with chain=1, then the one that ends it and whose action counts.
        unsigned first = index;
        while (index + 1 < kCount && (tdata1_[index] & kChain))
            ++index;
        unsigned last = index++;
        if (!is_match_trigger(tdata1_[last])) continue;
        unsigned action = action_of(tdata1_[last]);
        if (action == kActionBreakpoint && !native_enabled) continue;
        unsigned common = 0xff, last_mask = 0;
        bool all = true;
        for (unsigned i = first; i <= last && all; ++i) {
            last_mask = matched_bytes(i, access, address, size, priv);
            all = last_mask != 0;
            common &= last_mask;
        }
        if (!all) continue;
        // The byte every trigger of the chain matched, else one the last one did.
        uint64_t matched = address + std::countr_zero(common ? common : last_mask);
        for (unsigned i = first; i <= last; ++i) {
            if (type_of(tdata1_[i]) == kTypeMcontrol)
                tdata1_[i] |= kMcontrolHit;
            else
                tdata1_[i] = (tdata1_[i] & ~kMcontrol6Hit1) | kMcontrol6Hit0;  // 1: before
        }
        if (!result || (action == kActionDebugger && result->action != kActionDebugger))
            result = Hit{action, matched};
    }
    return result;
}

}  // namespace vessel::riscv
