#include "vm/riscv_virt/device_tree.h"

#include <sys/random.h>

extern "C" {
#include <libfdt.h>
}

#include <array>
#include <cerrno>
#include <span>

#include <fmt/format.h>

#include "vm/riscv/clock.h"
#include "vm/riscv_virt/clint.h"
#include "vm/riscv_virt/plic.h"
#include "vm/riscv_virt/test_finisher.h"

namespace vessel::riscv_virt {

namespace {

constexpr uint64_t kUartBase = 0x10000000;
constexpr uint32_t kUartIrq = 10;
constexpr uint32_t kUartClock = 3686400;
// Phandles: one per hart interrupt controller (1..N), then the devices.
constexpr uint32_t kPlicPhandle = 0x100;
constexpr uint32_t kTestPhandle = 0x101;

// libfdt's sequential writer: every call returns a negative error; collect the first one.
class Writer {
  public:
    explicit Writer(std::vector<uint8_t>& blob) : blob_(blob) {
        check(fdt_create(blob_.data(), static_cast<int>(blob_.size())));
        check(fdt_finish_reservemap(blob_.data()));
    }
    void begin(const std::string& name) { check(fdt_begin_node(blob_.data(), name.c_str())); }
    void end() { check(fdt_end_node(blob_.data())); }
    void prop(const char* name, const std::string& value) {
        check(fdt_property_string(blob_.data(), name, value.c_str()));
    }
    void prop_u32(const char* name, uint32_t value) {
        check(fdt_property_u32(blob_.data(), name, value));
    }
    void prop_cells(const char* name, const std::vector<uint32_t>& cells) {
        std::vector<fdt32_t> big;
        for (uint32_t cell : cells)
            big.push_back(cpu_to_fdt32(cell));
        check(fdt_property(blob_.data(), name, big.data(),
                           static_cast<int>(big.size() * sizeof(fdt32_t))));
    }
    void prop_strings(const char* name, const std::vector<std::string>& values) {
        std::string joined;
        for (const std::string& value : values)
            joined.append(value).push_back('\0');
        check(fdt_property(blob_.data(), name, joined.data(), static_cast<int>(joined.size())));
    }
    void prop_empty(const char* name) { check(fdt_property(blob_.data(), name, nullptr, 0)); }
    void prop_bytes(const char* name, std::span<const uint8_t> bytes) {
        check(fdt_property(blob_.data(), name, bytes.data(), static_cast<int>(bytes.size())));
    }
    void reg(uint64_t base, uint64_t size) {
        prop_cells("reg", {hi(base), lo(base), hi(size), lo(size)});
    }
    Result<> finish() {
        check(fdt_finish(blob_.data()));
        if (error_ < 0) return fail("building the device tree: {}", fdt_strerror(error_));
        blob_.resize(fdt_totalsize(blob_.data()));
        return {};
    }
    static uint32_t hi(uint64_t value) { return static_cast<uint32_t>(value >> 32); }
    static uint32_t lo(uint64_t value) { return static_cast<uint32_t>(value); }

  private:
    void check(int result) {
        if (result < 0 && error_ == 0) error_ = result;
    }
    std::vector<uint8_t>& blob_;
    int error_ = 0;
};

// 64 bytes, as QEMU's virt board gives: 512 bits, twice what Linux's crng needs to initialise.
constexpr size_t kRngSeedBytes = 64;

Result<std::array<uint8_t, kRngSeedBytes>> host_random_seed() {
    std::array<uint8_t, kRngSeedBytes> seed{};
    // Up to 256 bytes from an initialised pool arrive whole; EINTR only before any byte.
    for (;;) {
        ssize_t got = ::getrandom(seed.data(), seed.size(), 0);
        if (got == static_cast<ssize_t>(seed.size())) return seed;
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail_errno("getrandom for the device tree's rng-seed");
        return fail("getrandom for the device tree's rng-seed: {} of {} bytes", got, seed.size());
    }
}

}  // namespace

Result<std::vector<uint8_t>> build_device_tree(const DeviceTreeInputs& inputs) {
    auto seed = TRY(host_random_seed());
    std::vector<uint8_t> blob(64 * 1024);
    Writer fdt(blob);
    fdt.begin("");
    fdt.prop_u32("#address-cells", 2);
    fdt.prop_u32("#size-cells", 2);
    fdt.prop("compatible", "riscv-virtio");
    fdt.prop("model", "vessel,riscv-virt");

    fdt.begin("chosen");
    fdt.prop("bootargs", inputs.bootargs);
    fdt.prop("stdout-path", fmt::format("/soc/serial@{:x}", kUartBase));
    fdt.prop_bytes("rng-seed", seed);
    if (inputs.initrd_end > inputs.initrd_start) {
        fdt.prop_cells("linux,initrd-start",
                       {Writer::hi(inputs.initrd_start), Writer::lo(inputs.initrd_start)});
        fdt.prop_cells("linux,initrd-end",
                       {Writer::hi(inputs.initrd_end), Writer::lo(inputs.initrd_end)});
    }
    fdt.end();

    fdt.begin(fmt::format("memory@{:x}", inputs.ram_base));
    fdt.prop("device_type", "memory");
    fdt.reg(inputs.ram_base, inputs.ram_size);
    fdt.end();

    fdt.begin("cpus");
    fdt.prop_u32("#address-cells", 1);
    fdt.prop_u32("#size-cells", 0);
    fdt.prop_u32("timebase-frequency", static_cast<uint32_t>(riscv::Clock::kFrequency));
    for (unsigned hart = 0; hart < inputs.harts; ++hart) {
        fdt.begin(fmt::format("cpu@{}", hart));
        fdt.prop("device_type", "cpu");
        fdt.prop_u32("reg", hart);
        fdt.prop("status", "okay");
        fdt.prop("compatible", "riscv");
        fdt.prop("riscv,isa", kRiscvIsa);
        fdt.prop("riscv,isa-base", "rv64i");
        fdt.prop_strings("riscv,isa-extensions",
                         {"i", "m", "a", "f", "d", "c", "zicsr", "zifencei", "zicntr", "sstc"});
        fdt.prop("mmu-type", "riscv,sv48");
        fdt.begin("interrupt-controller");
        fdt.prop_u32("#interrupt-cells", 1);
        fdt.prop_empty("interrupt-controller");
        fdt.prop("compatible", "riscv,cpu-intc");
        fdt.prop_u32("phandle", hart + 1);
        fdt.end();
        fdt.end();
    }
    fdt.end();

    fdt.begin("soc");
    fdt.prop_u32("#address-cells", 2);
    fdt.prop_u32("#size-cells", 2);
    fdt.prop("compatible", "simple-bus");
    fdt.prop_empty("ranges");

    // The CLINT interrupts M-mode only: an S-mode kernel with the SBI in the VMM never uses it.
    if (inputs.machine_mode_firmware) {
        fdt.begin(fmt::format("clint@{:x}", Clint::kBase));
        fdt.prop_strings("compatible", {"sifive,clint0", "riscv,clint0"});
        fdt.reg(Clint::kBase, Clint::kSize);
        std::vector<uint32_t> cells;
        for (unsigned hart = 0; hart < inputs.harts; ++hart)
            cells.insert(cells.end(), {hart + 1, 3, hart + 1, 7});
        fdt.prop_cells("interrupts-extended", cells);
        fdt.end();
    }

    fdt.begin(fmt::format("plic@{:x}", Plic::kBase));
    fdt.prop_u32("#address-cells", 0);
    fdt.prop_u32("#interrupt-cells", 1);
    fdt.prop_empty("interrupt-controller");
    fdt.prop_strings("compatible", {"sifive,plic-1.0.0", "riscv,plic0"});
    fdt.prop_u32("riscv,ndev", Plic::kSources - 1);
    fdt.reg(Plic::kBase, Plic::kSize);
    std::vector<uint32_t> contexts;
    for (unsigned hart = 0; hart < inputs.harts; ++hart) {
        // Context 2h is M-mode (MEIP, 11), 2h + 1 S-mode (SEIP, 9); an S-mode kernel skips the
        // contexts wired to the M-external line, so the numbering stays the hardware's.
        contexts.insert(contexts.end(), {hart + 1, 11, hart + 1, 9});
    }
    fdt.prop_cells("interrupts-extended", contexts);
    fdt.prop_u32("phandle", kPlicPhandle);
    fdt.end();

    fdt.begin(fmt::format("serial@{:x}", kUartBase));
    fdt.prop("compatible", "ns16550a");
    fdt.reg(kUartBase, 0x100);
    fdt.prop_u32("clock-frequency", kUartClock);
    fdt.prop_u32("interrupt-parent", kPlicPhandle);
    fdt.prop_u32("interrupts", kUartIrq);
    fdt.end();

    for (const auto& node : inputs.virtio) {
        fdt.begin(fmt::format("virtio_mmio@{:x}", node.base));
        fdt.prop("compatible", "virtio,mmio");
        fdt.reg(node.base, kVirtioWindow);
        fdt.prop_u32("interrupt-parent", kPlicPhandle);
        fdt.prop_u32("interrupts", node.irq);
        fdt.end();
    }

    fdt.begin(fmt::format("test@{:x}", TestFinisher::kBase));
    fdt.prop_strings("compatible", {"sifive,test1", "sifive,test0", "syscon"});
    fdt.reg(TestFinisher::kBase, 0x1000);
    fdt.prop_u32("phandle", kTestPhandle);
    fdt.end();
    fdt.end();  // soc

    fdt.begin("poweroff");
    fdt.prop("compatible", "syscon-poweroff");
    fdt.prop_u32("regmap", kTestPhandle);
    fdt.prop_u32("offset", 0);
    fdt.prop_u32("value", 0x5555);
    fdt.end();
    fdt.begin("reboot");
    fdt.prop("compatible", "syscon-reboot");
    fdt.prop_u32("regmap", kTestPhandle);
    fdt.prop_u32("offset", 0);
    fdt.prop_u32("value", 0x7777);
    fdt.end();

    fdt.end();  // root
    TRY(fdt.finish());
    return blob;
}

}  // namespace vessel::riscv_virt
