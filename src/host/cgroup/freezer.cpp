#include "host/cgroup/freezer.h"

#include <chrono>
#include <thread>

#include "base/file.h"
#include "host/cgroup/cgroup.h"

namespace vessel::host::cgroup {

namespace {

std::string first_word(const std::string& text) {
    size_t end = text.find_first_of(" \n");
    return text.substr(0, end);
}

// The file that freezes the cgroup and the values meaning frozen and thawed.
struct FreezerFile {
    std::string directory;
    const char* file;
    const char* frozen;
    const char* thawed;
};

FreezerFile freezer_for(const HostLayout& layout, const std::string& path) {
    if (const V1Hierarchy* v1 = layout.find_v1("freezer"))
        return {v1->mount_point + path, "freezer.state", "FROZEN", "THAWED"};
    return {layout.unified + path, "cgroup.freeze", "1", "0"};
}

// v2: cgroup.events says "frozen 1" once every task stopped; cgroup.freeze only says what was
// asked.
bool v2_reports(const std::string& directory, bool frozen) {
    auto events = read_file(directory + "/cgroup.events");
    if (!events) return false;
    return events->find(frozen ? "frozen 1" : "frozen 0") != std::string::npos;
}

}  // namespace

Result<> set_frozen(const HostLayout& layout, const std::string& path, bool frozen) {
    if (path.empty()) return fail("{}", kNoCgroupReason);
    FreezerFile freezer = freezer_for(layout, path);
    if (freezer.directory == path) return fail("the host has no cgroup freezer");
    bool v1 = std::string_view(freezer.file) == "freezer.state";
    for (int attempt = 0; attempt < 1000; ++attempt) {
        // v1 may fall back to THAWED while a task resists (FREEZING): write again until FROZEN.
        if (attempt % 50 == 0)
            TRY(write_cgroup_file(freezer.directory, freezer.file,
                                  frozen ? freezer.frozen : freezer.thawed));
        bool done = v1 ? first_word(TRY(read_file(freezer.directory + "/" + freezer.file))) ==
                             (frozen ? freezer.frozen : freezer.thawed)
                       : v2_reports(freezer.directory, frozen);
        if (done) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (frozen) (void)write_cgroup_file(freezer.directory, freezer.file, freezer.thawed);
    return fail("{}/{}: the cgroup did not {} in time", freezer.directory, freezer.file,
                frozen ? "freeze" : "thaw");
}

bool is_frozen(const HostLayout& layout, const std::string& path) {
    if (path.empty()) return false;
    FreezerFile freezer = freezer_for(layout, path);
    if (std::string_view(freezer.file) == "freezer.state") {
        auto state = read_file(freezer.directory + "/" + freezer.file);
        return state && first_word(*state) != freezer.thawed;
    }
    return v2_reports(freezer.directory, true);
}

}  // namespace vessel::host::cgroup
