// vessel-vmm: runs one virtual machine in the foreground. Thin: parse into a VmConfig, run_vm().
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "base/log.h"
#include "vm/memory/guest_memory.h"
#include "vm/vmm/run_vm.h"
#include "vm/vmm/vm_config.h"

using namespace vessel;
using namespace vessel::vm;

namespace {

int fail_line(const Error& error) {
    fmt::print(stderr, "vessel-vmm: {}\n", error.message());
    return exit_code::vmm_error;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"vessel-vmm: run one virtual machine (x86-64 on KVM, RISC-V emulated)"};
    std::string config_file, memory = "256M", console = "stdio", accel = "auto";
    VmConfig config;
    double timeout_seconds = 0;
    bool verbose = false;
    app.add_option("--config", config_file, "vm.json with the same fields as the options");
    app.add_option("--kernel", config.kernel, "Linux bzImage / vmlinux (x86-64) or Image (RISC-V)");
    app.add_option("--initrd", config.initrd, "initramfs");
    app.add_option("--append", config.append, "kernel command line");
    app.add_option("--bios", config.bios,
                   "firmware: RISC-V M-mode image, or with --accel kvm an x86 real-mode image");
    app.add_option("--memory", memory, "guest RAM, e.g. 256M, 1G");
    app.add_option("--cpus", config.cpus, "vCPUs");
    app.add_option("--console", console, "stdio | file:PATH");
    app.add_option("--accel", accel, "kvm | emulate | auto");
    app.add_option("--timeout", timeout_seconds, "stop the guest after this many seconds (exit 4)");
    app.add_flag("-v,--verbose", verbose, "log what the VMM does");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : exit_code::vmm_error;
    }

    if (!config_file.empty()) {
        auto loaded = load_vm_config(config_file);
        if (!loaded) return fail_line(loaded.error());
        VmConfig from_file = std::move(*loaded);
        // Command-line options override the file.
        if (!config.kernel.empty()) from_file.kernel = config.kernel;
        if (!config.initrd.empty()) from_file.initrd = config.initrd;
        if (!config.append.empty()) from_file.append = config.append;
        if (!config.bios.empty()) from_file.bios = config.bios;
        if (app.count("--cpus")) from_file.cpus = config.cpus;
        config = std::move(from_file);
    }
    if (!config_file.empty() ? app.count("--memory") > 0 : true) {
        auto bytes = parse_memory_size(memory);
        if (!bytes) return fail_line(bytes.error().context("--memory"));
        config.memory_bytes = *bytes;
    }
    if (config_file.empty() || app.count("--console")) {
        if (auto parsed = parse_console(console, config); !parsed) return fail_line(parsed.error());
    }
    if (config_file.empty() || app.count("--accel")) {
        auto parsed = parse_accel(accel);
        if (!parsed) return fail_line(parsed.error());
        config.accel = *parsed;
    }
    if (app.count("--timeout")) {
        if (timeout_seconds <= 0)
            return fail_line(Error("--timeout: must be a positive number of seconds"));
        config.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
    }

    Logger log;
    log.set_threshold(verbose ? LogLevel::debug : LogLevel::warning);
    auto status = run_vm(config, log);
    if (!status) return fail_line(status.error());
    return *status;
}
