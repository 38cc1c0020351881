// Code every block of a translator shares: the slow paths' thunks and the exits' tails.
#include <iterator>

#include "vm/riscv/jit/block_compiler.h"
#include "vm/riscv/jit/compiler.h"

namespace vessel::riscv::jit {

Result<size_t> emit_shared_code(const HartLayout& layout, Helpers& helpers, CodeBuffer& buffer) {
    try {
        using namespace Xbyak::util;
        Xbyak::CodeGenerator gen(buffer.free_bytes(), buffer.write_cursor());
        const uint8_t* const base = buffer.exec_cursor();
        // A slow path's call. The caller-saved registers that hold guest registers are kept on
        // the stack; the block's stack is 16-byte aligned, so after the return address and six
        // pushes an eight-byte pad aligns it again for the helper.
        static const Xbyak::Reg64* const kKept[] = {&rsi, &rdi, &r8, &r9, &r10, &r11};
        auto slow_path = [&](const void* helper, unsigned size, bool load) {
            gen.mov(gen.qword[rbx + layout.pc], rdx);
            for (const Xbyak::Reg64* kept : kKept)
                gen.push(*kept);
            gen.sub(rsp, 8);
            gen.stmxcsr(gen.dword[r12 + offsetof(RunState, guest_mxcsr)]);
            gen.ldmxcsr(gen.dword[r12 + offsetof(RunState, host_mxcsr)]);
            gen.mov(rdi, rbx);
            gen.mov(rsi, rax);
            gen.mov(edx, size);
            if (load) gen.lea(rcx, gen.ptr[r12 + offsetof(RunState, slow_value)]);
            gen.mov(rax, reinterpret_cast<uintptr_t>(helper));
            gen.call(rax);
            gen.ldmxcsr(gen.dword[r12 + offsetof(RunState, guest_mxcsr)]);
            gen.add(rsp, 8);
            for (auto kept = std::rbegin(kKept); kept != std::rend(kKept); ++kept)
                gen.pop(**kept);
            gen.ret();
        };
        size_t load_at[4], store_at[4];
        for (unsigned log2 = 0; log2 < 4; ++log2) {
            load_at[log2] = gen.getSize();
            slow_path(helpers.load_slow, 1u << log2, true);
            store_at[log2] = gen.getSize();
            slow_path(helpers.store_slow, 1u << log2, false);
        }
        const size_t fetch_at = gen.getSize();
        slow_path(helpers.fetch_slow, 0, false);
        const size_t leave_at = gen.getSize();
        gen.mov(gen.qword[rbx + layout.pc], rax);
        gen.ret();
        size_t link_at[2];
        for (unsigned cross_page = 0; cross_page < 2; ++cross_page) {
            link_at[cross_page] = gen.getSize();
            gen.mov(gen.qword[rbx + layout.pc], rax);
            gen.mov(gen.qword[r12 + offsetof(RunState, link_site)], rcx);
            gen.mov(gen.byte[r12 + offsetof(RunState, link_cross_page)], cross_page);
            gen.ret();
        }
        for (unsigned log2 = 0; log2 < 4; ++log2) {
            helpers.load_thunk[log2] = base + load_at[log2];
            helpers.store_thunk[log2] = base + store_at[log2];
        }
        helpers.fetch_thunk = base + fetch_at;
        helpers.leave_thunk = base + leave_at;
        helpers.link_thunk[0] = base + link_at[0];
        helpers.link_thunk[1] = base + link_at[1];
        return gen.getSize();
    } catch (const Xbyak::Error& error) {
        return fail("emitting the translator's shared code: {}", error.what());
    }
}

}  // namespace vessel::riscv::jit
