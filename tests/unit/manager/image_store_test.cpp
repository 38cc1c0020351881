#include "manager/image/image_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>

#include "base/file.h"
#include "temp_dir.h"

namespace vessel::manager {
namespace {

struct Member {
    std::string name;
    mode_t type = AE_IFREG;
    std::string data;
    std::string link;  // symlink target or hard-link name
    bool hardlink = false;
};

void write_tarball(const std::string& path, const std::vector<Member>& members) {
    archive* a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
    for (const auto& m : members) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, m.name.c_str());
        archive_entry_set_filetype(e, m.type);
        archive_entry_set_perm(e, m.type == AE_IFDIR ? 0755 : 0644);
        if (m.type == AE_IFLNK) archive_entry_set_symlink(e, m.link.c_str());
        if (m.hardlink) archive_entry_set_hardlink(e, m.link.c_str());
        if (m.type == AE_IFCHR) archive_entry_set_rdev(e, ::makedev(1, 3));
        archive_entry_set_size(e, static_cast<la_int64_t>(m.data.size()));
        archive_write_header(a, e);
        if (!m.data.empty()) archive_write_data(a, m.data.data(), m.data.size());
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

class ImageStoreTest : public testing::TempDirTest {
  protected:
    void SetUp() override {
        TempDirTest::SetUp();
        store_ = std::move(*Store::open(path("vessel.db")));
        images_ = std::make_unique<ImageStore>(*store_, path("images"));
        std::filesystem::create_directory(path("outside"));
    }
    // Nothing may exist in images/ but finished images.
    size_t image_dirs() {
        if (!std::filesystem::exists(path("images"))) return 0;
        size_t n = 0;
        for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(path("images")))
            ++n;
        return n;
    }
    std::unique_ptr<Store> store_;
    std::unique_ptr<ImageStore> images_;
};

TEST_F(ImageStoreTest, BuiltInBusyboxHasAppletsAndUsers) {
    ASSERT_TRUE(path_exists("/bin/busybox")) << "busybox-static is missing: run make deps";
    auto image = images_->ensure_busybox();
    ASSERT_TRUE(image) << image.error().message();
    EXPECT_EQ(image->aliases, std::vector<std::string>{"busybox"});
    EXPECT_EQ(image->kind, InstanceKind::container);
    auto root = image->path + "/rootfs";
    EXPECT_TRUE(std::filesystem::is_regular_file(root + "/bin/busybox"));
    EXPECT_EQ(std::filesystem::read_symlink(root + "/bin/sh"), "../bin/busybox");
    EXPECT_TRUE(std::filesystem::is_regular_file(root + "/bin/sh"));  // resolves inside
    EXPECT_NE(read_file(root + "/etc/passwd")->find("root:x:0:0"), std::string::npos);
    // A second call finds the same image instead of building another.
    auto again = images_->ensure_busybox();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->fingerprint, image->fingerprint);
    EXPECT_EQ(image_dirs(), 1u);
}

TEST_F(ImageStoreTest, ImportsAPlainRootfs) {
    write_tarball(path("ok.tar.gz"),
                  {{.name = "./", .type = AE_IFDIR},
                   {.name = "./bin", .type = AE_IFDIR},
                   {.name = "./bin/hello", .data = "hi"},
                   {.name = "./bin/alias", .type = AE_IFLNK, .link = "hello"},
                   {.name = "./bin/hard", .link = "./bin/hello", .hardlink = true}});
    auto image = images_->import_rootfs_tarball(path("ok.tar.gz"), "mini");
    ASSERT_TRUE(image) << image.error().message();
    EXPECT_EQ(*read_file(image->path + "/rootfs/bin/hello"), "hi");
    EXPECT_EQ(*read_file(image->path + "/rootfs/bin/hard"), "hi");
    EXPECT_EQ((*images_->resolve("mini")).fingerprint, image->fingerprint);
    auto duplicate = images_->import_rootfs_tarball(path("ok.tar.gz"), "mini");
    ASSERT_FALSE(duplicate);
    EXPECT_EQ(duplicate.error().code(), EEXIST);
}

TEST_F(ImageStoreTest, HostileTarballsWriteNothingOutside) {
    std::string outside = path("outside");
    std::vector<std::pair<std::string, std::vector<Member>>> cases = {
        {"absolute", {{.name = outside + "/abs", .data = "x"}}},
        {"dotdot", {{.name = "../../outside/dotdot", .data = "x"}}},
        {"inner-dotdot", {{.name = "a/../../outside/x", .data = "x"}}},
        {"device", {{.name = "dev/mem", .type = AE_IFCHR}}},
        {"symlink-escape",
         {{.name = "esc", .type = AE_IFLNK, .link = outside},
          {.name = "esc/through-symlink", .data = "x"}}},
        {"hardlink-escape", {{.name = "hl", .link = "../../outside/target", .hardlink = true}}},
    };
    for (const auto& [label, members] : cases) {
        auto tarball = path(label + ".tar.gz");
        write_tarball(tarball, members);
        auto image = images_->import_rootfs_tarball(tarball, label);
        EXPECT_FALSE(image) << label << " was accepted";
        if (!image) {
            EXPECT_FALSE(image.error().message().empty());
        }
        EXPECT_TRUE(std::filesystem::is_empty(outside)) << label << " wrote outside";
        EXPECT_EQ(image_dirs(), 0u) << label << " left a directory behind";
        EXPECT_FALSE(*store_->find_image(label)) << label << " left a database row";
    }
}

TEST_F(ImageStoreTest, NotATarballIsAClearError) {
    ASSERT_TRUE(write_file_atomic(path("junk.tar.gz"), "this is not an archive"));
    auto image = images_->import_rootfs_tarball(path("junk.tar.gz"), "junk");
    ASSERT_FALSE(image);
    EXPECT_NE(image.error().message().find("junk.tar.gz"), std::string::npos);
    EXPECT_EQ(image_dirs(), 0u);
}

TEST_F(ImageStoreTest, UnknownImageSuggestsAliases) {
    write_tarball(path("ok.tar.gz"), {{.name = "f", .data = "x"}});
    ASSERT_TRUE(images_->import_rootfs_tarball(path("ok.tar.gz"), "alpine"));
    auto missing = images_->resolve("alpnie");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ENOENT);
    EXPECT_EQ(missing.error().innermost(), "image alpnie not found (did you mean alpine?)");
}

TEST_F(ImageStoreTest, RemoveRefusesAnImageInUse) {
    write_tarball(path("ok.tar.gz"), {{.name = "f", .data = "x"}});
    auto image = images_->import_rootfs_tarball(path("ok.tar.gz"), "img");
    ASSERT_TRUE(image);
    ASSERT_TRUE(store_->insert_instance(
        {.name = "c1", .kind = InstanceKind::container, .image = image->fingerprint}));
    auto busy = images_->remove("img");
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code(), EBUSY);
    ASSERT_TRUE(store_->delete_instance("c1"));
    ASSERT_TRUE(images_->remove("img"));
    EXPECT_EQ(image_dirs(), 0u);
}

}  // namespace
}  // namespace vessel::manager
