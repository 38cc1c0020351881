// The pure parts of the managed network and of `image build`: names, addresses, and finding the
// Debian archive in apt's configuration.
#include <gtest/gtest.h>

#include "base/file.h"
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
    auto other = debian_suite("ubuntu/24.04");
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().code(), EINVAL);
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

}  // namespace
}  // namespace vessel::manager
