#include "manager/store/store.h"

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace vessel::manager {
namespace {

using StoreTest = testing::TempDirTest;

InstanceConfig config_of(InstanceKind kind, const Json& keys) {
    auto config = InstanceConfig::parse(kind, keys);
    EXPECT_TRUE(config) << config.error().message();
    return config ? *config : InstanceConfig{};
}

InstanceRecord container(const std::string& name) {
    return {.name = name,
            .kind = InstanceKind::container,
            .image = "abc",
            .config = config_of(InstanceKind::container, {{"limits.memory", "64MiB"}})};
}

TEST_F(StoreTest, CreatesSchemaAtCurrentVersionAndReopens) {
    {
        auto store = Store::open(path("vessel.db"));
        ASSERT_TRUE(store) << store.error().message();
        EXPECT_EQ(*(*store)->current_schema_version(), Store::schema_version);
        ASSERT_TRUE((*store)->insert_instance(container("c1")));
    }
    auto reopened = Store::open(path("vessel.db"));
    ASSERT_TRUE(reopened) << reopened.error().message();
    auto found = (*reopened)->find_instance("c1");
    ASSERT_TRUE(found && *found);
    EXPECT_EQ((**found).config.value_of("limits.memory"), "64MiB");
    EXPECT_EQ((**found).config.limits().memory_bytes, 64u << 20);
}

TEST_F(StoreTest, UsesWriteAheadLog) {
    auto store = Store::open(path("vessel.db"));
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->insert_instance(container("c1")));
    EXPECT_TRUE(std::filesystem::exists(path("vessel.db-wal")));
}

TEST_F(StoreTest, RefusesANewerSchema) {
    {
        auto db = Database::open(path("vessel.db"));
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->execute("CREATE TABLE schema_version (version INTEGER NOT NULL)"));
        ASSERT_TRUE(db->execute("INSERT INTO schema_version (version) VALUES (99)"));
    }
    auto store = Store::open(path("vessel.db"));
    ASSERT_FALSE(store);
    EXPECT_NE(store.error().message().find("schema version 99 is newer"), std::string::npos);
}

TEST_F(StoreTest, DuplicateInstanceIsEexistAndKeepsTheFirst) {
    auto store = std::move(*Store::open(path("vessel.db")));
    ASSERT_TRUE(store->insert_instance(container("c1")));
    auto again = container("c1");
    again.image = "other";
    auto result = store->insert_instance(again);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), EEXIST);
    EXPECT_EQ(result.error().innermost(), "instance c1 already exists");
    EXPECT_EQ((*store->find_instance("c1"))->image, "abc");
}

TEST_F(StoreTest, ValuesAreBoundNotSpliced) {
    auto store = std::move(*Store::open(path("vessel.db")));
    std::string hostile = "x'); DROP TABLE instances; --";
    ASSERT_TRUE(store->insert_instance(container(hostile)));
    auto names = store->instance_names();
    ASSERT_TRUE(names);
    ASSERT_EQ(names->size(), 1u);
    EXPECT_EQ(names->front(), hostile);
}

TEST_F(StoreTest, RunningAndStoppedTransitions) {
    auto store = std::move(*Store::open(path("vessel.db")));
    ASSERT_TRUE(store->insert_instance(container("c1")));
    ASSERT_TRUE(store->set_running("c1", 1234, 98765));
    auto running = **store->find_instance("c1");
    EXPECT_EQ(running.state, InstanceState::running);
    EXPECT_EQ(running.pid, 1234);
    EXPECT_EQ(running.pid_start_time, 98765u);
    ASSERT_TRUE(store->set_stopped("c1", std::nullopt, 9));
    auto stopped = **store->find_instance("c1");
    EXPECT_EQ(stopped.state, InstanceState::stopped);
    EXPECT_EQ(stopped.pid, 0);
    EXPECT_FALSE(stopped.exit_code);
    EXPECT_EQ(stopped.exit_signal, 9);
    auto missing = store->set_state("nope", InstanceState::running);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ENOENT);
}

TEST_F(StoreTest, ImagesResolveByAliasAndPrefix) {
    auto store = std::move(*Store::open(path("vessel.db")));
    std::string fp(64, 'a');
    ASSERT_TRUE(store->insert_image({.fingerprint = fp,
                                     .kind = InstanceKind::container,
                                     .path = "/x",
                                     .aliases = {"busybox", "bb"}}));
    EXPECT_EQ((*store->find_image("bb"))->fingerprint, fp);
    EXPECT_EQ((*store->find_image(fp.substr(0, 12)))->aliases,
              (std::vector<std::string>{"bb", "busybox"}));
    EXPECT_FALSE(*store->find_image("aaaa"));  // too short for a prefix
    EXPECT_FALSE(*store->find_image("%%%%%%%%%%%%%"));
}

TEST_F(StoreTest, ImageInsertWithTakenAliasLandsNothing) {
    auto store = std::move(*Store::open(path("vessel.db")));
    ASSERT_TRUE(store->insert_image({.fingerprint = std::string(64, 'a'),
                                     .kind = InstanceKind::container,
                                     .path = "/a",
                                     .aliases = {"x"}}));
    auto second = store->insert_image({.fingerprint = std::string(64, 'b'),
                                       .kind = InstanceKind::container,
                                       .path = "/b",
                                       .aliases = {"y", "x"}});
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), EEXIST);
    // The transaction rolled back: neither the image nor its first alias exists.
    EXPECT_EQ(store->list_images()->size(), 1u);
    EXPECT_FALSE(*store->find_image("y"));
}

TEST_F(StoreTest, DeletingAnImageDropsItsAliases) {
    auto store = std::move(*Store::open(path("vessel.db")));
    std::string fp(64, 'c');
    ASSERT_TRUE(store->insert_image(
        {.fingerprint = fp, .kind = InstanceKind::vm, .path = "/c", .aliases = {"k"}}));
    ASSERT_TRUE(store->delete_image(fp));
    EXPECT_FALSE(*store->find_image("k"));
    EXPECT_EQ(store->delete_image(fp).error().code(), ENOENT);
}

TEST_F(StoreTest, UncommittedTransactionLeavesNoTrace) {
    // A process that dies mid-transaction is modelled by a transaction that is never committed:
    // another connection must see nothing of it, and reopening must see nothing either.
    {
        auto store = std::move(*Store::open(path("vessel.db")));
        ASSERT_TRUE(store->insert_instance(container("kept")));
    }
    {
        auto db = Database::open(path("vessel.db"));
        ASSERT_TRUE(db);
        auto tx = Transaction::begin(*db);
        ASSERT_TRUE(tx);
        ASSERT_TRUE(db->execute(
            "INSERT INTO instances (name, type, image, state, created_at) VALUES (?, ?, ?, ?, ?)",
            {std::string("half"), std::string("container"), std::string("i"),
             std::string("stopped"), int64_t{1}}));
        auto other = Store::open(path("vessel.db"));
        ASSERT_TRUE(other);
        EXPECT_EQ((*other)->instance_names()->size(), 1u);
    }
    auto store = std::move(*Store::open(path("vessel.db")));
    EXPECT_EQ(*store->instance_names(), std::vector<std::string>{"kept"});
}

TEST_F(StoreTest, CommittedDataSurvivesWithoutCleanClose) {
    // Committed data is in the WAL; a crashed process never checkpoints. Copy the files while the
    // writer is still open (as a crash would leave them) and open the copy.
    auto store = std::move(*Store::open(path("vessel.db")));
    ASSERT_TRUE(store->insert_instance(container("c1")));
    ASSERT_TRUE(store->set_running("c1", 42, 7));
    std::filesystem::create_directory(path("copy"));
    std::filesystem::copy_file(path("vessel.db"), path("copy/vessel.db"));
    std::filesystem::copy_file(path("vessel.db-wal"), path("copy/vessel.db-wal"));
    auto copy = Store::open(path("copy/vessel.db"));
    ASSERT_TRUE(copy) << copy.error().message();
    auto found = (*copy)->find_instance("c1");
    ASSERT_TRUE(found && *found);
    EXPECT_EQ((**found).state, InstanceState::running);
    EXPECT_EQ((**found).pid, 42);
}

TEST_F(StoreTest, OperationsAndTheirFateAfterACrash) {
    auto store = std::move(*Store::open(path("vessel.db")));
    ASSERT_TRUE(store->put_operation({.id = "op1", .kind = "launch", .instance = "c1"}));
    ASSERT_TRUE(store->put_operation({.id = "op2", .kind = "stop", .instance = "c1"}));
    ASSERT_TRUE(store->put_operation(
        {.id = "op2", .kind = "stop", .instance = "c1", .status = OperationStatus::success}));
    ASSERT_TRUE(store->fail_unfinished_operations("vesseld restarted"));
    auto op1 = **store->find_operation("op1");
    EXPECT_EQ(op1.status, OperationStatus::failure);
    EXPECT_EQ(op1.error, "vesseld restarted");
    EXPECT_EQ((**store->find_operation("op2")).status, OperationStatus::success);
    EXPECT_FALSE(*store->find_operation("op3"));
}

// The database is read into the model's words; a row with a word this vesseld does not know (a
// newer vesseld's, or a hand edit) is an error naming the row, the column and the word, never a
// default. (An image's type has a CHECK constraint: the database refuses such a word itself.)
TEST_F(StoreTest, AWordTheModelDoesNotKnowIsAnErrorNamingIt) {
    {
        auto store = std::move(*Store::open(path("vessel.db")));
        ASSERT_TRUE(store->insert_instance(container("c1")));
        ASSERT_TRUE(store->put_operation({.id = "op1", .kind = "launch", .instance = "c1"}));
        ASSERT_TRUE(store->insert_image(
            {.fingerprint = std::string(64, 'd'), .kind = InstanceKind::vm, .path = "/d"}));
    }
    auto db = std::move(*Database::open(path("vessel.db")));
    ASSERT_TRUE(db.execute("UPDATE instances SET state = 'hibernating'"));
    ASSERT_TRUE(db.execute("UPDATE operations SET status = 'paused'"));
    EXPECT_FALSE(db.execute("UPDATE images SET type = 'unikernel'"));
    auto store = std::move(*Store::open(path("vessel.db")));
    auto instance = store->find_instance("c1");
    ASSERT_FALSE(instance);
    EXPECT_EQ(instance.error().message(),
              "instance c1: state \"hibernating\" is not one this vesseld knows");
    EXPECT_FALSE(store->list_instances());
    auto operation = store->find_operation("op1");
    ASSERT_FALSE(operation);
    EXPECT_EQ(operation.error().message(),
              "operation op1: status \"paused\" is not one this vesseld knows");
}

// A config is read into its typed form with the row: one that does not parse (a hand edit) is an
// error naming the instance, not an instance with limits silently dropped.
TEST_F(StoreTest, AStoredConfigThatDoesNotParseIsAnErrorNamingTheInstance) {
    {
        auto store = std::move(*Store::open(path("vessel.db")));
        ASSERT_TRUE(store->insert_instance(container("c1")));
    }
    auto db = std::move(*Database::open(path("vessel.db")));
    ASSERT_TRUE(db.execute(R"(UPDATE instances SET config = '{"limits.memory":"lots"}')"));
    auto store = std::move(*Store::open(path("vessel.db")));
    auto instance = store->find_instance("c1");
    ASSERT_FALSE(instance);
    EXPECT_TRUE(
        instance.error().message().starts_with("instance c1: limits.memory: lots: not a size"))
        << instance.error().message();
}

// What vesseld of schema version 1 wrote (before snapshots), as it wrote it.
constexpr const char* schema_1 = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE instances (
    name TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('container', 'vm')),
    image TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0,
    pid_start_time INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    exit_signal INTEGER,
    created_at INTEGER NOT NULL
);
CREATE TABLE images (
    fingerprint TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('container', 'vm')),
    path TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE TABLE image_aliases (
    alias TEXT PRIMARY KEY NOT NULL,
    fingerprint TEXT NOT NULL REFERENCES images(fingerprint) ON DELETE CASCADE
);
CREATE TABLE operations (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    instance TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO instances (name, type, image, config, state, created_at)
    VALUES ('old1', 'vm', 'f00d', '{"limits.memory":"128MiB"}', 'stopped', 1700000000);
)sql";

TEST_F(StoreTest, ADatabaseOfSchemaVersionOneOpensAndKeepsItsInstances) {
    {
        auto db = Database::open(path("vessel.db"));
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->execute_script(schema_1));
    }
    auto store = Store::open(path("vessel.db"));
    ASSERT_TRUE(store) << store.error().message();
    EXPECT_EQ(*(*store)->current_schema_version(), Store::schema_version);
    auto old = (*store)->find_instance("old1");
    ASSERT_TRUE(old && *old) << (old ? "no row" : old.error().message());
    EXPECT_EQ((**old).kind, InstanceKind::vm);
    EXPECT_EQ((**old).config.value_of("limits.memory"), "128MiB");
    EXPECT_EQ((**old).created_at, 1700000000);
    // The new table is there for the old rows.
    ASSERT_TRUE((*store)->insert_snapshot({.instance = "old1", .name = "s1"}));
    EXPECT_EQ((*store)->list_snapshots("old1")->size(), 1u);
}

TEST_F(StoreTest, SnapshotsKeepTheirConfigAndOrderAndNamesAreUniquePerInstance) {
    auto store = std::move(*Store::open(path("vessel.db")));
    ASSERT_TRUE(store->insert_instance(container("c1")));
    ASSERT_TRUE(store->insert_instance(container("c2")));
    ASSERT_TRUE(
        store->insert_snapshot({.instance = "c1",
                                .name = "before",
                                .config = config_of(InstanceKind::container, {{"limits.cpu", "1"}}),
                                .created_at = 10}));
    ASSERT_TRUE(store->insert_snapshot({.instance = "c1", .name = "after", .created_at = 20}));
    // The same name on another instance is another snapshot.
    ASSERT_TRUE(store->insert_snapshot({.instance = "c2", .name = "before", .created_at = 5}));

    auto again = store->insert_snapshot({.instance = "c1", .name = "before"});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), EEXIST);
    EXPECT_EQ(again.error().innermost(), "instance c1 already has a snapshot before");
    auto orphan = store->insert_snapshot({.instance = "nope", .name = "s"});
    ASSERT_FALSE(orphan);
    EXPECT_EQ(orphan.error().code(), ENOENT);

    auto list = store->list_snapshots("c1");
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0].name, "before");
    EXPECT_EQ((*list)[0].config.value_of("limits.cpu"), "1");
    EXPECT_EQ((*list)[0].config.limits().cpu_quota_us, 100000u);
    EXPECT_EQ((*list)[1].name, "after");
    auto found = store->find_snapshot("c1", "after");
    ASSERT_TRUE(found && *found);
    EXPECT_EQ((**found).created_at, 20);
    EXPECT_FALSE(*store->find_snapshot("c1", "missing"));
    auto counts = store->snapshot_counts();
    ASSERT_TRUE(counts);
    EXPECT_EQ((*counts)["c1"], 2u);
    EXPECT_EQ((*counts)["c2"], 1u);

    ASSERT_TRUE(store->delete_snapshot("c1", "after"));
    auto gone = store->delete_snapshot("c1", "after");
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code(), ENOENT);
    EXPECT_EQ(store->list_snapshots("c1")->size(), 1u);
}

TEST_F(StoreTest, DeletingAnInstanceDeletesItsSnapshotsOnly) {
    auto store = std::move(*Store::open(path("vessel.db")));
    ASSERT_TRUE(store->insert_instance(container("c1")));
    ASSERT_TRUE(store->insert_instance(container("c2")));
    ASSERT_TRUE(store->insert_snapshot({.instance = "c1", .name = "s1"}));
    ASSERT_TRUE(store->insert_snapshot({.instance = "c2", .name = "s1"}));
    ASSERT_TRUE(store->delete_instance("c1"));
    EXPECT_TRUE(store->list_snapshots("c1")->empty());
    EXPECT_EQ(store->list_snapshots("c2")->size(), 1u);
    // A new instance of the old name starts with none.
    ASSERT_TRUE(store->insert_instance(container("c1")));
    EXPECT_TRUE(store->list_snapshots("c1")->empty());
}

}  // namespace
}  // namespace vessel::manager
