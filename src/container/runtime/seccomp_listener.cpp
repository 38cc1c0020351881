#include "container/runtime/seccomp_listener.h"

#include "base/fd_passing.h"
#include "container/linux/seccomp.h"
#include "container/runtime/sync.h"

namespace vessel::container::runtime {

Result<> pass_seccomp_listener(int sync_fd, const sys::SecurityPlan& plan, const Json& state,
                               pid_t pid) {
    auto received = receive_fd(sync_fd);
    if (!received) return std::unexpected(received.error());
    const std::string& message = received->first;
    const UniqueFd& listener = received->second;
    if (message.empty()) return fail("the container's process exited during setup");
    auto tag = static_cast<SyncTag>(message[0]);
    if (tag == SyncTag::error) return std::unexpected(Error(message.substr(1)));
    if (tag != SyncTag::seccomp_listener || !listener)
        return fail("unexpected message from the container's process");
    return with_context(send_seccomp_listener_fd(
                            plan.seccomp_listener_path, listener.get(),
                            seccomp_listener_state(state, pid, plan.seccomp_listener_metadata)),
                        "config.json: linux.seccomp.listenerPath");
}

}  // namespace vessel::container::runtime
