// The GDB remote protocol's framing: packets split out of any byte stream (split reads, acks,
// Ctrl-C, bad checksums, oversized and restarted packets), escapes, hex.
#include "vm/debug/packet.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vessel::debug {
namespace {

std::vector<Incoming> feed_all(PacketReader& reader, std::string_view bytes) {
    std::vector<Incoming> out;
    reader.feed(bytes, out);
    return out;
}

TEST(GdbPacket, FramesWithChecksumAndEscapes) {
    EXPECT_EQ(frame_packet("OK"), "$OK#9a");
    EXPECT_EQ(frame_packet(""), "$#00");
    // '#', '$', '}' and '*' go as '}' and the byte XOR 0x20; the checksum covers what is sent.
    EXPECT_EQ(frame_packet("a#b"),
              "$a}\x03"
              "b#43");
    EXPECT_EQ(frame_packet("*"), "$}\x0a#87");
}

TEST(GdbPacket, ReaderSplitsPacketsAcksAndInterrupts) {
    PacketReader reader(64);
    auto items = feed_all(reader, "+$g#67-\x03$m0,4#fd");
    ASSERT_EQ(items.size(), 5u);
    EXPECT_EQ(items[0].kind, Incoming::Kind::ack);
    EXPECT_EQ(items[1].kind, Incoming::Kind::packet);
    EXPECT_EQ(items[1].payload, "g");
    EXPECT_EQ(items[2].kind, Incoming::Kind::nack);
    EXPECT_EQ(items[3].kind, Incoming::Kind::interrupt);
    EXPECT_EQ(items[4].payload, "m0,4");
}

TEST(GdbPacket, ReaderJoinsAPacketSplitAcrossReads) {
    PacketReader reader(64);
    std::string framed = frame_packet("qSupported:xmlRegisters=i386");
    std::vector<Incoming> items;
    for (char c : framed)
        reader.feed(std::string_view(&c, 1), items);
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].payload, "qSupported:xmlRegisters=i386");
}

TEST(GdbPacket, ReaderReportsBadChecksumsAndOverlongPackets) {
    PacketReader reader(4);
    auto items = feed_all(reader, "$g#00$g#zz$toolong#00$ok#da");
    ASSERT_EQ(items.size(), 4u);
    EXPECT_EQ(items[0].kind, Incoming::Kind::bad_checksum);
    EXPECT_EQ(items[1].kind, Incoming::Kind::bad_checksum) << "non-hex checksum";
    EXPECT_EQ(items[2].kind, Incoming::Kind::too_long);
    EXPECT_EQ(items[3].kind, Incoming::Kind::packet);
    EXPECT_EQ(items[3].payload, "ok");
}

TEST(GdbPacket, ReaderRestartsOnDollarAndKeepsBinaryBytes) {
    PacketReader reader(64);
    // A '$' inside a packet starts over; 0x03 inside a packet is data, not an interrupt.
    std::string payload = std::string("X0,1:") + '\x03';
    auto items = feed_all(reader, "$garbage" + frame_packet(payload) + "noise");
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].kind, Incoming::Kind::packet);
    EXPECT_EQ(items[0].payload, payload);
}

TEST(GdbPacket, BinaryUnescape) {
    EXPECT_EQ(unescape_binary("a}\x03"
                              "b"),
              "a#b");
    EXPECT_EQ(unescape_binary(""), "");
    EXPECT_FALSE(unescape_binary("abc}")) << "a dangling escape";
}

TEST(GdbPacket, Hex) {
    EXPECT_EQ(parse_hex("0"), 0u);
    EXPECT_EQ(parse_hex("80000000"), 0x80000000u);
    EXPECT_EQ(parse_hex("FFFFffffFFFFffff"), ~uint64_t{0});
    EXPECT_FALSE(parse_hex("")) << "empty";
    EXPECT_FALSE(parse_hex("10000000000000000")) << "past 64 bits must not wrap";
    EXPECT_FALSE(parse_hex("12g4"));
    EXPECT_FALSE(parse_hex("-1"));
    const uint8_t bytes[] = {0x00, 0xab, 0xff};
    EXPECT_EQ(to_hex(bytes), "00abff");
    EXPECT_EQ(to_hex(std::string_view("hart")), "68617274");
    EXPECT_EQ(from_hex("00abFF"), (std::vector<uint8_t>{0x00, 0xab, 0xff}));
    EXPECT_FALSE(from_hex("abc")) << "odd length";
    EXPECT_FALSE(from_hex("zz"));
}

}  // namespace
}  // namespace vessel::debug
