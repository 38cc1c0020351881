// The words of vesseld's instance model as types: the kind of an instance (or image), the state
// the database records, and an operation's outcome. Each has one spelling, used alike by the wire
// (api/), the database (store/) and the logs; parsing one from text is the only way to make it from
// outside, so an unknown word is an error at the edge and never a branch deep inside.
#pragma once

#include <concepts>
#include <optional>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

namespace vessel::manager {

enum class InstanceKind { container, vm };

// What vesseld last recorded of an instance. `creating` and `deleting` mark work under way (or cut
// short by a crash, which reconcile.cpp finishes or undoes); the others say what runs.
enum class InstanceState { creating, stopped, running, frozen, deleting };

enum class OperationStatus { running, success, failure };

std::string_view name_of(InstanceKind kind);
std::string_view name_of(InstanceState state);
std::string_view name_of(OperationStatus status);

std::optional<InstanceKind> instance_kind_named(std::string_view name);
std::optional<InstanceState> instance_state_named(std::string_view name);
std::optional<OperationStatus> operation_status_named(std::string_view name);

// The model's enums, which name_of spells.
template <typename T>
concept ModelWord = std::is_enum_v<T> && requires(T value) {
    { name_of(value) } -> std::same_as<std::string_view>;
};
}  // namespace vessel::manager

// fmt::format("{}", kind) writes the same word as name_of.
template <vessel::manager::ModelWord T>
struct fmt::formatter<T> : fmt::formatter<std::string_view> {
    auto format(T value, fmt::format_context& context) const {
        return fmt::formatter<std::string_view>::format(vessel::manager::name_of(value), context);
    }
};
