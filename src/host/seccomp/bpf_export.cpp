#include "host/seccomp/bpf_export.h"

#include <sys/mman.h>
#include <unistd.h>

#include "base/unique_fd.h"

namespace vessel::host {

Result<std::vector<sock_filter>> export_bpf(scmp_filter_ctx context) {
    UniqueFd memory(::memfd_create("vessel-seccomp-bpf", MFD_CLOEXEC));
    if (!memory) return fail_errno("memfd_create for the seccomp program");
    // libseccomp returns -errno.
    if (int rc = seccomp_export_bpf(context, memory.get()); rc < 0)
        return fail_errno(-rc, "exporting the seccomp program");
    off_t size = ::lseek(memory.get(), 0, SEEK_END);
    if (size < 0) return fail_errno("measuring the seccomp program");
    if (size == 0 || size % sizeof(sock_filter) != 0)
        return fail("libseccomp exported a program of {} bytes, not whole instructions", size);
    std::vector<sock_filter> program(static_cast<size_t>(size) / sizeof(sock_filter));
    if (::pread(memory.get(), program.data(), static_cast<size_t>(size), 0) != size)
        return fail_errno("reading back the seccomp program");
    return program;
}

}  // namespace vessel::host
