#include "cli/api_target.h"

#include "base/fd_passing.h"
#include "cli/event_watch.h"
#include "manager/tls/tls_client.h"

namespace vessel::cli {

Result<> ApiTarget::take_remote(std::string& argument) {
    auto [remote, rest] = split_remote(argument);
    if (!remote) return {};
    if (remote->empty())
        return fail_errno(EINVAL, fmt::format("{:?}: no remote before the colon", argument));
    if (named_remote_ && *named_remote_ != *remote)
        return fail_errno(EINVAL, fmt::format("{}: and {}: in one command: give names on one "
                                              "remote",
                                              *named_remote_, *remote));
    named_remote_ = *remote;
    argument = rest;
    return {};
}

Result<std::string> ApiTarget::remote_name() const {
    if (named_remote_) return *named_remote_;
    if (!remotes_) remotes_ = TRY(Remotes::load());
    return remotes_->default_remote();
}

Result<UniqueFd> ApiTarget::connect_local() const {
    auto client = connect_unix(socket);
    if (!client) {
        int code = client.error().code();
        if (code == ENOENT || code == ECONNREFUSED)
            return fail("vesseld is not running (socket {}): start it with `vesseld`", socket);
        if (code == EACCES)
            return fail("permission denied on {}: vesseld's socket is root-only", socket);
        return std::unexpected(client.error());
    }
    return client;
}

Result<manager::ApiClient> ApiTarget::connect() const {
    return manager::ApiClient::over(TRY(connect_raw()));
}

Result<UniqueFd> ApiTarget::connect_raw() const {
    auto name = TRY(remote_name());
    if (name == Remotes::local) return connect_local();
    if (!remotes_) remotes_ = TRY(Remotes::load());
    auto remote = remotes_->find(name);
    if (!remote)
        return fail_errno(ENOENT,
                          fmt::format("no remote {} (`vessel remote list` shows them)", name));
    return with_context(
        manager::tls::connect_remote({.url = remote->url,
                                      .pinned_fingerprint = remote->fingerprint,
                                      .client = TRY(Remotes::client_certificate())}),
        fmt::format("remote {}", name));
}

Result<Json> ApiTarget::call(std::string_view method, std::string_view path,
                             const std::optional<Json>& body) const {
    auto client = TRY(connect());
    auto response = TRY(client.request(method, path, body));
    if (response.status >= 400) return fail("{}", response.error());
    return response.metadata();
}

Result<Json> ApiTarget::run(std::string_view method, std::string_view path,
                            const std::optional<Json>& body) const {
    auto client = TRY(connect());
    return client.run(method, path, body);
}

Result<Json> ApiTarget::run_with_progress(std::string action, std::string instance,
                                          std::string_view method, std::string_view path,
                                          const Json& body) const {
    ProgressLine line(std::move(action), std::move(instance));
    std::unique_ptr<EventWatch> watch;
    if (auto watcher = connect())
        if (auto started = EventWatch::start(std::move(*watcher),
                                             [&](const Json& event) { line.on_event(event); }))
            watch = std::move(*started);
    auto operation = TRY(run(method, path, body));
    // The line shows every step: the operation's own last event comes after its progress.
    if (watch) watch->wait_for_end_of(operation);
    return operation;
}

}  // namespace vessel::cli
