#include "manager/backup/backup_index.h"

#include <set>

#include "base/log.h"
#include "manager/instance/name.h"

namespace vessel::manager {

namespace {

Result<> invalid(const JsonAt& at, std::string_view problem) {
    return std::unexpected(Error(at.error(problem).message(), EINVAL));
}

template <typename T>
Result<T> input(Result<T> value) {
    if (!value) return std::unexpected(Error(value.error().message(), EINVAL));
    return value;
}

bool is_fingerprint(std::string_view text) {
    if (text.size() != 64) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

Result<InstanceConfig> parse_config(const JsonAt& at, InstanceKind kind) {
    auto config = at.optional_child("config");
    if (!config) return InstanceConfig{};
    TRY(input(config->expect_object()));
    auto parsed = InstanceConfig::parse(kind, config->value());
    if (!parsed) {
        auto error = parsed.error();
        return std::unexpected(error.context(config->path()));
    }
    return parsed;
}

Json config_json(const InstanceConfig& config) {
    return config.to_json();
}

}  // namespace

bool valid_image_alias(std::string_view alias) {
    if (alias.empty() || alias.size() > 128) return false;
    if (alias.front() == '/' || alias.back() == '/' || alias.find("..") != std::string_view::npos)
        return false;
    for (char c : alias)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '/'))
            return false;
    return true;
}

Json backup_index_json(const BackupIndex& index) {
    Json snapshots = Json::array();
    for (const auto& snapshot : index.snapshots)
        snapshots.push_back({{"name", snapshot.name},
                             {"config", config_json(snapshot.config)},
                             {"created_at", snapshot.created_at}});
    return {{"format", backup_format_name},
            {"format_version", backup_format_version},
            {"exported_at", index.exported_at},
            {"instance",
             {{"name", index.name},
              {"type", name_of(index.kind)},
              {"config", config_json(index.config)},
              {"created_at", index.created_at}}},
            {"image",
             {{"fingerprint", index.image.fingerprint},
              {"description", index.image.description},
              {"aliases", index.image.aliases}}},
            {"snapshots", snapshots},
            {"contents", {{"data_bytes", index.data_bytes}, {"entries", index.entries}}}};
}

Result<BackupIndex> parse_backup_index(std::string_view text) {
    auto document = TRY(input(parse_json(text, backup_index_member)));
    JsonAt root(document, std::string(backup_index_member));
    TRY(input(root.expect_object()));
    auto format = TRY(input(root.optional_string("format")));
    if (format != backup_format_name)
        return fail_errno(EINVAL, fmt::format("{}: not a Vessel instance backup (format is not {})",
                                              backup_index_member, backup_format_name));
    auto version = TRY(input(TRY(input(root.child("format_version"))).integer()));
    if (version != backup_format_version)
        return fail_errno(EINVAL, fmt::format("{}: format version {} is not one this vesseld reads "
                                              "({}); export it again with this version",
                                              backup_index_member, version, backup_format_version));
    BackupIndex index;
    index.exported_at = TRY(input(root.optional_integer("exported_at"))).value_or(0);

    auto instance = TRY(input(root.child("instance")));
    TRY(input(instance.expect_object()));
    index.name = TRY(input(TRY(input(instance.child("name"))).string()));
    if (auto valid = validate_instance_name(index.name); !valid)
        return fail_errno(EINVAL,
                          fmt::format("{}.name: {}", instance.path(), valid.error().message()));
    auto type = TRY(input(TRY(input(instance.child("type"))).string()));
    auto kind = instance_kind_named(type);
    if (!kind)
        return fail_errno(EINVAL, fmt::format("{}.type: {} is neither container nor vm",
                                              instance.path(), single_line(type)));
    index.kind = *kind;
    index.config = TRY(parse_config(instance, index.kind));
    index.created_at = TRY(input(instance.optional_integer("created_at"))).value_or(0);

    auto image = TRY(input(root.child("image")));
    TRY(input(image.expect_object()));
    index.image.fingerprint = TRY(input(TRY(input(image.child("fingerprint"))).string()));
    if (!is_fingerprint(index.image.fingerprint))
        TRY(invalid(TRY(input(image.child("fingerprint"))), "must be 64 lower-case hex digits"));
    index.image.description = TRY(input(image.optional_string("description"))).value_or("");
    if (index.image.description.size() > 1024)
        TRY(invalid(TRY(input(image.child("description"))), "is longer than 1024 bytes"));
    for (auto& alias : TRY(input(image.optional_string_array("aliases")))) {
        if (!valid_image_alias(alias))
            return fail_errno(EINVAL, fmt::format("{}.aliases: {} is not a valid image alias",
                                                  image.path(), single_line(alias)));
        index.image.aliases.push_back(std::move(alias));
    }

    std::set<std::string> seen;
    if (auto snapshots = root.optional_child("snapshots")) {
        for (const auto& snapshot : TRY(input(snapshots->array()))) {
            TRY(input(snapshot.expect_object()));
            BackupSnapshot parsed;
            parsed.name = TRY(input(TRY(input(snapshot.child("name"))).string()));
            if (auto valid = validate_snapshot_name(parsed.name); !valid)
                return fail_errno(
                    EINVAL, fmt::format("{}.name: {}", snapshot.path(), valid.error().message()));
            if (!seen.insert(parsed.name).second)
                return fail_errno(EINVAL, fmt::format("{}.name: snapshot {} appears twice",
                                                      snapshot.path(), parsed.name));
            parsed.config = TRY(parse_config(snapshot, index.kind));
            parsed.created_at = TRY(input(snapshot.optional_integer("created_at"))).value_or(0);
            index.snapshots.push_back(std::move(parsed));
        }
    }

    auto contents = TRY(input(root.child("contents")));
    TRY(input(contents.expect_object()));
    index.data_bytes = TRY(input(TRY(input(contents.child("data_bytes"))).unsigned_integer()));
    index.entries = TRY(input(TRY(input(contents.child("entries"))).unsigned_integer()));
    return index;
}

}  // namespace vessel::manager
