#include "host/cgroup/oom_watch.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <charconv>

#include "base/file.h"
#include "host/cgroup/cgroup.h"

namespace vessel::host::cgroup {

OomWatch::OomWatch(UniqueFd wake, UniqueFd watched, std::string counter_file, bool eventfd)
    : wake_(std::move(wake)),
      watched_(std::move(watched)),
      counter_file_(std::move(counter_file)),
      eventfd_(eventfd) {}

Result<OomWatch> OomWatch::open(const HostLayout& layout, const std::string& path) {
    if (path.empty()) return fail("{}", kNoCgroupReason);
    auto directory = controller_directory(layout, "memory", path);
    if (!directory) return fail("the host has no memory cgroup to watch for OOM kills");
    std::optional<OomWatch> watch;
    if (layout.kind == LayoutKind::v2) {
        std::string events = *directory + "/memory.events";
        UniqueFd inotify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
        if (!inotify) return fail_errno("inotify_init1");
        if (::inotify_add_watch(inotify.get(), events.c_str(), IN_MODIFY) < 0)
            return fail_errno("watch " + events);
        watch.emplace(OomWatch(std::move(inotify), UniqueFd(), events, false));
    } else {
        std::string control = *directory + "/memory.oom_control";
        UniqueFd control_fd = TRY(open_file(control, O_RDONLY | O_CLOEXEC));
        UniqueFd notify(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!notify) return fail_errno("eventfd");
        TRY(write_cgroup_file(*directory, "cgroup.event_control",
                              fmt::format("{} {}", notify.get(), control_fd.get())));
        watch.emplace(OomWatch(std::move(notify), std::move(control_fd), control, true));
    }
    watch->seen_kills_ = TRY(watch->read_kill_count());
    return std::move(*watch);
}

Result<uint64_t> OomWatch::read_kill_count() const {
    std::string text = TRY(read_file(counter_file_));
    size_t at = text.find("oom_kill ");
    if (at == std::string::npos || (at > 0 && text[at - 1] != '\n'))
        return fail("{}: no oom_kill counter (the kernel is older than 4.13)", counter_file_);
    const char* digits = text.data() + at + 9;
    uint64_t kills = 0;
    if (std::from_chars(digits, text.data() + text.size(), kills).ec != std::errc())
        return fail("{}: unreadable oom_kill counter", counter_file_);
    return kills;
}

Result<uint64_t> OomWatch::new_kills() {
    // Drain the wake-up: one eventfd counter, or any number of inotify records.
    char buffer[4096];
    if (eventfd_) {
        uint64_t ignored = 0;
        (void)!::read(wake_.get(), &ignored, sizeof ignored);
    } else {
        while (::read(wake_.get(), buffer, sizeof buffer) > 0) {
        }
    }
    auto kills = read_kill_count();
    // A cgroup that is gone has no more kills to report.
    if (!kills) return kills.error().code() == ENOENT ? Result<uint64_t>(0) : kills;
    uint64_t fresh = *kills > seen_kills_ ? *kills - seen_kills_ : 0;
    seen_kills_ = *kills;
    return fresh;
}

}  // namespace vessel::host::cgroup
