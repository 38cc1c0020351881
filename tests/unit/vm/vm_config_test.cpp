#include "vm/boot/vm_config.h"

#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "base/file.h"

namespace vessel::vm {
namespace {

class VmConfigFile : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/vessel-vmconfig-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    Result<VmConfig> load(const std::string& text) {
        EXPECT_TRUE(write_file_atomic(dir_ + "/vm.json", text));
        return load_vm_config(dir_ + "/vm.json");
    }
    std::string dir_;
};

TEST_F(VmConfigFile, ReadsEveryFieldAndResolvesRelativePaths) {
    auto config = load(R"({"kernel": "Image", "initrd": "/abs/initrd.gz", "append": "console=ttyS0",
                           "memory": "512M", "cpus": 2, "console": "file:/tmp/c.log",
                           "accel": "emulate", "timeout": 1.5})")
                      .value();
    EXPECT_EQ(config.kernel, dir_ + "/Image");
    EXPECT_EQ(config.initrd, "/abs/initrd.gz");
    EXPECT_EQ(config.append, "console=ttyS0");
    EXPECT_EQ(config.memory_bytes, 512ull << 20);
    EXPECT_EQ(config.cpus, 2u);
    EXPECT_EQ(config.console, ConsoleKind::file);
    EXPECT_EQ(config.console_path, "/tmp/c.log");
    EXPECT_EQ(config.accel, Accel::emulate);
    EXPECT_EQ(config.timeout->count(), 1500);
}

TEST_F(VmConfigFile, ErrorsNameTheFileAndKey) {
    EXPECT_EQ(load(R"({"kernal": "Image"})").error().message(),
              dir_ + "/vm.json: kernal: unknown key");
    EXPECT_EQ(load(R"({"cpus": 0})").error().message(),
              dir_ + "/vm.json: cpus: must be between 1 and 8");
    EXPECT_EQ(load(R"({"memory": "lots"})").error().message(),
              dir_ + "/vm.json: memory: invalid memory size 'lots' (use e.g. 256M or 1G)");
    EXPECT_EQ(load(R"({"accel": "warp"})").error().message(),
              dir_ + "/vm.json: accel: --accel: 'warp' is not kvm, emulate or auto");
    EXPECT_FALSE(load("[1]"));
    EXPECT_FALSE(load("{"));
}

// The file's numbers get the checks the flags get, each error naming the file and key (not the
// flag, which the user did not write).
TEST_F(VmConfigFile, NumbersAreRangeCheckedIntoTheirTypes) {
    const std::string file = dir_ + "/vm.json: ";
    EXPECT_EQ(load(R"({"timeout": 9.3e15})").error().message(),
              file + "timeout: must be a positive number of seconds, at most 10000000");
    EXPECT_EQ(load(R"({"timeout": 0})").error().message(),
              file + "timeout: must be a positive number of seconds, at most 10000000");
    EXPECT_EQ(load(R"({"timeout": "5"})").error().message(), file + "timeout: must be a number");
    EXPECT_EQ(load(R"({"timeout": 10000000})").value().timeout->count(), 10'000'000'000);
    EXPECT_EQ(load(R"({"timeout": 0.0001})").value().timeout->count(), 1);
    EXPECT_EQ(load(R"({"memory": "4k"})").error().message(),
              file + "memory: 0 MiB is below the minimum of 16 MiB");
    EXPECT_EQ(load(R"({"memory": 16777217})").error().message(),
              file + "memory: must be a multiple of 2 MiB");
    EXPECT_EQ(load(R"({"memory": 1e300})").error().message(),
              file + "memory: must be an integer from 0 to 18446744073709551615");
    EXPECT_EQ(load(R"({"memory": -1})").error().message(),
              file + "memory: must be an integer from 0 to 18446744073709551615");
    EXPECT_EQ(load(R"({"memory": 33554432})").value().memory_bytes, 32ull << 20);
    EXPECT_EQ(load(R"({"cpus": 4294967298})").error().message(),
              file + "cpus: must be an integer from 0 to 4294967295");
    EXPECT_EQ(load(R"({"cpus": 1.5})").error().message(),
              file + "cpus: must be an integer from 0 to 4294967295");
}

TEST_F(VmConfigFile, MemoryAboveWhatTheHostCouldBackNamesTheKey) {
    uint64_t capacity = host_memory_capacity();
    ASSERT_LT(capacity, uint64_t{1} << 60);
    uint64_t over = (capacity / (2 << 20) + 1) * (2 << 20);
    auto error = load(fmt::format(R"({{"memory": {}}})", over)).error().message();
    EXPECT_EQ(error, fmt::format("{}/vm.json: memory: {} MiB is more than this host's RAM and swap "
                                 "together ({} MiB)",
                                 dir_, over >> 20, capacity >> 20));
}

TEST_F(VmConfigFile, FilePathsAreNamedByTheirKey) {
    auto config = load(R"({"kernel": "Image", "initrd": "../initrd"})").value();
    EXPECT_EQ(config.kernel_label, dir_ + "/vm.json: kernel");
    EXPECT_EQ(config.initrd_label, dir_ + "/vm.json: initrd");
    EXPECT_EQ(config.initrd, dir_ + "/../initrd");
    EXPECT_EQ(config.bios_label, "--bios");  // not in the file: a --bios flag would name itself
}

TEST(VmConfig, MemorySizeChecks) {
    EXPECT_TRUE(check_memory_size(16ull << 20, 16ull << 20));
    EXPECT_EQ(check_memory_size(1ull << 40, 64ull << 30).error().message(),
              "1048576 MiB is more than this host's RAM and swap together (65536 MiB)");
    EXPECT_EQ(check_memory_size(8ull << 20, 64ull << 30).error().message(),
              "8 MiB is below the minimum of 16 MiB");
    EXPECT_EQ(check_memory_size((16ull << 20) + 4096, 64ull << 30).error().message(),
              "must be a multiple of 2 MiB");
    // RAM + swap of the machine the test runs on: at least the RAM it has.
    EXPECT_GE(host_memory_capacity(),
              uint64_t(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE));
}

TEST(VmConfig, TimeoutFromSeconds) {
    EXPECT_EQ(timeout_from_seconds(1.5).value().count(), 1500);
    EXPECT_FALSE(timeout_from_seconds(-1));
    EXPECT_FALSE(timeout_from_seconds(0));
    EXPECT_FALSE(timeout_from_seconds(std::nan("")));
    EXPECT_FALSE(timeout_from_seconds(1e7 + 1));
    EXPECT_FALSE(timeout_from_seconds(9.3e15));
}

TEST(VmConfig, ValidationNamesTheOption) {
    VmConfig config;
    EXPECT_EQ(validate_vm_config(config).error().message(),
              "nothing to run: give --kernel or --bios");
    config.kernel = "Image";
    EXPECT_TRUE(validate_vm_config(config));
    config.memory_bytes = 8ull << 20;
    EXPECT_EQ(validate_vm_config(config).error().message(),
              "--memory: 8 MiB is below the minimum of 16 MiB");
    config.memory_bytes = 256ull << 20;
    config.cpus = 9;
    EXPECT_FALSE(validate_vm_config(config));
}

TEST(VmConfig, ConsoleAndAccelParsing) {
    VmConfig config;
    EXPECT_TRUE(parse_console("file:/x", config));
    EXPECT_EQ(config.console_path, "/x");
    EXPECT_FALSE(parse_console("file:", config));
    EXPECT_FALSE(parse_console("tty", config));
    EXPECT_EQ(parse_accel("kvm").value(), Accel::kvm);
}

TEST(VmConfig, EngineParsing) {
    EXPECT_EQ(parse_cpu_engine("jit").value(), CpuEngine::translator);
    EXPECT_EQ(parse_cpu_engine("interp").value(), CpuEngine::interpreter);
    EXPECT_EQ(parse_cpu_engine("auto").value(), CpuEngine::automatic);
    EXPECT_EQ(parse_cpu_engine("JIT\xff").error().message(),
              "--engine: 'JIT\xff' is not jit, interp or auto");
}

TEST_F(VmConfigFile, EngineKeyIsCheckedAndNamed) {
    EXPECT_EQ(load(R"({"engine": "interp"})").value().engine, CpuEngine::interpreter);
    EXPECT_EQ(load(R"({"engine": "warp"})").error().message(),
              dir_ + "/vm.json: engine: --engine: 'warp' is not jit, interp or auto");
    EXPECT_FALSE(load(R"({"engine": 7})"));
}

TEST(VmConfig, GdbOptionParsing) {
    auto tcp = parse_gdb_option("1234").value();
    EXPECT_EQ(tcp.port, 1234);
    EXPECT_EQ(tcp.where(), "127.0.0.1:1234");
    EXPECT_FALSE(tcp.wait);
    auto unix_socket = parse_gdb_option("./gdb.sock").value();
    EXPECT_EQ(unix_socket.port, 0);
    EXPECT_EQ(unix_socket.where(), "./gdb.sock");
    EXPECT_EQ(parse_gdb_option("65535").value().port, 65535);
    EXPECT_EQ(parse_gdb_option("0").error().message(), "--gdb: port 0 is not between 1 and 65535");
    EXPECT_FALSE(parse_gdb_option("65536"));
    EXPECT_FALSE(parse_gdb_option("99999999999999999999999")) << "must not overflow";
    EXPECT_EQ(parse_gdb_option("gdb.sock").error().message(),
              "--gdb: 'gdb.sock' is neither a TCP port (1-65535) nor a unix socket path (one with "
              "a '/', e.g. ./gdb.sock)");
    EXPECT_FALSE(parse_gdb_option(""));
    EXPECT_FALSE(parse_gdb_option("localhost:1234"));
    EXPECT_FALSE(parse_gdb_option("/" + std::string(107, 'x'))) << "longer than sun_path";
    EXPECT_TRUE(parse_gdb_option("/" + std::string(106, 'x')));
}

TEST_F(VmConfigFile, GdbKeys) {
    auto tcp = load(R"({"bios": "x.elf", "gdb": 1234, "gdb-wait": true})").value();
    ASSERT_TRUE(tcp.gdb);
    EXPECT_EQ(tcp.gdb->port, 1234);
    EXPECT_TRUE(tcp.gdb->wait);
    auto unix_socket =
        load(R"({"bios": "x.elf", "gdb": "/run/gdb.sock", "gdb-wait": false})").value();
    ASSERT_TRUE(unix_socket.gdb);
    EXPECT_EQ(unix_socket.gdb->path, "/run/gdb.sock");
    EXPECT_FALSE(unix_socket.gdb->wait);
    EXPECT_FALSE(load(R"({"bios": "x.elf"})").value().gdb);
    std::string file = dir_ + "/vm.json";
    EXPECT_EQ(load(R"({"bios": "x.elf", "gdb": 0})").error().message(),
              file + ": gdb: --gdb: port 0 is not between 1 and 65535");
    EXPECT_FALSE(load(R"({"bios": "x.elf", "gdb": true})"));
    EXPECT_FALSE(load(R"({"bios": "x.elf", "gdb": -1})"));
    EXPECT_EQ(load(R"({"bios": "x.elf", "gdb-wait": true})").error().message(),
              file + ": gdb-wait: needs \"gdb\"");
    EXPECT_FALSE(load(R"({"bios": "x.elf", "gdb": 1234, "gdb-wait": "yes"})"));
}

}  // namespace
}  // namespace vessel::vm
