// The translated-code buffer: one memfd seen through a writable and an executable view, each
// between inaccessible pages, so that nothing reads or runs off either end into a neighbouring
// mapping (clang's function sanitizer once read the 8 bytes before the entry trampoline there).
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "vm/riscv/jit/code_buffer.h"

namespace vessel::riscv::jit {
namespace {

// The permissions ("r-xp", "---p", ...) of the mapping that holds `address`, from /proc/self/maps.
std::optional<std::string> permissions_at(const void* address) {
    const auto wanted = reinterpret_cast<uintptr_t>(address);
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        std::istringstream fields(line);
        std::string range, permissions;
        fields >> range >> permissions;
        const size_t dash = range.find('-');
        const uintptr_t start = std::stoull(range.substr(0, dash), nullptr, 16);
        const uintptr_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
        if (wanted >= start && wanted < end) return permissions;
    }
    return std::nullopt;
}

TEST(CodeBuffer, EachViewSitsBetweenInaccessiblePages) {
    auto buffer = CodeBuffer::create(10000);
    ASSERT_TRUE(buffer) << buffer.error().message();
    EXPECT_EQ(buffer->capacity(), 12288u) << "rounded up to whole pages";
    const size_t guard = CodeBuffer::guard_bytes();
    ASSERT_GE(guard, 4096u);

    const uint8_t* writable = buffer->write_cursor();
    const uint8_t* executable = buffer->exec_cursor();
    EXPECT_EQ(permissions_at(writable), "rw-s");
    EXPECT_EQ(permissions_at(writable + buffer->capacity() - 1), "rw-s");
    EXPECT_EQ(permissions_at(executable), "r-xs");
    EXPECT_EQ(permissions_at(executable + buffer->capacity() - 1), "r-xs");
    for (const uint8_t* view : {writable, executable}) {
        EXPECT_EQ(permissions_at(view - 8), "---p") << "the 8 bytes before a view";
        EXPECT_EQ(permissions_at(view - guard), "---p");
        EXPECT_EQ(permissions_at(view + buffer->capacity()), "---p") << "the byte after a view";
        EXPECT_EQ(permissions_at(view + buffer->capacity() + guard - 1), "---p");
    }
}

TEST(CodeBuffer, WhatIsWrittenIsWhatRuns) {
    auto buffer = CodeBuffer::create(4096);
    ASSERT_TRUE(buffer) << buffer.error().message();
    uint8_t* cursor = buffer->write_cursor();
    cursor[0] = 0xc3;  // ret
    cursor[4095] = 0x5a;
    EXPECT_EQ(buffer->executable_address(cursor)[0], 0xc3);
    EXPECT_EQ(buffer->exec_cursor()[4095], 0x5a);
    buffer->commit(1);
    EXPECT_EQ(buffer->used(), 16u) << "pieces start 16-byte aligned";
    EXPECT_EQ(buffer->writable_address(buffer->exec_cursor()), buffer->write_cursor());
}

TEST(CodeBuffer, MovingKeepsOneOwnerOfTheMappings) {
    auto buffer = CodeBuffer::create(4096);
    ASSERT_TRUE(buffer) << buffer.error().message();
    const uint8_t* executable = buffer->exec_cursor();
    {
        CodeBuffer moved = std::move(*buffer);
        EXPECT_EQ(moved.exec_cursor(), executable);
        EXPECT_EQ(permissions_at(executable), "r-xs");
    }
    EXPECT_EQ(permissions_at(executable), std::nullopt) << "unmapped with its owner";
    EXPECT_EQ(permissions_at(executable - 8), std::nullopt) << "its guard pages too";
}

TEST(CodeBuffer, AnEmptyBufferIsRefused) {
    auto buffer = CodeBuffer::create(0);
    ASSERT_FALSE(buffer);
    EXPECT_NE(buffer.error().message().find("0 bytes"), std::string::npos);
}

}  // namespace
}  // namespace vessel::riscv::jit
