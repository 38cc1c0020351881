#include "manager/instance/vm_jail_ids.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>

#include <memory>
#include <set>

#include "base/file.h"
#include "base/json.h"

namespace vessel::manager {

namespace {

constexpr const char* kGuestFile = "guest.json";
constexpr const char* kIdKey = "jail_id";

// The id a guest.json records, if any (a VM created before jails had ids has none yet).
std::optional<uint32_t> recorded_id(const Json& guest) {
    if (!guest.is_object()) return std::nullopt;
    auto found = guest.find(kIdKey);
    if (found == guest.end() || !found->is_number_unsigned()) return std::nullopt;
    uint64_t id = found->get<uint64_t>();
    if (id < kVmJailIdBase || id >= uint64_t{kVmJailIdBase} + kVmJailIdCount) return std::nullopt;
    return static_cast<uint32_t>(id);
}

Result<std::set<uint32_t>> ids_of_other_vms(const std::string& instances_dir,
                                            const std::string& name) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(instances_dir.c_str()), ::closedir);
    if (!dir) return fail_errno(fmt::format("read {}", instances_dir));
    std::set<uint32_t> taken;
    while (dirent* entry = ::readdir(dir.get())) {
        std::string other = entry->d_name;
        if (other == "." || other == ".." || other == name) continue;
        auto text = read_file(instances_dir + "/" + other + "/" + kGuestFile);
        if (!text) continue;  // a container, or a VM half created
        auto guest = parse_json(*text, kGuestFile);
        if (!guest) continue;
        if (auto id = recorded_id(*guest)) taken.insert(*id);
    }
    return taken;
}

}  // namespace

Result<uint32_t> vm_jail_id(const std::string& instances_dir, const std::string& name) {
    auto lock =
        TRY(open_file(instances_dir + "/.jail-ids.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (::flock(lock.get(), LOCK_EX) != 0) return fail_errno("lock the VM jail ids");
    std::string guest_path = instances_dir + "/" + name + "/" + kGuestFile;
    Json guest = TRY(parse_json(TRY(read_file(guest_path)), guest_path));
    if (!guest.is_object()) return fail("{}: not a JSON object", guest_path);
    if (auto id = recorded_id(guest)) return *id;
    auto taken = TRY(ids_of_other_vms(instances_dir, name));
    for (uint32_t id = kVmJailIdBase; id < kVmJailIdBase + kVmJailIdCount; ++id) {
        if (taken.contains(id)) continue;
        guest[kIdKey] = id;
        TRY(write_file_atomic(guest_path, guest.dump(), 0600));
        return id;
    }
    return fail("all {} VM jail ids ({} to {}) are in use: delete a VM", kVmJailIdCount,
                kVmJailIdBase, kVmJailIdBase + kVmJailIdCount - 1);
}

}  // namespace vessel::manager
