#include "vm/devices/bus.h"

#include <algorithm>

namespace vessel::vm {

Result<> Bus::attach(uint64_t base, uint64_t size, BusDevice& device, std::string name) {
    if (size == 0 || base + size < base)
        return fail("device {}: invalid window {:#x}+{:#x}", name, base, size);
    auto position = std::lower_bound(windows_.begin(), windows_.end(), base,
                                     [](const Window& w, uint64_t b) { return w.base < b; });
    if (position != windows_.end() && position->base < base + size)
        return fail("device {} at {:#x} overlaps {} at {:#x}", name, base, position->name,
                    position->base);
    if (position != windows_.begin()) {
        const Window& before = *std::prev(position);
        if (before.base + before.size > base)
            return fail("device {} at {:#x} overlaps {} at {:#x}", name, base, before.name,
                        before.base);
    }
    windows_.insert(position, Window{base, size, &device, std::move(name)});
    return {};
}

const Bus::Window* Bus::find(uint64_t address, unsigned size) const {
    auto position = std::upper_bound(windows_.begin(), windows_.end(), address,
                                     [](uint64_t a, const Window& w) { return a < w.base; });
    if (position == windows_.begin()) return nullptr;
    const Window& window = *std::prev(position);
    uint64_t offset = address - window.base;
    if (offset >= window.size || size > window.size - offset) return nullptr;
    return &window;
}

bool Bus::read(uint64_t address, unsigned size, uint64_t& value) const {
    const Window* window = find(address, size);
    if (!window) return false;
    value = window->device->read(address - window->base, size);
    return true;
}

bool Bus::write(uint64_t address, unsigned size, uint64_t value) const {
    const Window* window = find(address, size);
    if (!window) return false;
    window->device->write(address - window->base, size, value);
    return true;
}

}  // namespace vessel::vm
