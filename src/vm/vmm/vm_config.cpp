#include "vm/vmm/vm_config.h"

#include <algorithm>

#include "base/file.h"
#include "vm/memory/guest_memory.h"

namespace vessel::vm {

namespace {
constexpr unsigned kMaxCpus = 8;
constexpr uint64_t kMinMemory = 16ull << 20;
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

Result<VmConfig> load_vm_config(const std::string& path) {
    auto text = TRY(read_file(path));
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
    if (auto r = take_string("kernel", config.kernel); !r) return in_file(r.error());
    if (auto r = take_string("initrd", config.initrd); !r) return in_file(r.error());
    if (auto r = take_string("append", config.append); !r) return in_file(r.error());
    if (auto r = take_string("bios", config.bios); !r) return in_file(r.error());
    config.kernel = resolve(config.kernel);
    config.initrd = resolve(config.initrd);
    config.bios = resolve(config.bios);
    if (auto memory = root.optional_child("memory")) {
        if (memory->value().is_string()) {
            auto parsed = parse_memory_size(memory->value().get<std::string>());
            if (!parsed) return in_file(memory->error(parsed.error().message()));
            config.memory_bytes = *parsed;
        } else {
            auto bytes = memory->unsigned_integer();
            if (!bytes) return in_file(bytes.error());
            config.memory_bytes = *bytes;
        }
    }
    if (auto cpus = root.optional_child("cpus")) {
        auto count = cpus->unsigned_integer();
        if (!count) return in_file(count.error());
        if (*count == 0 || *count > kMaxCpus)
            return in_file(cpus->error(fmt::format("must be between 1 and {}", kMaxCpus)));
        config.cpus = static_cast<unsigned>(*count);
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
        if (!timeout->value().is_number() || timeout->value().get<double>() <= 0)
            return in_file(timeout->error("must be a positive number of seconds"));
        config.timeout =
            std::chrono::milliseconds(static_cast<int64_t>(timeout->value().get<double>() * 1000));
    }
    return config;
}

Result<> validate_vm_config(const VmConfig& config) {
    if (config.kernel.empty() && config.bios.empty())
        return fail("nothing to run: give --kernel or --bios");
    if (config.cpus == 0 || config.cpus > kMaxCpus)
        return fail("--cpus: {} is not between 1 and {}", config.cpus, kMaxCpus);
    if (config.memory_bytes < kMinMemory)
        return fail("--memory: {} MiB is below the minimum of {} MiB", config.memory_bytes >> 20,
                    kMinMemory >> 20);
    if (config.memory_bytes % (2ull << 20) != 0)
        return fail("--memory: must be a multiple of 2 MiB");
    if (!config.initrd.empty() && config.kernel.empty()) return fail("--initrd needs --kernel");
    return {};
}

}  // namespace vessel::vm
