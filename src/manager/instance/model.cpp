#include "manager/instance/model.h"

#include <array>
#include <utility>

namespace vessel::manager {

namespace {

// One table per enum, in the enum's order: name_of indexes it, the parsers search it.
constexpr std::array<std::string_view, 2> kind_names = {"container", "vm"};
constexpr std::array<std::string_view, 5> state_names = {"creating", "stopped", "running", "frozen",
                                                         "deleting"};
constexpr std::array<std::string_view, 3> status_names = {"running", "success", "failure"};

template <typename Enum, size_t N>
std::optional<Enum> named(const std::array<std::string_view, N>& names, std::string_view name) {
    for (size_t i = 0; i < N; ++i)
        if (names[i] == name) return static_cast<Enum>(i);
    return std::nullopt;
}

}  // namespace

std::string_view name_of(InstanceKind kind) {
    return kind_names.at(std::to_underlying(kind));
}

std::string_view name_of(InstanceState state) {
    return state_names.at(std::to_underlying(state));
}

std::string_view name_of(OperationStatus status) {
    return status_names.at(std::to_underlying(status));
}

std::optional<InstanceKind> instance_kind_named(std::string_view name) {
    return named<InstanceKind>(kind_names, name);
}

std::optional<InstanceState> instance_state_named(std::string_view name) {
    return named<InstanceState>(state_names, name);
}

std::optional<OperationStatus> operation_status_named(std::string_view name) {
    return named<OperationStatus>(status_names, name);
}

}  // namespace vessel::manager
