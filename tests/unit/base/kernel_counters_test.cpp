#include "base/kernel_counters.h"

#include <gtest/gtest.h>

namespace vessel {
namespace {

// As Linux 6.1 writes /proc/net/dev.
constexpr std::string_view net_dev =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
    "    lo:    1200      12    0    0    0     0          0         0     1200      12    0    "
    "0    0     0       0          0\n"
    "  eth0: 18446744073709551615  31    0    0    0     0          0         0     2911      25   "
    " "
    "0    0    0     0       0          0\n"
    "veth-a1b2c3d4e5f:   70   1    0    0    0     0          0         0     80   2    0    0    "
    "0     0       0          0\n";

TEST(KernelCounters, NetDevGivesEveryInterfaceButLoopback) {
    auto interfaces = parse_net_dev(net_dev);
    ASSERT_EQ(interfaces.size(), 2u);
    EXPECT_EQ(interfaces[0].interface, "eth0");
    EXPECT_EQ(interfaces[0].received_bytes, 18446744073709551615ull);
    EXPECT_EQ(interfaces[0].received_packets, 31u);
    EXPECT_EQ(interfaces[0].sent_bytes, 2911u);
    EXPECT_EQ(interfaces[0].sent_packets, 25u);
    // A 15-byte name runs into its colon with no space.
    EXPECT_EQ(interfaces[1].interface, "veth-a1b2c3d4e5f");
    EXPECT_EQ(interfaces[1].sent_bytes, 80u);
}

TEST(KernelCounters, NetDevSkipsLinesItCannotReadWhole) {
    auto interfaces = parse_net_dev(
        "eth0: 1 2 3\n"                                      // too few counters
        "eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n"  // too many
        "eth2: 1 2 3 4 5 6 7 8 x 10 11 12 13 14 15 16\n"     // not a number
        "eth3: -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"    // negative
        ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"         // no name
        "eth4: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16");     // no newline at the end: fine
    ASSERT_EQ(interfaces.size(), 1u);
    EXPECT_EQ(interfaces[0].interface, "eth4");
    EXPECT_EQ(interfaces[0].received_bytes, 1u);
    EXPECT_EQ(interfaces[0].sent_bytes, 9u);
}

TEST(KernelCounters, DiskstatsCountsSectorsOf512Bytes) {
    // Linux 6.1: 20 fields; older kernels have 14, which hold the same first ones.
    auto disks = parse_diskstats(
        " 254       0 vda 1151 0 9208 412 257 3 2056 140 0 700 552 0 0 0 0 0 0 0\n"
        " 254       1 vda1 1100 0 9000 400 250 3 2000 130 0 690 540 0 0 0 0\n"
        "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0\n"
        "   8       0 sda 1 2\n");
    ASSERT_EQ(disks.size(), 3u);
    EXPECT_EQ(disks[0].device, "vda");
    EXPECT_EQ(disks[0].read_bytes, 9208u * 512);
    EXPECT_EQ(disks[0].written_bytes, 2056u * 512);
    EXPECT_EQ(disks[1].device, "vda1");
    EXPECT_EQ(disks[2].device, "loop0");
    EXPECT_EQ(disks[2].read_bytes, 0u);
}

}  // namespace
}  // namespace vessel
