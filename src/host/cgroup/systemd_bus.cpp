#include "host/cgroup/systemd_bus.h"

#include <dlfcn.h>
#include <systemd/sd-bus.h>

#include <chrono>
#include <cstring>
#include <map>
#include <thread>

namespace vessel::host::cgroup {

namespace {

constexpr const char* kLibrary = "libsystemd.so.0";
constexpr const char* kPrivateSocket = "unix:path=/run/systemd/private";
constexpr const char* kDestination = "org.freedesktop.systemd1";
constexpr const char* kObject = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
// Under emulation (QEMU TCG) systemd may take seconds per job; a job that takes longer than this
// is stuck.
constexpr auto kJobTimeout = std::chrono::seconds(90);
constexpr auto kUnloadTimeout = std::chrono::seconds(30);

// The part of sd-bus used here, resolved from the shared library.
struct SdBusApi {
    decltype(&sd_bus_new) bus_new;
    decltype(&sd_bus_set_address) set_address;
    decltype(&sd_bus_start) start;
    decltype(&sd_bus_open_system) open_system;
    decltype(&sd_bus_flush_close_unref) flush_close_unref;
    decltype(&sd_bus_message_new_method_call) new_method_call;
    decltype(&sd_bus_message_append) append;
    decltype(&sd_bus_message_append_array) append_array;
    decltype(&sd_bus_message_open_container) open_container;
    decltype(&sd_bus_message_close_container) close_container;
    decltype(&sd_bus_call) call;
    decltype(&sd_bus_message_read) read;
    decltype(&sd_bus_message_unref) message_unref;
    decltype(&sd_bus_error_free) error_free;
    decltype(&sd_bus_error_has_name) error_has_name;
    decltype(&sd_bus_match_signal) match_signal;
    decltype(&sd_bus_process) process;
    decltype(&sd_bus_wait) wait;
    decltype(&sd_bus_slot_unref) slot_unref;
};

template <typename Function>
bool resolve(void* library, const char* name, Function& target) {
    target = reinterpret_cast<Function>(::dlsym(library, name));
    return target != nullptr;
}

Result<SdBusApi> resolve_api(void* library) {
    SdBusApi api{};
    bool found = resolve(library, "sd_bus_new", api.bus_new) &&
                 resolve(library, "sd_bus_set_address", api.set_address) &&
                 resolve(library, "sd_bus_start", api.start) &&
                 resolve(library, "sd_bus_open_system", api.open_system) &&
                 resolve(library, "sd_bus_flush_close_unref", api.flush_close_unref) &&
                 resolve(library, "sd_bus_message_new_method_call", api.new_method_call) &&
                 resolve(library, "sd_bus_message_append", api.append) &&
                 resolve(library, "sd_bus_message_append_array", api.append_array) &&
                 resolve(library, "sd_bus_message_open_container", api.open_container) &&
                 resolve(library, "sd_bus_message_close_container", api.close_container) &&
                 resolve(library, "sd_bus_call", api.call) &&
                 resolve(library, "sd_bus_message_read", api.read) &&
                 resolve(library, "sd_bus_message_unref", api.message_unref) &&
                 resolve(library, "sd_bus_error_free", api.error_free) &&
                 resolve(library, "sd_bus_error_has_name", api.error_has_name) &&
                 resolve(library, "sd_bus_match_signal", api.match_signal) &&
                 resolve(library, "sd_bus_process", api.process) &&
                 resolve(library, "sd_bus_wait", api.wait) &&
                 resolve(library, "sd_bus_slot_unref", api.slot_unref);
    if (!found) return fail("{}: {}", kLibrary, ::dlerror());
    return api;
}

std::string errno_text(int negative) {
    return std::strerror(-negative);
}

}  // namespace

struct SystemdBus::State {
    struct CloseLibrary {
        void operator()(void* library) const { ::dlclose(library); }
    };
    std::unique_ptr<void, CloseLibrary> library;
    SdBusApi api{};
    sd_bus* bus = nullptr;
    sd_bus_slot* job_removed = nullptr;
    std::map<std::string, std::string> finished_jobs;  // job object path -> result

    ~State() {
        if (job_removed) api.slot_unref(job_removed);
        if (bus) api.flush_close_unref(bus);
    }

    // An sd_bus_message reference, dropped at scope exit.
    struct Message {
        const SdBusApi* api;
        sd_bus_message* message = nullptr;
        Message(const SdBusApi* a) : api(a) {}
        Message(const Message&) = delete;
        ~Message() {
            if (message) api->message_unref(message);
        }
    };
    struct BusError {
        const SdBusApi* api;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        ~BusError() { api->error_free(&error); }
        std::string describe(int result) const {
            if (error.message) return fmt::format("{} ({})", error.message, error.name);
            return errno_text(result);
        }
    };

    static int on_job_removed(sd_bus_message* message, void* userdata, sd_bus_error*) {
        auto* self = static_cast<State*>(userdata);
        uint32_t id = 0;
        const char* job = nullptr;
        const char* unit = nullptr;
        const char* result = nullptr;
        if (self->api.read(message, "uoss", &id, &job, &unit, &result) >= 0 && job && result)
            self->finished_jobs[job] = result;
        return 0;
    }

    // A method call on the manager: `fill` appends the arguments (it returns sd-bus's status).
    template <typename Fill>
    Result<> call(const char* method, const std::string& unit, Fill&& fill, Message& reply,
                  BusError& error) {
        Message request(&api);
        int r = api.new_method_call(bus, &request.message, kDestination, kObject, kManager, method);
        if (r >= 0) r = fill(request.message);
        if (r < 0)
            return fail("systemd unit {}: {}: build the request: {}", unit, method, errno_text(r));
        r = api.call(bus, request.message, 0, &error.error, &reply.message);
        if (r < 0) return fail("systemd unit {}: {}: {}", unit, method, error.describe(r));
        return {};
    }

    Result<> subscribe() {
        // Signals reach a client only after Subscribe; the match is in place before any job is
        // queued, so no JobRemoved can pass unseen.
        int r = api.match_signal(bus, &job_removed, nullptr, kObject, kManager, "JobRemoved",
                                 &State::on_job_removed, this);
        if (r < 0) return fail("match systemd's JobRemoved signal: {}", errno_text(r));
        Message reply(&api);
        BusError error{&api};
        auto subscribed = call(
            "Subscribe", "(none)", [](sd_bus_message*) { return 0; }, reply, error);
        if (!subscribed &&
            !api.error_has_name(&error.error, "org.freedesktop.systemd1.AlreadySubscribed"))
            return fail("subscribe to systemd's job signals: {}", error.describe(-EIO));
        return {};
    }

    // The job object path a StartUnit-like call answered with.
    Result<std::string> job_of(Message& reply, const std::string& unit, const char* method) {
        const char* job = nullptr;
        int r = api.read(reply.message, "o", &job);
        if (r < 0 || !job)
            return fail("systemd unit {}: {}: unreadable reply: {}", unit, method, errno_text(r));
        return std::string(job);
    }

    Result<> wait_for_job(const std::string& job, const std::string& unit, const char* method) {
        auto deadline = std::chrono::steady_clock::now() + kJobTimeout;
        while (true) {
            if (auto done = finished_jobs.find(job); done != finished_jobs.end()) {
                std::string result = done->second;
                finished_jobs.erase(done);
                if (result == "done") return {};
                return fail("systemd unit {}: {}: the job ended \"{}\" (see journalctl -u {})",
                            unit, method, result, unit);
            }
            int r = api.process(bus, nullptr);
            if (r < 0) return fail("systemd unit {}: {}: D-Bus: {}", unit, method, errno_text(r));
            if (r > 0) continue;
            auto left = deadline - std::chrono::steady_clock::now();
            if (left <= std::chrono::seconds(0))
                return fail("systemd unit {}: {}: its job did not finish in {} s", unit, method,
                            kJobTimeout.count());
            r = api.wait(bus,
                         static_cast<uint64_t>(
                             std::chrono::duration_cast<std::chrono::microseconds>(left).count()));
            if (r < 0 && r != -EINTR)
                return fail("systemd unit {}: {}: D-Bus: {}", unit, method, errno_text(r));
        }
    }

    int append_property(sd_bus_message* m, const UnitProperty& property) {
        int r = api.open_container(m, SD_BUS_TYPE_STRUCT, "sv");
        if (r >= 0) r = api.append(m, "s", property.name.c_str());
        if (r < 0) return r;
        r = std::visit(
            [&](const auto& value) -> int {
                using T = std::decay_t<decltype(value)>;
                if constexpr (std::is_same_v<T, bool>) {
                    return api.append(m, "v", "b", static_cast<int>(value));
                } else if constexpr (std::is_same_v<T, uint64_t>) {
                    return api.append(m, "v", "t", value);
                } else if constexpr (std::is_same_v<T, std::string>) {
                    return api.append(m, "v", "s", value.c_str());
                } else if constexpr (std::is_same_v<T, DeviceAllowList>) {
                    int r = api.open_container(m, SD_BUS_TYPE_VARIANT, "a(ss)");
                    if (r >= 0) r = api.open_container(m, SD_BUS_TYPE_ARRAY, "(ss)");
                    for (size_t i = 0; r >= 0 && i < value.size(); ++i)
                        r = api.append(m, "(ss)", value[i].first.c_str(), value[i].second.c_str());
                    if (r >= 0) r = api.close_container(m);
                    return r < 0 ? r : api.close_container(m);
                } else {
                    constexpr bool words = std::is_same_v<T, std::vector<uint32_t>>;
                    int opened = api.open_container(m, SD_BUS_TYPE_VARIANT, words ? "au" : "ay");
                    if (opened < 0) return opened;
                    int appended = api.append_array(m, words ? 'u' : 'y', value.data(),
                                                    value.size() * sizeof(value[0]));
                    if (appended < 0) return appended;
                    return api.close_container(m);
                }
            },
            property.value);
        if (r < 0) return r;
        return api.close_container(m);
    }

    int append_properties(sd_bus_message* m, const std::vector<UnitProperty>& properties) {
        int r = api.open_container(m, SD_BUS_TYPE_ARRAY, "(sv)");
        for (size_t i = 0; r >= 0 && i < properties.size(); ++i)
            r = append_property(m, properties[i]);
        return r < 0 ? r : api.close_container(m);
    }

    bool is_error(const BusError& error, const char* name) const {
        return api.error_has_name(&error.error, name) > 0;
    }
};

SystemdBus::SystemdBus(std::unique_ptr<State> state) : state_(std::move(state)) {}
SystemdBus::SystemdBus(SystemdBus&&) noexcept = default;
SystemdBus& SystemdBus::operator=(SystemdBus&&) noexcept = default;
SystemdBus::~SystemdBus() = default;

Result<SystemdBus> SystemdBus::connect() {
    auto state = std::make_unique<State>();
    state->library.reset(::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL));
    if (!state->library)
        return fail("the systemd cgroup driver needs {} (libsystemd0): {}", kLibrary, ::dlerror());
    state->api = TRY(resolve_api(state->library.get()));
    const SdBusApi& api = state->api;

    int r = api.bus_new(&state->bus);
    if (r >= 0) r = api.set_address(state->bus, kPrivateSocket);
    if (r >= 0) r = api.start(state->bus);
    if (r < 0) {
        std::string private_error = errno_text(r);
        if (state->bus) api.flush_close_unref(state->bus);
        state->bus = nullptr;
        r = api.open_system(&state->bus);
        if (r < 0)
            return fail(
                "--systemd-cgroup: cannot reach systemd over D-Bus (/run/systemd/private: {}; "
                "the system bus: {}); is systemd the init (PID 1) here?",
                private_error, errno_text(r));
    }
    TRY(state->subscribe());
    return SystemdBus(std::move(state));
}

Result<> SystemdBus::start_transient_unit(const std::string& unit,
                                          const std::vector<UnitProperty>& properties) {
    State& s = *state_;
    State::Message reply(&s.api);
    State::BusError error{&s.api};
    TRY(s.call(
        "StartTransientUnit", unit,
        [&](sd_bus_message* m) {
            int r = s.api.append(m, "ss", unit.c_str(), "replace");
            if (r >= 0) r = s.append_properties(m, properties);
            if (r >= 0) r = s.api.append(m, "a(sa(sv))", 0);
            return r;
        },
        reply, error));
    std::string job = TRY(s.job_of(reply, unit, "StartTransientUnit"));
    return s.wait_for_job(job, unit, "StartTransientUnit");
}

Result<> SystemdBus::set_unit_properties(const std::string& unit,
                                         const std::vector<UnitProperty>& properties) {
    if (properties.empty()) return {};
    State& s = *state_;
    State::Message reply(&s.api);
    State::BusError error{&s.api};
    return s.call(
        "SetUnitProperties", unit,
        [&](sd_bus_message* m) {
            int r = s.api.append(m, "sb", unit.c_str(), 1);
            return r < 0 ? r : s.append_properties(m, properties);
        },
        reply, error);
}

Result<bool> SystemdBus::unit_loaded(const std::string& unit) {
    State& s = *state_;
    State::Message reply(&s.api);
    State::BusError error{&s.api};
    auto found = s.call(
        "GetUnit", unit, [&](sd_bus_message* m) { return s.api.append(m, "s", unit.c_str()); },
        reply, error);
    if (found) return true;
    if (s.is_error(error, "org.freedesktop.systemd1.NoSuchUnit")) return false;
    return std::unexpected(found.error());
}

Result<> SystemdBus::stop_unit(const std::string& unit) {
    State& s = *state_;
    {
        State::Message reply(&s.api);
        State::BusError error{&s.api};
        auto stopped = s.call(
            "StopUnit", unit,
            [&](sd_bus_message* m) { return s.api.append(m, "ss", unit.c_str(), "replace"); },
            reply, error);
        if (stopped) {
            std::string job = TRY(s.job_of(reply, unit, "StopUnit"));
            TRY(s.wait_for_job(job, unit, "StopUnit"));
        } else if (!s.is_error(error, "org.freedesktop.systemd1.NoSuchUnit")) {
            return std::unexpected(stopped.error());
        }
    }
    {
        // A scope whose processes were killed may be left "failed": that is forgotten too.
        State::Message reply(&s.api);
        State::BusError error{&s.api};
        (void)s.call(
            "ResetFailedUnit", unit,
            [&](sd_bus_message* m) { return s.api.append(m, "s", unit.c_str()); }, reply, error);
    }
    auto deadline = std::chrono::steady_clock::now() + kUnloadTimeout;
    while (TRY(unit_loaded(unit))) {
        if (std::chrono::steady_clock::now() > deadline)
            return fail("systemd unit {}: still loaded {} s after it was stopped", unit,
                        kUnloadTimeout.count());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return {};
}

}  // namespace vessel::host::cgroup
