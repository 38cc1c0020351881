#include "cli/remote_commands.h"

#include <ctime>
#include <memory>

#include "base/file.h"
#include "cli/command.h"
#include "cli/output.h"
#include "manager/api/trust_token.h"
#include "manager/tls/tls_client.h"

namespace vessel::cli {

namespace {

std::string utc_time(int64_t seconds) {
    time_t when = static_cast<time_t>(seconds);
    struct tm utc {};
    if (::gmtime_r(&when, &utc) == nullptr) return "?";
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc);
    return text;
}

}  // namespace

Result<> remote_add(const std::string& name, const std::string& url, const std::string& token) {
    auto remotes = TRY(Remotes::load());
    // Everything that can be checked here is, before the token is spent.
    TRY(remotes.can_add(name));
    TRY(manager::tls::parse_https_url(url));
    auto decoded = TRY(manager::api::decode_trust_token(token));
    auto client = TRY(Remotes::client_certificate());
    auto fd =
        TRY_CTX(manager::tls::connect_remote(
                    {.url = url, .pinned_fingerprint = decoded.fingerprint, .client = client}),
                "remote {}", name);
    auto api = manager::ApiClient::over(std::move(fd));
    auto answer = TRY(api.request("POST", "/1.0/certificates", Json{{"trust_token", token}}));
    // 409: this client's certificate is trusted there already; the token stays unspent.
    if (answer.status >= 400 && answer.status != 409)
        return fail_errno(EACCES, fmt::format("{} refused the token: {}", url, answer.error()));
    TRY(remotes.add(name, {.url = url, .fingerprint = decoded.fingerprint}));
    TRY(remotes.save());
    std::printf("Remote %s added: %s, server certificate %s\n", name.c_str(), url.c_str(),
                decoded.fingerprint.substr(0, 12).c_str());
    return {};
}

Result<> remote_list(const std::string& format) {
    auto remotes = TRY(Remotes::load());
    Json list = Json::array();
    list.push_back({{"name", Remotes::local},
                    {"url", "unix://"},
                    {"default", remotes.default_remote() == Remotes::local}});
    for (const auto& [name, remote] : remotes.all())
        list.push_back({{"name", name},
                        {"url", remote.url},
                        {"fingerprint", remote.fingerprint},
                        {"default", remotes.default_remote() == name}});
    auto mark = [&](const std::string& name) {
        return name + (remotes.default_remote() == name ? " (default)" : "");
    };
    std::vector<std::vector<std::string>> rows{{mark(Remotes::local), "unix://", ""}};
    for (const auto& [name, remote] : remotes.all())
        rows.push_back({mark(name), remote.url, remote.fingerprint.substr(0, 12)});
    print_listing(*format_named(format), {"NAME", "URL", "FINGERPRINT"}, rows, list);
    return {};
}

Result<> remote_remove(const std::string& name) {
    auto remotes = TRY(Remotes::load());
    TRY(remotes.remove(name));
    return remotes.save();
}

Result<> remote_switch(const std::string& name) {
    auto remotes = TRY(Remotes::load());
    TRY(remotes.set_default(name));
    return remotes.save();
}

Result<> trust_add(const ApiTarget& target, const std::string& name, int64_t expiry_seconds) {
    Json body{{"token", true}, {"expiry", expiry_seconds}};
    if (!name.empty()) body["name"] = name;
    auto answer = TRY(target.call("POST", "/1.0/certificates", body));
    JsonAt at(answer, "answer");
    auto token = TRY(TRY(at.child("token")).string());
    auto expires = TRY(at.optional_integer_in<int64_t>("expires_at")).value_or(0);
    std::fprintf(stderr,
                 "A one-time token%s%s, valid until %s. On the client: vessel remote add "
                 "NAME https://THIS-HOST:PORT --token TOKEN\n",
                 name.empty() ? "" : " for ", name.c_str(), utc_time(expires).c_str());
    std::puts(token.c_str());
    return {};
}

Result<> trust_add_certificate(const ApiTarget& target, const std::string& file,
                               const std::string& name) {
    auto pem = TRY(read_file(file));
    auto answer =
        TRY(target.call("POST", "/1.0/certificates", Json{{"certificate", pem}, {"name", name}}));
    JsonAt at(answer, "answer");
    std::printf("Trusted %s\n", TRY(TRY(at.child("fingerprint")).string()).c_str());
    return {};
}

Result<> trust_list(const ApiTarget& target, const std::string& format) {
    auto list = TRY(target.call("GET", "/1.0/certificates?recursion=1"));
    std::vector<std::vector<std::string>> rows;
    for (const auto& entry : TRY(JsonAt(list, "certificates").array()))
        rows.push_back(
            {TRY(entry.optional_string("name")).value_or(""),
             TRY(entry.optional_string("fingerprint")).value_or("").substr(0, 12),
             utc_time(TRY(entry.optional_integer_in<int64_t>("created_at")).value_or(0))});
    print_listing(*format_named(format), {"NAME", "FINGERPRINT", "ADDED"}, rows, list);
    return {};
}

Result<> trust_remove(const ApiTarget& target, const std::string& fingerprint) {
    TRY(target.call("DELETE", "/1.0/certificates/" + fingerprint));
    return {};
}

void add_remote_commands(Commands& commands) {
    auto& app = commands.app();
    struct RemoteOptions {
        std::string name, url, token, format = "table";
    };
    auto o = std::make_shared<RemoteOptions>();
    auto* remote = app.add_subcommand("remote", "the servers this client talks to");
    remote->require_subcommand(1);
    auto* add = remote->add_subcommand(
        "add",
        "add NAME https://HOST:PORT --token TOKEN: trust this client there with a token "
        "from `vessel config trust add`, and pin the server's certificate");
    add->add_option("name", o->name)->required();
    add->add_option("url", o->url)->required();
    add->add_option("--token", o->token)->required();
    commands.on(add, [o] { return done(remote_add(o->name, o->url, o->token)); });
    auto* list = remote->add_subcommand("list", "list the remotes");
    commands.add_format_option(list, o->format);
    commands.on(list, [o] { return done(remote_list(o->format)); });
    auto* remove = remote->add_subcommand("remove", "forget a remote");
    remove->add_option("name", o->name)->required();
    commands.on(remove, [o] { return done(remote_remove(o->name)); });
    auto* switch_command =
        remote->add_subcommand("switch", "make a remote the default, for names without REMOTE:");
    switch_command->add_option("name", o->name)->required();
    commands.on(switch_command, [o] { return done(remote_switch(o->name)); });
}

}  // namespace vessel::cli
