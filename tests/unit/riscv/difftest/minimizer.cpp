#include "minimizer.h"

#include <algorithm>
#include <cstring>

#include "encoding.h"

namespace vessel::riscv::difftest {

namespace {

bool is_nop(const Program& program, uint32_t offset) {
    uint32_t encoding = 0;
    unsigned length = (program.body[offset] & 3) == 3 ? 4 : 2;
    std::memcpy(&encoding, program.body.data() + offset, length);
    return encoding == enc::kNop || encoding == enc::kCNop;
}

Program without(const Program& program, const std::vector<uint32_t>& offsets) {
    Program reduced = program;
    for (uint32_t offset : offsets) {
        if ((reduced.body[offset] & 3) == 3) {
            uint32_t nop = enc::kNop;
            std::memcpy(reduced.body.data() + offset, &nop, 4);
        } else {
            uint16_t nop = enc::kCNop;
            std::memcpy(reduced.body.data() + offset, &nop, 2);
        }
    }
    return reduced;
}

}  // namespace

Program minimize(const Program& program, const std::function<bool(const Program&)>& fails) {
    Program current = program;
    std::vector<uint32_t> live;
    for (uint32_t offset : program.instructions)
        if (offset < program.finish_offset && !is_nop(program, offset)) live.push_back(offset);
    // ddmin: try dropping ever smaller chunks; keep every drop after which it still fails.
    size_t chunks = 2;
    while (!live.empty()) {
        size_t chunk = (live.size() + chunks - 1) / chunks;
        bool dropped = false;
        for (size_t start = 0; start < live.size(); start += chunk) {
            std::vector<uint32_t> drop(
                live.begin() + static_cast<ptrdiff_t>(start),
                live.begin() + static_cast<ptrdiff_t>(std::min(start + chunk, live.size())));
            Program candidate = without(current, drop);
            if (!fails(candidate)) continue;
            current = std::move(candidate);
            std::vector<uint32_t> rest;
            std::set_difference(live.begin(), live.end(), drop.begin(), drop.end(),
                                std::back_inserter(rest));
            live = std::move(rest);
            chunks = std::max<size_t>(chunks - 1, 2);
            dropped = true;
            break;
        }
        if (dropped) continue;
        if (chunk == 1) break;
        chunks = std::min(chunks * 2, live.size());
    }
    return current;
}

}  // namespace vessel::riscv::difftest
