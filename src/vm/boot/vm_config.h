// What a user asks of one VM, whichever CPU engine runs it. `vessel-vmm` fills it from its command
// line or from `--config vm.json` (same field names); the engines read it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "vm/boot/device_options.h"
#include "vm/boot/gdb_option.h"

namespace vessel::vm {

enum class Accel { automatic, kvm, emulate };
// How the emulated RISC-V board runs guest code: the translator (x86-64 hosts; the default there)
// or the interpreter (the reference engine, and the only one on other hosts).
enum class CpuEngine { automatic, translator, interpreter };
enum class ConsoleKind { stdio, file };
// The guest's side of the console: the board's 16550 UART (ttyS0) or virtio-console (hvc0).
enum class ConsoleDevice { uart, virtio };

// --jail UID:GID: once its files are open, the VMM confines itself (vmm/jail.h) and runs as this
// unprivileged user and group.
struct JailOption {
    uint32_t uid = 0;
    uint32_t gid = 0;
};

struct VmConfig {
    std::string kernel;  // Linux Image / bzImage / vmlinux
    std::string initrd;
    std::string append;  // kernel command line
    std::string bios;    // firmware or bare-metal ELF run in M-mode (RISC-V)
    // What errors call those files: the flag, or "vm.json: initrd" for a path from --config.
    std::string kernel_label = "--kernel", initrd_label = "--initrd", bios_label = "--bios";
    uint64_t memory_bytes = 256ull << 20;
    unsigned cpus = 1;
    ConsoleKind console = ConsoleKind::stdio;
    std::string console_path;  // for ConsoleKind::file
    ConsoleDevice console_device = ConsoleDevice::uart;
    std::vector<DiskOption> disks;
    std::vector<NetOption> nets;
    std::optional<VsockOption> vsock;
    bool rng = false;
    Accel accel = Accel::automatic;
    CpuEngine engine = CpuEngine::automatic;
    // --perf-map: the RISC-V translator writes /tmp/perf-PID.map for perf (profiling guests).
    bool perf_map = false;
    // Wall-clock limit on the guest's run; nullopt = none.
    std::optional<std::chrono::milliseconds> timeout;
    // --gdb: a GDB remote stub for the RISC-V harts; nullopt = none.
    std::optional<GdbOption> gdb;
    // nullopt: the VMM keeps the privileges it was started with (a developer debugging it).
    std::optional<JailOption> jail;
};

// Both boards have eight virtio-mmio slots (QEMU virt's 0x10001000-0x10008fff on RISC-V).
inline constexpr size_t kMaxVirtioDevices = 8;

// vessel-vmm's exit statuses, the same for every engine (documented in docs/vm-guests.md).
namespace exit_code {
inline constexpr int powered_off = 0;   // guest powered off (or bare-metal test finisher: pass)
inline constexpr int vmm_error = 1;     // bad input or VMM failure; one line on stderr says which
inline constexpr int reboot = 2;        // guest asked for a reboot (warm or cold reset)
inline constexpr int crashed = 3;       // guest crashed: triple fault, failed VM entry, panic reset
inline constexpr int timed_out = 4;     // --timeout elapsed before the guest stopped
inline constexpr int host_stopped = 5;  // SIGINT/SIGTERM/SIGHUP: the host stopped it, not the guest
// A bare-metal test finisher's failure code is passed through as the exit status.
}  // namespace exit_code

// "--console" takes a comma-separated list: the host side (stdio, file:PATH) and the guest's
// device (uart, virtio), e.g. "virtio,file:/tmp/console.log".
Result<> parse_console(std::string_view text, VmConfig& config);
Result<Accel> parse_accel(std::string_view text);
// "jit", "interp" or "auto" (--engine and the config file's "engine").
Result<CpuEngine> parse_cpu_engine(std::string_view text);

// The most guest RAM this host could ever back: its physical RAM plus swap. Guest RAM is mapped
// without reserving anything and costs host memory only as the guest touches it, so a larger size
// would start, and fail only later, when the guest's use of it makes the host kill some process.
uint64_t host_memory_capacity();

// What is wrong with a guest RAM size (below the minimum, not a 2 MiB multiple, above
// `host_capacity`), without saying where it came from: the caller prefixes "--memory" or the config
// file and key.
Result<> check_memory_size(uint64_t bytes, uint64_t host_capacity);

// A --timeout / "timeout" in seconds: positive and at most kMaxTimeoutSeconds (about 115 days),
// which keeps the milliseconds and any deadline computed from them far from overflowing.
inline constexpr double kMaxTimeoutSeconds = 1e7;
Result<std::chrono::milliseconds> timeout_from_seconds(double seconds);

// Reads a vm.json: {"kernel","initrd","append","bios","memory":"256M"|bytes,"cpus","console",
// "accel","timeout": seconds, "disk": [...], "net": [...], "vsock": "CID,SOCKET", "rng": bool}, the
// devices spelt as their flags are. Unknown keys are errors naming them; relative paths are taken
// relative to the file's directory; every number is range-checked, and errors name the file and the
// key ("vm.json: memory: ...").
Result<VmConfig> load_vm_config(const std::string& path);

// Checks that the combination makes sense (a kernel or a bios, cpus in 1..max, memory as
// check_memory_size() wants it); errors name the option.
Result<> validate_vm_config(const VmConfig& config);

}  // namespace vessel::vm
