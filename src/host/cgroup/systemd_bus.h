// systemd's manager (org.freedesktop.systemd1) over D-Bus with sd-bus: the calls the systemd
// cgroup driver needs, each waiting for the job it queues to finish.
//
// vessel-runc is linked statically and Debian ships libsystemd only as a shared library, so
// libsystemd.so.0 is loaded with dlopen when a container asks for the systemd driver: nothing is
// loaded (nor needed on the host) otherwise. The interface is sd-bus's own header.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "host/cgroup/systemd_properties.h"

namespace vessel::host::cgroup {

class SystemdBus {
  public:
    // root's private socket (/run/systemd/private, there even before dbus-daemon), else the
    // system bus. Fails, saying what was tried, when systemd is not reachable.
    static Result<SystemdBus> connect();

    SystemdBus(SystemdBus&&) noexcept;
    SystemdBus& operator=(SystemdBus&&) noexcept;
    ~SystemdBus();

    // StartTransientUnit in mode "replace", then waits until its job is done.
    Result<> start_transient_unit(const std::string& unit,
                                  const std::vector<UnitProperty>& properties);
    // SetUnitProperties, runtime only (forgotten at reboot, as the unit is).
    Result<> set_unit_properties(const std::string& unit,
                                 const std::vector<UnitProperty>& properties);
    // StopUnit and its job, ResetFailedUnit, then waits until the unit is unloaded. A unit that
    // is not loaded (a scope stops by itself when its last process exits) is already stopped.
    Result<> stop_unit(const std::string& unit);
    Result<bool> unit_loaded(const std::string& unit);

  private:
    struct State;
    explicit SystemdBus(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

}  // namespace vessel::host::cgroup
