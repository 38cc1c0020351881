// exec: a new process in a running container.
//
// The runtime forks a helper, moves it into the container's cgroups and lets it join every
// namespace of the container's init at once (setns on the init's pidfd). Joining a pid namespace
// only places later children in it, so the helper forks the process that becomes the program,
// reports its pid and exits; the runtime, a child subreaper, inherits the program and waits for
// it. The program sets itself up as the init did (rlimits, user, capabilities, no_new_privs,
// seccomp) and execs; every descriptor of the runtime closes on exec.
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>

#include "base/fd_passing.h"
#include "base/file.h"
#include "base/process.h"
#include "host/cgroup/cgroup.h"
#include "container/linux/memory_policy.h"
#include "container/linux/process_setup.h"
#include "container/linux/scheduling.h"
#include "container/linux/security_labels.h"
#include "container/linux/security_plan.h"
#include "container/linux/user_namespace.h"
#include "container/runtime/runtime.h"
#include "container/runtime/seccomp_listener.h"
#include "container/runtime/signals.h"
#include "container/runtime/sync.h"
#include "container/runtime/terminal.h"

namespace vessel::container::runtime {

namespace {

Result<uint32_t> parse_id(std::string_view text, const char* what) {
    uint32_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
        return fail("--user: {} \"{}\" is not a number", what, text);
    return value;
}

// The container's config.json with the exec's process in place of its own, so the same parser
// checks it and names bad fields by their JSON path.
Result<Json> exec_document(const ExecOptions& options, const ContainerState& state) {
    std::string text = TRY_CTX(read_file(state.bundle + "/config.json"), "config.json");
    Json document = TRY(parse_json(text, "config.json"));
    if (!document.contains("process") || !document["process"].is_object())
        return fail("config.json: the container has no process to start from");
    Json& process = document["process"];
    if (!options.process_file.empty()) {
        std::string given = TRY_CTX(read_file(options.process_file), "--process");
        process = TRY(parse_json(given, options.process_file));
        return document;
    }
    if (options.args.empty()) return fail("exec: a command to run is required");
    process["args"] = options.args;
    process["terminal"] = options.tty;
    if (!options.cwd.empty()) process["cwd"] = options.cwd;
    if (!options.env.empty()) {
        Json env = process.value("env", Json::array());
        for (const std::string& entry : options.env) {
            if (entry.find('=') == std::string::npos)
                return fail("--env \"{}\": expected KEY=VALUE", entry);
            std::string key = entry.substr(0, entry.find('=') + 1);
            Json kept = Json::array();
            for (const auto& old : env)
                if (!old.is_string() || !old.get<std::string>().starts_with(key))
                    kept.push_back(old);
            kept.push_back(entry);
            env = std::move(kept);
        }
        process["env"] = env;
    }
    if (!options.user.empty()) {
        auto colon = options.user.find(':');
        process["user"] = Json::object();
        process["user"]["uid"] = TRY(parse_id(options.user.substr(0, colon), "uid"));
        process["user"]["gid"] =
            colon == std::string::npos ? 0u : TRY(parse_id(options.user.substr(colon + 1), "gid"));
    }
    if (!options.additional_capabilities.empty()) {
        Json& caps = process["capabilities"];
        if (!caps.is_object()) caps = Json::object();
        // As runc: ambient (which needs the inheritable bit too) only where the config already
        // hands capabilities on through exec; otherwise the process gets them for itself alone.
        bool inherits = caps.contains("inheritable") && caps["inheritable"].is_array() &&
                        !caps["inheritable"].empty();
        std::vector<const char*> sets{"bounding", "effective", "permitted"};
        if (inherits) sets.insert(sets.end(), {"inheritable", "ambient"});
        for (const char* set : sets)
            for (const std::string& name : options.additional_capabilities)
                caps[set].push_back(name);
    }
    if (options.no_new_privileges) process["noNewPrivileges"] = true;
    return document;
}

// The clone flags of every namespace the container has (each one its init is in).
int namespace_flags(const spec::Linux& config) {
    int flags = 0;
    for (const auto& ns : config.namespaces)
        flags |= spec::namespace_clone_flag(ns.type);
    return flags;
}

// The program's side, in the container's namespaces: never returns.
[[noreturn]] void become_program(const spec::Spec& spec, const sys::SecurityPlan& security,
                                 const SyncChannel& sync, const sigset_t& original_mask,
                                 int preserve_fds) {
    const spec::Process& process = *spec.process;
    auto set_up = [&]() -> Result<std::string> {
        // setns left our ids unmapped in the container's user namespace; as its root we own
        // what we create there (the terminal) and can switch to the process's user.
        if (spec.linux_config.creates_user_namespace()) TRY(sys::become_namespace_root());
        // Joining the mount namespace put our root and cwd at its root, the container's rootfs:
        // no directory of the host is reachable from here (CVE-2024-21626 class).
        if (::chdir(process.cwd.c_str()) != 0)
            return fail_errno("process.cwd: chdir " + process.cwd);
        if (process.terminal) {
            // The container's devpts (our mount namespace is the container's now).
            UniqueFd master = TRY(sys::open_terminal_as_stdio(process));
            TRY(send_fd(sync.fd(), master.get(),
                        std::string(1, static_cast<char>(SyncTag::terminal))));
        }
        if (process.user.umask) ::umask(*process.user.umask);
        TRY(sys::set_oom_score_adj(process));
        TRY(sys::apply_rlimits(process));
        TRY(sys::apply_scheduling(process));
        TRY(sys::set_memory_policy(spec.linux_config));
        if (!process.exec_cpu_affinity.final_cpus.empty())
            TRY(sys::set_cpu_affinity(process.exec_cpu_affinity.final_cpus,
                                      "process.execCPUAffinity.final"));
        UniqueFd listener = TRY(sys::become_process_user(security, process));
        if (listener)
            TRY(send_fd(sync.fd(), listener.get(),
                        std::string(1, static_cast<char>(SyncTag::seccomp_listener))));
        return sys::find_executable(process);
    };
    auto executable = set_up();
    if (!executable) {
        (void)sync.send(SyncTag::error, executable.error().message());
        ::_exit(127);
    }
    sys::exec_container_process(*executable, process, original_mask, preserve_fds);
    (void)sync.send(SyncTag::error, Error(fmt::format("exec {}", *executable), errno).message());
    ::_exit(127);
}

// The helper: joins the container, forks the program, reports its pid. Never returns.
[[noreturn]] void join_and_fork(const spec::Spec& spec, const sys::SecurityPlan& security,
                                int init_pidfd, int init_root_fd, const SyncChannel& sync,
                                const sigset_t& original_mask, int preserve_fds) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // The program stays the vessel-runc binary until its execve, inside the container's pid
    // namespace: not dumpable (inherited by the fork below), as the init (CVE-2019-5736 class).
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    auto go = sync.receive();
    if (!go || go->tag != SyncTag::go) ::_exit(1);
    // In the container's cgroup now, whose cpuset reset our affinity: the CPUs to join on.
    if (const std::string& initial = spec.process->exec_cpu_affinity.initial; !initial.empty())
        if (auto pinned = sys::set_cpu_affinity(initial, "process.execCPUAffinity.initial");
            !pinned) {
            (void)sync.send(SyncTag::error, pinned.error().message());
            ::_exit(1);
        }
    if (init_root_fd >= 0 && (::fchdir(init_root_fd) != 0 || ::chroot(".") != 0)) {
        (void)sync.send(SyncTag::error, Error("enter the container's root", errno).message());
        ::_exit(1);
    }
    ::close(init_root_fd);
    if (::setns(init_pidfd, namespace_flags(spec.linux_config)) != 0) {
        (void)sync.send(SyncTag::error, Error("join the container's namespaces", errno).message());
        ::_exit(1);
    }
    ::close(init_pidfd);
    // The program and we share the channel, and the runtime reads our pid first: until we have
    // sent it, the program must not send anything (its terminal, or an error) that would come
    // first. It waits for the end of this pipe, which our exit closes.
    int gate[2];
    if (::pipe2(gate, O_CLOEXEC) != 0) {
        (void)sync.send(SyncTag::error, Error("pipe", errno).message());
        ::_exit(1);
    }
    pid_t program = ::fork();
    if (program < 0) {
        (void)sync.send(SyncTag::error, Error("fork", errno).message());
        ::_exit(1);
    }
    if (program == 0) {
        ::close(gate[1]);
        char ignored;
        while (::read(gate[0], &ignored, 1) < 0 && errno == EINTR) {
        }
        ::close(gate[0]);
        become_program(spec, security, sync, original_mask, preserve_fds);
    }
    (void)sync.send(SyncTag::ready, std::to_string(program));
    ::_exit(0);
}

}  // namespace

Result<int> Runtime::exec(const ExecOptions& options) const {
    ContainerState state = TRY(store_.load(options.id));
    // As runc: a created container takes exec too (its init waits before the user's program).
    Status status = live_status(state);
    if (status != Status::running && status != Status::created)
        return fail("cannot exec in container \"{}\": it is {}", options.id, status_name(status));
    Json document = TRY(exec_document(options, state));
    const char* source =
        options.process_file.empty() ? "config.json" : options.process_file.c_str();
    spec::Spec spec = TRY_CTX(spec::parse_spec(document), "{}", source);
    if (!spec.process) return fail("{}: process: missing", source);
    bool terminal = spec.process->terminal;
    if (terminal && options.console_socket.empty() && options.detach)
        return fail("exec: a detached process with a terminal needs --console-socket");
    sys::SecurityPlan security =
        TRY_CTX(sys::prepare_security(spec, store_.root() + "/.seccomp-cache"), "{}", source);
    TRY(sys::check_security_labels(spec, sys::detect_security_modules(), source,
                                   "exec in " + options.id, log_));

    // The init's pidfd, then a check that it is still the container's init and not a new process
    // that reused its pid.
    UniqueFd init_pidfd = TRY(open_pidfd(state.pid));
    // Without a mount namespace of its own the container's root is its init's chroot, which the
    // program enters the same way (setns would not take it there).
    UniqueFd init_root;
    if (!spec.linux_config.find_namespace(spec::NamespaceType::mount))
        init_root =
            TRY_CTX(open_file(fmt::format("/proc/{}/root", state.pid), O_PATH | O_DIRECTORY),
                    "cannot exec in container \"{}\"", options.id);
    if (process_start_time(state.pid) != state.start_time)
        return fail("cannot exec in container \"{}\": its init has exited", options.id);
    auto layout = TRY(host::cgroup::detect_layout());
    auto cgroup = host::cgroup::make_cgroup(layout, state.cgroup_path);
    auto [ours, theirs] = TRY(SyncChannel::make_pair());

    // Orphans of the helper (the program) come to us, so that we can wait for them.
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        return fail_errno("PR_SET_CHILD_SUBREAPER");
    sigset_t forwarded = forwarded_signals();
    sigset_t original_mask;
    ::sigprocmask(SIG_BLOCK, &forwarded, &original_mask);
    struct RestoreMask {
        const sigset_t& mask;
        ~RestoreMask() { ::sigprocmask(SIG_SETMASK, &mask, nullptr); }
    } restore_mask{original_mask};

    pid_t helper = ::fork();
    if (helper < 0) return fail_errno("fork");
    if (helper == 0) {
        ours.close();
        join_and_fork(spec, security, init_pidfd.get(), init_root.get(), theirs, original_mask,
                      options.preserve_fds);
    }
    theirs.close();
    init_pidfd.reset();
    init_root.reset();
    auto reap_helper = [helper] {
        int ignored = 0;
        while (::waitpid(helper, &ignored, 0) < 0 && errno == EINTR) {
        }
    };
    if (auto joined = cgroup->add_process(helper); !joined) {
        ::kill(helper, SIGKILL);
        reap_helper();
        return std::unexpected(joined.error().context("exec: join the container's cgroup"));
    }
    if (auto sent = ours.send(SyncTag::go); !sent) {
        ::kill(helper, SIGKILL);
        reap_helper();
        return std::unexpected(sent.error());
    }
    auto forked = ours.receive();
    reap_helper();
    if (!forked) return std::unexpected(forked.error().context("exec"));
    if (forked->tag == SyncTag::error) return std::unexpected(Error(forked->payload));
    pid_t program = 0;
    std::from_chars(forked->payload.data(), forked->payload.data() + forked->payload.size(),
                    program);
    if (program <= 0) return fail("exec: no pid from the helper");
    // The helper has exited: the program is our child now. A message means its set-up or exec
    // failed; end of file means the exec closed its end. With a terminal, its master comes first.
    UniqueFd program_fd = TRY(open_pidfd(program));
    UniqueFd master;
    std::optional<SyncMessage> failed_setup;
    if (terminal) {
        auto [message, fd] = TRY(receive_fd(ours.fd()));
        if (!message.empty() && static_cast<SyncTag>(message[0]) == SyncTag::terminal && fd)
            master = std::move(fd);
        else
            failed_setup = SyncMessage{SyncTag::error, message.empty() ? "" : message.substr(1)};
    }
    if (!failed_setup && security.hands_out_listener())
        if (auto passed = pass_seccomp_listener(ours.fd(), security,
                                                state.oci_state(live_status(state)), program);
            !passed)
            failed_setup = SyncMessage{SyncTag::error, passed.error().message()};
    auto after_exec = failed_setup ? Result<SyncMessage>(*failed_setup) : ours.receive();
    if (after_exec && after_exec->tag == SyncTag::error) {
        (void)::syscall(SYS_pidfd_send_signal, program_fd.get(), SIGKILL, nullptr, 0);
        siginfo_t ignored{};
        ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(program_fd.get()), &ignored,
                 WEXITED);
        return std::unexpected(Error(after_exec->payload).context(source));
    }
    if (!options.pid_file.empty())
        // No newline, as runc: containerd's shim parses the file with a bare Atoi.
        TRY_CTX(write_file_atomic(options.pid_file, std::to_string(program)), "--pid-file");
    if (master && !options.console_socket.empty()) {
        UniqueFd socket = TRY_CTX(connect_unix(options.console_socket), "--console-socket");
        TRY_CTX(send_fd(socket.get(), master.get(), "/dev/ptmx"), "--console-socket");
        master.reset();
    }
    if (options.detach) return 0;
    ExitStatus exit = TRY(master ? relay_terminal(master.get(), program_fd.get(), log_)
                                 : wait_forwarding_signals(program_fd.get(), log_));
    log_.debug("exec in {}: {}", options.id, exit.describe());
    return exit.shell_code();
}

}  // namespace vessel::container::runtime
