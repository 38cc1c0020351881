// Guest-physical RAM. Every CPU engine (the RISC-V emulator, KVM) and every device reaches guest
// RAM through this class, and every guest-controlled address and length is checked here: no guest
// value can make the VMM touch host memory outside the regions it mapped.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "base/error.h"

namespace vessel::vm {

struct RamRegion {
    uint64_t guest_base = 0;
    uint64_t size = 0;
    uint8_t* host = nullptr;  // page-aligned anonymous mapping of `size` bytes

    bool contains(uint64_t gpa, uint64_t length) const {
        return gpa >= guest_base && length <= size && gpa - guest_base <= size - length;
    }
};

struct RamLayout {
    uint64_t guest_base;
    uint64_t size;
};

class DmaListener {
  public:
    virtual ~DmaListener() = default;
    virtual void device_wrote(uint64_t gpa, uint64_t length) const = 0;
};

class GuestMemory {
  public:
    // Maps each region (anonymous, private, MAP_NORESERVE: untouched guest RAM costs no host RAM).
    // Regions must be page-aligned, non-empty, not wrap around, and not overlap.
    static Result<GuestMemory> create(std::span<const RamLayout> layout);

    GuestMemory(GuestMemory&& other) noexcept;
    GuestMemory& operator=(GuestMemory&& other) noexcept;
    GuestMemory(const GuestMemory&) = delete;
    GuestMemory& operator=(const GuestMemory&) = delete;
    ~GuestMemory();

    std::span<const RamRegion> regions() const { return regions_; }

    // The region holding all of [gpa, gpa + length), or nullptr (not RAM, or straddles an edge).
    const RamRegion* find(uint64_t gpa, uint64_t length = 1) const;

    // Host address of [gpa, gpa + length) when it lies wholly in RAM, else nullptr. The pointer
    // stays valid for the lifetime of this object; the CPU engines cache it in their TLBs.
    uint8_t* host_pointer(uint64_t gpa, uint64_t length) const {
        const RamRegion* region = find(gpa, length);
        return region ? region->host + (gpa - region->guest_base) : nullptr;
    }

    Result<> read(uint64_t gpa, std::span<uint8_t> out) const;
    Result<> write(uint64_t gpa, std::span<const uint8_t> data) const;

    // Little-endian scalar access; nullopt / false when outside RAM.
    template <typename T>
    requires std::is_trivially_copyable_v<T> std::optional<T> load(uint64_t gpa)
    const {
        const uint8_t* pointer = host_pointer(gpa, sizeof(T));
        if (!pointer) return std::nullopt;
        T value;
        std::memcpy(&value, pointer, sizeof(T));
        return value;
    }

    template <typename T>
    requires std::is_trivially_copyable_v<T>
    bool store(uint64_t gpa, const T& value) const {
        uint8_t* pointer = host_pointer(gpa, sizeof(T));
        if (!pointer) return false;
        std::memcpy(pointer, &value, sizeof(T));
        return true;
    }

    // Devices report what they wrote into guest RAM (DMA), so an engine that caches what RAM
    // holds (the RISC-V emulator's translated code) can drop what is stale. CPU stores are not
    // reported here: the engines see those themselves.
    void set_dma_listener(const DmaListener* listener) { dma_listener_ = listener; }
    void device_wrote(uint64_t gpa, uint64_t length) const {
        if (dma_listener_) dma_listener_->device_wrote(gpa, length);
    }

  private:
    GuestMemory() = default;
    void unmap_all();

    std::vector<RamRegion> regions_;  // sorted by guest_base
    const DmaListener* dma_listener_ = nullptr;
};

// Parses a size like "256M", "1G", "65536", "64k" (binary units).
Result<uint64_t> parse_memory_size(std::string_view text);

}  // namespace vessel::vm
