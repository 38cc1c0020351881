// config.json: the top level, process, root and mounts. The linux section is in parse_linux.cpp.
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <set>

#include "base/file.h"
#include "container/spec/id_mapping.h"
#include "container/spec/mount_options.h"
#include "container/spec/parse_internal.h"
#include "container/spec/spec.h"

namespace vessel::container::spec {

namespace {

struct RlimitName {
    const char* name;
    int resource;
};

constexpr std::array kRlimits{
    RlimitName{"RLIMIT_AS", RLIMIT_AS},
    RlimitName{"RLIMIT_CORE", RLIMIT_CORE},
    RlimitName{"RLIMIT_CPU", RLIMIT_CPU},
    RlimitName{"RLIMIT_DATA", RLIMIT_DATA},
    RlimitName{"RLIMIT_FSIZE", RLIMIT_FSIZE},
    RlimitName{"RLIMIT_LOCKS", RLIMIT_LOCKS},
    RlimitName{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    RlimitName{"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    RlimitName{"RLIMIT_NICE", RLIMIT_NICE},
    RlimitName{"RLIMIT_NOFILE", RLIMIT_NOFILE},
    RlimitName{"RLIMIT_NPROC", RLIMIT_NPROC},
    RlimitName{"RLIMIT_RSS", RLIMIT_RSS},
    RlimitName{"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    RlimitName{"RLIMIT_RTTIME", RLIMIT_RTTIME},
    RlimitName{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    RlimitName{"RLIMIT_STACK", RLIMIT_STACK},
};

Result<uint32_t> id_value(const JsonAt& at) {
    uint64_t value = TRY(at.unsigned_integer());
    if (value > UINT32_MAX) return std::unexpected(at.error("is out of range"));
    return static_cast<uint32_t>(value);
}

Result<User> parse_user(const JsonAt& at) {
    TRY(at.expect_object());
    User user;
    user.uid = TRY(id_value(TRY(at.child("uid"))));
    user.gid = TRY(id_value(TRY(at.child("gid"))));
    if (auto umask = at.optional_child("umask")) {
        uint64_t value = TRY(umask->unsigned_integer());
        if (value > 0777) return std::unexpected(umask->error("must be at most 0777 (511)"));
        user.umask = static_cast<mode_t>(value);
    }
    if (auto gids = at.optional_child("additionalGids"))
        for (const auto& gid : TRY(gids->array()))
            user.additional_gids.push_back(TRY(id_value(gid)));
    if (at.has("username"))
        return std::unexpected(TRY(at.child("username")).error("is for Windows; use uid and gid"));
    return user;
}

Result<std::vector<Rlimit>> parse_rlimits(const JsonAt& at) {
    std::vector<Rlimit> rlimits;
    std::set<int> seen;
    for (const auto& item : TRY(at.array())) {
        TRY(item.expect_object());
        Rlimit rlimit;
        auto type = TRY(item.child("type"));
        rlimit.type = TRY(type.string());
        auto known = std::find_if(kRlimits.begin(), kRlimits.end(),
                                  [&](const RlimitName& r) { return rlimit.type == r.name; });
        if (known == kRlimits.end())
            return std::unexpected(type.error(fmt::format("unknown rlimit \"{}\"", rlimit.type)));
        rlimit.resource = known->resource;
        if (!seen.insert(rlimit.resource).second)
            return std::unexpected(type.error(fmt::format("\"{}\" is set twice", rlimit.type)));
        rlimit.soft = TRY(TRY(item.child("soft")).unsigned_integer());
        rlimit.hard = TRY(TRY(item.child("hard")).unsigned_integer());
        if (rlimit.soft > rlimit.hard)
            return std::unexpected(item.error("soft limit is above the hard limit"));
        rlimits.push_back(std::move(rlimit));
    }
    return rlimits;
}

Result<Process> parse_process(const JsonAt& at) {
    TRY(at.expect_object());
    Process process;
    process.terminal = TRY(at.optional_boolean("terminal")).value_or(false);
    if (auto size = at.optional_child("consoleSize")) {
        TRY(size->expect_object());
        auto height = TRY(TRY(size->child("height")).unsigned_integer());
        auto width = TRY(TRY(size->child("width")).unsigned_integer());
        if (height > 65535 || width > 65535)
            return std::unexpected(size->error("height and width must be at most 65535"));
        process.console_size =
            ConsoleSize{static_cast<uint16_t>(height), static_cast<uint16_t>(width)};
    }
    auto args = TRY(at.child("args"));
    process.args = TRY(args.string_array());
    if (process.args.empty()) return std::unexpected(args.error("must not be empty"));
    if (process.args[0].empty())
        return std::unexpected(
            JsonAt(args.value()[0], json_path(args.path(), 0)).error("must not be empty"));
    if (auto env = at.optional_child("env")) {
        process.env = TRY(env->string_array());
        for (size_t i = 0; i < process.env.size(); ++i)
            if (process.env[i].find('=') == std::string::npos || process.env[i][0] == '=')
                return std::unexpected(JsonAt(env->value()[i], json_path(env->path(), i))
                                           .error("must have the form NAME=value"));
    }
    auto cwd = TRY(at.child("cwd"));
    process.cwd = TRY(cwd.string());
    if (process.cwd.empty() || process.cwd[0] != '/')
        return std::unexpected(cwd.error("must be an absolute path"));
    process.user = TRY(parse_user(TRY(at.child("user"))));
    if (auto rlimits = at.optional_child("rlimits")) process.rlimits = TRY(parse_rlimits(*rlimits));
    process.no_new_privileges = TRY(at.optional_boolean("noNewPrivileges")).value_or(false);
    if (auto oom = at.optional_child("oomScoreAdj")) {
        int64_t value = TRY(oom->integer());
        if (value < -1000 || value > 1000)
            return std::unexpected(oom->error("must be between -1000 and 1000"));
        process.oom_score_adj = static_cast<int>(value);
    }
    if (auto caps = at.optional_child("capabilities")) {
        TRY(caps->expect_object());
        process.capabilities = caps->value();
    }
    process.apparmor_profile = TRY(at.optional_string("apparmorProfile")).value_or("");
    process.selinux_label = TRY(at.optional_string("selinuxLabel")).value_or("");
    TRY(parse_process_scheduling(at, process));
    return process;
}

Result<Mount> parse_mount(const JsonAt& at) {
    TRY(at.expect_object());
    Mount mount;
    auto destination = TRY(at.child("destination"));
    mount.destination = TRY(destination.string());
    if (mount.destination.empty() || mount.destination[0] != '/')
        return std::unexpected(destination.error("must be an absolute path"));
    if (relative_clean_path_has_dotdot(mount.destination))
        return std::unexpected(destination.error("must not contain \"..\""));
    mount.type = TRY(at.optional_string("type")).value_or("");
    mount.source = TRY(at.optional_string("source")).value_or("");
    mount.options = TRY(at.optional_string_array("options"));
    TRY(apply_mount_options(mount, at.path()));
    if (auto mappings = at.optional_child("uidMappings"))
        mount.uid_mappings = TRY(parse_id_mappings(*mappings));
    if (auto mappings = at.optional_child("gidMappings"))
        mount.gid_mappings = TRY(parse_id_mappings(*mappings));
    if (mount.uid_mappings.empty() != mount.gid_mappings.empty())
        return std::unexpected(at.error(
            fmt::format("an idmapped mount needs both uidMappings and gidMappings ({} is missing)",
                        mount.uid_mappings.empty() ? "uidMappings" : "gidMappings")));
    if (!mount.uid_mappings.empty()) mount.idmap = true;
    if (mount.idmap && !mount.bind)
        return std::unexpected(at.error("only bind mounts can be idmapped"));
    if (mount.type.empty() && !mount.bind)
        return std::unexpected(
            at.error("type is required unless the options contain bind or rbind"));
    if (mount.type == "none" && !mount.bind)
        return std::unexpected(at.error("type \"none\" needs the bind or rbind option"));
    if (mount.bind && mount.source.empty())
        return std::unexpected(at.error("a bind mount needs a source"));
    return mount;
}

}  // namespace

bool relative_clean_path_has_dotdot(const std::string& path) {
    size_t position = 0;
    while (position <= path.size()) {
        size_t end = path.find('/', position);
        if (end == std::string::npos) end = path.size();
        if (path.compare(position, end - position, "..") == 0 && end - position == 2) return true;
        position = end + 1;
    }
    return false;
}

Result<Spec> parse_spec(const Json& document) {
    JsonAt at(document, "");
    if (!document.is_object()) return fail("must be a JSON object");
    Spec spec;
    auto version = TRY(at.child("ociVersion"));
    spec.oci_version = TRY(version.string());
    if (spec.oci_version.rfind("1.", 0) != 0)
        return std::unexpected(version.error(
            fmt::format("version \"{}\" is not supported (1.0 to 1.2 are)", spec.oci_version)));
    if (auto process = at.optional_child("process")) spec.process = TRY(parse_process(*process));
    auto root = TRY(at.child("root"));
    TRY(root.expect_object());
    auto root_path = TRY(root.child("path"));
    spec.root.path = TRY(root_path.string());
    if (spec.root.path.empty()) return std::unexpected(root_path.error("must not be empty"));
    spec.root.readonly = TRY(root.optional_boolean("readonly")).value_or(false);
    spec.hostname = TRY(at.optional_string("hostname")).value_or("");
    spec.domainname = TRY(at.optional_string("domainname")).value_or("");
    if (spec.hostname.size() > 64)
        return std::unexpected(TRY(at.child("hostname")).error("is longer than 64 characters"));
    if (spec.domainname.size() > 64)
        return std::unexpected(TRY(at.child("domainname")).error("is longer than 64 characters"));
    if (auto mounts = at.optional_child("mounts"))
        for (const auto& item : TRY(mounts->array()))
            spec.mounts.push_back(TRY(parse_mount(item)));
    if (auto annotations = at.optional_child("annotations")) {
        TRY(annotations->expect_object());
        for (const auto& [key, value] : annotations->value().items()) {
            if (!value.is_string())
                return std::unexpected(
                    JsonAt(value, json_path(annotations->path(), key)).error("must be a string"));
            spec.annotations[key] = value.get<std::string>();
        }
    }
    if (auto hooks = at.optional_child("hooks")) {
        TRY(hooks->expect_object());
        spec.hooks = hooks->value();  // checked by the runtime (runtime/hooks.h)
    }
    auto linux_section = at.optional_child("linux");
    if (!linux_section) return fail("linux: is required (Vessel runs Linux containers)");
    spec.linux_config = TRY(parse_linux(*linux_section));
    TRY(validate_cross_references(spec));
    return spec;
}

Result<Spec> load_spec(const std::string& bundle) {
    auto text = read_file(bundle + "/config.json");
    if (!text) return std::unexpected(text.error().context("config.json"));
    auto document = parse_json(*text, "config.json");
    if (!document) return std::unexpected(document.error());
    auto spec = parse_spec(*document);
    if (!spec) return std::unexpected(spec.error().context("config.json"));
    return spec;
}

}  // namespace vessel::container::spec
