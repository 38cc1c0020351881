#include "manager/instance/name.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>

namespace vessel::manager {

namespace {

// `what` names the label in the messages: "instance name", "snapshot name".
Result<> validate_label(std::string_view what, std::string_view name) {
    if (name.empty()) return fail("{} must not be empty", what);
    if (name.size() > 63)
        return fail("{} {} is {} characters long; the limit is 63", what, name, name.size());
    if (name.front() < 'a' || name.front() > 'z')
        return fail("{} {} must start with a lower-case letter", what, name);
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return fail("{} {} may only hold a-z, 0-9 and '-'", what, name);
    if (name.back() == '-') return fail("{} {} must not end with '-'", what, name);
    return {};
}

}  // namespace

Result<> validate_instance_name(std::string_view name) {
    return validate_label("instance name", name);
}

Result<> validate_snapshot_name(std::string_view name) {
    return validate_label("snapshot name", name);
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), size_t{0});
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::vector<std::string> close_names(std::string_view wanted,
                                     const std::vector<std::string>& known) {
    // A third of the longer name, at least 1 and at most 3 edits: "c1" suggests "c2", not "web".
    std::vector<std::pair<size_t, std::string>> scored;
    for (const auto& name : known) {
        size_t distance = edit_distance(wanted, name);
        size_t budget = std::clamp<size_t>(std::max(wanted.size(), name.size()) / 3, 1, 3);
        if (distance <= budget || (name.starts_with(wanted) && wanted.size() >= 2))
            scored.emplace_back(distance, name);
    }
    std::sort(scored.begin(), scored.end());
    std::vector<std::string> names;
    for (auto& [distance, name] : scored)
        if (names.size() < 3) names.push_back(std::move(name));
    return names;
}

std::string not_found_message(std::string_view kind, std::string_view wanted,
                              const std::vector<std::string>& known) {
    auto suggestions = close_names(wanted, known);
    if (suggestions.empty()) return fmt::format("{} {} not found", kind, wanted);
    return fmt::format("{} {} not found (did you mean {}?)", kind, wanted,
                       fmt::join(suggestions, ", "));
}

}  // namespace vessel::manager
