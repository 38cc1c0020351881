// Numbers the virtio 1.2 specification fixes: device ids, status and feature bits, the split
// virtqueue's descriptor flags and the virtio-mmio (version 2) register offsets. Kept in one place
// so that the transport, the queues and every device read the same names.
#pragma once

#include <cstdint>

namespace vessel::vm::virtio {

// Device ids (section 5).
enum class DeviceId : uint32_t {
    net = 1,
    block = 2,
    console = 3,
    entropy = 4,
    vsock = 19,
};

// Device status field (section 2.1).
namespace status {
inline constexpr uint32_t acknowledge = 1;
inline constexpr uint32_t driver = 2;
inline constexpr uint32_t driver_ok = 4;
inline constexpr uint32_t features_ok = 8;
inline constexpr uint32_t device_needs_reset = 64;
inline constexpr uint32_t failed = 128;
}  // namespace status

// Feature bits that are the transport's and the ring's, not a device's (section 6).
namespace feature {
inline constexpr uint64_t ring_indirect_desc = 1ull << 28;
inline constexpr uint64_t ring_event_idx = 1ull << 29;
inline constexpr uint64_t version_1 = 1ull << 32;
}  // namespace feature

// Split virtqueue descriptor flags (section 2.7.5) and ring flags.
namespace descriptor {
inline constexpr uint16_t next = 1;
inline constexpr uint16_t write = 2;
inline constexpr uint16_t indirect = 4;
inline constexpr uint16_t avail_no_interrupt = 1;
}  // namespace descriptor

// virtio-mmio registers, version 2 (section 4.2.2).
namespace mmio {
inline constexpr uint32_t magic_value = 0x74726976;  // "virt"
inline constexpr uint32_t version = 2;
inline constexpr uint32_t vendor_id = 0x4c535356;  // "VSSL"
// The window a transport answers in: the registers, the config space, and room to spare, as the
// 4 KiB QEMU gives each device.
inline constexpr uint64_t window_size = 0x1000;

enum Register : uint64_t {
    magic = 0x000,
    version_register = 0x004,
    device_id = 0x008,
    vendor = 0x00c,
    device_features = 0x010,
    device_features_sel = 0x014,
    driver_features = 0x020,
    driver_features_sel = 0x024,
    queue_sel = 0x030,
    queue_num_max = 0x034,
    queue_num = 0x038,
    queue_ready = 0x044,
    queue_notify = 0x050,
    interrupt_status = 0x060,
    interrupt_ack = 0x064,
    status_register = 0x070,
    queue_desc_low = 0x080,
    queue_desc_high = 0x084,
    queue_driver_low = 0x090,
    queue_driver_high = 0x094,
    queue_device_low = 0x0a0,
    queue_device_high = 0x0a4,
    shm_sel = 0x0ac,
    shm_len_low = 0x0b0,
    shm_len_high = 0x0b4,
    shm_base_low = 0x0b8,
    shm_base_high = 0x0bc,
    config_generation = 0x0fc,
    config = 0x100,
};

// InterruptStatus bits.
inline constexpr uint32_t interrupt_used_buffer = 1;
inline constexpr uint32_t interrupt_config_change = 2;
}  // namespace mmio

}  // namespace vessel::vm::virtio
