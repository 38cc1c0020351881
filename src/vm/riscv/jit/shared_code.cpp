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
        size_t second_way_at[2];
        const int32_t tlbs[2] = {layout.tlb_load, layout.tlb_store};
        for (unsigned store = 0; store < 2; ++store) {
            second_way_at[store] = gen.getSize();
            const int32_t way0 = tlbs[store], way1 = tlbs[store] + layout.tlb_way_bytes;
            Xbyak::Label done;
            gen.cmp(rdx, gen.qword[rbx + rcx + way1]);
            gen.jne(done);
            // xmm0 and xmm1 hold nothing across instructions of translated code.
            for (int32_t half = 0; half < layout.tlb_entry_size; half += 16) {
                gen.movdqu(xmm0, gen.ptr[rbx + rcx + way0 + half]);
                gen.movdqu(xmm1, gen.ptr[rbx + rcx + way1 + half]);
                gen.movdqu(gen.ptr[rbx + rcx + way0 + half], xmm1);
                gen.movdqu(gen.ptr[rbx + rcx + way1 + half], xmm0);
            }
            gen.cmp(eax, eax);  // ZF: found
            gen.L(done);
            gen.ret();
        }
        for (unsigned store = 0; store < 2; ++store)
            helpers.tlb_second_way[store] = base + second_way_at[store];
        // The probe thunks. The stack is 8 mod 16 at their entry, as at the slow-path thunks',
        // which they call with one 8-byte pad.
        auto call_rel = [&](const uint8_t* target) {
            gen.db(0xe8);
            gen.dd(static_cast<uint32_t>(target - (base + gen.getSize() + 4)));
        };
        // rax's set offset into rcx and the tag of its access's last byte into rdx; on to `hit`
        // when either way holds it (way 1 swapped into way 0), else to `miss`.
        auto probe = [&](unsigned size, bool store, Xbyak::Label& hit, Xbyak::Label& miss) {
            gen.mov(ecx, eax);
            gen.shr(ecx, 7);
            gen.and_(ecx, (layout.tlb_sets - 1) << 5);
            gen.lea(rdx, gen.ptr[rax + (size - 1)]);
            gen.and_(rdx, -4096);
            gen.or_(rdx, gen.qword[rbx + layout.data_key]);
            gen.cmp(rdx, gen.qword[rbx + rcx + tlbs[store]]);
            gen.je(hit);
            call_rel(base + second_way_at[store]);
            gen.jne(miss);
            gen.L(hit);
        };
        size_t load_probe_at[4], store_probe_at[4];
        for (unsigned log2 = 0; log2 < 4; ++log2) {
            const unsigned size = 1u << log2;
            Xbyak::Label hit, miss;
            load_probe_at[log2] = gen.getSize();
            gen.push(rdx);
            probe(size, false, hit, miss);
            gen.mov(rdx, gen.qword[rbx + rcx + layout.tlb_load + layout.tlb_addend]);
            gen.add(rdx, rax);
            gen.add(rsp, 8);
            gen.mov(al, 1);
            gen.ret();
            gen.L(miss);
            gen.pop(rdx);
            gen.sub(rsp, 8);
            call_rel(base + load_at[log2]);
            gen.add(rsp, 8);
            gen.lea(rdx, gen.ptr[r12 + offsetof(RunState, slow_value)]);
            gen.ret();
        }
        for (unsigned log2 = 0; log2 < 4; ++log2) {
            const unsigned size = 1u << log2;
            Xbyak::Label hit, miss;
            store_probe_at[log2] = gen.getSize();
            gen.push(rdx);
            gen.push(rcx);
            probe(size, true, hit, miss);
            // A page holding code: the slow path tells every cache.
            gen.mov(rdx, gen.qword[rbx + rcx + layout.tlb_store + layout.tlb_code_flag]);
            gen.cmp(gen.byte[rdx], 0);
            gen.jne(miss);
            gen.mov(rdx, gen.qword[rbx + rcx + layout.tlb_store + layout.tlb_addend]);
            gen.pop(rcx);
            gen.add(rsp, 8);
            const Xbyak::Reg value = log2 == 0   ? Xbyak::Reg(cl)
                                     : log2 == 1 ? Xbyak::Reg(cx)
                                     : log2 == 2 ? Xbyak::Reg(ecx)
                                                 : Xbyak::Reg(rcx);
            gen.mov(gen.ptr[rax + rdx], value);
            gen.mov(al, 1);
            gen.ret();
            gen.L(miss);
            gen.pop(rcx);
            gen.pop(rdx);
            gen.sub(rsp, 8);
            call_rel(base + store_at[log2]);
            gen.add(rsp, 8);
            gen.ret();
        }
        for (unsigned log2 = 0; log2 < 4; ++log2) {
            helpers.load_probe_thunk[log2] = base + load_probe_at[log2];
            helpers.store_probe_thunk[log2] = base + store_probe_at[log2];
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
