// The instance backup format (src/manager/backup/): what write_backup archives, BackupReader gives
// back exactly (contents, holes, hard links, owners, modes, extended attributes, whiteouts), and
// what a hostile archive or index cannot make it do.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>

#include "base/file.h"
#include "manager/backup/backup_index.h"
#include "manager/backup/backup_reader.h"
#include "manager/backup/backup_writer.h"
#include "temp_dir.h"

namespace vessel::manager {
namespace {

class BackupTest : public testing::TempDirTest {
  protected:
    void write(const std::string& name, const std::string& data, off_t at = 0) {
        auto fd = open_file(path(name), O_WRONLY | O_CREAT, 0644);
        ASSERT_TRUE(fd) << fd.error().message();
        ASSERT_EQ(::pwrite(fd->get(), data.data(), data.size(), at),
                  static_cast<ssize_t>(data.size()));
    }
    std::string read(const std::string& name) {
        auto text = read_file(path(name));
        EXPECT_TRUE(text) << text.error().message();
        return text ? *text : "";
    }
    // Archives `trees` into archive.tar and reads it back into out/<section>.
    Result<BackupContents> round_trip(const std::vector<BackupTree>& trees,
                                      std::vector<std::string> snapshots = {},
                                      bool overlay_files = true) {
        auto size = TRY(measure_backup(trees));
        {
            auto out = TRY(open_file(path("archive.tar"), O_WRONLY | O_CREAT | O_TRUNC, 0600));
            TRY(write_backup(out.get(), "{}", trees, {.compression = BackupCompression::gzip}));
        }
        return read_back(size, std::move(snapshots), overlay_files);
    }
    Result<BackupContents> read_back(BackupSize size, std::vector<std::string> snapshots,
                                     bool overlay_files) {
        auto reader = TRY(BackupReader::open(path("archive.tar")));
        TRY(reader.read_index());
        BackupExtraction plan{
            .directory_for =
                [&](const BackupSection& section) -> Result<std::optional<std::string>> {
                std::string name = section.part == BackupSection::Part::image ? "image"
                                   : section.part == BackupSection::Part::instance
                                       ? "instance"
                                       : section.snapshot;
                auto directory = path("out/" + name);
                TRY(make_directories(directory, 0700));
                return std::optional<std::string>(directory);
            },
            .snapshots = std::move(snapshots),
            .overlay_files = overlay_files,
            .max_data_bytes = size.data_bytes,
            .max_entries = size.entries};
        return reader.extract(plan);
    }
};

TEST_F(BackupTest, ASparseFileComesBackWithItsDataAndItsHoles) {
    ASSERT_TRUE(make_directories(path("instance")));
    // Extents at odd places: the start, right after a one-block hole, far in, and none at the end.
    std::string a(147456, 'a'), b(77824, 'b'), c(20000, 'c');
    write("instance/disk", a, 0);
    write("instance/disk", b, 151552);
    write("instance/disk", c, 16928768);
    ASSERT_EQ(::truncate(path("instance/disk").c_str(), 24 << 20), 0);
    auto contents = round_trip({{"instance", path("instance")}});
    ASSERT_TRUE(contents) << contents.error().message();
    EXPECT_TRUE(read("out/instance/disk") == read("instance/disk")) << "the contents differ";
    struct stat copy {};
    ASSERT_EQ(::stat(path("out/instance/disk").c_str(), &copy), 0);
    EXPECT_EQ(copy.st_size, 24 << 20);
    EXPECT_LT(copy.st_blocks * 512, 4 << 20) << "the holes were written out";
    EXPECT_EQ(contents->data_bytes, a.size() + b.size() + 20480) << "data in whole blocks";
}

TEST_F(BackupTest, AFileOfOnlyAHoleStaysAHole) {
    ASSERT_TRUE(make_directories(path("instance")));
    write("instance/empty-disk", "");
    ASSERT_EQ(::truncate(path("instance/empty-disk").c_str(), 1 << 30), 0);
    auto contents = round_trip({{"instance", path("instance")}});
    ASSERT_TRUE(contents) << contents.error().message();
    struct stat copy {};
    ASSERT_EQ(::stat(path("out/instance/empty-disk").c_str(), &copy), 0);
    EXPECT_EQ(copy.st_size, 1 << 30);
    EXPECT_EQ(copy.st_blocks, 0);
}

TEST_F(BackupTest, LinksOwnersModesAttributesAndWhiteoutsComeBack) {
    ASSERT_TRUE(make_directories(path("instance/upper/root")));
    write("instance/upper/root/data", "data");
    ASSERT_EQ(
        ::link(path("instance/upper/root/data").c_str(), path("instance/upper/root/link").c_str()),
        0);
    ASSERT_EQ(::symlink("/root/data", path("instance/upper/root/symlink").c_str()), 0);
    ASSERT_EQ(::chown(path("instance/upper/root/data").c_str(), 1234, 5678), 0);
    ASSERT_EQ(::chmod(path("instance/upper/root/data").c_str(), 04750), 0);
    ASSERT_EQ(::mknod(path("instance/upper/root/deleted").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
    ASSERT_EQ(::setxattr(path("instance/upper/root").c_str(), "trusted.overlay.opaque", "y", 1, 0),
              0);
    ASSERT_EQ(::setxattr(path("instance/upper/root/data").c_str(), "user.kept", "v", 1, 0), 0);
    ASSERT_EQ(
        ::setxattr(path("instance/upper/root/data").c_str(), "trusted.overlay.origin", "x", 1, 0),
        0);
    auto contents = round_trip({{"instance", path("instance")}});
    ASSERT_TRUE(contents) << contents.error().message();
    struct stat data {
    }, link{}, whiteout{};
    ASSERT_EQ(::lstat(path("out/instance/upper/root/data").c_str(), &data), 0);
    ASSERT_EQ(::lstat(path("out/instance/upper/root/link").c_str(), &link), 0);
    EXPECT_EQ(data.st_ino, link.st_ino);
    EXPECT_EQ(data.st_uid, 1234u);
    EXPECT_EQ(data.st_gid, 5678u);
    EXPECT_EQ(data.st_mode & 07777, 04750u);
    ASSERT_EQ(::lstat(path("out/instance/upper/root/deleted").c_str(), &whiteout), 0);
    EXPECT_TRUE(S_ISCHR(whiteout.st_mode));
    EXPECT_EQ(whiteout.st_rdev, makedev(0, 0));
    char value[8] = {};
    EXPECT_EQ(::getxattr(path("out/instance/upper/root").c_str(), "trusted.overlay.opaque", value,
                         sizeof value),
              1);
    EXPECT_EQ(
        ::getxattr(path("out/instance/upper/root/data").c_str(), "user.kept", value, sizeof value),
        1);
    EXPECT_LT(::getxattr(path("out/instance/upper/root/data").c_str(), "trusted.overlay.origin",
                         value, sizeof value),
              0)
        << "an origin file handle means nothing on another host";
    char target[64] = {};
    EXPECT_GT(::readlink(path("out/instance/upper/root/symlink").c_str(), target, sizeof target),
              0);
    EXPECT_STREQ(target, "/root/data");
}

TEST_F(BackupTest, ARealDeviceNodeIsNotExported) {
    ASSERT_TRUE(make_directories(path("instance/upper")));
    ASSERT_EQ(::mknod(path("instance/upper/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    auto size = measure_backup({{"instance", path("instance")}});
    ASSERT_FALSE(size);
    EXPECT_NE(size.error().message().find("is a device node (character 1:3)"), std::string::npos)
        << size.error().message();
}

TEST_F(BackupTest, WhiteoutsAreRefusedInAVmsFiles) {
    ASSERT_TRUE(make_directories(path("instance")));
    ASSERT_EQ(::mknod(path("instance/deleted").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
    auto contents = round_trip({{"instance", path("instance")}}, {}, false);
    ASSERT_FALSE(contents);
    EXPECT_NE(contents.error().message().find("device nodes are not allowed"), std::string::npos);
}

TEST_F(BackupTest, TheImageDigestFollowsTheContentsAlone) {
    ASSERT_TRUE(make_directories(path("image/rootfs")));
    ASSERT_TRUE(make_directories(path("instance")));
    write("image/rootfs/file", "contents");
    auto first = round_trip({{"image", path("image")}, {"instance", path("instance")}});
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(first->image_digest.size(), 64u);
    std::filesystem::remove_all(path("out"));
    auto again = round_trip({{"image", path("image")}, {"instance", path("instance")}});
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(again->image_digest, first->image_digest);
    std::filesystem::remove_all(path("out"));
    write("image/rootfs/file", "Contents");
    auto changed = round_trip({{"image", path("image")}, {"instance", path("instance")}});
    ASSERT_TRUE(changed) << changed.error().message();
    EXPECT_NE(changed->image_digest, first->image_digest);
}

TEST_F(BackupTest, AnImageWithHardLinksHasOneDigestWhereverItIsExtracted) {
    ASSERT_TRUE(make_directories(path("image/rootfs/bin")));
    ASSERT_TRUE(make_directories(path("instance")));
    write("image/rootfs/bin/perl", "interpreter");
    ASSERT_EQ(
        ::link(path("image/rootfs/bin/perl").c_str(), path("image/rootfs/bin/perl5.36").c_str()),
        0);
    std::vector<BackupTree> trees = {{"image", path("image")}, {"instance", path("instance")}};
    auto size = measure_backup(trees);
    ASSERT_TRUE(size);
    {
        auto out = open_file(path("archive.tar"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_TRUE(write_backup(out->get(), "{}", trees, {}));
    }
    // Kept in one directory, kept in another, and read past (a host that has the image).
    auto digest_of = [&](std::optional<std::string> image_directory) -> std::string {
        auto reader = BackupReader::open(path("archive.tar"));
        EXPECT_TRUE(reader && reader->read_index());
        BackupExtraction plan{
            .directory_for =
                [&](const BackupSection& section) -> Result<std::optional<std::string>> {
                if (section.part == BackupSection::Part::image) {
                    if (image_directory) TRY(make_directories(*image_directory, 0700));
                    return image_directory;
                }
                auto directory = path("instance-out-" + std::to_string(::random()));
                TRY(make_directories(directory, 0700));
                return std::optional<std::string>(directory);
            },
            .max_data_bytes = size->data_bytes,
            .max_entries = size->entries};
        auto contents = reader->extract(plan);
        EXPECT_TRUE(contents) << contents.error().message();
        return contents ? contents->image_digest : "";
    };
    auto first = digest_of(path("one"));
    EXPECT_EQ(first.size(), 64u);
    EXPECT_EQ(digest_of(path("another/place")), first);
    EXPECT_EQ(digest_of(std::nullopt), first);
    struct stat a {
    }, b{};
    ASSERT_EQ(::stat(path("one/rootfs/bin/perl").c_str(), &a), 0);
    ASSERT_EQ(::stat(path("one/rootfs/bin/perl5.36").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino) << "the hard link came back as one";
}

TEST_F(BackupTest, MoreDataThanDeclaredStopsTheExtraction) {
    ASSERT_TRUE(make_directories(path("instance")));
    write("instance/file", std::string(1 << 20, 'x'));
    auto size = measure_backup({{"instance", path("instance")}});
    ASSERT_TRUE(size);
    {
        auto out = open_file(path("archive.tar"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_TRUE(write_backup(out->get(), "{}", {{"instance", path("instance")}}, {}));
    }
    size->data_bytes -= 1;
    auto contents = read_back(*size, {}, true);
    ASSERT_FALSE(contents);
    EXPECT_NE(contents.error().message().find("more than the 1048575 bytes of data"),
              std::string::npos)
        << contents.error().message();
}

TEST_F(BackupTest, ASnapshotNotInTheIndexIsRefused) {
    ASSERT_TRUE(make_directories(path("instance")));
    ASSERT_TRUE(make_directories(path("snap")));
    auto contents = round_trip({{"instance", path("instance")}, {"snapshots/s1", path("snap")}});
    ASSERT_FALSE(contents);
    EXPECT_NE(contents.error().message().find("snapshot s1 is not in index.json"),
              std::string::npos);
    std::filesystem::remove_all(path("out"));
    auto listed =
        round_trip({{"instance", path("instance")}, {"snapshots/s1", path("snap")}}, {"s1"});
    ASSERT_TRUE(listed) << listed.error().message();
    EXPECT_EQ(listed->snapshots, std::vector<std::string>{"s1"});
}

TEST(BackupIndexTest, RoundTripsAndRefusesWhatAnImportWouldNotActOnSafely) {
    BackupIndex index{
        .name = "c1",
        .kind = InstanceKind::container,
        .config = *InstanceConfig::parse(InstanceKind::container, Json{{"limits.memory", "64MiB"}}),
        .image = {.fingerprint = std::string(64, 'a'), .aliases = {"busybox"}},
        .snapshots = {{.name = "s1"}},
        .data_bytes = 10,
        .entries = 2};
    auto text = backup_index_json(index).dump();
    auto parsed = parse_backup_index(text);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->name, "c1");
    EXPECT_EQ(parsed->config, index.config);
    EXPECT_EQ(parsed->snapshots.size(), 1u);
    EXPECT_EQ(parsed->data_bytes, 10u);

    auto refused = [&](auto change, std::string_view message) {
        auto json = backup_index_json(index);
        change(json);
        auto result = parse_backup_index(json.dump());
        ASSERT_FALSE(result) << json.dump();
        EXPECT_EQ(result.error().code(), EINVAL);
        EXPECT_NE(result.error().message().find(message), std::string::npos)
            << result.error().message();
    };
    refused([](Json& j) { j["format_version"] = 2; }, "format version 2 is not one");
    refused([](Json& j) { j["format"] = "tar"; }, "not a Vessel instance backup");
    refused([](Json& j) { j["instance"]["name"] = "../etc"; }, "index.json.instance.name");
    refused([](Json& j) { j["instance"]["type"] = "pod"; }, "neither container nor vm");
    refused(
        [](Json& j) {
            j["instance"]["config"] = {{"limits.memory", "lots"}};
        },
        "limits.memory");
    refused([](Json& j) { j["instance"]["config"] = {{"limits.disk", "1GiB"}}; }, "limits.disk");
    refused([](Json& j) { j["image"]["fingerprint"] = "../../x"; }, "64 lower-case hex digits");
    refused([](Json& j) { j["image"]["aliases"] = {"a b"}; }, "not a valid image alias");
    refused([](Json& j) { j["snapshots"].push_back(j["snapshots"][0]); }, "appears twice");
    refused([](Json& j) { j["snapshots"][0]["name"] = ".partial"; }, "snapshots[0].name");
    refused([](Json& j) { j["contents"]["data_bytes"] = -1; }, "data_bytes");
    refused([](Json& j) { j.erase("contents"); }, "contents");
}

}  // namespace
}  // namespace vessel::manager
