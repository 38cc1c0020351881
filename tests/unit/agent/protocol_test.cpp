// The frame decoder that takes frames out of bytes arriving in arbitrary pieces (the CLI's
// non-blocking reader; bytes read past an HTTP head).
#include <gtest/gtest.h>

#include "agent/protocol.h"

namespace vessel::agent {
namespace {

TEST(FrameDecoder, FramesSplitAtEveryByteComeOutWhole) {
    std::string stream = encode_frame(FrameType::reply, R"({"ok":true})") +
                         encode_frame(FrameType::output, "hello") +
                         encode_frame(FrameType::output_end, "");
    FrameDecoder decoder;
    std::vector<Frame> frames;
    for (char byte : stream) {
        decoder.append(std::string_view(&byte, 1));
        for (;;) {
            auto frame = decoder.next();
            ASSERT_TRUE(frame) << frame.error().message();
            if (!*frame) break;
            frames.push_back(std::move(**frame));
        }
    }
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(frames[0].type, FrameType::reply);
    EXPECT_EQ(frames[0].payload, R"({"ok":true})");
    EXPECT_EQ(frames[1].type, FrameType::output);
    EXPECT_EQ(frames[1].payload, "hello");
    EXPECT_EQ(frames[2].type, FrameType::output_end);
    EXPECT_EQ(decoder.buffered(), 0u);
}

// A default string_view has a null data(): the header alone, and no null pointer reaches memcpy
// (UndefinedBehaviorSanitizer stops make test-sanitize on that, as the client's empty stdin did).
TEST(FrameEncoder, AnEmptyPayloadWithoutStorageIsTheHeaderAlone) {
    EXPECT_EQ(encode_frame(FrameType::input_end, std::string_view{}),
              std::string("\x03\x00\x00\x00\x00", 5));
}

TEST(FrameDecoder, AnUnknownTypeOrAnOversizedLengthIsAnErrorBeforeThePayloadArrives) {
    FrameDecoder unknown;
    unknown.append(std::string("\x09\x00\x00\x00\x00", 5));
    auto frame = unknown.next();
    ASSERT_FALSE(frame);
    EXPECT_NE(frame.error().message().find("unknown frame type 9"), std::string::npos);

    FrameDecoder oversized;
    // 0x00200000: 2 MiB, twice the limit; only the header has arrived.
    oversized.append(std::string("\x11\x00\x00\x20\x00", 5));
    frame = oversized.next();
    ASSERT_FALSE(frame);
    EXPECT_NE(frame.error().message().find("over the limit"), std::string::npos);
}

}  // namespace
}  // namespace vessel::agent
