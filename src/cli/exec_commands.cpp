// exec, file push and pull, console: the commands whose data streams through the connection.
#include <fcntl.h>
#include <sys/stat.h>

#include <memory>
#include <optional>

#include "base/file.h"
#include "cli/answers.h"
#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/console_attach.h"
#include "cli/exec_client.h"
#include "cli/file_client.h"
#include "cli/websocket_console.h"
#include "manager/api/http.h"

namespace vessel::cli {

namespace {

struct ExecOptions {
    std::string name;
    std::vector<std::string> command, environment;
    bool forward_stdin = false, tty = false, show_log = false;
    std::string cwd = "/";
    uint32_t user = 0, group = 0;
};

struct FileOptions {
    std::string source, target, mode;
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    bool parents = false;
};

CommandResult exec(ApiTarget& api, const ExecOptions& o) {
    auto name = o.name;
    TRY(api.take_remote(name));
    Json environment = Json::object();
    for (const auto& pair : o.environment) {
        auto eq = pair.find('=');
        if (eq == std::string::npos || eq == 0) return fail("--env {}: expected KEY=VALUE", pair);
        environment[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
    auto [rows, cols] = local_terminal_size();
    auto client = TRY(api.connect());
    auto stream = TRY(client.stream("POST", "/1.0/instances/" + encode(name) + "/exec",
                                    Json{{"command", o.command},
                                         {"environment", environment},
                                         {"cwd", o.cwd},
                                         {"user", o.user},
                                         {"group", o.group},
                                         {"interactive", o.tty},
                                         {"width", cols},
                                         {"height", rows}}));
    return run_exec_session(stream.fd.get(), std::move(stream.early_bytes),
                            {.forward_stdin = o.forward_stdin || o.tty, .tty = o.tty});
}

CommandResult push(ApiTarget& api, const FileOptions& o) {
    auto target = o.target;
    TRY(api.take_remote(target));
    auto [instance, path] = TRY(split_instance_path(target));
    UniqueFd source;
    mode_t mode = 0644;
    if (o.source != "-") {
        source = TRY(open_file(o.source, O_RDONLY));
        struct stat source_info {};
        if (::fstat(source.get(), &source_info) != 0)
            return fail_errno(fmt::format("stat {}", o.source));
        if (!S_ISREG(source_info.st_mode))
            return fail("file push: {} is not a regular file", o.source);
        mode = source_info.st_mode & 07777;
    }
    if (!o.mode.empty()) mode = TRY(parse_mode(o.mode));
    auto client = TRY(api.connect());
    auto stream = TRY(client.stream("POST", "/1.0/instances/" + encode(instance) + "/files",
                                    Json{{"path", path},
                                         {"mode", mode},
                                         {"uid", o.uid.value_or(0)},
                                         {"gid", o.gid.value_or(0)},
                                         {"parents", o.parents}}));
    TRY(send_pushed_file(stream.fd.get(), std::move(stream.early_bytes),
                         source ? source.get() : 0));
    return 0;
}

CommandResult pull(ApiTarget& api, const FileOptions& o) {
    auto source = o.source;
    TRY(api.take_remote(source));
    auto [instance, path] = TRY(split_instance_path(source));
    auto client = TRY(api.connect());
    auto stream = TRY(
        client.stream("GET", "/1.0/instances/" + encode(instance) + "/files?path=" + encode(path)));
    TRY(receive_pulled_file(stream.fd.get(), std::move(stream.early_bytes), o.target));
    return 0;
}

CommandResult console(ApiTarget& api, const ExecOptions& o) {
    auto name = o.name;
    TRY(api.take_remote(name));
    if (o.show_log) {
        manager::http::Connection connection(TRY(api.connect_raw()));
        TRY(connection.write_request("GET", "/1.0/instances/" + encode(name) + "/console", ""));
        auto response = TRY(connection.read_response());
        if (response.status >= 400) {
            auto body = parse_json(response.body, "response");
            if (body && body->is_object() && (*body)["error"].is_string())
                return fail("{}", (*body)["error"].get<std::string>());
            return fail("{}", response.body);
        }
        std::fwrite(response.body.data(), 1, response.body.size(), stdout);
        return 0;
    }
    // A remote's console socket is on its host: through the API's WebSocket instead.
    if (TRY(api.remote_name()) != Remotes::local)
        return done(
            attach_console(TRY(open_websocket_console(TRY(api.connect_raw()), name)), name));
    auto where = TRY(api.call("GET", "/1.0/instances/" + encode(name) + "/console?attach=1"));
    TRY(attach_console(TRY(text(JsonAt(where, "console"), "socket")), name));
    return 0;
}

}  // namespace

void add_exec_commands(Commands& commands) {
    auto& app = commands.app();
    auto& api = commands.api();
    auto o = std::make_shared<ExecOptions>();
    auto f = std::make_shared<FileOptions>();

    auto* exec_command =
        app.add_subcommand("exec", "run a command in an instance: exec NAME -- CMD...");
    exec_command->add_option("name", o->name, "[REMOTE:]NAME")->required();
    exec_command->add_option("command", o->command)->required();
    exec_command->add_flag("-i,--stdin", o->forward_stdin, "send this process's standard input");
    exec_command->add_flag("-t,--tty", o->tty, "run the command on a terminal (implies -i)");
    exec_command->add_option("--env", o->environment,
                             "KEY=VALUE in the command's environment (repeatable)");
    exec_command->add_option("--cwd", o->cwd, "the command's working directory");
    exec_command->add_option("--user", o->user, "user id to run the command as");
    exec_command->add_option("--group", o->group, "group id to run the command as");
    commands.on(exec_command, [&api, o] { return exec(api, *o); });

    auto* file_command = app.add_subcommand("file", "copy files into and out of instances");
    file_command->require_subcommand(1);
    auto* file_push = file_command->add_subcommand(
        "push", "push SRC NAME/PATH: copy a host file into an instance");
    file_push->add_option("source", f->source, "file on this host ('-': standard input)")
        ->required();
    file_push->add_option("target", f->target, "[REMOTE:]NAME/PATH, PATH absolute in the instance")
        ->required();
    file_push->add_option("--mode", f->mode, "octal mode (default: the source's)");
    file_push->add_option("--uid", f->uid, "owner in the instance (default 0)");
    file_push->add_option("--gid", f->gid, "group in the instance (default 0)");
    file_push->add_flag("-p,--create-dirs", f->parents, "create missing parent directories");
    commands.on(file_push, [&api, f] { return push(api, *f); });
    auto* file_pull =
        file_command->add_subcommand("pull", "pull NAME/PATH DST: copy a file out of an instance");
    file_pull->add_option("source", f->source, "[REMOTE:]NAME/PATH, PATH absolute in the instance")
        ->required();
    file_pull->add_option("target", f->target, "file on this host ('-': standard output)")
        ->required();
    commands.on(file_pull, [&api, f] { return pull(api, *f); });

    auto* console_command = app.add_subcommand(
        "console", "attach to a VM's serial console (Ctrl-A q detaches), or --show-log");
    console_command->add_option("name", o->name, "[REMOTE:]NAME")->required();
    console_command->add_flag("--show-log", o->show_log,
                              "print the console output so far and exit");
    commands.on(console_command, [&api, o] { return console(api, *o); });
}

}  // namespace vessel::cli
