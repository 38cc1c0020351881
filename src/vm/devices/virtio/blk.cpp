#include "vm/devices/virtio/blk.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace vessel::vm::virtio {

namespace {

constexpr uint64_t kSector = 512;

namespace blk_feature {
constexpr uint64_t seg_max = 1ull << 2;
constexpr uint64_t read_only = 1ull << 5;
constexpr uint64_t blk_size = 1ull << 6;
constexpr uint64_t flush = 1ull << 9;
constexpr uint64_t discard = 1ull << 13;
constexpr uint64_t write_zeroes = 1ull << 14;
}  // namespace blk_feature

enum RequestType : uint32_t {
    in = 0,
    out = 1,
    flush = 4,
    get_id = 8,
    discard = 11,
    write_zeroes = 13,
};

enum Status : uint8_t { ok = 0, io_error = 1, unsupported = 2 };

struct RequestHeader {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct RangeSegment {
    uint64_t sector;
    uint32_t sectors;
    uint32_t flags;  // bit 0: unmap (write-zeroes only)
};

// Discard and write-zeroes take at most this many ranges, this many sectors each (the config
// says so to the driver; a request beyond is refused).
constexpr uint32_t kMaxRanges = 16;
constexpr uint32_t kMaxRangeSectors = 1u << 22;  // 2 GiB

// The configuration space (section 5.2.4), as far as the features we offer need it.
struct Config {
    uint64_t capacity;
    uint32_t size_max;
    uint32_t seg_max;
    uint16_t cylinders;
    uint8_t heads;
    uint8_t sectors;
    uint32_t blk_size;
    uint8_t physical_block_exp;
    uint8_t alignment_offset;
    uint16_t min_io_size;
    uint32_t opt_io_size;
    uint8_t writeback;
    uint8_t unused0;
    uint16_t num_queues;
    uint32_t max_discard_sectors;
    uint32_t max_discard_seg;
    uint32_t discard_sector_alignment;
    uint32_t max_write_zeroes_sectors;
    uint32_t max_write_zeroes_seg;
    uint8_t write_zeroes_may_unmap;
    uint8_t unused1[3];
};
// Its layout as the spec fixes it; the struct itself is padded to 64.
static_assert(offsetof(Config, num_queues) == 34 && offsetof(Config, unused1) == 57);
constexpr uint64_t kConfigSize = 60;

// Whether [sector, sector + count) lies on a disk of `capacity` sectors, without wrapping.
bool within(uint64_t sector, uint64_t count, uint64_t capacity) {
    return sector <= capacity && count <= capacity - sector;
}

}  // namespace

BlockDevice::BlockDevice(std::unique_ptr<BlockBackend> backend, std::string serial,
                         std::string name)
    : backend_(std::move(backend)),
      serial_(std::move(serial)),
      name_(std::move(name)),
      capacity_sectors_(backend_->size() / kSector) {
    if (serial_.size() > 20) serial_.resize(20);
}

uint64_t BlockDevice::features() const {
    uint64_t offered = blk_feature::seg_max | blk_feature::blk_size | blk_feature::flush;
    if (backend_->read_only())
        offered |= blk_feature::read_only;
    else
        offered |= blk_feature::discard | blk_feature::write_zeroes;
    return offered;
}

uint64_t BlockDevice::read_config(uint64_t offset, unsigned size) {
    Config config{};
    config.capacity = capacity_sectors_;
    config.seg_max = kQueueSize - 2;  // the header and the status take two descriptors
    config.blk_size = kSector;
    config.num_queues = 1;
    config.max_discard_sectors = kMaxRangeSectors;
    config.max_discard_seg = kMaxRanges;
    config.discard_sector_alignment = 4096 / kSector;
    config.max_write_zeroes_sectors = kMaxRangeSectors;
    config.max_write_zeroes_seg = kMaxRanges;
    config.write_zeroes_may_unmap = 1;
    if (offset >= kConfigSize || size > kConfigSize - offset || size > 8) return 0;
    uint64_t value = 0;
    std::memcpy(&value, reinterpret_cast<const uint8_t*>(&config) + offset, size);
    return value;
}

Result<> BlockDevice::activate(DeviceContext& context, uint64_t) {
    context_ = &context;
    return {};
}

void BlockDevice::queue_notified(uint16_t index) {
    SplitQueue* queue = context_ ? context_->queue(index) : nullptr;
    if (!queue) return;
    int budget = kChainsPerNotification;
    do {
        for (;;) {
            if (budget-- == 0) {
                context_->signal_used(index);
                context_->notify_again(index);
                return;
            }
            auto chain = queue->pop();
            if (!chain) {
                context_->needs_reset(chain.error());
                return;
            }
            if (!*chain) break;
            ChainWriter writer(**chain);
            // The status byte is the last byte of the writable part; without one there is no way
            // to answer, so the chain goes back with nothing written.
            if (writer.remaining() == 0) {
                queue->push((*chain)->head(), 0);
                continue;
            }
            uint8_t status = serve(**chain, writer);
            // Whatever the request left unused before it, the status goes in the last byte.
            if (writer.remaining() > 1) writer.commit(writer.remaining() - 1);
            writer.write_object(status);
            queue->push((*chain)->head(), static_cast<uint32_t>(writer.written()));
        }
        context_->signal_used(index);
    } while (queue->enable_notification());
}

uint8_t BlockDevice::serve(const DescriptorChain& chain, ChainWriter& writer) {
    ChainReader reader(chain);
    auto header = reader.read_object<RequestHeader>();
    if (!header) return io_error;
    // Everything writable but the status byte is data.
    uint64_t data_in = writer.remaining() - 1;
    switch (header->type) {
        case in: {
            if (data_in % kSector || !within(header->sector, data_in / kSector, capacity_sectors_))
                return io_error;
            auto buffers = writer.peek(data_in);
            if (!backend_->read(header->sector * kSector, buffers)) return io_error;
            writer.commit(data_in);
            return ok;
        }
        case out: {
            if (backend_->read_only()) return io_error;
            uint64_t data_out = reader.remaining();
            if (data_out % kSector ||
                !within(header->sector, data_out / kSector, capacity_sectors_))
                return io_error;
            auto buffers = reader.take(data_out);
            return backend_->write(header->sector * kSector, buffers) ? ok : io_error;
        }
        case flush:
            return backend_->flush() ? ok : io_error;
        case get_id: {
            char id[20] = {};
            std::memcpy(id, serial_.data(), serial_.size());
            uint64_t room = std::min<uint64_t>(data_in, sizeof id);
            writer.write(std::span(reinterpret_cast<const uint8_t*>(id), room));
            return ok;
        }
        case discard:
        case write_zeroes:
            if (backend_->read_only()) return io_error;
            return serve_ranges(header->type, reader);
        default:
            return unsupported;
    }
}

uint8_t BlockDevice::serve_ranges(uint32_t type, ChainReader& reader) {
    uint64_t bytes = reader.remaining();
    if (bytes == 0 || bytes % sizeof(RangeSegment) || bytes / sizeof(RangeSegment) > kMaxRanges)
        return io_error;
    while (reader.remaining() > 0) {
        auto range = reader.read_object<RangeSegment>();
        if (!range || range->sectors > kMaxRangeSectors ||
            !within(range->sector, range->sectors, capacity_sectors_))
            return io_error;
        // Section 5.2.6.2: only write-zeroes knows the unmap flag; other bits are reserved.
        bool unmap = range->flags & 1;
        if ((range->flags & ~1u) || (type == discard && unmap)) return unsupported;
        uint64_t offset = range->sector * kSector, length = uint64_t{range->sectors} * kSector;
        bool done = type == discard ? backend_->discard(offset, length).has_value()
                                    : backend_->write_zeroes(offset, length, unmap).has_value();
        if (!done) return io_error;
    }
    return ok;
}

}  // namespace vessel::vm::virtio
