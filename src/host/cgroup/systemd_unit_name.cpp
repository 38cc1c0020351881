#include "host/cgroup/systemd_unit_name.h"

#include <algorithm>
#include <vector>

namespace vessel::host::cgroup {

namespace {

// systemd.unit(5): unit names are at most 255 bytes of ASCII letters, digits, ":-_.\".
constexpr size_t kMaxUnitName = 255;

bool valid_unit_character(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '\\';
}

Result<> check_unit_name(std::string_view unit) {
    if (unit.size() > kMaxUnitName)
        return fail("unit name \"{}\" is longer than systemd's {} bytes", unit, kMaxUnitName);
    auto bad = std::find_if_not(unit.begin(), unit.end(), valid_unit_character);
    if (bad != unit.end())
        return fail(
            "\"{}\": systemd unit names hold only letters, digits and \"-_.\\\" (not \"{}\")", unit,
            std::string(1, *bad));
    return {};
}

}  // namespace

Result<std::string> expand_slice(std::string_view slice) {
    constexpr std::string_view suffix = ".slice";
    if (slice.size() <= suffix.size() || !slice.ends_with(suffix))
        return fail("slice \"{}\" must be a unit name ending in \".slice\"", slice);
    TRY(check_unit_name(slice));
    if (slice == "-.slice") return std::string();
    std::string_view stem = slice.substr(0, slice.size() - suffix.size());
    // Each "-" separates a parent: "a-b-c" lives in a-b.slice, which lives in a.slice. An empty
    // part ("a--b", "-a", "a-") would name no slice at all, so systemd refuses it too.
    std::string path;
    size_t position = 0;
    while (true) {
        size_t dash = stem.find('-', position);
        std::string_view part =
            stem.substr(position, dash == std::string_view::npos ? dash : dash - position);
        if (part.empty())
            return fail("slice \"{}\": an empty part between dashes names no parent slice", slice);
        path += "/" +
                std::string(stem.substr(0, dash == std::string_view::npos ? stem.size() : dash)) +
                std::string(suffix);
        if (dash == std::string_view::npos) break;
        position = dash + 1;
    }
    return path;
}

Result<SystemdPlacement> systemd_placement(std::string_view cgroups_path, std::string_view id) {
    std::string defaulted;
    if (cgroups_path.empty()) {
        defaulted = "system.slice:vessel:" + std::string(id);
        cgroups_path = defaulted;
    }
    std::vector<std::string_view> parts;
    size_t position = 0;
    while (true) {
        size_t colon = cgroups_path.find(':', position);
        parts.push_back(cgroups_path.substr(
            position, colon == std::string_view::npos ? colon : colon - position));
        if (colon == std::string_view::npos) break;
        position = colon + 1;
    }
    if (parts.size() != 3)
        return fail(
            "\"{}\": the systemd cgroup driver takes \"slice:prefix:name\" (three parts "
            "separated by colons, e.g. \"system.slice:vessel:{}\")",
            cgroups_path, id);
    std::string_view slice = parts[0];
    std::string_view prefix = parts[1];
    std::string_view name = parts[2];
    if (name.empty())
        return fail("\"{}\": the name (after the second colon) must not be empty", cgroups_path);

    SystemdPlacement placement;
    if (name.ends_with(".slice")) {
        // A slice's parent is in its name; systemd takes no other.
        std::string path = TRY_CTX(expand_slice(name), "\"{}\"", cgroups_path);
        if (!slice.empty()) {
            std::string parent = TRY_CTX(expand_slice(slice), "\"{}\"", cgroups_path);
            std::string implied = path.substr(0, path.rfind('/'));
            if (parent != implied)
                return fail("\"{}\": slice {} lives in {} (its name says so), not in {}",
                            cgroups_path, name,
                            implied.empty() ? "-.slice" : implied.substr(implied.rfind('/') + 1),
                            slice);
        }
        placement.unit = std::string(name);
        placement.path = std::move(path);
        return placement;
    }
    if (slice.empty()) slice = "system.slice";
    std::string parent = TRY_CTX(expand_slice(slice), "\"{}\"", cgroups_path);
    placement.unit =
        prefix.empty() ? std::string(name) + ".scope" : fmt::format("{}-{}.scope", prefix, name);
    TRY_CTX(check_unit_name(placement.unit), "\"{}\"", cgroups_path);
    placement.slice = std::string(slice);
    placement.path = parent + "/" + placement.unit;
    return placement;
}

}  // namespace vessel::host::cgroup
