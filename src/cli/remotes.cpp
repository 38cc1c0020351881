#include "cli/remotes.h"

#include <unistd.h>

#include <cstdlib>

#include "base/file.h"
#include "base/json.h"
#include "manager/instance/name.h"

namespace vessel::cli {

namespace {

std::string remotes_file() {
    return Remotes::config_directory() + "/remotes.json";
}

}  // namespace

std::string Remotes::config_directory() {
    if (const char* explicit_directory = std::getenv("VESSEL_CONFIG_DIR");
        explicit_directory != nullptr && *explicit_directory != '\0')
        return explicit_directory;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg == '/')
        return std::string(xdg) + "/vessel";
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr && *home != '\0' ? home : "/root") + "/.config/vessel";
}

Result<Remotes> Remotes::load() {
    Remotes remotes;
    auto path = remotes_file();
    if (!path_exists(path)) return remotes;
    auto text = TRY(read_file(path));
    auto body = TRY_CTX(parse_json(text, "remotes"), "{}", path);
    JsonAt at(body, "remotes");
    TRY_CTX(at.expect_object(), "{}", path);
    if (auto chosen = TRY_CTX(at.optional_string("default"), "{}", path))
        remotes.default_ = *chosen;
    if (auto list = at.optional_child("remotes")) {
        TRY_CTX(list->expect_object(), "{}", path);
        for (const auto& [name, value] : list->value().items()) {
            JsonAt remote(value, json_path(list->path(), name));
            auto url = TRY_CTX(remote.child("url"), "{}", path);
            auto fingerprint = TRY_CTX(remote.child("fingerprint"), "{}", path);
            remotes.remotes_[name] =
                Remote{.url = TRY_CTX(url.string(), "{}", path),
                       .fingerprint = TRY_CTX(fingerprint.string(), "{}", path)};
        }
    }
    if (remotes.default_ != local && !remotes.remotes_.contains(remotes.default_))
        return fail("{}: the default remote {} is not one of its remotes", path, remotes.default_);
    return remotes;
}

Result<> Remotes::save() const {
    Json body = {{"default", default_}, {"remotes", Json::object()}};
    for (const auto& [name, remote] : remotes_)
        body["remotes"][name] = {{"url", remote.url}, {"fingerprint", remote.fingerprint}};
    TRY(make_directories(config_directory(), 0700));
    return write_file_atomic(remotes_file(), body.dump(2) + "\n", 0600);
}

std::optional<Remote> Remotes::find(const std::string& name) const {
    auto found = remotes_.find(name);
    if (found == remotes_.end()) return std::nullopt;
    return found->second;
}

Result<> Remotes::can_add(const std::string& name) const {
    TRY_CTX(manager::validate_instance_name(name), "remote name");
    if (name == local || remotes_.contains(name))
        return fail_errno(EEXIST, fmt::format("remote {} exists already", name));
    return {};
}

Result<> Remotes::add(const std::string& name, Remote remote) {
    TRY(can_add(name));
    remotes_[name] = std::move(remote);
    return {};
}

Result<> Remotes::remove(const std::string& name) {
    if (name == local) return fail_errno(EINVAL, "the local remote cannot be removed");
    if (remotes_.erase(name) == 0) return fail_errno(ENOENT, fmt::format("no remote {}", name));
    if (default_ == name) default_ = local;
    return {};
}

Result<> Remotes::set_default(const std::string& name) {
    if (name != local && !remotes_.contains(name))
        return fail_errno(ENOENT, fmt::format("no remote {}", name));
    default_ = name;
    return {};
}

Result<manager::tls::CertificatePair> Remotes::client_certificate() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const char* user = std::getenv("USER");
    return manager::tls::load_or_create_certificate(
        config_directory(), "client",
        fmt::format("{}@{}", user != nullptr ? user : "vessel", host));
}

std::pair<std::optional<std::string>, std::string> split_remote(const std::string& argument) {
    auto colon = argument.find(':');
    if (colon == std::string::npos) return {std::nullopt, argument};
    return {argument.substr(0, colon), argument.substr(colon + 1)};
}

}  // namespace vessel::cli
