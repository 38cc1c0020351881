#include "vm/boot/vm_config.h"

#include <sys/sysinfo.h>

#include <algorithm>
#include <cmath>

#include "vm/boot/guest_file.h"
#include "vm/memory/guest_memory.h"

namespace vessel::vm {

namespace {
constexpr unsigned kMaxCpus = 8;
constexpr uint64_t kMinMemory = 16ull << 20;
// A vm.json is a dozen short fields; this only keeps --config /dev/zero from eating the host.
constexpr uint64_t kMaxConfigBytes = 1 << 20;
}  // namespace

Result<> parse_console(std::string_view text, VmConfig& config) {
    size_t position = 0;
    do {
        size_t end = text.find(',', position);
        // A file path may hold commas: file: takes the rest of the text.
        std::string_view part = text.substr(position);
        if (!part.starts_with("file:") && end != std::string_view::npos)
            part = text.substr(position, end - position);
        if (part == "stdio") {
            config.console = ConsoleKind::stdio;
        } else if (part.starts_with("file:") && part.size() > 5) {
            config.console = ConsoleKind::file;
            config.console_path = std::string(part.substr(5));
        } else if (part == "uart") {
            config.console_device = ConsoleDevice::uart;
        } else if (part == "virtio") {
            config.console_device = ConsoleDevice::virtio;
        } else {
            return fail("--console: '{}' is not stdio, file:PATH, uart or virtio", part);
        }
        position += part.size() + 1;
    } while (position < text.size());
    return {};
}

Result<Accel> parse_accel(std::string_view text) {
    if (text == "kvm") return Accel::kvm;
    if (text == "emulate") return Accel::emulate;
    if (text == "auto") return Accel::automatic;
    return fail("--accel: '{}' is not kvm, emulate or auto", text);
}

Result<CpuEngine> parse_cpu_engine(std::string_view text) {
    if (text == "jit") return CpuEngine::translator;
    if (text == "interp") return CpuEngine::interpreter;
    if (text == "auto") return CpuEngine::automatic;
    return fail("--engine: '{}' is not jit, interp or auto", text);
}

uint64_t host_memory_capacity() {
    struct sysinfo info {};
    if (::sysinfo(&info) != 0) return UINT64_MAX;  // cannot tell: mmap and the kernel decide
    // Both fit in 64 bits for any machine that exists; saturate rather than wrap on one that
    // reports nonsense.
    uint64_t unit = info.mem_unit ? info.mem_unit : 1;
    uint64_t ram = 0, swap = 0, total = 0;
    if (__builtin_mul_overflow(uint64_t{info.totalram}, unit, &ram) ||
        __builtin_mul_overflow(uint64_t{info.totalswap}, unit, &swap) ||
        __builtin_add_overflow(ram, swap, &total))
        return UINT64_MAX;
    return total;
}

Result<> check_memory_size(uint64_t bytes, uint64_t host_capacity) {
    if (bytes < kMinMemory)
        return fail("{} MiB is below the minimum of {} MiB", bytes >> 20, kMinMemory >> 20);
    if (bytes % (2ull << 20) != 0) return fail("must be a multiple of 2 MiB");
    if (bytes > host_capacity)
        return fail("{} MiB is more than this host's RAM and swap together ({} MiB)", bytes >> 20,
                    host_capacity >> 20);
    return {};
}

Result<std::chrono::milliseconds> timeout_from_seconds(double seconds) {
    // Written so that NaN fails too.
    if (!(seconds > 0) || !(seconds <= kMaxTimeoutSeconds))
        return fail("must be a positive number of seconds, at most {:.0f}", kMaxTimeoutSeconds);
    // At least 1 ms: a positive time-out never means "stop before starting".
    return std::chrono::milliseconds(std::max<int64_t>(1, std::llround(seconds * 1000)));
}

namespace {

// "disk" and "net": arrays of what the repeatable flags take; "vsock": the flag's text; "rng":
// bool.
Result<> load_device_keys(const JsonAt& root, const std::string& directory, VmConfig& config) {
    auto each_string = [&](std::string_view key, auto&& take) -> Result<> {
        auto list = root.optional_child(key);
        if (!list) return {};
        for (const auto& item : TRY(list->array())) {
            auto text = TRY(item.string());
            if (auto taken = take(text); !taken)
                return std::unexpected(item.error(taken.error().message()));
        }
        return {};
    };
    TRY(each_string("disk", [&](const std::string& text) -> Result<> {
        config.disks.push_back(TRY(parse_disk_option(text, directory)));
        return {};
    }));
    TRY(each_string("net", [&](const std::string& text) -> Result<> {
        config.nets.push_back(TRY(parse_net_option(text)));
        return {};
    }));
    if (auto vsock = root.optional_child("vsock")) {
        auto parsed = parse_vsock_option(TRY(vsock->string()), directory);
        if (!parsed) return std::unexpected(vsock->error(parsed.error().message()));
        config.vsock = *parsed;
    }
    if (auto rng = TRY(root.optional_boolean("rng"))) config.rng = *rng;
    return {};
}

}  // namespace

Result<VmConfig> load_vm_config(const std::string& path) {
    auto text = TRY(read_guest_file(path, "--config", kMaxConfigBytes, "a vm.json may be"));
    Json document = TRY(parse_json(text, path));
    JsonAt root(document, "");
    auto in_file = [&](Error error) { return std::unexpected(error.context(path)); };
    if (auto checked = root.expect_object(); !checked) return in_file(checked.error());

    std::string directory =
        path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
    auto resolve = [&](const std::string& file) {
        return file.empty() || file.front() == '/' ? file : directory + "/" + file;
    };
    static constexpr std::string_view known[] = {
        "kernel",  "initrd", "append", "bios",  "memory", "cpus",   "console", "accel",
        "timeout", "disk",   "net",    "vsock", "rng",    "engine", "gdb",     "gdb-wait"};
    for (const auto& [key, value] : document.items()) {
        if (std::find(std::begin(known), std::end(known), key) == std::end(known))
            return in_file(JsonAt(value, key).error("unknown key"));
    }
    VmConfig config;
    auto take_string = [&](std::string_view key, std::string& out) -> Result<> {
        auto value = TRY(root.optional_string(key));
        if (value) out = *value;
        return {};
    };
    // A file key also renames the file in errors, which then lead to this file and key.
    auto take_file = [&](std::string_view key, std::string& out, std::string& label) -> Result<> {
        auto value = TRY(root.optional_string(key));
        if (!value) return {};
        out = resolve(*value);
        label = fmt::format("{}: {}", path, key);
        return {};
    };
    if (auto r = take_file("kernel", config.kernel, config.kernel_label); !r)
        return in_file(r.error());
    if (auto r = take_file("initrd", config.initrd, config.initrd_label); !r)
        return in_file(r.error());
    if (auto r = take_string("append", config.append); !r) return in_file(r.error());
    if (auto r = take_file("bios", config.bios, config.bios_label); !r) return in_file(r.error());
    if (auto memory = root.optional_child("memory")) {
        if (memory->value().is_string()) {
            auto parsed = parse_memory_size(memory->value().get<std::string>());
            if (!parsed) return in_file(memory->error(parsed.error().message()));
            config.memory_bytes = *parsed;
        } else {
            auto bytes = memory->integer_in<uint64_t>();
            if (!bytes) return in_file(bytes.error());
            config.memory_bytes = *bytes;
        }
        if (auto checked = check_memory_size(config.memory_bytes, host_memory_capacity()); !checked)
            return in_file(memory->error(checked.error().message()));
    }
    if (auto cpus = root.optional_child("cpus")) {
        auto count = cpus->integer_in<unsigned>();
        if (!count) return in_file(count.error());
        if (*count == 0 || *count > kMaxCpus)
            return in_file(cpus->error(fmt::format("must be between 1 and {}", kMaxCpus)));
        config.cpus = *count;
    }
    if (auto console = root.optional_child("console")) {
        auto text = console->string();
        if (!text) return in_file(text.error());
        if (auto parsed = parse_console(*text, config); !parsed)
            return in_file(console->error(parsed.error().message()));
    }
    if (auto accel = root.optional_child("accel")) {
        auto text = accel->string();
        if (!text) return in_file(text.error());
        auto parsed = parse_accel(*text);
        if (!parsed) return in_file(accel->error(parsed.error().message()));
        config.accel = *parsed;
    }
    if (auto engine = root.optional_child("engine")) {
        auto text = engine->string();
        if (!text) return in_file(text.error());
        auto parsed = parse_cpu_engine(*text);
        if (!parsed) return in_file(engine->error(parsed.error().message()));
        config.engine = *parsed;
    }
    if (auto devices = load_device_keys(root, directory, config); !devices)
        return in_file(devices.error());
    // "gdb": a port (number or string) or a socket path; "gdb-wait": true holds the harts.
    if (auto gdb = root.optional_child("gdb")) {
        std::string text;
        if (gdb->value().is_number_unsigned()) {
            text = std::to_string(gdb->value().get<uint64_t>());
        } else {
            auto string = gdb->string();
            if (!string) return in_file(string.error());
            text = *string;
        }
        auto parsed = parse_gdb_option(text);
        if (!parsed) return in_file(gdb->error(parsed.error().message()));
        config.gdb = *parsed;
    }
    if (auto wait = root.optional_child("gdb-wait")) {
        auto flag = wait->boolean();
        if (!flag) return in_file(flag.error());
        if (*flag && !config.gdb) return in_file(wait->error("needs \"gdb\""));
        if (*flag) config.gdb->wait = true;
    }
    if (auto timeout = root.optional_child("timeout")) {
        auto seconds = timeout->number();
        if (!seconds) return in_file(seconds.error());
        auto limit = timeout_from_seconds(*seconds);
        if (!limit) return in_file(timeout->error(limit.error().message()));
        config.timeout = *limit;
    }
    return config;
}

Result<> validate_vm_config(const VmConfig& config) {
    if (config.kernel.empty() && config.bios.empty())
        return fail("nothing to run: give --kernel or --bios");
    if (config.cpus == 0 || config.cpus > kMaxCpus)
        return fail("--cpus: {} is not between 1 and {}", config.cpus, kMaxCpus);
    TRY_CTX(check_memory_size(config.memory_bytes, host_memory_capacity()), "--memory");
    if (!config.initrd.empty() && config.kernel.empty()) return fail("--initrd needs --kernel");
    bool devices = !config.disks.empty() || !config.nets.empty() || config.vsock || config.rng ||
                   config.console_device == ConsoleDevice::virtio;
    if (devices && config.kernel.empty())
        return fail(
            "virtio devices (--disk, --net, --vsock, --rng, --console virtio) need --kernel");
    size_t count = config.disks.size() + config.nets.size() + (config.vsock ? 1 : 0) +
                   (config.rng ? 1 : 0) + (config.console_device == ConsoleDevice::virtio ? 1 : 0);
    if (count > kMaxVirtioDevices)
        return fail("{} virtio devices asked for; a VM has room for {}", count, kMaxVirtioDevices);
    return {};
}

}  // namespace vessel::vm
