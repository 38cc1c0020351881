#include "host/cgroup/systemd_driver.h"

#include <optional>

#include "base/file.h"

#include "host/cgroup/drivers.h"
#include "host/cgroup/systemd_bus.h"
#include "host/cgroup/systemd_properties.h"

namespace vessel::host::cgroup {

namespace {

class SystemdCgroup final : public Cgroup {
  public:
    SystemdCgroup(const HostLayout& layout, SystemdPlacement placement, std::string description,
                  bool started)
        : unified_(layout.kind == LayoutKind::v2),
          placement_(std::move(placement)),
          description_(std::move(description)),
          files_(make_cgroup(layout, placement_.path)),
          started_(started) {}

    Result<> create() override {
        // Only the connection: a scope cannot be started empty, so the unit comes with the init's
        // pid (add_process). Unreachable systemd fails here, before anything exists.
        bus_ = TRY(SystemdBus::connect());
        if (TRY(bus_->unit_loaded(placement_.unit)))
            return fail(
                "systemd unit {} already exists (another container's?); a container needs a unit "
                "of its own",
                placement_.unit);
        return {};
    }

    Result<> apply(const Resources& resources, const Logger& log) override {
        if (!started_) {
            // Before the unit exists (create runs this before the init is cloned): the limits go
            // into StartTransientUnit and the files once the unit is there.
            pending_ = resources;
            pending_log_ = &log;
            return {};
        }
        auto properties = TRY(resource_properties(resources, unified_, device_groups()));
        SystemdBus* bus = TRY(connected());
        TRY(bus->set_unit_properties(placement_.unit, properties));
        return files_->apply(resources, log);
    }

    Result<> add_process(pid_t pid) override {
        if (started_) return files_->add_process(pid);
        TRY(start_unit(pid));
        // On v1 and hybrid hosts systemd makes the unit's directory only in the hierarchies it
        // manages; the cgroupfs driver adds the others (cpuset, freezer, ...) and remembers them
        // for destroy, then writes the limits and moves the init into every hierarchy.
        TRY_CTX(files_->create(), "systemd unit {}", placement_.unit);
        if (pending_)
            TRY_CTX(files_->apply(*pending_, *pending_log_), "systemd unit {}", placement_.unit);
        pending_.reset();
        return files_->add_process(pid);
    }

    // The init is cloned outside the unit, which can only be started with a pid in it. The
    // runtime then starts the unit with the init's pid while the init still waits at its first
    // sync point (before any namespace, mount or exec is set up), the order runc uses too: no
    // CLONE_INTO_CGROUP, no self-join.
    Result<UniqueFd> open_clone_into_directory() const override { return UniqueFd(); }
    std::vector<std::string> self_join_files() const override { return {}; }

    Result<std::vector<pid_t>> processes() const override { return files_->processes(); }

    Result<> destroy() override {
        if (start_attempted_ || started_) {
            SystemdBus* bus = TRY(connected());
            TRY(bus->stop_unit(placement_.unit));
            started_ = false;
            start_attempted_ = false;
        }
        // What systemd did not make (v1 hierarchies it leaves alone) goes here; the unit's own
        // directories went with the unit.
        return files_->destroy();
    }

    std::vector<std::string> directories() const override { return files_->directories(); }
    std::vector<std::string> created_directories() const override {
        return files_->created_directories();
    }
    void restore_created(std::vector<std::string> created) override {
        files_->restore_created(std::move(created));
    }
    // StartTransientUnit makes a new unit or fails (UnitExists), and create() checked first:
    // every process in it is the container's.
    bool owns_directories() const override { return true; }

  private:
    // /proc/devices, for DeviceAllow's group names ("char-pts"); without it, those entries are
    // left out (stricter, see device_properties).
    static DeviceGroups device_groups() {
        auto text = read_file("/proc/devices");
        return text ? parse_device_groups(*text) : DeviceGroups{};
    }

    Result<SystemdBus*> connected() {
        if (!bus_) bus_ = TRY(SystemdBus::connect());
        return &*bus_;
    }

    Result<> start_unit(pid_t pid) {
        std::vector<UnitProperty> properties = {
            {"Description", description_},
            // Not ordered against shutdown.target and friends: the container's manager stops it.
            {"DefaultDependencies", false},
            // A unit that failed (its processes were OOM-killed) is unloaded all the same.
            {"CollectMode", std::string("inactive-or-failed")},
            {"MemoryAccounting", true},
            {"CPUAccounting", true},
            {"TasksAccounting", true},
        };
        // A slice takes no PIDs (nor Delegate) in systemd's model: the cgroupfs driver moves the
        // init into a slice's directory once it exists.
        if (!placement_.is_slice()) {
            properties.push_back({"Slice", placement_.slice});
            properties.push_back({"PIDs", std::vector<uint32_t>{static_cast<uint32_t>(pid)}});
            // The container manages its cgroup below the unit (and the cgroupfs driver writes
            // limits systemd has no property for): systemd must leave its inside alone.
            properties.push_back({"Delegate", true});
        }
        if (pending_)
            for (UnitProperty& property :
                 TRY_CTX(resource_properties(*pending_, unified_, device_groups()), "config.json"))
                properties.push_back(std::move(property));
        SystemdBus* bus = TRY(connected());
        start_attempted_ = true;
        TRY(bus->start_transient_unit(placement_.unit, properties));
        started_ = true;
        return {};
    }

    bool unified_;
    SystemdPlacement placement_;
    std::string description_;
    std::unique_ptr<Cgroup> files_;  // the cgroupfs driver on the unit's directories
    std::optional<SystemdBus> bus_;
    bool started_;
    bool start_attempted_ = false;
    std::optional<Resources> pending_;
    const Logger* pending_log_ = nullptr;
};

}  // namespace

std::unique_ptr<Cgroup> make_systemd_cgroup(const HostLayout& layout, SystemdPlacement placement,
                                            std::string description) {
    return std::make_unique<SystemdCgroup>(layout, std::move(placement), std::move(description),
                                           false);
}

std::unique_ptr<Cgroup> reopen_systemd_cgroup(const HostLayout& layout, std::string unit,
                                              std::string path) {
    SystemdPlacement placement{.unit = std::move(unit), .slice = {}, .path = std::move(path)};
    return std::make_unique<SystemdCgroup>(layout, std::move(placement), std::string(), true);
}

}  // namespace vessel::host::cgroup
