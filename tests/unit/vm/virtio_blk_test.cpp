// virtio-blk on a raw image file, driven through the mmio transport as a guest would: reads,
// writes, flush, serial, discard and write-zeroes land in the file; requests beyond the disk, with
// ragged lengths, or writes to a read-only disk fail with a status and the device goes on. The
// raw-file backend refuses what is not a regular file and locks the image.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "base/file.h"
#include "base/process.h"
#include "virtio_driver.h"
#include "vm/backends/raw_file.h"
#include "vm/devices/virtio/blk.h"

namespace vessel::vm::virtio {
namespace {

using testing::TestDriver;
namespace reg = mmio;

constexpr uint64_t kDiskBytes = 1 << 20;

class BlkTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/vessel-blk-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        image_ = dir_ + "/disk.img";
        std::string content(kDiskBytes, '\0');
        for (size_t i = 0; i < content.size(); ++i)
            content[i] = static_cast<char>(i / 512);
        ASSERT_TRUE(write_file_atomic(image_, content));
    }
    void TearDown() override {
        harness_.reset();
        device_.reset();
        std::error_code ignored;  // what a failed test left is not worth a second failure
        std::filesystem::remove_all(dir_, ignored);
    }

    void attach(bool read_only) {
        auto backend = RawFileBackend::open(image_, read_only);
        ASSERT_TRUE(backend) << backend.error().message();
        device_ = std::make_unique<BlockDevice>(std::move(*backend), "vessel-serial-0123456789",
                                                "virtio-blk test");
        harness_ = std::make_unique<testing::TransportHarness>(ram_);
        harness_->attach(*device_);
        harness_->bring_up({&driver_});
    }

    // One request: header, an optional data buffer (device-writable for reads), the status byte.
    // Returns the status, or -1 when the device did not answer within a few seconds.
    int request(uint32_t type, uint64_t sector, uint64_t data_address, uint32_t data_length,
                bool data_writable, uint32_t* used_length = nullptr) {
        uint64_t header = TestDriver::kBuffers, status_byte = TestDriver::kBuffers + 0x80;
        EXPECT_TRUE(ram_.store(header, type));
        EXPECT_TRUE(ram_.store(header + 4, uint32_t{0}));
        EXPECT_TRUE(ram_.store(header + 8, sector));
        EXPECT_TRUE(ram_.store(status_byte, uint8_t{0xee}));
        uint16_t status_index = data_length ? 2 : 1;
        driver_.set_descriptor(0, {header, 16, descriptor::next, 1});
        if (data_length)
            driver_.set_descriptor(
                1,
                {data_address, data_length,
                 static_cast<uint16_t>(descriptor::next | (data_writable ? descriptor::write : 0)),
                 2});
        driver_.set_descriptor(status_index, {status_byte, 1, descriptor::write, 0});
        uint16_t before = driver_.used_index();
        driver_.make_available(0);
        harness_->notify(0);
        if (!driver_.wait_used(static_cast<uint16_t>(before + 1))) return -1;
        if (used_length) *used_length = driver_.used_element(before).second;
        return ram_.load<uint8_t>(status_byte).value();
    }

    std::string file_bytes(uint64_t offset, size_t length) {
        return read_file(image_).value().substr(offset, length);
    }

    std::string dir_, image_;
    GuestMemory ram_ = testing::make_ram();
    TestDriver driver_{ram_, 8};
    std::unique_ptr<BlockDevice> device_;
    std::unique_ptr<testing::TransportHarness> harness_;
    static constexpr uint64_t kData = TestDriver::kBuffers + 0x1000;
    enum : uint32_t { kIn = 0, kOut = 1, kFlush = 4, kGetId = 8, kDiscard = 11, kZeroes = 13 };
};

TEST_F(BlkTest, ReportsItsCapacityAndFeatures) {
    attach(false);
    EXPECT_EQ(harness_->transport().read(reg::config, 8), kDiskBytes / 512);
    harness_->transport().write(reg::device_features_sel, 4, 0);
    uint32_t offered = static_cast<uint32_t>(harness_->transport().read(reg::device_features, 4));
    EXPECT_TRUE(offered & (1u << 9));   // flush
    EXPECT_TRUE(offered & (1u << 13));  // discard
    EXPECT_FALSE(offered & (1u << 5));  // not read-only
}

TEST_F(BlkTest, ReadsAndWritesLandInTheImage) {
    attach(false);
    uint32_t used = 0;
    ASSERT_EQ(request(kIn, 3, kData, 1024, true, &used), 0);
    EXPECT_EQ(used, 1025u);  // the data and the status byte
    EXPECT_EQ(ram_.load<uint8_t>(kData).value(), 3);
    EXPECT_EQ(ram_.load<uint8_t>(kData + 512).value(), 4);
    std::vector<uint8_t> pattern(512, 0x5a);
    ASSERT_TRUE(ram_.write(kData, pattern));
    ASSERT_EQ(request(kOut, 10, kData, 512, false), 0);
    ASSERT_EQ(request(kFlush, 0, 0, 0, false), 0);
    EXPECT_EQ(file_bytes(10 * 512, 512), std::string(512, '\x5a'));
    EXPECT_EQ(file_bytes(11 * 512, 1), std::string(1, '\x0b'));
}

TEST_F(BlkTest, AnswersItsSerial) {
    attach(false);
    ASSERT_EQ(request(kGetId, 0, kData, 20, true), 0);
    char id[20];
    ASSERT_TRUE(ram_.read(kData, std::span(reinterpret_cast<uint8_t*>(id), 20)));
    EXPECT_EQ(std::string(id, 20), "vessel-serial-012345");
}

TEST_F(BlkTest, RequestsOutsideTheRulesFailAndTheDeviceGoesOn) {
    attach(false);
    uint64_t last = kDiskBytes / 512 - 1;
    EXPECT_EQ(request(kIn, last, kData, 1024, true), 1);  // runs past the end
    EXPECT_EQ(request(kIn, last + 1, kData, 512, true), 1);
    EXPECT_EQ(request(kIn, 0xffff'ffff'ffff'ffff, kData, 512, true), 1);  // would wrap
    EXPECT_EQ(request(kOut, 0, kData, 100, false), 1);                    // not a whole sector
    EXPECT_EQ(request(99, 0, 0, 0, false), 2);                            // unknown type: UNSUPP
    // A discard range past the end, with the unmap flag, or with reserved flags.
    ASSERT_TRUE(ram_.store(kData, uint64_t{last}));
    ASSERT_TRUE(ram_.store(kData + 8, uint32_t{2}));
    ASSERT_TRUE(ram_.store(kData + 12, uint32_t{0}));
    EXPECT_EQ(request(kDiscard, 0, kData, 16, false), 1);
    ASSERT_TRUE(ram_.store(kData, uint64_t{0}));
    ASSERT_TRUE(ram_.store(kData + 12, uint32_t{1}));
    EXPECT_EQ(request(kDiscard, 0, kData, 16, false), 2);
    EXPECT_EQ(request(kDiscard, 0, kData, 12, false), 1);  // a ragged range list
    // And a good request still works.
    EXPECT_EQ(request(kIn, last, kData, 512, true), 0);
    EXPECT_EQ(file_bytes(0, 1), std::string(1, '\0'));
}

TEST_F(BlkTest, DiscardAndWriteZeroesPunchHoles) {
    attach(false);
    struct stat before {};
    ASSERT_EQ(::stat(image_.c_str(), &before), 0);
    ASSERT_TRUE(ram_.store(kData, uint64_t{0}));
    ASSERT_TRUE(ram_.store(kData + 8, uint32_t{1024}));  // the first 512 KiB
    ASSERT_TRUE(ram_.store(kData + 12, uint32_t{0}));
    EXPECT_EQ(request(kDiscard, 0, kData, 16, false), 0);
    ASSERT_TRUE(ram_.store(kData, uint64_t{1024}));
    ASSERT_TRUE(ram_.store(kData + 8, uint32_t{8}));
    ASSERT_TRUE(ram_.store(kData + 12, uint32_t{1}));  // write-zeroes with unmap
    EXPECT_EQ(request(kZeroes, 0, kData, 16, false), 0);
    EXPECT_EQ(file_bytes(0, 512 * 1024 + 8 * 512), std::string(512 * 1024 + 8 * 512, '\0'));
    EXPECT_EQ(file_bytes(512 * 1032, 1), std::string(1, static_cast<char>(1032 % 256)));
    struct stat after {};
    ASSERT_EQ(::stat(image_.c_str(), &after), 0);
    EXPECT_EQ(after.st_size, before.st_size);
    EXPECT_LT(after.st_blocks, before.st_blocks);  // the image became sparse
}

TEST_F(BlkTest, AReadOnlyDiskRefusesWrites) {
    attach(true);
    harness_->transport().write(reg::device_features_sel, 4, 0);
    EXPECT_TRUE(harness_->transport().read(reg::device_features, 4) & (1u << 5));
    std::vector<uint8_t> pattern(512, 0x77);
    ASSERT_TRUE(ram_.write(kData, pattern));
    EXPECT_EQ(request(kOut, 0, kData, 512, false), 1);
    EXPECT_EQ(file_bytes(0, 1), std::string(1, '\0'));
    EXPECT_EQ(request(kIn, 1, kData, 512, true), 0);
}

TEST_F(BlkTest, TheImageIsLockedWhileInUse) {
    auto writer = RawFileBackend::open(image_, false);
    ASSERT_TRUE(writer);
    auto second = RawFileBackend::open(image_, false);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().message(), "disk " + image_ + ": in use by another VM (a lock held)");
    auto reader = RawFileBackend::open(image_, true);
    ASSERT_FALSE(reader);
    EXPECT_EQ(reader.error().message(),
              "disk " + image_ + ": in use by another VM (a write lock held)");
    writer->reset();
    // Readers share the image; a writer then waits for them all to go.
    auto first_reader = RawFileBackend::open(image_, true);
    auto second_reader = RawFileBackend::open(image_, true);
    EXPECT_TRUE(first_reader && second_reader);
    EXPECT_FALSE(RawFileBackend::open(image_, false));
}

TEST_F(BlkTest, OnlyRegularFilesAreDisks) {
    auto zero = RawFileBackend::open("/dev/zero", true);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().message(), "disk /dev/zero: not a regular file");
    std::string fifo = dir_ + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto piped = RawFileBackend::open(fifo, true);  // must not block
    ASSERT_FALSE(piped);
    EXPECT_EQ(piped.error().message(), "disk " + fifo + ": not a regular file");
    auto missing = RawFileBackend::open(dir_ + "/none.img", false);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("none.img: No such file or directory"),
              std::string::npos)
        << missing.error().message();
}

}  // namespace
}  // namespace vessel::vm::virtio
