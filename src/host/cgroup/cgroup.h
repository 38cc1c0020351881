// One container's cgroup, whatever the host's layout. The v1 driver manages one directory per
// controller hierarchy; the v2 driver one directory in the unified tree; on hybrid hosts the v1
// driver also joins the (controller-less) unified tree so the process is tracked there too.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "host/cgroup/layout.h"
#include "host/cgroup/resources.h"

namespace vessel::host::cgroup {

class Cgroup {
  public:
    virtual ~Cgroup() = default;

    // Creates the directories (missing parents too). Remembers which ones it made so that
    // destroy() removes exactly those.
    virtual Result<> create() = 0;
    // Writes the limits. Errors name the JSON path ("linux.resources.memory.limit: ...").
    virtual Result<> apply(const Resources& resources, const Logger& log) = 0;
    virtual Result<> add_process(pid_t pid) = 0;
    // A faster way in for a new process than add_process: moving a whole process (cgroup.procs)
    // waits for an RCU grace period, 5-10 ms on these hosts, once per container start. Instead
    // clone3 puts the child into the v2 directory (CLONE_INTO_CGROUP, invalid fd: none) and the
    // child, single-threaded, moves itself into the v1 hierarchies by writing "0" to their
    // "tasks" files, which the kernel does without that wait.
    virtual Result<UniqueFd> open_clone_into_directory() const = 0;
    virtual std::vector<std::string> self_join_files() const = 0;
    // Every pid in the cgroup (the container's processes).
    virtual Result<std::vector<pid_t>> processes() const = 0;
    // Removes the directories create() made (or, for a cgroup reopened from state, the leaf ones).
    // The cgroup must be empty.
    virtual Result<> destroy() = 0;
    // The container's directory in each hierarchy, for tests and for `ps`-like readers.
    virtual std::vector<std::string> directories() const = 0;
    // Every directory create() made, outermost first: kept in the state file so that delete,
    // from another process, removes them again (see restore_created).
    virtual std::vector<std::string> created_directories() const = 0;
    virtual void restore_created(std::vector<std::string> created) = 0;
    // Whether create() made the container's own directory in every hierarchy. A directory that
    // was there before may hold processes that are not the container's.
    virtual bool owns_directories() const = 0;
};

// "/vessel/abc" (absolute inside every hierarchy). Relative configured paths are taken relative
// to the hierarchy roots too; an empty one becomes "/vessel/<id>".
std::string cgroup_path_for(const std::string& configured, const std::string& id);

// An empty path: the container has no cgroup (rootless without delegation, see kNoCgroupReason).
std::unique_ptr<Cgroup> make_cgroup(const HostLayout& layout, const std::string& path);

inline constexpr const char* kNoCgroupReason =
    "the container has no cgroup (it was created rootless, and the user has no delegated cgroup "
    "to create one in)";

// Writes `value` to directory/file, with a context naming the file.
Result<> write_cgroup_file(const std::string& directory, const char* file, std::string_view value);

}  // namespace vessel::host::cgroup
