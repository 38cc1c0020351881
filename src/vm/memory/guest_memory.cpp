#include "vm/memory/guest_memory.h"

#include <utility>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

namespace vessel::vm {

Result<GuestMemory> GuestMemory::create(std::span<const RamLayout> layout) {
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    std::vector<RamLayout> sorted(layout.begin(), layout.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const RamLayout& a, const RamLayout& b) { return a.guest_base < b.guest_base; });
    for (size_t i = 0; i < sorted.size(); ++i) {
        const auto& region = sorted[i];
        if (region.size == 0) return fail("guest RAM region at {:#x} is empty", region.guest_base);
        if (region.guest_base % page != 0 || region.size % page != 0)
            return fail("guest RAM region {:#x}+{:#x} is not page-aligned", region.guest_base,
                        region.size);
        if (region.guest_base + region.size < region.guest_base)
            return fail("guest RAM region {:#x}+{:#x} wraps around", region.guest_base,
                        region.size);
        if (i > 0 && sorted[i - 1].guest_base + sorted[i - 1].size > region.guest_base)
            return fail("guest RAM regions at {:#x} and {:#x} overlap", sorted[i - 1].guest_base,
                        region.guest_base);
    }
    GuestMemory memory;
    for (const auto& region : sorted) {
        void* host = ::mmap(nullptr, region.size, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (host == MAP_FAILED)
            return fail_errno(fmt::format("map {} MiB of guest RAM", region.size >> 20));
        memory.regions_.push_back({.guest_base = region.guest_base,
                                   .size = region.size,
                                   .host = static_cast<uint8_t*>(host)});
    }
    return memory;
}

GuestMemory::GuestMemory(GuestMemory&& other) noexcept
    : regions_(std::move(other.regions_)),
      dma_listener_(std::exchange(other.dma_listener_, nullptr)) {
    other.regions_.clear();
}

GuestMemory& GuestMemory::operator=(GuestMemory&& other) noexcept {
    if (this != &other) {
        unmap_all();
        regions_ = std::move(other.regions_);
        other.regions_.clear();
        dma_listener_ = std::exchange(other.dma_listener_, nullptr);
    }
    return *this;
}

GuestMemory::~GuestMemory() {
    unmap_all();
}

void GuestMemory::unmap_all() {
    for (const auto& region : regions_)
        ::munmap(region.host, region.size);
    regions_.clear();
}

const RamRegion* GuestMemory::find(uint64_t gpa, uint64_t length) const {
    // Few regions (one or two): a linear scan beats a search.
    for (const auto& region : regions_)
        if (region.contains(gpa, length)) return &region;
    return nullptr;
}

Result<> GuestMemory::read(uint64_t gpa, std::span<uint8_t> out) const {
    const uint8_t* source = host_pointer(gpa, out.size());
    if (!source) return fail("guest range {:#x}+{:#x} is not RAM", gpa, out.size());
    // An empty span may have no data pointer, which memcpy must not be given even for 0 bytes.
    if (!out.empty()) std::memcpy(out.data(), source, out.size());
    return {};
}

Result<> GuestMemory::write(uint64_t gpa, std::span<const uint8_t> data) const {
    uint8_t* target = host_pointer(gpa, data.size());
    if (!target) return fail("guest range {:#x}+{:#x} is not RAM", gpa, data.size());
    if (!data.empty()) std::memcpy(target, data.data(), data.size());
    return {};
}

Result<uint64_t> parse_memory_size(std::string_view text) {
    uint64_t number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || end == text.data())
        return fail("invalid memory size '{}' (use e.g. 256M or 1G)", text);
    std::string_view suffix(end, static_cast<size_t>(text.data() + text.size() - end));
    unsigned shift = 0;
    if (suffix.empty() || suffix == "B" || suffix == "b")
        shift = 0;
    else if (suffix == "K" || suffix == "k" || suffix == "KiB")
        shift = 10;
    else if (suffix == "M" || suffix == "m" || suffix == "MiB")
        shift = 20;
    else if (suffix == "G" || suffix == "g" || suffix == "GiB")
        shift = 30;
    else
        return fail("invalid memory size '{}': unknown unit '{}'", text, suffix);
    if (shift && number > (UINT64_MAX >> shift)) return fail("memory size '{}' is too large", text);
    return number << shift;
}

}  // namespace vessel::vm
