#include "host/cgroup/stats.h"

#include <gtest/gtest.h>

namespace vessel::host::cgroup {
namespace {

TEST(CgroupIo, V2IoStatGivesBytesPerDevice) {
    auto devices = parse_io_stat(
        "8:0 rbytes=90430464 wbytes=4096 rios=1841 wios=1 dbytes=0 dios=0\n"
        "254:16 rbytes=0 wbytes=1048576 rios=0 wios=8 dbytes=0 dios=0\n"
        "253:0 rbytes=oops wbytes=7\n"  // a value that is no number is left at 0
        "junk\n");
    ASSERT_EQ(devices.size(), 3u);
    EXPECT_EQ(devices[0].major, 8u);
    EXPECT_EQ(devices[0].minor, 0u);
    EXPECT_EQ(devices[0].read_bytes, 90430464u);
    EXPECT_EQ(devices[0].written_bytes, 4096u);
    EXPECT_EQ(devices[1].major, 254u);
    EXPECT_EQ(devices[1].minor, 16u);
    EXPECT_EQ(devices[1].written_bytes, 1048576u);
    EXPECT_EQ(devices[2].read_bytes, 0u);
    EXPECT_EQ(devices[2].written_bytes, 7u);
}

TEST(CgroupIo, V1ServiceBytesJoinsReadAndWriteLinesOfADevice) {
    auto devices = parse_blkio_service_bytes(
        "254:0 Read 4096\n"
        "254:0 Write 8192\n"
        "254:0 Sync 12288\n"
        "254:0 Async 0\n"
        "254:0 Discard 0\n"
        "254:0 Total 12288\n"
        "8:16 Read 512\n"
        "Total 12800\n");
    ASSERT_EQ(devices.size(), 2u);
    EXPECT_EQ(devices[0].major, 254u);
    EXPECT_EQ(devices[0].read_bytes, 4096u);
    EXPECT_EQ(devices[0].written_bytes, 8192u);
    EXPECT_EQ(devices[1].minor, 16u);
    EXPECT_EQ(devices[1].read_bytes, 512u);
    EXPECT_EQ(devices[1].written_bytes, 0u);
    EXPECT_TRUE(parse_blkio_service_bytes("Total 0\n").empty());
}

TEST(CgroupIo, UsageOfNoCgroupIsAnError) {
    EXPECT_FALSE(read_usage(HostLayout{}, ""));
}

}  // namespace
}  // namespace vessel::host::cgroup
