// vesseld's core: instances, images, operations and events over one store. The REST handlers
// (api/handlers.cpp) translate HTTP to these calls; nothing here knows HTTP.
#pragma once

#include "manager/network/bridge_network.h"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/error.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "manager/image/image_store.h"
#include "manager/instance/instance.h"
#include "manager/instance/view.h"
#include "manager/operations.h"
#include "manager/store/store.h"
#include "manager/tls/certificate.h"
#include "manager/trust/trust.h"

namespace vessel::manager {

struct BackupIndex;

struct ManagerOptions {
    std::string state_dir = "/var/lib/vessel";
    std::string monitor_binary;  // vesseld's own path
    std::string runtime = "vessel-runc";
    std::string vmm_binary = "vessel-vmm";
    // Jailed VMMs (vessel-vmm --jail); false only for debugging the VMM.
    bool vmm_jail = true;
    std::string cgroup_parent = "vessel";
    std::string busybox = "/bin/busybox";
    std::string guest_cache = "/var/cache/vessel/guest";   // `make guest`'s output (guest/)
    std::string image_cache = "/var/cache/vessel/images";  // built image tarballs (debootstrap)
    // The static vessel-agent baked into VM images of this host's architecture; riscv64's comes
    // from guest_cache (riscv64-rootfs/vessel-agent).
    std::string agent_binary = "vessel-agent";
    // The managed container network (bridge, NAT, DHCP); an empty name: none.
    std::string bridge = "vessel0";
    std::string bridge_gateway = "10.87.0.1";
};

struct LaunchRequest {
    std::string name;
    std::string image;
    InstanceKind kind = InstanceKind::container;
    InstanceConfig config;
    bool start = true;
};

// Errors carry an errno that says what went wrong (api/status.h answers it with an HTTP status):
// ENOENT not found, EEXIST and EBUSY a conflict, EINVAL bad input, ENOTSUP not for this kind.
class Manager {
  public:
    static Result<std::unique_ptr<Manager>> open(ManagerOptions options, const Logger& logger);
    ~Manager();

    EventBus& events() { return events_; }
    Operations& operations() { return *operations_; }
    ImageStore& images() { return *images_; }
    Store& store() { return *store_; }
    Trust& trust() { return *trust_; }
    // vesseld's TLS identity: state_dir/server.crt and server.key, made at the first start.
    const tls::CertificatePair& server_certificate() const { return server_certificate_; }
    const std::string& server_fingerprint() const { return server_fingerprint_; }

    // vesseld's own settings, core.* (server_settings.cpp, docs/remote.md).
    Result<std::map<std::string, std::string>> server_config();
    // Checks every key and value, has the follower apply the result (a port in use, say, fails
    // the whole change and leaves everything as it was), then stores it. nullopt unsets a key.
    Result<std::map<std::string, std::string>> update_server_config(
        const std::map<std::string, std::optional<std::string>>& changes);
    // What makes the settings real (vesseld's HTTPS listener); called with the stored settings
    // at once, and with the new ones on every change.
    using ServerConfigFollower = std::function<Result<>(const std::map<std::string, std::string>&)>;
    Result<> follow_server_config(ServerConfigFollower follower);

    Result<std::vector<InstanceView>> list_instances();
    Result<InstanceView> instance_view(const std::string& name);
    Result<InstanceStateView> instance_state(const std::string& name);
    // Every instance with what it uses now (metrics.cpp): the host's figures, and for a running
    // VM its agent's.
    Result<std::vector<InstanceUsageView>> instance_usage();

    // Validates synchronously (name, image, type, config, duplicate) and returns the operation
    // that creates and starts the instance.
    Result<OperationRecord> launch(LaunchRequest request);
    // action: start, stop, restart, freeze, unfreeze.
    Result<OperationRecord> change_state(const std::string& name, const std::string& action,
                                         std::chrono::milliseconds timeout, bool force);
    Result<OperationRecord> remove(const std::string& name, bool force);
    // A client that goes away (`cancel`) ends the program.
    // vessel file push / pull, for both kinds of instance (it must be running).
    Result<uint64_t> push_file(const std::string& name, const PushedFile& file);
    Result<PulledFile> pull_file(const std::string& name, const std::string& path);
    Result<ExecResult> exec(const std::string& name, const std::vector<std::string>& argv,
                            const std::string& stdin_data, const Cancellation& cancel = {});
    // The streamed forms (docs/rest-api.md): checked now (the instance exists and runs, the
    // arguments are valid), so that a refusal is an HTTP error; the session then runs on the
    // client's connection once it has switched to frames.
    using StreamSession = std::function<Result<>(int connection)>;
    Result<StreamSession> exec_stream(const std::string& name, ExecSpec spec);
    Result<StreamSession> push_stream(const std::string& name, PushTarget target);
    Result<StreamSession> pull_stream(const std::string& name, std::string path);
    // Sets (or, for a null value, unsets) config keys; limits apply live to a running instance.
    Result<InstanceConfig> update_config(const std::string& name, const Json& changes);
    Result<std::string> console_log(const std::string& name);

    // Snapshots (snapshots.cpp, docs/instance-layout.md). A running instance is frozen while its
    // snapshot is taken, so that the copy is of one moment; an empty name picks snapN. A restore
    // needs the instance stopped (EBUSY otherwise, as it throws away what the instance wrote
    // since) and puts back its files and its config of that moment.
    Result<OperationRecord> create_snapshot(const std::string& name, std::string snapshot);
    // Oldest first.
    Result<std::vector<SnapshotRecord>> list_snapshots(const std::string& name);
    // ENOENT naming the instance's snapshots that are close to `snapshot`.
    Result<SnapshotRecord> find_snapshot(const std::string& name, const std::string& snapshot);
    Result<OperationRecord> restore_snapshot(const std::string& name, const std::string& snapshot);
    Result<OperationRecord> delete_snapshot(const std::string& name, const std::string& snapshot);
    // `vessel copy SOURCE TARGET`: a new stopped instance with the source's image, config, files
    // and (unless `instance_only`) snapshots; a running source is frozen during the copy. The
    // copy's network address and MAC are its own (they follow from its name).
    Result<OperationRecord> copy_instance(const std::string& source, const std::string& target,
                                          bool instance_only);
    // `vessel export NAME FILE`: the instance (frozen for a moment if it runs), its image and,
    // unless `instance_only`, its snapshots in one archive at `file` (absolute; its compression
    // from its name: docs/backup-format.md), which must not exist yet and appears only whole.
    Result<OperationRecord> export_instance(const std::string& name, const std::string& file,
                                            bool instance_only);
    // `vessel import FILE [NAME]`: a new stopped instance from an export, named as it was unless
    // `name` says otherwise. Checks index.json, the name and the free space at once; the files
    // come in the operation, read as hostile input.
    Result<OperationRecord> import_instance(const std::string& file, std::string name);
    // The unix socket of a running VM's serial console (its monitor serves it); ENOTSUP for a
    // container, EBUSY for a stopped VM.
    Result<std::string> console_socket(const std::string& name);

    // `image build debian/12 [--vm] [--arch riscv64]`: an operation that debootstraps (or takes
    // from the cache) and imports the image; its progress lines go out as "progress" events naming
    // the alias. `architecture` (Debian's name) is this host's when empty.
    Result<OperationRecord> build_image(const std::string& distribution, std::string alias,
                                        bool vm = false, std::string architecture = {});

    Result<std::vector<NetworkView>> list_networks();
    // Refused (EBUSY) while containers are plugged in; ENOENT for another name.
    Result<> delete_network(const std::string& name);

  private:
    Manager(ManagerOptions options, const Logger& logger, std::unique_ptr<Store> store);
    // At start-up (reconcile.cpp): every row against reality. What runs is watched again, with the
    // state it really has; half-done launches are finished (their monitor runs) or rolled back,
    // half-done deletions finished, leftovers of crashed work removed.
    Result<> reconcile();
    Result<> reconcile_instance(const InstanceRecord& record);
    std::optional<ProcessIdentity> live_monitor(const InstanceRecord& record,
                                                const std::string& directory);
    void roll_back_launch(const InstanceRecord& record, Instance& instance);
    Result<InstanceRecord> find(const std::string& name);
    // ENOENT when the image an instance was made from is gone.
    Result<ImageRecord> image_of(const InstanceRecord& record);
    Result<std::string> next_snapshot_name(const std::string& name);
    // EBUSY for an instance whose launch or deletion is under way.
    Result<> refuse_unsettled(const InstanceRecord& record);
    // A copy or an import that failed: its row and directory go (copy.cpp).
    void discard_unfinished(const std::string& name);
    // A copy or an import that is whole: its row says stopped, and an event says where it came
    // from (`origin`, the event's metadata).
    Result<> finish_creation(const std::string& name, const Json& origin);
    // The copy's files and snapshots (copy.cpp), under the source's lock.
    Result<> copy_files(const std::string& source, const std::string& target, bool instance_only);
    // The imported instance's image, files and snapshots (export.cpp); `made_image` is set when
    // the backup brought an image this host did not have.
    Result<> import_files(const std::string& file, const std::string& index_text,
                          const BackupIndex& index, const std::string& name,
                          std::optional<ImageRecord>& made_image);
    // Runs `work` on the instance, frozen meanwhile if it runs (and thawed after).
    Result<> while_still(const InstanceRecord& record,
                         const std::function<Result<>(Instance&)>& work);
    // The instance, which must be running (EBUSY otherwise), for an operation inside it.
    Result<std::shared_ptr<Instance>> running_instance(const std::string& name);
    std::shared_ptr<std::mutex> lock_for(const std::string& name);
    // `image`: the instance's image where the caller has it already (a launch resolved it).
    Result<> start_instance(const std::string& name, std::optional<ImageRecord> image = {});
    Result<> stop_instance(const std::string& name, std::chrono::milliseconds timeout, bool force);
    void watch(const std::string& name, ProcessIdentity monitor);
    void watcher_loop();
    // `restart_rebooted`: a VM whose guest rebooted itself is started again (the watcher's case;
    // never when a stop asked for the exit).
    void record_exit(const std::string& name, const ProcessIdentity& monitor,
                     bool restart_rebooted = false);
    // `leases`: the network's MAC -> address map, read once per listing.
    InstanceView view_of(const InstanceRecord& record, const InstanceStatus& status,
                         const std::map<std::string, std::string>& leases, size_t snapshots);
    std::map<std::string, std::string> current_leases();

    ManagerOptions options_;
    const Logger& logger_;
    DriverContext context_;
    std::unique_ptr<Store> store_;
    std::unique_ptr<ImageStore> images_;
    EventBus events_;
    std::unique_ptr<Operations> operations_;
    std::unique_ptr<Trust> trust_;
    tls::CertificatePair server_certificate_;
    std::string server_fingerprint_;
    std::mutex server_config_mutex_;
    ServerConfigFollower server_config_follower_;

    // The managed network, set up by the first container that needs it.
    std::optional<BridgeNetwork> network_;
    std::mutex network_mutex_;
    // ensure() ran since start or since the network's deletion.
    bool network_ready_ = false;
    Result<std::optional<NetAttachment>> network_for(const std::string& instance);

    std::mutex locks_mutex_;
    std::map<std::string, std::shared_ptr<std::mutex>> instance_locks_;

    // One thread watches every running instance's monitor through pidfds.
    struct Watched {
        std::string name;
        ProcessIdentity monitor;
        UniqueFd pidfd;
    };
    std::mutex watch_mutex_;
    std::vector<Watched> watched_;
    UniqueFd watch_wake_;
    std::atomic<bool> stopping_{false};
    std::thread watcher_;
};

}  // namespace vessel::manager
