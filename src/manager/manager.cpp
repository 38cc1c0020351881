#include "manager/manager.h"

#include "manager/image/debian_build.h"
#include "manager/instance/vm_driver.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "manager/crash_point.h"
#include "manager/instance/name.h"
#include "manager/json_text.h"

namespace vessel::manager {

namespace {

std::unexpected<Error> invalid(const std::string& message) {
    return fail_errno(EINVAL, message);
}

std::unexpected<Error> invalid(const Error& error) {
    return fail_errno(EINVAL, error.message());
}

}  // namespace

Manager::Manager(ManagerOptions options, const Logger& logger, std::unique_ptr<Store> store)
    : options_(std::move(options)), logger_(logger), store_(std::move(store)) {
    context_ = {
        .instances_dir = options_.state_dir + "/instances",
        .monitor_binary = options_.monitor_binary,
        .runtime = options_.runtime,
        .runtime_root = options_.state_dir + "/runtime",
        .cgroup_parent = options_.cgroup_parent,
        .vmm_binary = options_.vmm_binary,
        .vmm_jail = options_.vmm_jail,
        .network_for = [this](const std::string& instance) { return network_for(instance); }};
    images_ = std::make_unique<ImageStore>(*store_, options_.state_dir + "/images");
    operations_ = std::make_unique<Operations>(*store_, events_);
}

Result<std::unique_ptr<Manager>> Manager::open(ManagerOptions options, const Logger& logger) {
    // These paths end up in JSON (bundles, monitor plans, API answers), which holds text only.
    for (const auto& [what, path] : {std::pair{"--state-dir", &options.state_dir},
                                     {"vesseld's own path", &options.monitor_binary},
                                     {"--runtime", &options.runtime},
                                     {"--vmm", &options.vmm_binary},
                                     {"--cgroup-parent", &options.cgroup_parent}})
        if (!is_valid_utf8(*path))
            return fail_errno(EINVAL, fmt::format("{} {} is not valid UTF-8", what, *path));
    for (const auto& dir : {options.state_dir, options.state_dir + "/instances",
                            options.state_dir + "/images", options.state_dir + "/runtime"})
        TRY(make_directories(dir, 0700));
    auto store = TRY(Store::open(options.state_dir + "/vessel.db"));
    std::unique_ptr<Manager> manager(new Manager(std::move(options), logger, std::move(store)));
    manager->trust_ = TRY(Trust::open(*manager->store_));
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    manager->server_certificate_ =
        TRY_CTX(tls::load_or_create_certificate(manager->options_.state_dir, "server",
                                                fmt::format("vesseld@{}", host)),
                "the server certificate");
    manager->server_fingerprint_ =
        TRY(tls::fingerprint_of_pem(manager->server_certificate_.certificate_pem));
    if (auto busybox = manager->images_->ensure_busybox(manager->options_.busybox); !busybox)
        logger.warning("built-in busybox image unavailable: {}", busybox.error().message());
    if (!manager->options_.bridge.empty()) {
        manager->network_ = TRY(BridgeNetwork::make(
            {.name = manager->options_.bridge,
             .gateway = manager->options_.bridge_gateway,
             .directory = manager->options_.state_dir + "/networks/" + manager->options_.bridge}));
        // Repairs what went missing while vesseld was down (its dnsmasq, say).
        if (manager->network_->exists()) {
            if (auto repaired = manager->network_->ensure(); !repaired)
                logger.warning("{}", repaired.error().message());
            else
                manager->network_ready_ = true;
        }
    }
    if (auto vm = manager->images_->ensure_riscv64_busybox(manager->options_.guest_cache); !vm)
        logger.info("built-in riscv64/busybox VM image unavailable: {}", vm.error().message());
    TRY(manager->store_->fail_unfinished_operations(
        "vesseld stopped before the operation finished"));
    UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake) return fail_errno("eventfd");
    manager->watch_wake_ = std::move(wake);
    TRY(manager->reconcile());
    manager->watcher_ = std::thread([m = manager.get()] { m->watcher_loop(); });
    return manager;
}

Manager::~Manager() {
    stopping_ = true;
    uint64_t one = 1;
    (void)!::write(watch_wake_.get(), &one, sizeof one);
    if (watcher_.joinable()) watcher_.join();
    events_.close();
    operations_.reset();  // joins running operations
}

Result<InstanceRecord> Manager::find(const std::string& name) {
    if (auto record = TRY(store_->find_instance(name)); record) return *record;
    return fail_errno(ENOENT, not_found_message("instance", name, TRY(store_->instance_names())));
}

std::shared_ptr<std::mutex> Manager::lock_for(const std::string& name) {
    std::lock_guard lock(locks_mutex_);
    auto& entry = instance_locks_[name];
    if (!entry) entry = std::make_shared<std::mutex>();
    return entry;
}

Result<std::optional<NetAttachment>> Manager::network_for(const std::string& instance) {
    if (!network_) return std::optional<NetAttachment>();
    std::lock_guard lock(network_mutex_);
    // The whole set-up (tools run, NAT rules rewritten) once; later launches only check that
    // the bridge and dnsmasq are still there, and repair if not.
    if (!network_ready_ || !network_->healthy()) {
        TRY(network_->ensure());
        network_ready_ = true;
    }
    return NetAttachment{.bridge = network_->config().name,
                         .host_interface = BridgeNetwork::host_interface_for(instance),
                         .mac = BridgeNetwork::mac_for(instance)};
}

Result<OperationRecord> Manager::build_image(const std::string& distribution, std::string alias,
                                             bool vm, std::string architecture) {
    std::string suite = TRY(debian_suite(distribution));
    // Incus and uname say x86_64 and aarch64 where Debian says amd64 and arm64.
    if (architecture == "x86_64") architecture = "amd64";
    if (architecture == "aarch64") architecture = "arm64";
    if (architecture.empty()) architecture = host_debian_architecture();
    std::string agent;
    if (vm) {
        TRY(check_vm_build(suite, architecture));
        bool own = architecture == host_debian_architecture();
        agent = own ? options_.agent_binary : options_.guest_cache + "/riscv64-rootfs/vessel-agent";
        if (auto usable = check_static_program(agent, architecture); !usable)
            return std::unexpected(usable.error().context(
                own ? "the guest agent (vessel-agent beside vesseld, or vesseld --agent)"
                    : "the riscv64 guest agent (built by `make guest`)"));
    } else if (architecture != host_debian_architecture()) {
        return fail_errno(EINVAL,
                          fmt::format("a container image runs on this host's kernel ({}): a {} "
                                      "image can only be a VM (--vm)",
                                      host_debian_architecture(), architecture));
    }
    if (alias.empty()) alias = distribution;
    if (auto taken = TRY(store_->find_image(alias)))
        return fail_errno(EEXIST, fmt::format("image {} already exists (a {} image; delete it to "
                                              "build it again, or name this one with --alias)",
                                              alias, taken->kind));
    return operations_->start(
        "image-build", "",
        [this, distribution, suite, alias, vm, architecture, agent]() -> Result<> {
            auto progress = [this, &alias](const std::string& line) {
                events_.publish(
                    {{"type", "progress"}, {"metadata", {{"image", alias}, {"message", line}}}});
            };
            DebianBuild build{.distribution = distribution,
                              .architecture = architecture,
                              .cache_dir = options_.image_cache};
            if (vm) {
                TRY(build_debian_vm(
                    build, agent, progress, [&](const DebianVmFiles& files) -> Result<> {
                        progress("importing the kernel, initramfs and root disk");
                        TRY(images_->import_vm(
                            {.kernel = files.kernel,
                             .initrd = files.initrd,
                             .disk = files.disk,
                             .append = files.append,
                             .agent = true,
                             .description = fmt::format(
                                 "Debian GNU/Linux {} {} VM: systemd, vessel-agent (debootstrap)",
                                 suite, architecture),
                             .agent_timeout_s = files.agent_timeout_s},
                            alias));
                        return {};
                    }));
            } else {
                auto tarball = TRY(build_debian_tarball(build, progress));
                progress("importing " + tarball);
                TRY(images_->import_rootfs_tarball(
                    tarball, alias, fmt::format("Debian GNU/Linux {} minbase (debootstrap)", suite),
                    {"/sbin/vessel-init"}));
            }
            progress("image " + alias + " is ready");
            return {};
        });
}

Result<std::vector<NetworkView>> Manager::list_networks() {
    std::vector<NetworkView> list;
    if (network_) {
        std::lock_guard lock(network_mutex_);
        list.push_back(network_->describe());
    }
    return list;
}

Result<> Manager::delete_network(const std::string& name) {
    if (!network_ || network_->config().name != name)
        return fail_errno(ENOENT, fmt::format("network {} not found", name));
    std::lock_guard lock(network_mutex_);
    if (!network_->exists()) return fail_errno(ENOENT, fmt::format("network {} not found", name));
    TRY(network_->destroy(false));
    network_ready_ = false;
    return {};
}

namespace {

// A VM's exit status is vessel-vmm's code (powered off, rebooted, stopped by the host...).
std::string describe_exit(InstanceKind kind, const ExitStatus& exit) {
    return kind == InstanceKind::vm ? describe_vmm_exit(exit) : exit.describe();
}

ExitReport exit_report(InstanceKind kind, const ExitStatus& exit) {
    return {.code = exit.code, .signal = exit.signal, .description = describe_exit(kind, exit)};
}

}  // namespace

std::map<std::string, std::string> Manager::current_leases() {
    if (!network_) return {};
    return network_->leases();
}

InstanceView Manager::view_of(const InstanceRecord& record, const InstanceStatus& status,
                              const std::map<std::string, std::string>& leases, size_t snapshots) {
    InstanceView view{.record = record,
                      .status = status.state,
                      .monitor_pid = status.monitor.pid,
                      .snapshots = snapshots};
    if (status.state != InstanceState::stopped)
        if (auto lease = leases.find(BridgeNetwork::mac_for(record.name)); lease != leases.end())
            view.ipv4.push_back(lease->second);
    if (record.state == InstanceState::creating || record.state == InstanceState::deleting)
        view.status = record.state;
    if (status.state == InstanceState::stopped && status.exit)
        view.last_exit = exit_report(record.kind, *status.exit);
    return view;
}

Result<std::vector<InstanceView>> Manager::list_instances() {
    std::vector<InstanceView> list;
    auto leases = current_leases();
    auto snapshots = TRY(store_->snapshot_counts());
    for (const auto& record : TRY(store_->list_instances())) {
        auto instance = TRY(make_instance(context_, record));
        list.push_back(view_of(record, instance->status(), leases, snapshots[record.name]));
    }
    return list;
}

Result<InstanceView> Manager::instance_view(const std::string& name) {
    auto record = TRY(find(name));
    auto instance = TRY(make_instance(context_, record));
    return view_of(record, instance->status(), current_leases(),
                   TRY(store_->list_snapshots(name)).size());
}

Result<InstanceStateView> Manager::instance_state(const std::string& name) {
    auto record = TRY(find(name));
    auto instance = TRY(make_instance(context_, record));
    auto status = instance->status();
    InstanceStateView state{.status = status.state, .monitor_pid = status.monitor.pid};
    if (auto payload = read_payload_identity(instance->directory());
        payload && *payload && status.state != InstanceState::stopped)
        state.pid = (*payload)->pid;
    if (status.exit) state.exit = exit_report(record.kind, *status.exit);
    if (record.kind == InstanceKind::container)
        state.cgroup = "/" + options_.cgroup_parent + "/" + record.name;
    if (status.state == InstanceState::running) state.guest = instance->guest_state();
    return state;
}

Result<OperationRecord> Manager::launch(LaunchRequest request) {
    if (auto valid = validate_instance_name(request.name); !valid) return invalid(valid.error());
    auto image = TRY(images_->resolve(request.image));
    if (image.kind != request.kind)
        return invalid(fmt::format("image {} is a {} image; {} needs a {} image", request.image,
                                   image.kind, request.name, request.kind));
    // The row is the name's reservation: a concurrent launch of the same name fails here.
    TRY(store_->insert_instance({.name = request.name,
                                 .kind = request.kind,
                                 .image = image.fingerprint,
                                 .config = request.config,
                                 .state = InstanceState::creating}));
    return operations_->start("launch", request.name, [this, request, image]() -> Result<> {
        auto lock = lock_for(request.name);
        std::lock_guard guard(*lock);
        auto undo = [&](Error error) -> Result<> {
            // Nothing half-created: no directory, no mount, no cgroup, no row.
            if (auto record = store_->find_instance(request.name); record && *record) {
                if (auto instance = make_instance(context_, **record); instance) {
                    (void)(*instance)->stop(std::chrono::seconds(0), true);
                    (void)(*instance)->clean_up();
                    (void)remove_instance_tree((*instance)->directory());
                }
            }
            (void)store_->delete_instance(request.name);
            events_.publish({{"type", "lifecycle"},
                             {"action", "instance-launch-failed"},
                             {"instance", request.name},
                             {"error", error.message()}});
            return std::unexpected(std::move(error));
        };
        crash_point("launch-row-inserted");
        auto record = TRY(find(request.name));
        auto instance = TRY(make_instance(context_, record));
        if (auto created = instance->create(image); !created) return undo(created.error());
        crash_point("launch-created");
        events_.publish(
            {{"type", "lifecycle"}, {"action", "instance-created"}, {"instance", request.name}});
        // The row stays "creating" until the launch is whole (set_running ends it), so that a
        // vesseld that dies on the way knows at its next start what to finish or roll back.
        if (!request.start) return store_->set_state(request.name, InstanceState::stopped);
        if (auto started = start_instance(request.name, image); !started)
            return undo(started.error());
        return {};
    });
}

Result<ImageRecord> Manager::image_of(const InstanceRecord& record) {
    auto image = TRY(store_->find_image(record.image));
    if (!image)
        return fail_errno(ENOENT, fmt::format("image {} of instance {} is gone",
                                              record.image.substr(0, 12), record.name));
    return *image;
}

Result<> Manager::start_instance(const std::string& name, std::optional<ImageRecord> image) {
    auto record = TRY(find(name));
    if (record.state == InstanceState::deleting)
        return fail_errno(EBUSY, fmt::format("instance {} is being deleted: delete it again to "
                                             "finish",
                                             name));
    auto instance = TRY(make_instance(context_, record));
    if (instance->status().state != InstanceState::stopped)
        return fail_errno(EBUSY, fmt::format("instance {} is already running", name));
    // A monitor that was killed may have left mounts or runtime state behind.
    (void)instance->clean_up();
    if (!image) image = TRY(image_of(record));
    auto monitor = TRY(instance->start(*image));
    crash_point("start-monitor-ready");
    TRY(store_->set_running(name, monitor.pid, monitor.start_time));
    watch(name, monitor);
    events_.publish({{"type", "lifecycle"}, {"action", "instance-started"}, {"instance", name}});
    return {};
}

Result<> Manager::stop_instance(const std::string& name, std::chrono::milliseconds timeout,
                                bool force) {
    auto record = TRY(find(name));
    auto instance = TRY(make_instance(context_, record));
    TRY(instance->stop(timeout, force));
    record_exit(name, {.pid = record.pid, .start_time = record.pid_start_time});
    return {};
}

Result<OperationRecord> Manager::change_state(const std::string& name, const std::string& action,
                                              std::chrono::milliseconds timeout, bool force) {
    auto record = TRY(find(name));
    if (action != "start" && action != "stop" && action != "restart" && action != "freeze" &&
        action != "unfreeze")
        return invalid(
            fmt::format("unknown action {} (start, stop, restart, freeze or unfreeze)", action));
    return operations_->start(action, name, [this, name, action, timeout, force]() -> Result<> {
        auto lock = lock_for(name);
        std::lock_guard guard(*lock);
        if (action == "start") return start_instance(name);
        if (action == "stop") return stop_instance(name, timeout, force);
        if (action == "restart") {
            TRY(stop_instance(name, timeout, force));
            return start_instance(name);
        }
        auto record = TRY(find(name));
        auto instance = TRY(make_instance(context_, record));
        if (action == "freeze") {
            TRY(instance->freeze());
            TRY(store_->set_state(name, InstanceState::frozen));
        } else {
            TRY(instance->unfreeze());
            TRY(store_->set_state(name, InstanceState::running));
        }
        events_.publish(
            {{"type", "lifecycle"},
             {"action", fmt::format("instance-{}d", action == "freeze" ? "freeze" : "unfreeze")},
             {"instance", name}});
        return {};
    });
}

Result<OperationRecord> Manager::remove(const std::string& name, bool force) {
    auto record = TRY(find(name));
    auto instance = TRY(make_instance(context_, record));
    if (instance->status().state != InstanceState::stopped && !force)
        return fail_errno(EBUSY, fmt::format("instance {} is running: stop it first, or delete "
                                             "it with --force",
                                             name));
    return operations_->start("delete", name, [this, name]() -> Result<> {
        auto lock = lock_for(name);
        std::lock_guard guard(*lock);
        auto record = TRY(find(name));
        auto instance = TRY(make_instance(context_, record));
        if (instance->status().state != InstanceState::stopped) {
            TRY(instance->stop(std::chrono::seconds(0), true));
            record_exit(name, {.pid = record.pid, .start_time = record.pid_start_time});
        }
        // From here the instance is going whatever happens: a vesseld that dies before the row is
        // gone finishes the deletion at its next start.
        TRY(store_->set_state(name, InstanceState::deleting));
        TRY(instance->destroy());
        crash_point("delete-destroyed");
        TRY(store_->delete_instance(name));
        events_.publish(
            {{"type", "lifecycle"}, {"action", "instance-deleted"}, {"instance", name}});
        return {};
    });
}

Result<ExecResult> Manager::exec(const std::string& name, const std::vector<std::string>& argv,
                                 const std::string& stdin_data, const Cancellation& cancel) {
    if (argv.empty()) return invalid("exec: the command is empty");
    auto record = TRY(find(name));
    auto instance = TRY(make_instance(context_, record));
    if (instance->status().state != InstanceState::running)
        return fail_errno(EBUSY, fmt::format("instance {} is not running", name));
    return instance->exec(argv, stdin_data, cancel);
}

Result<uint64_t> Manager::push_file(const std::string& name, const PushedFile& file) {
    if (file.content.size() > max_file_transfer_bytes)
        return fail_errno(EFBIG, fmt::format("file push: {} bytes is over the limit of {} MiB",
                                             file.content.size(), max_file_transfer_bytes >> 20));
    TRY(with_context(check_instance_file_path(file.path), "file push"));
    auto record = TRY(find(name));
    auto instance = TRY(make_instance(context_, record));
    return instance->push_file(file);
}

Result<PulledFile> Manager::pull_file(const std::string& name, const std::string& path) {
    TRY(with_context(check_instance_file_path(path), "file pull"));
    auto record = TRY(find(name));
    auto instance = TRY(make_instance(context_, record));
    return instance->pull_file(path);
}

Result<std::shared_ptr<Instance>> Manager::running_instance(const std::string& name) {
    auto record = TRY(find(name));
    std::shared_ptr<Instance> instance = TRY(make_instance(context_, record));
    if (instance->status().state != InstanceState::running)
        return fail_errno(EBUSY, fmt::format("instance {} is not running", name));
    return instance;
}

Result<Manager::StreamSession> Manager::exec_stream(const std::string& name, ExecSpec spec) {
    if (spec.argv.empty()) return invalid("exec: the command is empty");
    auto instance = TRY(running_instance(name));
    TRY(instance->can_serve("exec"));
    return [instance, spec = std::move(spec)](int connection) {
        return instance->exec_stream(spec, connection);
    };
}

Result<Manager::StreamSession> Manager::push_stream(const std::string& name, PushTarget target) {
    TRY(with_context(check_instance_file_path(target.path), "file push"));
    auto instance = TRY(running_instance(name));
    TRY(instance->can_serve("file push"));
    return [instance, target = std::move(target)](int connection) {
        return instance->push_stream(target, connection);
    };
}

Result<Manager::StreamSession> Manager::pull_stream(const std::string& name, std::string path) {
    TRY(with_context(check_instance_file_path(path), "file pull"));
    auto instance = TRY(running_instance(name));
    TRY(instance->can_serve("file pull"));
    return [instance, path = std::move(path)](int connection) {
        return instance->pull_stream(path, connection);
    };
}

Result<InstanceConfig> Manager::update_config(const std::string& name, const Json& changes) {
    if (!changes.is_object()) return invalid("config: must be an object");
    auto lock = lock_for(name);
    std::lock_guard guard(*lock);
    auto record = TRY(find(name));
    record.config = TRY(record.config.changed(record.kind, changes));
    // What the instance must apply now: the limits this change sets (not those it removes).
    Json changed_limits = Json::object();
    for (const auto& [key, value] : changes.items())
        if (key.starts_with("limits.") && !value.is_null()) changed_limits[key] = value;
    auto limits = TRY(InstanceConfig::parse(record.kind, changed_limits)).limits();
    auto instance = TRY(make_instance(context_, record));
    // Applied first, recorded second: a limit the instance refuses is not saved either.
    if (auto applied = instance->update_limits(limits); !applied) return invalid(applied.error());
    TRY(store_->set_config(name, record.config));
    events_.publish({{"type", "lifecycle"}, {"action", "instance-updated"}, {"instance", name}});
    return record.config;
}

Result<std::string> Manager::console_log(const std::string& name) {
    auto record = TRY(find(name));
    auto instance = TRY(make_instance(context_, record));
    auto path = instance->directory() + "/console.log";
    if (!path_exists(path)) return std::string();
    return read_file(path);
}

Result<std::string> Manager::console_socket(const std::string& name) {
    auto record = TRY(find(name));
    if (record.kind != InstanceKind::vm)
        return fail_errno(
            ENOTSUP, fmt::format("instance {} is a container: its output is in `vessel console "
                                 "--show-log {}`, a shell is `vessel exec {} -- sh`",
                                 name, name, name));
    auto instance = TRY(make_instance(context_, record));
    auto path = instance->directory() + "/console.sock";
    if (instance->status().state == InstanceState::stopped || !path_exists(path))
        return fail_errno(EBUSY, fmt::format("VM {} is not running: start it first", name));
    return path;
}

void Manager::watch(const std::string& name, ProcessIdentity monitor) {
    auto pidfd = open_pidfd(monitor.pid);
    if (!pidfd || !process_matches(monitor)) {
        record_exit(name, monitor);
        return;
    }
    std::lock_guard lock(watch_mutex_);
    watched_.push_back({.name = name, .monitor = monitor, .pidfd = std::move(*pidfd)});
    uint64_t one = 1;
    (void)!::write(watch_wake_.get(), &one, sizeof one);
}

void Manager::watcher_loop() {
    while (!stopping_) {
        std::vector<pollfd> fds;
        {
            std::lock_guard lock(watch_mutex_);
            fds.push_back({.fd = watch_wake_.get(), .events = POLLIN, .revents = 0});
            for (const auto& w : watched_)
                fds.push_back({.fd = w.pidfd.get(), .events = POLLIN, .revents = 0});
        }
        if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
        if (fds[0].revents != 0) {
            uint64_t drained;
            (void)!::read(watch_wake_.get(), &drained, sizeof drained);
        }
        std::vector<std::pair<std::string, ProcessIdentity>> ended;
        {
            std::lock_guard lock(watch_mutex_);
            std::erase_if(watched_, [&](const Watched& w) {
                for (size_t i = 1; i < fds.size(); ++i) {
                    if (fds[i].fd == w.pidfd.get() && fds[i].revents != 0) {
                        ended.emplace_back(w.name, w.monitor);
                        return true;
                    }
                }
                return false;
            });
        }
        for (const auto& [name, monitor] : ended)
            record_exit(name, monitor, true);
    }
}

void Manager::record_exit(const std::string& name, const ProcessIdentity& monitor,
                          bool restart_rebooted) {
    auto record = store_->find_instance(name);
    if (!record || !*record) return;
    auto instance = make_instance(context_, **record);
    if (!instance) return;
    auto exit = read_exit_status((*instance)->directory());
    std::optional<int> code, signal;
    if (exit && *exit) {
        code = (*exit)->code;
        signal = (*exit)->signal;
    } else {
        // The monitor died without recording anything (it was killed): clean up after it.
        (void)(*instance)->clean_up();
    }
    auto changed = store_->set_stopped_if(name, monitor.pid, monitor.start_time, code, signal);
    if (changed && *changed) {
        Json event = {{"type", "lifecycle"}, {"action", "instance-stopped"}, {"instance", name}};
        if (exit && *exit) event["exit"] = {{"code", *code}, {"signal", *signal}};
        events_.publish(std::move(event));
        // A guest's own reboot brings it back, as under Incus and QEMU: its VMM ended, and a
        // fresh one is the machine's reset. On another thread: the watcher must not wait for a
        // boot.
        if (restart_rebooted && (*record)->kind == InstanceKind::vm && signal == 0 &&
            code == vmm_exit_guest_reboot) {
            logger_.info("{}: the guest rebooted; starting it again", name);
            if (auto restarted = change_state(name, "start", std::chrono::seconds(30), false);
                !restarted)
                logger_.warning("{}: restart after the guest's reboot: {}", name,
                                restarted.error().message());
        }
    }
}

}  // namespace vessel::manager
