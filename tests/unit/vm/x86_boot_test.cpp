#include "vm/kvm/x86_boot.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "vm/kvm/x86_layout.h"

namespace vessel::vm::x86 {
namespace {

template <typename T>
void put(std::vector<uint8_t>& bytes, size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}
template <typename T>
T get(const GuestMemory& memory, uint64_t gpa) {
    return memory.load<T>(gpa).value();
}

// A minimal bzImage: 4 setup sectors + boot sector, then `payload` bytes of "kernel".
std::vector<uint8_t> make_bzimage(size_t payload = 4096) {
    std::vector<uint8_t> image(5 * 512 + payload, 0);
    image[0x1f1] = 4;
    put<uint16_t>(image, 0x1fe, 0xaa55);
    image[0x200] = 0xeb;
    image[0x201] = 0x6a;  // header ends at 0x26c
    std::memcpy(image.data() + 0x202, "HdrS", 4);
    put<uint16_t>(image, 0x206, 0x020f);
    image[0x211] = 0x01;
    put<uint32_t>(image, 0x22c, 0x7fffffff);
    put<uint32_t>(image, 0x230, 0x200000);
    image[0x234] = 1;
    put<uint16_t>(image, 0x236, 0x0001);
    put<uint32_t>(image, 0x238, 2047);
    put<uint64_t>(image, 0x258, 0x1000000);
    put<uint32_t>(image, 0x260, 0x400000);
    for (size_t i = 0; i < payload; ++i)
        image[5 * 512 + i] = static_cast<uint8_t>(i * 7);
    return image;
}

GuestMemory make_memory(uint64_t bytes = 64ull << 20) {
    auto layout = ram_layout_for(bytes);
    return GuestMemory::create(layout).value();
}

TEST(KernelFormat, RecognisesEachKind) {
    EXPECT_EQ(detect_kernel_format(make_bzimage()), KernelFormat::bzimage);
    std::vector<uint8_t> elf(sizeof(Elf64_Ehdr), 0);
    std::memcpy(elf.data(), ELFMAG, SELFMAG);
    elf[EI_CLASS] = ELFCLASS64;
    put<uint16_t>(elf, offsetof(Elf64_Ehdr, e_machine), EM_X86_64);
    EXPECT_EQ(detect_kernel_format(elf), KernelFormat::elf64);
    put<uint16_t>(elf, offsetof(Elf64_Ehdr, e_machine), EM_RISCV);
    EXPECT_EQ(detect_kernel_format(elf), KernelFormat::riscv);
    std::vector<uint8_t> riscv_image(0x40, 0);
    std::memcpy(riscv_image.data() + 0x38, "RSC\x05", 4);
    EXPECT_EQ(detect_kernel_format(riscv_image), KernelFormat::riscv);
    EXPECT_EQ(detect_kernel_format(std::vector<uint8_t>(100, 0x90)), KernelFormat::unknown);
}

TEST(BzImageHeader, ParsesAValidHeader) {
    auto header = parse_bzimage_header(make_bzimage());
    ASSERT_TRUE(header) << header.error().message();
    EXPECT_EQ(header->setup_bytes, 5u * 512);
    EXPECT_EQ(header->protocol_version, 0x020f);
    EXPECT_EQ(header->header_end, 0x26cu);
    EXPECT_EQ(header->pref_address, 0x1000000u);
    EXPECT_EQ(header->init_size, 0x400000u);
    EXPECT_TRUE(header->relocatable);
}

struct Malformation {
    const char* name;
    void (*damage)(std::vector<uint8_t>&);
    const char* expected;
};

class MalformedBzImage : public ::testing::TestWithParam<Malformation> {};

TEST_P(MalformedBzImage, IsRejectedWithAClearMessage) {
    auto image = make_bzimage();
    GetParam().damage(image);
    auto header = parse_bzimage_header(image);
    ASSERT_FALSE(header);
    EXPECT_NE(header.error().message().find(GetParam().expected), std::string::npos)
        << header.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Headers, MalformedBzImage,
    ::testing::Values(
        Malformation{"truncated", [](auto& i) { i.resize(0x100); }, "too short"},
        Malformation{"magic", [](auto& i) { i[0x202] = 'X'; }, "HdrS"},
        Malformation{"bootflag", [](auto& i) { put<uint16_t>(i, 0x1fe, 0); }, "boot flag"},
        Malformation{"old", [](auto& i) { put<uint16_t>(i, 0x206, 0x0206); }, "too old"},
        Malformation{"no64", [](auto& i) { put<uint16_t>(i, 0x236, 0); }, "XLF_KERNEL_64"},
        Malformation{"setup", [](auto& i) { i[0x1f1] = 200; }, "setup_sects"},
        Malformation{"jump", [](auto& i) { i[0x200] = 0x90; }, "short jump"},
        Malformation{"hdrlen", [](auto& i) { i[0x201] = 0x10; }, "header length"},
        Malformation{"initsize", [](auto& i) { put<uint32_t>(i, 0x260, 16); }, "init_size"},
        Malformation{"align", [](auto& i) { put<uint32_t>(i, 0x230, 0x300000); },
                     "kernel_alignment"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(RamLayout, SplitsAroundTheMmioHole) {
    auto small = ram_layout_for(256ull << 20);
    ASSERT_EQ(small.size(), 1u);
    EXPECT_EQ(small[0].size, 256ull << 20);
    auto big = ram_layout_for(4ull << 30);
    ASSERT_EQ(big.size(), 2u);
    EXPECT_EQ(big[0].size, kMmioHoleStart);
    EXPECT_EQ(big[1].guest_base, kMmioHoleEnd);
    EXPECT_EQ(big[1].size, (4ull << 30) - kMmioHoleStart);
}

TEST(E820, ReservesTheLegacyAreaAndListsRam) {
    auto memory = make_memory(64ull << 20);
    auto map = build_e820_map(memory);
    ASSERT_EQ(map.size(), 3u);
    EXPECT_EQ(map[0].address, 0u);
    EXPECT_EQ(map[0].size, kEbdaStart);
    EXPECT_EQ(map[0].type, kE820Ram);
    EXPECT_EQ(map[1].type, kE820Reserved);
    EXPECT_EQ(map[1].address + map[1].size, kHighMemoryStart);
    EXPECT_EQ(map[2].address, kHighMemoryStart);
    EXPECT_EQ(map[2].address + map[2].size, 64ull << 20);
}

TEST(LoadLinux, FillsTheZeroPageForABzImage) {
    auto memory = make_memory();
    auto image = make_bzimage();
    std::vector<uint8_t> initrd(10000, 0xab);
    LinuxBootInputs inputs{image, initrd, "console=ttyS0 quiet", 0xe0000};
    auto loaded = load_linux(memory, inputs);
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ(loaded->entry, 0x1000000u + 0x200);
    EXPECT_EQ(get<uint8_t>(memory, 0x1000000 + 1), image[5 * 512 + 1]);
    // Setup header copied, loader fields set.
    EXPECT_EQ(get<uint32_t>(memory, kZeroPageAddress + 0x202), 0x53726448u);
    EXPECT_EQ(get<uint8_t>(memory, kZeroPageAddress + 0x210), 0xff);
    EXPECT_EQ(get<uint8_t>(memory, kZeroPageAddress + 0x211) & 0x81, 0x81);
    EXPECT_EQ(get<uint32_t>(memory, kZeroPageAddress + 0x228), kCmdlineAddress);
    EXPECT_EQ(get<uint64_t>(memory, kZeroPageAddress + 0x070), 0xe0000u);
    std::vector<uint8_t> cmdline(20);
    ASSERT_TRUE(memory.read(kCmdlineAddress, cmdline));
    EXPECT_STREQ(reinterpret_cast<char*>(cmdline.data()), "console=ttyS0 quiet");
    // The initrd: page-aligned, at the top of RAM, above the kernel's init_size.
    uint32_t initrd_at = get<uint32_t>(memory, kZeroPageAddress + 0x218);
    EXPECT_EQ(initrd_at % 4096, 0u);
    EXPECT_EQ(get<uint32_t>(memory, kZeroPageAddress + 0x21c), 10000u);
    EXPECT_GE(initrd_at, 0x1000000u + 0x400000);
    EXPECT_LE(initrd_at + 10000u, 64u << 20);
    EXPECT_EQ(get<uint8_t>(memory, initrd_at + 9999), 0xab);
    // The e820 table.
    EXPECT_EQ(get<uint8_t>(memory, kZeroPageAddress + 0x1e8), 3);
    EXPECT_EQ(get<uint64_t>(memory, kZeroPageAddress + 0x2d0 + 2 * 20), kHighMemoryStart);
    EXPECT_EQ(get<uint32_t>(memory, kZeroPageAddress + 0x2d0 + 2 * 20 + 16), kE820Ram);
}

TEST(LoadLinux, KeepsTheInitrdBelowInitrdAddrMax) {
    auto memory = make_memory();
    auto image = make_bzimage();
    put<uint32_t>(image, 0x22c, 0x02ffffff);  // 48 MiB - 1
    std::vector<uint8_t> initrd(5000, 1);
    auto loaded = load_linux(memory, {image, initrd, "", 0});
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_LE(loaded->initrd_address + loaded->initrd_size, 0x3000000u);
}

TEST(LoadLinux, RejectsACommandLineLongerThanTheKernelAccepts) {
    auto memory = make_memory();
    auto image = make_bzimage();
    auto loaded = load_linux(memory, {image, {}, std::string(3000, 'a'), 0});
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message().find("at most 2047"), std::string::npos);
}

TEST(LoadLinux, RejectsAnInitrdThatDoesNotFit) {
    auto memory = make_memory(32ull << 20);
    auto image = make_bzimage();
    std::vector<uint8_t> initrd(20u << 20, 0);
    auto loaded = load_linux(memory, {image, initrd, "", 0});
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message().find("initrd"), std::string::npos);
}

TEST(LoadLinux, RejectsAKernelLargerThanRam) {
    auto memory = make_memory(16ull << 20);
    auto image = make_bzimage();
    put<uint32_t>(image, 0x260, 0x4000000);
    auto loaded = load_linux(memory, {image, {}, "", 0});
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message().find("more memory"), std::string::npos);
}

std::vector<uint8_t> make_elf(uint64_t paddr, uint64_t entry, uint64_t memsz) {
    std::vector<uint8_t> file(0x1000 + 16, 0);
    Elf64_Ehdr ehdr{};
    std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
    ehdr.e_ident[EI_CLASS] = ELFCLASS64;
    ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
    ehdr.e_machine = EM_X86_64;
    ehdr.e_entry = entry;
    ehdr.e_phoff = sizeof(Elf64_Ehdr);
    ehdr.e_phentsize = sizeof(Elf64_Phdr);
    ehdr.e_phnum = 1;
    Elf64_Phdr phdr{};
    phdr.p_type = PT_LOAD;
    phdr.p_offset = 0x1000;
    phdr.p_paddr = paddr;
    phdr.p_filesz = 16;
    phdr.p_memsz = memsz;
    std::memcpy(file.data(), &ehdr, sizeof(ehdr));
    std::memcpy(file.data() + sizeof(ehdr), &phdr, sizeof(phdr));
    std::memset(file.data() + 0x1000, 0xcc, 16);
    return file;
}

TEST(LoadElf, LoadsSegmentsAtTheirPhysicalAddressAndZeroesBss) {
    auto memory = make_memory();
    ASSERT_TRUE(memory.store<uint8_t>(0x200020, 0x55));
    auto image = load_elf64(memory, make_elf(0x200000, 0x200000, 64));
    ASSERT_TRUE(image) << image.error().message();
    EXPECT_EQ(image->entry, 0x200000u);
    EXPECT_EQ(image->end, 0x200040u);
    EXPECT_EQ(get<uint8_t>(memory, 0x20000f), 0xcc);
    EXPECT_EQ(get<uint8_t>(memory, 0x200020), 0);
}

TEST(LoadElf, RejectsBadSegmentsAndEntryPoints) {
    auto memory = make_memory();
    EXPECT_FALSE(load_elf64(memory, make_elf(0x200000, 0x300000, 64)));         // entry outside
    EXPECT_FALSE(load_elf64(memory, make_elf(0x7fff000, 0x7fff000, 0x10000)));  // past RAM
    EXPECT_FALSE(load_elf64(memory, make_elf(0x8000, 0x8000, 64)));             // over boot data
    auto truncated = make_elf(0x200000, 0x200000, 64);
    truncated.resize(0x1008);
    EXPECT_FALSE(load_elf64(memory, truncated));
}

TEST(LongModeTables, IdentityMapTheFirstFourGigabytes) {
    auto memory = make_memory();
    ASSERT_TRUE(write_long_mode_tables(memory));
    EXPECT_EQ(get<uint64_t>(memory, kPml4Address), (kPml4Address + 0x1000) | 3);
    for (uint64_t gpa : {0ull, 0x200000ull, 0x40000000ull, 0xfee00000ull}) {
        uint64_t pdpte = get<uint64_t>(memory, kPml4Address + 0x1000 + ((gpa >> 30) & 511) * 8);
        ASSERT_EQ(pdpte & 1, 1u);
        uint64_t pde = get<uint64_t>(memory, (pdpte & ~0xfffull) + ((gpa >> 21) & 511) * 8);
        EXPECT_EQ(pde & 0x83, 0x83u);  // present, writable, 2 MiB page
        EXPECT_EQ(pde & ~0xfffull, gpa & ~0x1fffffull);
    }
    EXPECT_EQ(get<uint64_t>(memory, kGdtAddress + kBootCodeSelector), kGdtCode64);
    EXPECT_EQ(get<uint64_t>(memory, kGdtAddress + kBootDataSelector), kGdtData);
}

}  // namespace
}  // namespace vessel::vm::x86
