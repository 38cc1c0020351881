#include "host/cgroup/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/file.h"
#include "host/cgroup/device_program.h"

namespace vessel::host::cgroup {

namespace {

// glibc has no wrapper for bpf(2).
long bpf(int command, bpf_attr& attr) {
    return ::syscall(SYS_bpf, command, &attr, sizeof(attr));
}

uint64_t pointer(const void* address) {
    return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(address));
}

// Only the license's GPL-compatibility matters to the kernel (for GPL-only helpers, which the
// program does not call).
constexpr char kLicense[] = "Apache-2.0";

Result<UniqueFd> load(const std::vector<bpf_insn>& program, std::string* log) {
    bpf_attr attr{};
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.expected_attach_type = BPF_CGROUP_DEVICE;
    attr.insns = pointer(program.data());
    attr.insn_cnt = static_cast<uint32_t>(program.size());
    attr.license = pointer(kLicense);
    if (log) {
        attr.log_level = 1;
        attr.log_buf = pointer(log->data());
        attr.log_size = static_cast<uint32_t>(log->size());
    }
    std::strncpy(attr.prog_name, "vessel_devices", sizeof(attr.prog_name) - 1);
    int fd = static_cast<int>(bpf(BPF_PROG_LOAD, attr));
    if (fd < 0) return fail_errno("bpf(BPF_PROG_LOAD) of the cgroup device program");
    return UniqueFd(fd);
}

std::string verifier_log(const std::vector<bpf_insn>& program) {
    std::string log(1 << 20, '\0');
    (void)load(program, &log);
    log.resize(::strnlen(log.data(), log.size()));
    while (!log.empty() && log.back() == '\n')
        log.pop_back();
    // The verdict is at the end; the start is the instructions the verifier walked.
    constexpr size_t kKeep = 4000;
    if (log.size() > kKeep) log = "..." + log.substr(log.size() - kKeep);
    return log;
}

}  // namespace

Result<UniqueFd> load_device_program(const std::vector<bpf_insn>& program) {
    auto loaded = load(program, nullptr);
    if (loaded) return loaded;
    Error error = loaded.error();
    switch (error.code()) {
        case EPERM:
            return std::unexpected(error.context(
                "the kernel lets only a process with CAP_BPF and CAP_NET_ADMIN (or CAP_SYS_ADMIN) "
                "load a cgroup device program"));
        case ENOSYS:
            return std::unexpected(
                error.context("the kernel was built without bpf(2) (CONFIG_BPF_SYSCALL)"));
        case EINVAL:
        case EACCES: {
            std::string log = verifier_log(program);
            if (!log.empty())
                return std::unexpected(
                    error.context(fmt::format("the BPF verifier refused it: {}", log)));
            return std::unexpected(error.context(
                "the kernel does not know cgroup device programs (CONFIG_CGROUP_BPF)"));
        }
        default:
            return std::unexpected(error);
    }
}

Result<std::vector<uint32_t>> attached_device_programs(int cgroup_fd) {
    std::vector<uint32_t> ids(8);
    for (;;) {
        bpf_attr attr{};
        attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = pointer(ids.data());
        attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
        if (bpf(BPF_PROG_QUERY, attr) == 0) {
            ids.resize(attr.query.prog_cnt);
            return ids;
        }
        // ENOSPC: more are attached than there was room for; prog_cnt says how many.
        if (errno != ENOSPC || attr.query.prog_cnt <= ids.size())
            return fail_errno("bpf(BPF_PROG_QUERY) of the cgroup's device programs");
        ids.resize(attr.query.prog_cnt);
    }
}

Result<uint32_t> program_id(int program_fd) {
    bpf_prog_info info{};
    bpf_attr attr{};
    attr.info.bpf_fd = static_cast<uint32_t>(program_fd);
    attr.info.info_len = sizeof(info);
    attr.info.info = pointer(&info);
    if (bpf(BPF_OBJ_GET_INFO_BY_FD, attr) != 0)
        return fail_errno("bpf(BPF_OBJ_GET_INFO_BY_FD) of the device program");
    return info.id;
}

Result<> set_device_filter(const std::string& cgroup_directory,
                           const std::vector<DeviceRule>& rules) {
    std::vector<bpf_insn> program = TRY(device_program(rules));
    UniqueFd loaded = TRY(load_device_program(program));
    uint32_t new_id = TRY(program_id(loaded.get()));
    UniqueFd cgroup = TRY(open_file(cgroup_directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC));

    bpf_attr attach{};
    attach.target_fd = static_cast<uint32_t>(cgroup.get());
    attach.attach_bpf_fd = static_cast<uint32_t>(loaded.get());
    attach.attach_type = BPF_CGROUP_DEVICE;
    // MULTI: the old program stays attached until the new one is, and a program an ancestor
    // holds (systemd's, say) keeps applying as well.
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf(BPF_PROG_ATTACH, attach) != 0)
        return fail_errno(
            fmt::format("bpf(BPF_PROG_ATTACH) of the device program to {}", cgroup_directory));

    for (uint32_t id : TRY(attached_device_programs(cgroup.get()))) {
        if (id == new_id) continue;
        bpf_attr by_id{};
        by_id.prog_id = id;
        int old_fd = static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, by_id));
        // Detached and freed meanwhile, by a concurrent update: nothing left to do for it.
        if (old_fd < 0 && errno == ENOENT) continue;
        if (old_fd < 0)
            return fail_errno(fmt::format("bpf(BPF_PROG_GET_FD_BY_ID) of program {}", id));
        UniqueFd old(old_fd);
        bpf_attr detach{};
        detach.target_fd = static_cast<uint32_t>(cgroup.get());
        detach.attach_bpf_fd = static_cast<uint32_t>(old.get());
        detach.attach_type = BPF_CGROUP_DEVICE;
        if (bpf(BPF_PROG_DETACH, detach) != 0 && errno != ENOENT)
            return fail_errno(
                fmt::format("bpf(BPF_PROG_DETACH) of the replaced device program {} "
                            "from {}",
                            id, cgroup_directory));
    }
    return {};
}

}  // namespace vessel::host::cgroup
