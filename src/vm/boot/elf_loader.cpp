#include "vm/boot/elf_loader.h"

#include <elf.h>

#include <cstring>
#include <vector>

#include "base/file.h"

namespace vessel::vm {

Result<LoadedElf> load_elf_image(std::span<const uint8_t> image, uint16_t machine,
                                 GuestMemory& memory) {
    Elf64_Ehdr header;
    if (image.size() < sizeof(header)) return fail("too short to be an ELF file");
    std::memcpy(&header, image.data(), sizeof(header));
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) return fail("not an ELF file");
    if (header.e_ident[EI_CLASS] != ELFCLASS64) return fail("not a 64-bit ELF file");
    if (header.e_ident[EI_DATA] != ELFDATA2LSB) return fail("not a little-endian ELF file");
    if (header.e_ident[EI_VERSION] != EV_CURRENT || header.e_version != EV_CURRENT)
        return fail("unsupported ELF version");
    if (header.e_machine != machine)
        return fail("ELF machine type is {}, expected {} (RISC-V)", header.e_machine, machine);
    if (header.e_type != ET_EXEC)
        return fail("not an executable ELF file (e_type {})", header.e_type);
    if (header.e_ehsize != sizeof(Elf64_Ehdr)) return fail("bad ELF header size");
    if (header.e_phnum == 0) return fail("ELF file has no program headers");
    if (header.e_phentsize != sizeof(Elf64_Phdr)) return fail("bad ELF program header size");
    uint64_t table_size = uint64_t{header.e_phnum} * sizeof(Elf64_Phdr);
    if (header.e_phoff > image.size() || table_size > image.size() - header.e_phoff)
        return fail("ELF program headers lie outside the file");

    std::vector<Elf64_Phdr> segments(header.e_phnum);
    std::memcpy(segments.data(), image.data() + header.e_phoff, table_size);
    LoadedElf loaded{header.e_entry, ~uint64_t{0}, 0};
    bool entry_loaded = false;
    for (size_t index = 0; index < segments.size(); ++index) {
        const Elf64_Phdr& segment = segments[index];
        if (segment.p_type != PT_LOAD || segment.p_memsz == 0) continue;
        if (segment.p_filesz > segment.p_memsz)
            return fail("ELF segment {}: file size exceeds memory size", index);
        if (segment.p_offset > image.size() || segment.p_filesz > image.size() - segment.p_offset)
            return fail("ELF segment {}: data lies outside the file", index);
        if (!memory.find(segment.p_paddr, segment.p_memsz))
            return fail("ELF segment {}: [{:#x}, +{:#x}) is outside guest RAM", index,
                        segment.p_paddr, segment.p_memsz);
        loaded.lowest = std::min(loaded.lowest, segment.p_paddr);
        loaded.highest = std::max(loaded.highest, segment.p_paddr + segment.p_memsz);
        if (header.e_entry >= segment.p_paddr && header.e_entry - segment.p_paddr < segment.p_memsz)
            entry_loaded = true;
    }
    if (loaded.highest == 0) return fail("ELF file has no loadable segment");
    if (!entry_loaded)
        return fail("ELF entry point {:#x} is not in a loaded segment", header.e_entry);
    // Everything checked: copy.
    for (const Elf64_Phdr& segment : segments) {
        if (segment.p_type != PT_LOAD || segment.p_memsz == 0) continue;
        uint8_t* host = memory.host_pointer(segment.p_paddr, segment.p_memsz);
        std::memcpy(host, image.data() + segment.p_offset, segment.p_filesz);
        std::memset(host + segment.p_filesz, 0, segment.p_memsz - segment.p_filesz);
    }
    return loaded;
}

Result<LoadedElf> load_elf(const std::string& path, uint16_t machine, GuestMemory& memory) {
    auto contents = TRY(read_file(path));
    auto bytes = std::span(reinterpret_cast<const uint8_t*>(contents.data()), contents.size());
    return with_context(load_elf_image(bytes, machine, memory), path);
}

}  // namespace vessel::vm
