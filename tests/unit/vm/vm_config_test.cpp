#include "vm/vmm/vm_config.h"

#include <stdlib.h>
#include <unistd.h>

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

}  // namespace
}  // namespace vessel::vm
