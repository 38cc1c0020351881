// The pure parts of the managed network and of `image build`: names, addresses, and finding the
// Debian archive in apt's configuration.
#include <gtest/gtest.h>

#include "base/file.h"
#include "base/process.h"
#include "manager/image/debian_build.h"
#include "manager/network/bridge_network.h"
#include "temp_dir.h"

namespace vessel::manager {
namespace {

using testing::TempDirTest;

TEST(BridgeNetwork, InstanceNamesGiveStableDistinctInterfacesAndMacs) {
    EXPECT_EQ(BridgeNetwork::mac_for("c1"), BridgeNetwork::mac_for("c1"));
    EXPECT_NE(BridgeNetwork::mac_for("c1"), BridgeNetwork::mac_for("c2"));
    EXPECT_NE(BridgeNetwork::host_interface_for("c1"), BridgeNetwork::host_interface_for("c2"));
    // A locally administered unicast MAC; an interface name the kernel takes (<= 15 chars).
    EXPECT_TRUE(BridgeNetwork::mac_for("web").starts_with("02:"));
    EXPECT_EQ(BridgeNetwork::mac_for("web").size(), 17u);
    EXPECT_LE(BridgeNetwork::host_interface_for(std::string(60, 'x')).size(), 15u);
}

TEST(BridgeNetwork, RejectsNamesAndAddressesItCannotUse) {
    EXPECT_TRUE(
        BridgeNetwork::make({.name = "vessel0", .gateway = "10.87.0.1", .directory = "/x"}));
    auto long_name = BridgeNetwork::make({.name = "a-very-long-bridge", .gateway = "10.87.0.1"});
    ASSERT_FALSE(long_name);
    EXPECT_EQ(long_name.error().code(), EINVAL);
    EXPECT_FALSE(BridgeNetwork::make({.name = "Vessel0", .gateway = "10.87.0.1"}));
    auto not_gateway = BridgeNetwork::make({.name = "vessel0", .gateway = "10.87.0.7"});
    ASSERT_FALSE(not_gateway);
    EXPECT_NE(not_gateway.error().message().find("ending in .1"), std::string::npos);
    EXPECT_FALSE(BridgeNetwork::make({.name = "vessel0", .gateway = "10.87.300.1"}));
}

TEST(DebianBuild, OnlyDistributionsItCanBuild) {
    EXPECT_EQ(debian_suite("debian/12").value(), "bookworm");
    EXPECT_EQ(debian_suite("debian/13").value(), "trixie");
    EXPECT_EQ(debian_suite("debian/trixie").value(), "trixie");
    auto other = debian_suite("ubuntu/24.04");
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().code(), EINVAL);
}

TEST(DebianBuild, HostArchitectureInDebiansNames) {
    auto dpkg = run_checked({"dpkg", "--print-architecture"});
    ASSERT_TRUE(dpkg) << dpkg.error().message();
    EXPECT_EQ(host_debian_architecture() + "\n", *dpkg);
}

TEST(DebianBuild, VmImagesForThisHostAndForTheEmulatedRiscvBoard) {
    std::string host = host_debian_architecture();
    EXPECT_TRUE(check_vm_build("bookworm", host));
    EXPECT_TRUE(check_vm_build("trixie", "riscv64"));
    // Debian 12 was never released for riscv64.
    auto old = check_vm_build("bookworm", "riscv64");
    ASSERT_FALSE(old);
    EXPECT_EQ(old.error().code(), EINVAL);
    EXPECT_NE(old.error().message().find("debian/13"), std::string::npos) << old.error().message();
    // Neither this host's kernel (KVM) nor the emulated board runs it.
    auto other = check_vm_build("trixie", host == "s390x" ? "ppc64el" : "s390x");
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().code(), EINVAL);
}

class AgentBinaries : public TempDirTest {
  protected:
    // An ELF64 little-endian header for `machine` with `interp` program headers of type PT_INTERP
    // (3) and one PT_LOAD (1).
    std::string elf(const std::string& name, uint16_t machine, bool interp) {
        std::string bytes(64 + 2 * 56, '\0');
        bytes.replace(0, 6,
                      std::string("\x7f"
                                  "ELF\x02\x01"));
        bytes[18] = static_cast<char>(machine & 0xff);
        bytes[19] = static_cast<char>(machine >> 8);
        bytes[32] = 64;  // e_phoff
        bytes[54] = 56;  // e_phentsize
        bytes[56] = 2;   // e_phnum
        bytes[64] = 1;
        bytes[64 + 56] = interp ? 3 : 1;
        EXPECT_TRUE(write_file_atomic(path(name), bytes, 0755));
        return path(name);
    }
};

TEST_F(AgentBinaries, OnlyAStaticProgramOfTheImagesArchitecture) {
    EXPECT_TRUE(check_static_program(elf("riscv", 243, false), "riscv64"));
    EXPECT_TRUE(check_static_program(elf("x86", 62, false), "amd64"));
    auto wrong = check_static_program(elf("x86-2", 62, false), "riscv64");
    ASSERT_FALSE(wrong);
    EXPECT_NE(wrong.error().message().find("is not a riscv64 program"), std::string::npos)
        << wrong.error().message();
    auto dynamic = check_static_program(elf("dynamic", 243, true), "riscv64");
    ASSERT_FALSE(dynamic);
    EXPECT_NE(dynamic.error().message().find("dynamically linked"), std::string::npos)
        << dynamic.error().message();
    ASSERT_TRUE(write_file_atomic(path("script"), "#!/bin/sh\n", 0755));
    auto script = check_static_program(path("script"), "amd64");
    ASSERT_FALSE(script);
    EXPECT_EQ(script.error().code(), EINVAL);
    auto missing = check_static_program(path("nothing"), "amd64");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ENOENT);
}

TEST_F(AgentBinaries, TheRealAgentIsStaticAndTheHostsShellIsNot) {
    std::string host = host_debian_architecture();
    EXPECT_TRUE(check_static_program(VESSEL_AGENT_BINARY, host));
    EXPECT_FALSE(check_static_program("/bin/sh", host));
}

class AptSources : public TempDirTest {
  protected:
    void SetUp() override {
        TempDirTest::SetUp();
        ASSERT_TRUE(make_directories(path("sources.list.d")));
    }
};

TEST_F(AptSources, Deb822SourcesGiveTheMainArchiveOfTheSuite) {
    ASSERT_TRUE(write_file_atomic(path("sources.list.d/debian.sources"),
                                  "# the archive\n"
                                  "Types: deb-src\n"
                                  "URIs: http://source.example/debian\n"
                                  "Suites: bookworm\n"
                                  "Components: main\n"
                                  "\n"
                                  "Types: deb\n"
                                  "URIs: http://security.example/debian-security\n"
                                  "Suites: bookworm-security\n"
                                  "Components: main\n"
                                  "\n"
                                  "Types: deb\n"
                                  "URIs: http://archive.example/debian\n"
                                  "Suites: bookworm bookworm-updates\n"
                                  "Components: main contrib\n"
                                  "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"));
    EXPECT_EQ(debian_archive_for(dir_, "bookworm").value(), "http://archive.example/debian");
}

TEST_F(AptSources, DisabledStanzasAndOtherSuitesAreSkipped) {
    ASSERT_TRUE(write_file_atomic(path("sources.list.d/a.sources"),
                                  "Types: deb\nURIs: http://off.example/debian\n"
                                  "Suites: bookworm\nComponents: main\nEnabled: no\n"));
    ASSERT_TRUE(write_file_atomic(path("sources.list"),
                                  "deb http://old.example/debian bullseye main\n"
                                  "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian "
                                  "bookworm main non-free\n"));
    EXPECT_EQ(debian_archive_for(dir_, "bookworm").value(), "http://one.example/debian");
    auto missing = debian_archive_for(dir_, "trixie");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ENOENT);
}

TEST_F(AptSources, AnotherReleaseComesFromTheArchiveOfTheHostsOwn) {
    ASSERT_TRUE(write_file_atomic(path("sources.list.d/debian.sources"),
                                  "Types: deb\nURIs: http://archive.example/debian\n"
                                  "Suites: bookworm bookworm-updates\nComponents: main\n"));
    ASSERT_TRUE(write_file_atomic(path("os-release"),
                                  "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
                                  "VERSION_CODENAME=bookworm\nID=debian\n"));
    EXPECT_EQ(debian_archive_for_build(dir_, "trixie", path("os-release")).value(),
              "http://archive.example/debian");
    EXPECT_EQ(debian_archive_for_build(dir_, "bookworm", path("os-release")).value(),
              "http://archive.example/debian");
    // Without knowing the host's release there is no archive to take.
    auto unknown = debian_archive_for_build(dir_, "trixie", path("no-os-release"));
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code(), ENOENT);
}

}  // namespace
}  // namespace vessel::manager
