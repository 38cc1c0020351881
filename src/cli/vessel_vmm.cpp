// vessel-vmm: one process per VM. main() only turns the command line into a VmConfig; run_vm()
// does the rest.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "base/log.h"
#include "vm/boot/vm_config.h"
#include "vm/memory/guest_memory.h"
#include "vm/vmm/jail.h"
#include "vm/vmm/run_vm.h"

namespace {

vessel::Result<vessel::vm::VmConfig> parse_command_line(int argc, char** argv, int& exit_now,
                                                        bool& verbose) {
    using namespace vessel;
    CLI::App app{"vessel-vmm: run one virtual machine"};
    std::string config_path, memory, console, accel, engine;
    vm::VmConfig config;
    std::optional<double> timeout;
    std::optional<unsigned> cpus;
    std::string kernel, initrd, append, bios, vsock, jail;
    std::vector<std::string> disks, nets;
    bool rng = false, gdb_wait = false, perf_map = false;
    std::optional<std::string> gdb;
    app.add_option("--config", config_path, "vm.json with the same fields as the options");
    app.add_option("--kernel", kernel, "Linux bzImage / vmlinux (x86-64) or Image (RISC-V)");
    app.add_option("--initrd", initrd, "initramfs");
    app.add_option("--append", append, "kernel command line");
    app.add_option("--bios", bios,
                   "RISC-V firmware or bare-metal ELF run in M-mode; with --accel kvm, an x86 "
                   "real-mode image");
    app.add_option("--memory", memory, "guest RAM, e.g. 64M, 1G");
    app.add_option("--cpus", cpus, "number of harts / vCPUs");
    app.add_option("--console", console,
                   "host side stdio or file:PATH, guest side uart or virtio (hvc0); e.g. "
                   "virtio,file:/tmp/log");
    app.add_option("--disk", disks, "PATH[,ro][,serial=ID]: a virtio-blk disk (repeatable)");
    app.add_option("--net", nets,
                   "tap=NAME|bridge=BRIDGE|user[,mac=MAC][,hostfwd=tcp:HOSTPORT-GUESTPORT]: a "
                   "virtio-net NIC (repeatable)");
    app.add_option("--vsock", vsock, "CID,SOCKET: virtio-vsock to host unix sockets");
    app.add_flag("--rng", rng, "virtio-rng from the host's getrandom");
    app.add_option("--accel", accel, "kvm, emulate or auto");
    app.add_option("--engine", engine,
                   "RISC-V CPU engine: jit (translator, the default on x86-64), interp or auto");
    app.add_option("--gdb", gdb,
                   "PORT (on 127.0.0.1) or PATH (a unix socket, with a '/'): a GDB remote stub for "
                   "the RISC-V harts");
    app.add_flag("--gdb-wait", gdb_wait,
                 "with --gdb: the harts wait for the debugger before their first instruction");
    app.add_flag("--perf-map", perf_map,
                 "name the RISC-V translator's blocks by guest address in /tmp/perf-PID.map, for "
                 "perf report");
    app.add_option("--timeout", timeout, "stop the guest after this many seconds (exit 4)");
    app.add_option("--jail", jail,
                   "UID:GID: once its files are open, confine the VMM (empty root, own namespaces, "
                   "this unprivileged user, no capabilities, a seccomp allow-list per thread)");
    app.add_flag("-v,--verbose", verbose, "log what the VMM does");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& help) {
        exit_now = app.exit(help);
        return config;
    } catch (const CLI::ParseError& error) {
        return fail("{}", error.what());
    }
    if (!config_path.empty()) config = TRY(vm::load_vm_config(config_path));
    // A flag overrides the config file's value, and errors about it name the flag.
    auto take_file = [](const std::string& value, const char* flag, std::string& path,
                        std::string& label) {
        if (value.empty()) return;
        path = value;
        label = flag;
    };
    take_file(kernel, "--kernel", config.kernel, config.kernel_label);
    take_file(initrd, "--initrd", config.initrd, config.initrd_label);
    take_file(bios, "--bios", config.bios, config.bios_label);
    if (!append.empty()) config.append = append;
    if (!memory.empty()) {
        config.memory_bytes = TRY_CTX(vm::parse_memory_size(memory), "--memory");
        TRY_CTX(vm::check_memory_size(config.memory_bytes, vm::host_memory_capacity()), "--memory");
    }
    if (cpus) config.cpus = *cpus;
    if (!console.empty()) TRY(vm::parse_console(console, config));
    if (!accel.empty()) config.accel = TRY(vm::parse_accel(accel));
    config.perf_map = perf_map;
    if (!engine.empty()) config.engine = TRY(vm::parse_cpu_engine(engine));
    // Devices on the command line replace those of the config file, kind by kind.
    if (!disks.empty()) config.disks.clear();
    for (const auto& disk : disks)
        config.disks.push_back(TRY_CTX(vm::parse_disk_option(disk), "--disk"));
    if (!nets.empty()) config.nets.clear();
    for (const auto& net : nets)
        config.nets.push_back(TRY_CTX(vm::parse_net_option(net), "--net"));
    if (!vsock.empty()) config.vsock = TRY_CTX(vm::parse_vsock_option(vsock), "--vsock");
    if (rng) config.rng = true;
    if (!jail.empty()) config.jail = TRY(vm::parse_jail_option(jail));
    if (timeout) config.timeout = TRY_CTX(vm::timeout_from_seconds(*timeout), "--timeout");
    if (gdb) {
        bool file_wait = config.gdb && config.gdb->wait;
        config.gdb = TRY(vm::parse_gdb_option(*gdb));
        config.gdb->wait = file_wait;
    }
    if (gdb_wait) {
        if (!config.gdb) return fail("--gdb-wait: needs --gdb");
        config.gdb->wait = true;
    }
    return config;
}

}  // namespace

int main(int argc, char** argv) {
    int exit_now = -1;
    bool verbose = false;
    auto config = parse_command_line(argc, argv, exit_now, verbose);
    if (exit_now >= 0) return exit_now;
    if (!config) {
        fmt::print(stderr, "vessel-vmm: {}\n", config.error().message());
        return vessel::vm::exit_code::vmm_error;
    }
    vessel::Logger log;
    log.set_threshold(verbose ? vessel::LogLevel::debug : vessel::LogLevel::warning);
    std::function<void()> after_jailed;
#ifdef VESSEL_JAIL_PROBE
    // The jail's test build only: once confined, the VMM does what a compromised one would try
    // first, and the jail must end it.
    after_jailed = [] {
        char* argv[] = {const_cast<char*>("/bin/sh"), nullptr};
        ::syscall(SYS_execve, "/bin/sh", argv, nullptr);
    };
#endif
    auto status = vessel::vm::run_vm(*config, log, std::move(after_jailed));
    if (!status) {
        fmt::print(stderr, "vessel-vmm: {}\n", status.error().message());
        return vessel::vm::exit_code::vmm_error;
    }
    return *status;
}
