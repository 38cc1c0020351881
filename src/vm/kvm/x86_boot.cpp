#include "vm/kvm/x86_boot.h"

#include <elf.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "vm/kvm/x86_layout.h"

namespace vessel::vm::x86 {

namespace {

// Offsets in the zero page (Documentation/arch/x86/zero-page.rst) and the setup header, which
// starts at 0x1f1 both in the bzImage file and in the zero page.
constexpr size_t kZeroPageSize = 4096;
constexpr size_t kAcpiRsdpAddr = 0x070;
constexpr size_t kExtRamdiskImage = 0x0c0;
constexpr size_t kExtRamdiskSize = 0x0c4;
constexpr size_t kExtCmdLinePtr = 0x0c8;
constexpr size_t kE820Entries = 0x1e8;
constexpr size_t kSetupSects = 0x1f1;
constexpr size_t kBootFlag = 0x1fe;
constexpr size_t kJump = 0x200;
constexpr size_t kHeaderMagic = 0x202;
constexpr size_t kVersion = 0x206;
constexpr size_t kTypeOfLoader = 0x210;
constexpr size_t kLoadFlags = 0x211;
constexpr size_t kRamdiskImage = 0x218;
constexpr size_t kRamdiskSize = 0x21c;
constexpr size_t kHeapEndPtr = 0x224;
constexpr size_t kCmdLinePtr = 0x228;
constexpr size_t kInitrdAddrMax = 0x22c;
constexpr size_t kKernelAlignment = 0x230;
constexpr size_t kRelocatableKernel = 0x234;
constexpr size_t kXloadflags = 0x236;
constexpr size_t kCmdlineSize = 0x238;
constexpr size_t kPrefAddress = 0x258;
constexpr size_t kInitSize = 0x260;
constexpr size_t kE820Table = 0x2d0;
constexpr size_t kE820Max = 128;

constexpr uint16_t kMinProtocol = 0x020c;  // 2.12: xloadflags, and with it XLF_KERNEL_64
constexpr uint16_t kXlfKernel64 = 0x0001;
constexpr uint8_t kLoadedHigh = 0x01;
constexpr uint8_t kCanUseHeap = 0x80;
constexpr uint8_t kUndefinedLoader = 0xff;

template <typename T>
T get(std::span<const uint8_t> bytes, size_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

template <typename T>
void put(std::span<uint8_t> bytes, size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

uint64_t align_down(uint64_t value, uint64_t alignment) {
    return value & ~(alignment - 1);
}
uint64_t align_up(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}

uint64_t low_ram_end(const GuestMemory& memory) {
    const RamRegion* first = memory.find(0, 1);
    return first ? first->guest_base + first->size : 0;
}

Result<> place_initrd(const GuestMemory& memory, std::span<const uint8_t> initrd, uint64_t lowest,
                      uint64_t highest_end, LoadedKernel& loaded) {
    if (initrd.empty()) return {};
    uint64_t end = std::min(low_ram_end(memory), highest_end);
    if (initrd.size() > end || align_down(end - initrd.size(), 4096) < lowest)
        return fail(
            "initrd ({} bytes) does not fit in guest RAM between the kernel (ends at {:#x}) "
            "and {:#x}; give the VM more memory",
            initrd.size(), lowest, end);
    uint64_t address = align_down(end - initrd.size(), 4096);
    TRY_CTX(memory.write(address, initrd), "loading the initrd at {:#x}", address);
    loaded.initrd_address = address;
    loaded.initrd_size = initrd.size();
    return {};
}

}  // namespace

KernelFormat detect_kernel_format(std::span<const uint8_t> image) {
    if (image.size() >= kHeaderMagic + 4 &&
        std::memcmp(image.data() + kHeaderMagic, "HdrS", 4) == 0)
        return KernelFormat::bzimage;
    if (image.size() >= sizeof(Elf64_Ehdr) && std::memcmp(image.data(), ELFMAG, SELFMAG) == 0) {
        auto machine = get<uint16_t>(image, offsetof(Elf64_Ehdr, e_machine));
        if (machine == EM_X86_64 && image[EI_CLASS] == ELFCLASS64) return KernelFormat::elf64;
        if (machine == EM_RISCV) return KernelFormat::riscv;
        return KernelFormat::unknown;
    }
    // The RISC-V Image header: magic2 "RSC\x05" at 0x38.
    if (image.size() >= 0x40 && std::memcmp(image.data() + 0x38, "RSC\x05", 4) == 0)
        return KernelFormat::riscv;
    return KernelFormat::unknown;
}

Result<BzImageHeader> parse_bzimage_header(std::span<const uint8_t> image) {
    if (image.size() < kInitSize + 4)
        return fail("bzImage: file too short ({} bytes)", image.size());
    if (std::memcmp(image.data() + kHeaderMagic, "HdrS", 4) != 0)
        return fail("bzImage: no \"HdrS\" setup header");
    if (get<uint16_t>(image, kBootFlag) != 0xaa55) return fail("bzImage: boot flag is not 0xaa55");
    BzImageHeader header;
    header.protocol_version = get<uint16_t>(image, kVersion);
    if (header.protocol_version < kMinProtocol)
        return fail("bzImage: boot protocol {}.{:02} is too old (64-bit boot needs 2.12)",
                    header.protocol_version >> 8, header.protocol_version & 0xff);
    header.xloadflags = get<uint16_t>(image, kXloadflags);
    if (!(header.xloadflags & kXlfKernel64))
        return fail("bzImage: kernel has no 64-bit entry point (XLF_KERNEL_64 clear)");
    unsigned setup_sects = image[kSetupSects] ? image[kSetupSects] : 4;
    header.setup_bytes = (setup_sects + 1) * 512;
    if (header.setup_bytes >= image.size())
        return fail("bzImage: setup_sects {} points past the end of the file", setup_sects);
    // The header ends where the jump at 0x200 lands.
    if (image[kJump] != 0xeb) return fail("bzImage: no short jump at 0x200");
    header.header_end = static_cast<uint32_t>(0x202 + image[kJump + 1]);
    if (header.header_end < kInitSize + 4 || header.header_end > header.setup_bytes)
        return fail("bzImage: setup header length {:#x} is out of range", header.header_end);
    header.initrd_addr_max = get<uint32_t>(image, kInitrdAddrMax);
    header.kernel_alignment = get<uint32_t>(image, kKernelAlignment);
    header.relocatable = image[kRelocatableKernel] != 0;
    header.cmdline_size = get<uint32_t>(image, kCmdlineSize);
    header.pref_address = get<uint64_t>(image, kPrefAddress);
    header.init_size = get<uint32_t>(image, kInitSize);
    uint64_t payload = image.size() - header.setup_bytes;
    if (header.init_size < payload)
        return fail("bzImage: init_size {:#x} is smaller than the kernel itself ({:#x})",
                    header.init_size, payload);
    if (header.kernel_alignment == 0 || (header.kernel_alignment & (header.kernel_alignment - 1)))
        return fail("bzImage: kernel_alignment {:#x} is not a power of two",
                    header.kernel_alignment);
    return header;
}

std::vector<RamLayout> ram_layout_for(uint64_t bytes) {
    std::vector<RamLayout> layout;
    uint64_t low = std::min(bytes, kMmioHoleStart);
    layout.push_back({0, low});
    if (bytes > low) layout.push_back({kMmioHoleEnd, bytes - low});
    return layout;
}

std::vector<E820Entry> build_e820_map(const GuestMemory& memory) {
    std::vector<E820Entry> map;
    map.push_back({0, kEbdaStart, kE820Ram});
    map.push_back({kEbdaStart, kHighMemoryStart - kEbdaStart, kE820Reserved});
    for (const RamRegion& region : memory.regions()) {
        uint64_t start = std::max(region.guest_base, kHighMemoryStart);
        uint64_t end = region.guest_base + region.size;
        if (end > start) map.push_back({start, end - start, kE820Ram});
    }
    return map;
}

Result<ElfImage> load_elf64(const GuestMemory& memory, std::span<const uint8_t> file) {
    if (file.size() < sizeof(Elf64_Ehdr)) return fail("ELF: file too short");
    auto ehdr = get<Elf64_Ehdr>(file, 0);
    if (std::memcmp(ehdr.e_ident, ELFMAG, SELFMAG) != 0 || ehdr.e_ident[EI_CLASS] != ELFCLASS64 ||
        ehdr.e_ident[EI_DATA] != ELFDATA2LSB || ehdr.e_machine != EM_X86_64)
        return fail("ELF: not a little-endian ELF64 x86-64 file");
    if (ehdr.e_phentsize != sizeof(Elf64_Phdr) || ehdr.e_phnum == 0 || ehdr.e_phoff > file.size() ||
        uint64_t{ehdr.e_phnum} * sizeof(Elf64_Phdr) > file.size() - ehdr.e_phoff)
        return fail("ELF: program headers lie outside the file");
    ElfImage image;
    bool entry_loaded = false;
    for (unsigned i = 0; i < ehdr.e_phnum; ++i) {
        auto phdr = get<Elf64_Phdr>(file, ehdr.e_phoff + i * sizeof(Elf64_Phdr));
        if (phdr.p_type != PT_LOAD || phdr.p_memsz == 0) continue;
        if (phdr.p_filesz > phdr.p_memsz || phdr.p_offset > file.size() ||
            phdr.p_filesz > file.size() - phdr.p_offset)
            return fail("ELF: segment {} lies outside the file", i);
        if (phdr.p_paddr < kHighMemoryStart && phdr.p_paddr + phdr.p_memsz > kZeroPageAddress)
            return fail("ELF: segment {} at {:#x} overlaps the VMM's boot structures below 1 MiB",
                        i, phdr.p_paddr);
        uint8_t* host = memory.host_pointer(phdr.p_paddr, phdr.p_memsz);
        if (!host)
            return fail("ELF: segment {} ({:#x}+{:#x}) is outside guest RAM", i, phdr.p_paddr,
                        phdr.p_memsz);
        std::memcpy(host, file.data() + phdr.p_offset, phdr.p_filesz);
        std::memset(host + phdr.p_filesz, 0, phdr.p_memsz - phdr.p_filesz);
        image.end = std::max(image.end, phdr.p_paddr + phdr.p_memsz);
        if (ehdr.e_entry >= phdr.p_paddr && ehdr.e_entry < phdr.p_paddr + phdr.p_memsz)
            entry_loaded = true;
    }
    if (!entry_loaded)
        return fail("ELF: entry point {:#x} is not inside a loaded segment", ehdr.e_entry);
    image.entry = ehdr.e_entry;
    return image;
}

Result<LoadedKernel> load_linux(const GuestMemory& memory, const LinuxBootInputs& inputs) {
    std::array<uint8_t, kZeroPageSize> zero_page{};
    std::span<uint8_t> page(zero_page);
    LoadedKernel loaded;
    uint64_t initrd_max_end = kMmioHoleStart;
    uint64_t cmdline_limit = kCmdlineMax - 1;

    switch (detect_kernel_format(inputs.kernel)) {
        case KernelFormat::bzimage: {
            BzImageHeader header = TRY(parse_bzimage_header(inputs.kernel));
            std::memcpy(page.data() + kSetupSects, inputs.kernel.data() + kSetupSects,
                        header.header_end - kSetupSects);
            // Load where the kernel prefers to run (no relocation copy); a relocatable kernel
            // may go anywhere suitably aligned.
            uint64_t load = header.pref_address;
            if (load < kHighMemoryStart) load = kHighMemoryStart;
            auto payload = inputs.kernel.subspan(header.setup_bytes);
            if (!memory.find(load, header.init_size)) {
                if (!header.relocatable)
                    return fail("bzImage: guest RAM does not hold the kernel at {:#x}+{:#x}", load,
                                header.init_size);
                load = align_up(kHighMemoryStart, header.kernel_alignment);
                if (!memory.find(load, header.init_size))
                    return fail(
                        "bzImage: kernel needs {:#x} bytes at {:#x}; give the VM more "
                        "memory",
                        header.init_size, load);
            }
            TRY_CTX(memory.write(load, payload), "loading the kernel at {:#x}", load);
            loaded.entry = load + 0x200;  // startup_64 sits 512 bytes into the protected-mode code
            loaded.kernel_end = load + header.init_size;
            if (header.initrd_addr_max) initrd_max_end = uint64_t{header.initrd_addr_max} + 1;
            if (header.cmdline_size)
                cmdline_limit = std::min<uint64_t>(cmdline_limit, header.cmdline_size);
            break;
        }
        case KernelFormat::elf64: {
            ElfImage image = TRY_CTX(load_elf64(memory, inputs.kernel), "vmlinux");
            loaded.entry = image.entry;
            loaded.kernel_end = image.end;
            put<uint16_t>(page, kBootFlag, 0xaa55);
            std::memcpy(page.data() + kHeaderMagic, "HdrS", 4);
            put<uint16_t>(page, kVersion, kMinProtocol);
            put<uint32_t>(page, kKernelAlignment, 0x1000000);
            put<uint32_t>(page, kInitrdAddrMax, 0x7fffffff);
            break;
        }
        case KernelFormat::riscv:
            return fail("kernel is a RISC-V image, not x86-64");
        case KernelFormat::unknown:
            return fail("kernel is neither a bzImage nor an ELF64 x86-64 vmlinux");
    }

    if (inputs.cmdline.size() > cmdline_limit)
        return fail("kernel command line is {} bytes; this kernel accepts at most {}",
                    inputs.cmdline.size(), cmdline_limit);
    std::vector<uint8_t> cmdline(inputs.cmdline.begin(), inputs.cmdline.end());
    cmdline.push_back(0);
    TRY_CTX(memory.write(kCmdlineAddress, cmdline), "writing the command line");

    TRY(place_initrd(memory, inputs.initrd, align_up(loaded.kernel_end, 4096), initrd_max_end,
                     loaded));

    page[kTypeOfLoader] = kUndefinedLoader;
    page[kLoadFlags] |= kLoadedHigh | kCanUseHeap;
    put<uint16_t>(page, kHeapEndPtr, 0xfe00);
    put<uint32_t>(page, kCmdLinePtr, static_cast<uint32_t>(kCmdlineAddress));
    put<uint32_t>(page, kExtCmdLinePtr, 0);
    put<uint32_t>(page, kRamdiskImage, static_cast<uint32_t>(loaded.initrd_address));
    put<uint32_t>(page, kRamdiskSize, static_cast<uint32_t>(loaded.initrd_size));
    put<uint32_t>(page, kExtRamdiskImage, static_cast<uint32_t>(loaded.initrd_address >> 32));
    put<uint32_t>(page, kExtRamdiskSize, static_cast<uint32_t>(loaded.initrd_size >> 32));
    put<uint64_t>(page, kAcpiRsdpAddr, inputs.acpi_rsdp_address);

    std::vector<E820Entry> map = build_e820_map(memory);
    if (map.size() > kE820Max)
        return fail("e820 map has {} entries (max {})", map.size(), kE820Max);
    page[kE820Entries] = static_cast<uint8_t>(map.size());
    for (size_t i = 0; i < map.size(); ++i) {
        size_t at = kE820Table + i * 20;
        put<uint64_t>(page, at, map[i].address);
        put<uint64_t>(page, at + 8, map[i].size);
        put<uint32_t>(page, at + 16, map[i].type);
    }
    TRY_CTX(memory.write(kZeroPageAddress, zero_page), "writing the zero page");
    return loaded;
}

Result<> write_long_mode_tables(const GuestMemory& memory) {
    constexpr uint64_t kPresentWritable = 0x3, kPageSize2M = 0x80;
    constexpr uint64_t kPdpt = kPml4Address + 0x1000, kFirstPd = kPml4Address + 0x2000;
    constexpr unsigned kPds = kIdentityMappedBytes >> 30;
    std::vector<uint64_t> tables((2 + kPds) * 512, 0);
    tables[0] = kPdpt | kPresentWritable;
    for (unsigned pd = 0; pd < kPds; ++pd) {
        tables[512 + pd] = (kFirstPd + pd * 0x1000) | kPresentWritable;
        for (unsigned entry = 0; entry < 512; ++entry) {
            uint64_t address = (uint64_t{pd} << 30) | (uint64_t{entry} << 21);
            tables[1024 + pd * 512 + entry] = address | kPresentWritable | kPageSize2M;
        }
    }
    TRY_CTX(memory.write(kPml4Address,
                         std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(tables.data()),
                                                  tables.size() * sizeof(uint64_t))),
            "writing page tables");
    const std::array<uint64_t, kGdtEntries> gdt = {0, 0, kGdtCode64, kGdtData, kGdtTss};
    TRY_CTX(memory.write(kGdtAddress,
                         std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(gdt.data()),
                                                  gdt.size() * sizeof(uint64_t))),
            "writing the GDT");
    const std::array<uint64_t, 1> idt = {0};
    TRY_CTX(memory.write(kIdtAddress,
                         std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(idt.data()), 8)),
            "writing the IDT");
    return {};
}

}  // namespace vessel::vm::x86
