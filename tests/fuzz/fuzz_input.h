// The fuzzer's bytes read as a stream of small values: a target decodes operations from the front
// of an input and may hand the rest on whole (as guest RAM, a file). Reading past the end yields
// zeros, so every input is a valid program, however short.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

namespace vessel::fuzz {

class FuzzInput {
  public:
    FuzzInput(const uint8_t* data, size_t size) : bytes_(data, size) {}

    bool empty() const { return offset_ >= bytes_.size(); }
    size_t remaining() const { return empty() ? 0 : bytes_.size() - offset_; }

    template <typename T>
    requires std::is_trivially_copyable_v<T> T take() {
        T value{};
        size_t n = std::min(sizeof(T), remaining());
        if (n) std::memcpy(&value, bytes_.data() + offset_, n);
        offset_ += n;
        return value;
    }

    // A value in [0, count); 0 when count is 0.
    uint32_t below(uint32_t count) { return count ? take<uint32_t>() % count : 0; }

    // Up to `n` bytes (fewer at the end of the input).
    std::span<const uint8_t> take_bytes(size_t n) {
        n = std::min(n, remaining());
        auto out = bytes_.subspan(offset_, n);
        offset_ += n;
        return out;
    }
    std::span<const uint8_t> rest() { return take_bytes(remaining()); }

  private:
    std::span<const uint8_t> bytes_;
    size_t offset_ = 0;
};

inline std::string_view as_text(std::span<const uint8_t> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace vessel::fuzz
