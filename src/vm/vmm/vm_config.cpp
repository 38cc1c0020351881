#include "vm/vmm/vm_config.h"

#include <sys/sysinfo.h>

#include <algorithm>
#include <cmath>

#include "vm/memory/guest_memory.h"
#include "vm/vmm/guest_file.h"

namespace vessel::vm {

namespace {
constexpr unsigned kMaxCpus = 8;
constexpr uint64_t kMinMemory = 16ull << 20;
// A vm.json is a dozen short fields; this only keeps --config /dev/zero from eating the host.
constexpr uint64_t kMaxConfigBytes = 1 << 20;
}  // namespace

Result<> parse_console(std::string_view text, VmConfig& config) {
    if (text == "stdio") {
        config.console = ConsoleKind::stdio;
        return {};
    }
    if (text.starts_with("file:") && text.size() > 5) {
        config.console = ConsoleKind::file;
        config.console_path = std::string(text.substr(5));
        return {};
    }
    return fail("--console: '{}' is not stdio or file:PATH", text);
}

Result<Accel> parse_accel(std::string_view text) {
    if (text == "kvm") return Accel::kvm;
    if (text == "emulate") return Accel::emulate;
    if (text == "auto") return Accel::automatic;
    return fail("--accel: '{}' is not kvm, emulate or auto", text);
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
    static constexpr std::string_view known[] = {"kernel", "initrd",  "append", "bios",   "memory",
                                                 "cpus",   "console", "accel",  "timeout"};
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
    return {};
}

}  // namespace vessel::vm
