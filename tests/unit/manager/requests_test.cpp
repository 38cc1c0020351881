// The REST requests' bodies and queries read into typed values (src/manager/api/requests.h):
// what each accepts, its defaults, and that each refusal is a 400 naming the field.
#include "manager/api/requests.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "manager/client_message.h"

namespace vessel::manager::api {
namespace {

Json body(std::string_view text) {
    http::Request request;
    request.body = std::string(text);
    auto json = body_object(request);
    EXPECT_TRUE(json) << json.error().message();
    return json ? *json : Json::object();
}

template <typename T>
void expect_refused(const Result<T>& result, std::string_view message) {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), EINVAL) << "a 400";
    EXPECT_EQ(client_message(result.error()), message) << "what the client reads";
}

TEST(RestRequests, BodyMustBeAJsonObjectAndAnEmptyOneIsEmpty) {
    http::Request request;
    EXPECT_EQ(*body_object(request), Json::object());
    request.body = "[1]";
    expect_refused(body_object(request), "request body: must be a JSON object");
    request.body = "{\"a\":";
    auto truncated = body_object(request);
    ASSERT_FALSE(truncated);
    EXPECT_EQ(truncated.error().code(), EINVAL);
}

TEST(RestRequests, LaunchTakesIncusSourceAliasOrAPlainImage) {
    auto launch = parse_launch(body(R"({"name":"c1","source":{"alias":"debian/12"}})"));
    ASSERT_TRUE(launch) << launch.error().message();
    EXPECT_EQ(launch->image, "debian/12");
    EXPECT_EQ(launch->kind, InstanceKind::container);
    EXPECT_TRUE(launch->start);
    launch = parse_launch(body(R"({"name":"v1","image":"riscv","type":"vm","start":false,
                                   "config":{"limits.memory":"1GiB"}})"));
    ASSERT_TRUE(launch) << launch.error().message();
    EXPECT_EQ(launch->kind, InstanceKind::vm);
    EXPECT_FALSE(launch->start);
    EXPECT_EQ(launch->config.value_of("limits.memory"), "1GiB");
    EXPECT_EQ(launch->config.limits().memory_bytes, 1u << 30);
    expect_refused(
        parse_launch(body(R"({"name":"c1","image":"x","config":{"limits.disk":"1GiB"}})")),
        "request body: limits.disk applies to VMs only: a container's root is an overlay on the "
        "host's filesystem, with no size of its own");
    expect_refused(parse_launch(body(R"({"name":"c1","image":"x","config":{"limits.cpu":2}})")),
                   "request body: config key limits.cpu: value must be a string");
    expect_refused(parse_launch(body(R"({"name":"c1"})")), "request body: image: is required");
    EXPECT_FALSE(parse_launch(body(R"({"image":"x"})")));
    EXPECT_FALSE(parse_launch(body(R"({"name":"c1","image":"x","start":"yes"})")));
    expect_refused(parse_launch(body(R"({"name":"c1","image":"x","type":"lxc"})")),
                   "request body.type: lxc is not container or vm");
}

TEST(RestRequests, ACopyIsALaunchWhoseSourceIsAnInstance) {
    auto copy = parse_copy(body(R"({"name":"c2","source":{"type":"copy","source":"c1"}})"));
    ASSERT_TRUE(copy && *copy) << (copy ? "a launch" : copy.error().message());
    EXPECT_EQ((*copy)->name, "c2");
    EXPECT_EQ((*copy)->source, "c1");
    EXPECT_FALSE((*copy)->instance_only);
    copy = parse_copy(
        body(R"({"name":"c2","source":{"type":"copy","source":"c1","instance_only":true}})"));
    ASSERT_TRUE(copy && *copy);
    EXPECT_TRUE((*copy)->instance_only);
    // A launch is not a copy.
    EXPECT_FALSE(*parse_copy(body(R"({"name":"c1","source":{"alias":"busybox"}})")));
    EXPECT_FALSE(*parse_copy(body(R"({"name":"c1","image":"busybox"})")));
    expect_refused(parse_copy(body(R"({"name":"c2","source":{"type":"copy"}})")),
                   "request body.source.source: is required");
    expect_refused(parse_copy(body(R"({"source":{"type":"copy","source":"c1"}})")),
                   "request body.name: is required");
}

TEST(RestRequests, AnImportNamesItsFileAndMayRenameTheInstance) {
    auto import = parse_import(body(R"({"source":{"type":"backup","path":"/srv/c1.tar.gz"}})"));
    ASSERT_TRUE(import && *import) << (import ? "a launch" : import.error().message());
    EXPECT_EQ((*import)->path, "/srv/c1.tar.gz");
    EXPECT_EQ((*import)->name, "");
    import = parse_import(body(R"({"name":"c2","source":{"type":"backup","path":"/b.tar"}})"));
    ASSERT_TRUE(import && *import);
    EXPECT_EQ((*import)->name, "c2");
    // A launch or a copy is not an import.
    EXPECT_FALSE(*parse_import(body(R"({"name":"c1","source":{"alias":"busybox"}})")));
    EXPECT_FALSE(*parse_import(body(R"({"name":"c2","source":{"type":"copy","source":"c1"}})")));
    expect_refused(parse_import(body(R"({"source":{"type":"backup"}})")),
                   "request body.source.path: is required");
    expect_refused(parse_import(body(R"({"name":3,"source":{"type":"backup","path":"/b"}})")),
                   "request body.name: must be a string");
}

TEST(RestRequests, AnExportNamesItsFile) {
    auto request = parse_export(body(R"({"path":"/srv/c1.tar.gz","instance_only":true})"));
    ASSERT_TRUE(request) << request.error().message();
    EXPECT_EQ(request->path, "/srv/c1.tar.gz");
    EXPECT_TRUE(request->instance_only);
    EXPECT_FALSE(parse_export(body(R"({"path":"/b.tar"})"))->instance_only);
    expect_refused(parse_export(body("{}")), "request body.path: is required");
    expect_refused(parse_export(body(R"({"path":"/b","instance_only":"yes"})")),
                   "request body.instance_only: must be a boolean");
}

TEST(RestRequests, ASnapshotMayBeNamedOrLeftToVesseld) {
    EXPECT_EQ(*parse_snapshot_create(body(R"({"name":"before-upgrade"})")), "before-upgrade");
    EXPECT_EQ(*parse_snapshot_create(body("")), "");
    expect_refused(parse_snapshot_create(body(R"({"name":7})")),
                   "request body.name: must be a string");
}

TEST(RestRequests, APutOnAnInstanceRestoresASnapshotAndNothingElse) {
    EXPECT_EQ(*parse_instance_put(body(R"({"restore":"s1"})")), "s1");
    expect_refused(parse_instance_put(body("{}")), "request body: restore: is required");
    expect_refused(parse_instance_put(body(R"({"restore":""})")),
                   "request body: restore: is required");
    expect_refused(parse_instance_put(body(R"({"restore":"s1","config":{}})")),
                   "request body.config: PUT on an instance restores a snapshot "
                   "({\"restore\": NAME}); change its config with PATCH");
}

TEST(RestRequests, StateChangeBoundsItsTimeout) {
    auto change = parse_state_change(body(R"({"action":"stop"})"));
    ASSERT_TRUE(change) << change.error().message();
    EXPECT_EQ(change->timeout, std::chrono::seconds(30));
    EXPECT_FALSE(change->force);
    change = parse_state_change(body(R"({"action":"stop","timeout":0,"force":true})"));
    ASSERT_TRUE(change);
    EXPECT_EQ(change->timeout, std::chrono::seconds(0));
    EXPECT_TRUE(change->force);
    expect_refused(parse_state_change(body(R"({"action":"stop","timeout":3601})")),
                   "request body.timeout: must be 0 to 3600 seconds");
    expect_refused(parse_state_change(body(R"({"action":"stop","timeout":-1})")),
                   "request body.timeout: must be 0 to 3600 seconds");
}

TEST(RestRequests, ExecTakesTextOrBase64StdinNotBoth) {
    auto exec = parse_exec(body(R"({"command":["cat"],"stdin_base64":"AGhp"})"));
    ASSERT_TRUE(exec) << exec.error().message();
    EXPECT_EQ(exec->stdin_data, std::string("\0hi", 3));
    expect_refused(parse_exec(body(R"({"command":["cat"],"stdin":"a","stdin_base64":"YQ=="})")),
                   "request body: stdin and stdin_base64 are exclusive");
    auto bad = parse_exec(body(R"({"command":["cat"],"stdin_base64":"%%%"})"));
    ASSERT_FALSE(bad);
    EXPECT_TRUE(bad.error().message().starts_with("request body.stdin_base64: "));
}

TEST(RestRequests, StreamedExecChecksItsEnvironmentAndDirectory) {
    auto spec = parse_exec_stream(body(R"({"command":["id"],"environment":{"A":"1"},
                                          "user":1000,"interactive":true,"width":132})"));
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->env, std::vector<std::string>{"A=1"});
    EXPECT_EQ(spec->uid, 1000u);
    EXPECT_EQ(spec->cols, 132);
    EXPECT_EQ(spec->rows, 24);
    EXPECT_EQ(spec->cwd, "/");
    expect_refused(parse_exec_stream(body(R"({"command":[]})")),
                   "request body.command: must not be empty");
    expect_refused(parse_exec_stream(body(R"({"command":["id"],"environment":{"A=B":"1"}})")),
                   "request body.environment.A=B: a variable needs a name without '=' and a "
                   "string value");
    expect_refused(parse_exec_stream(body(R"({"command":["id"],"cwd":"tmp"})")),
                   "request body.cwd: must be an absolute path");
    EXPECT_FALSE(parse_exec_stream(body(R"({"command":["id"],"width":70000})")));
}

TEST(RestRequests, PushBoundsTheModeAndDecodesTheContents) {
    http::Request request;
    request.body = R"({"path":"/etc/motd","mode":384,"content_base64":"aGkK"})";
    auto file = parse_push(request);
    ASSERT_TRUE(file) << file.error().message();
    EXPECT_EQ(file->meta.mode, 0600u);
    EXPECT_EQ(file->content, "hi\n");
    request.body = R"({"path":"/x","mode":4096})";
    expect_refused(parse_push(request), "request body.mode: must be a permission mode up to 07777");
}

TEST(RestRequests, ImageRequestIsAnImportOrABuild) {
    auto image =
        parse_image_request(body(R"({"type":"build","distribution":"debian/12","vm":true})"));
    ASSERT_TRUE(image) << image.error().message();
    ASSERT_TRUE(std::holds_alternative<ImageBuild>(*image));
    EXPECT_TRUE(std::get<ImageBuild>(*image).vm);
    image = parse_image_request(body(R"({"type":"vm","kernel":"/boot/k","alias":"k"})"));
    ASSERT_TRUE(image);
    ASSERT_TRUE(std::holds_alternative<VmImageImport>(*image));
    EXPECT_EQ(std::get<VmImageImport>(*image).source.append, "console=ttyS0");
    expect_refused(parse_image_request(body(R"({"source":""})")),
                   "request body: source: the rootfs tarball's path");
    expect_refused(parse_image_request(body("{\"type\":\"iso\\nx\"}")),
                   "request body.type: iso\\nx is not container, vm or build");
}

TEST(RestRequests, QueryIntegersAreWholeAndInRange) {
    http::Request request;
    EXPECT_EQ(*query_int(request, "timeout", 0, 10), std::nullopt);
    request.query["timeout"] = "10";
    EXPECT_EQ(*query_int(request, "timeout", 0, 10), 10);
    for (const char* bad : {"11", "-1", "1x", "", " 1"}) {
        request.query["timeout"] = bad;
        expect_refused(query_int(request, "timeout", 0, 10),
                       "query timeout: must be an integer from 0 to 10");
    }
    request.query["recursion"] = "true";
    EXPECT_TRUE(query_flag(request, "recursion"));
    request.query["recursion"] = "yes";
    EXPECT_FALSE(query_flag(request, "recursion"));
}

}  // namespace
}  // namespace vessel::manager::api
