// The "shutdown" operation: the reply goes out first, then the guest is brought down the way an
// init system would (terminate, kill, unmount, remount read-only, power off or reboot).
#pragma once

#include <string>

#include "base/error.h"
#include "base/json.h"
#include "base/unique_fd.h"

namespace vessel::agent {

enum class PowerAction { poweroff, reboot };

const char* power_action_name(PowerAction action);

// The last step of "shutdown", injectable so that tests (and --listen unix:) exercise the
// operation without taking the machine down. Called in the connection's child process after the
// reply was sent and the connection closed.
class PowerActions {
  public:
    virtual ~PowerActions() = default;
    virtual void shut_down(PowerAction action) = 0;
};

// Whether the guest's init is systemd: sd_booted()'s test, the directory systemd makes at boot
// (`root`/run/systemd/system).
bool booted_by_systemd(const std::string& root = "/");

// The real sequence. Under systemd, systemd is asked to do it (poweroff.target, reboot.target).
// Otherwise it runs in the connection's child: kill(-1) spares the caller, so the child survives
// the signals that take down every other process, the main agent included.
class GuestPower final : public PowerActions {
  public:
    void shut_down(PowerAction action) override;
};

// For --listen unix: (host tests): says what it would have done, on stderr, and does nothing.
class PretendPower final : public PowerActions {
  public:
    void shut_down(PowerAction action) override;
};

// {"op":"shutdown","action":"poweroff"|"reboot"}: replies, closes the connection, then hands over
// to `power`. An error (a bad action) is returned before anything is sent, with the connection
// still open for the error reply.
Result<> run_shutdown(UniqueFd& connection, const JsonAt& request, PowerActions& power);

}  // namespace vessel::agent
