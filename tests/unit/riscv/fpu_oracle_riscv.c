// Runs on RISC-V (qemu-riscv64 in the unit tests): reads "op rm a b c" lines (op decimal, the
// rest hex), executes the F/D instruction with frm = rm and fflags cleared, and prints
// "result fflags" in hex. The unit test compares each line with the library.
#include <stdint.h>
#include <stdio.h>

#define SETUP(rm) asm volatile("fsrm %0\n\tfsflags zero" : : "r"(rm))
#define FLAGS(f) asm volatile("frflags %0" : "=r"(f))

// Single operands enter with fmv.w.x, which NaN-boxes them.
#define BIN_S(insn)                                            \
    asm volatile("fmv.w.x ft0, %1\n\tfmv.w.x ft1, %2\n\t" insn \
                 " ft2, ft0, ft1, dyn\n\t"                     \
                 "fmv.x.w %0, ft2"                             \
                 : "=r"(r)                                     \
                 : "r"(a), "r"(b)                              \
                 : "ft0", "ft1", "ft2")
#define BIN_D(insn)                                            \
    asm volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t" insn \
                 " ft2, ft0, ft1, dyn\n\t"                     \
                 "fmv.x.d %0, ft2"                             \
                 : "=r"(r)                                     \
                 : "r"(a), "r"(b)                              \
                 : "ft0", "ft1", "ft2")
#define NORM_S(insn)                                           \
    asm volatile("fmv.w.x ft0, %1\n\tfmv.w.x ft1, %2\n\t" insn \
                 " ft2, ft0, ft1\n\t"                          \
                 "fmv.x.w %0, ft2"                             \
                 : "=r"(r)                                     \
                 : "r"(a), "r"(b)                              \
                 : "ft0", "ft1", "ft2")
#define NORM_D(insn)                                           \
    asm volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t" insn \
                 " ft2, ft0, ft1\n\t"                          \
                 "fmv.x.d %0, ft2"                             \
                 : "=r"(r)                                     \
                 : "r"(a), "r"(b)                              \
                 : "ft0", "ft1", "ft2")
#define FMA_S(insn)                                                               \
    asm volatile("fmv.w.x ft0, %1\n\tfmv.w.x ft1, %2\n\tfmv.w.x ft2, %3\n\t" insn \
                 " ft3, ft0, ft1, ft2, dyn\n\tfmv.x.w %0, ft3"                    \
                 : "=r"(r)                                                        \
                 : "r"(a), "r"(b), "r"(c)                                         \
                 : "ft0", "ft1", "ft2", "ft3")
#define FMA_D(insn)                                                               \
    asm volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\tfmv.d.x ft2, %3\n\t" insn \
                 " ft3, ft0, ft1, ft2, dyn\n\tfmv.x.d %0, ft3"                    \
                 : "=r"(r)                                                        \
                 : "r"(a), "r"(b), "r"(c)                                         \
                 : "ft0", "ft1", "ft2", "ft3")
#define CMP_S(insn)                                                            \
    asm volatile("fmv.w.x ft0, %1\n\tfmv.w.x ft1, %2\n\t" insn " %0, ft0, ft1" \
                 : "=r"(r)                                                     \
                 : "r"(a), "r"(b)                                              \
                 : "ft0", "ft1")
#define CMP_D(insn)                                                            \
    asm volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t" insn " %0, ft0, ft1" \
                 : "=r"(r)                                                     \
                 : "r"(a), "r"(b)                                              \
                 : "ft0", "ft1")
#define UN_S(insn)                                                              \
    asm volatile("fmv.w.x ft0, %1\n\t" insn " ft1, ft0, dyn\n\tfmv.x.w %0, ft1" \
                 : "=r"(r)                                                      \
                 : "r"(a)                                                       \
                 : "ft0", "ft1")
#define UN_D(insn)                                                              \
    asm volatile("fmv.d.x ft0, %1\n\t" insn " ft1, ft0, dyn\n\tfmv.x.d %0, ft1" \
                 : "=r"(r)                                                      \
                 : "r"(a)                                                       \
                 : "ft0", "ft1")
#define TO_INT_S(insn) \
    asm volatile("fmv.w.x ft0, %1\n\t" insn " %0, ft0, dyn" : "=r"(r) : "r"(a) : "ft0")
#define TO_INT_D(insn) \
    asm volatile("fmv.d.x ft0, %1\n\t" insn " %0, ft0, dyn" : "=r"(r) : "r"(a) : "ft0")
#define FROM_INT_S(insn) \
    asm volatile(insn " ft0, %1, dyn\n\tfmv.x.w %0, ft0" : "=r"(r) : "r"(a) : "ft0")
#define FROM_INT_D(insn) \
    asm volatile(insn " ft0, %1, dyn\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(a) : "ft0")
#define CLASS_S() asm volatile("fmv.w.x ft0, %1\n\tfclass.s %0, ft0" : "=r"(r) : "r"(a) : "ft0")
#define CLASS_D() asm volatile("fmv.d.x ft0, %1\n\tfclass.d %0, ft0" : "=r"(r) : "r"(a) : "ft0")

int main(void) {
    int op;
    unsigned long rm, a, b, c;
    while (scanf("%d %lx %lx %lx %lx", &op, &rm, &a, &b, &c) == 5) {
        unsigned long r = 0, f = 0;
        SETUP(rm);
        switch (op) {
            case 0:
                BIN_S("fadd.s");
                break;
            case 1:
                BIN_S("fsub.s");
                break;
            case 2:
                BIN_S("fmul.s");
                break;
            case 3:
                BIN_S("fdiv.s");
                break;
            case 4:
                UN_S("fsqrt.s");
                break;
            case 5:
                FMA_S("fmadd.s");
                break;
            case 6:
                FMA_S("fmsub.s");
                break;
            case 7:
                FMA_S("fnmsub.s");
                break;
            case 8:
                FMA_S("fnmadd.s");
                break;
            case 9:
                NORM_S("fmin.s");
                break;
            case 10:
                NORM_S("fmax.s");
                break;
            case 11:
                CMP_S("feq.s");
                break;
            case 12:
                CMP_S("flt.s");
                break;
            case 13:
                CMP_S("fle.s");
                break;
            case 14:
                CLASS_S();
                break;
            case 15:
                TO_INT_S("fcvt.w.s");
                break;
            case 16:
                TO_INT_S("fcvt.wu.s");
                break;
            case 17:
                TO_INT_S("fcvt.l.s");
                break;
            case 18:
                TO_INT_S("fcvt.lu.s");
                break;
            case 19:
                FROM_INT_S("fcvt.s.w");
                break;
            case 20:
                FROM_INT_S("fcvt.s.wu");
                break;
            case 21:
                FROM_INT_S("fcvt.s.l");
                break;
            case 22:
                FROM_INT_S("fcvt.s.lu");
                break;
            case 23:
                asm volatile("fmv.d.x ft0, %1\n\tfcvt.s.d ft1, ft0, dyn\n\tfmv.x.w %0, ft1"
                             : "=r"(r)
                             : "r"(a)
                             : "ft0", "ft1");
                break;
            case 24:
                BIN_D("fadd.d");
                break;
            case 25:
                BIN_D("fsub.d");
                break;
            case 26:
                BIN_D("fmul.d");
                break;
            case 27:
                BIN_D("fdiv.d");
                break;
            case 28:
                UN_D("fsqrt.d");
                break;
            case 29:
                FMA_D("fmadd.d");
                break;
            case 30:
                FMA_D("fmsub.d");
                break;
            case 31:
                FMA_D("fnmsub.d");
                break;
            case 32:
                FMA_D("fnmadd.d");
                break;
            case 33:
                NORM_D("fmin.d");
                break;
            case 34:
                NORM_D("fmax.d");
                break;
            case 35:
                CMP_D("feq.d");
                break;
            case 36:
                CMP_D("flt.d");
                break;
            case 37:
                CMP_D("fle.d");
                break;
            case 38:
                CLASS_D();
                break;
            case 39:
                TO_INT_D("fcvt.w.d");
                break;
            case 40:
                TO_INT_D("fcvt.wu.d");
                break;
            case 41:
                TO_INT_D("fcvt.l.d");
                break;
            case 42:
                TO_INT_D("fcvt.lu.d");
                break;
            case 43:
                asm volatile("fcvt.d.w ft0, %1\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(a) : "ft0");
                break;
            case 44:
                asm volatile("fcvt.d.wu ft0, %1\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(a) : "ft0");
                break;
            case 45:
                FROM_INT_D("fcvt.d.l");
                break;
            case 46:
                FROM_INT_D("fcvt.d.lu");
                break;
            case 47:
                asm volatile("fmv.w.x ft0, %1\n\tfcvt.d.s ft1, ft0\n\tfmv.x.d %0, ft1"
                             : "=r"(r)
                             : "r"(a)
                             : "ft0", "ft1");
                break;
            default:
                return 2;
        }
        FLAGS(f);
        printf("%lx %lx\n", r, f);
    }
    return 0;
}
