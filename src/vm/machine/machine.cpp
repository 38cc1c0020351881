#include "vm/machine/machine.h"

#include <pthread.h>
#include <unistd.h>

#include <climits>
#include <thread>

#include "vm/backends/raw_file.h"
#include "vm/backends/tap.h"
#include "vm/backends/user_network.h"
#include "vm/devices/virtio/blk.h"
#include "vm/devices/virtio/console.h"
#include "vm/devices/virtio/mmio_transport.h"
#include "vm/devices/virtio/net.h"
#include "vm/devices/virtio/rng.h"
#include "vm/devices/virtio/vsock.h"

namespace vessel::vm {

namespace {

// vessel-slirp, the user-mode network's process, lives beside vessel-vmm.
std::string helper_beside_us(const char* name) {
    char self[PATH_MAX];
    ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0) return name;
    std::string path(self, static_cast<size_t>(length));
    return path.substr(0, path.rfind('/') + 1) + name;
}

std::string describe(const NetOption& net) {
    switch (net.backend) {
        case NetOption::Backend::tap:
            return "tap=" + net.interface;
        case NetOption::Backend::bridge:
            return "bridge=" + net.interface;
        case NetOption::Backend::user:
            return "user";
    }
    return "?";
}

}  // namespace

Machine::Machine(const VmConfig& config, const Logger& log, Sandbox* sandbox, HostConsole console,
                 std::unique_ptr<EventLoop> io)
    : config_(config),
      log_(log),
      sandbox_(sandbox),
      console_(std::move(console)),
      io_(std::move(io)) {}

Machine::~Machine() {
    stop_devices();
}

void Machine::stop_devices() {
    // Transports first: each ends its watches on the I/O thread before its device goes.
    transports_.clear();
    virtio_console_ = nullptr;
    devices_.clear();
    io_->stop();
}

Result<std::unique_ptr<Machine>> Machine::create(const VmConfig& config, const Logger& log,
                                                 Sandbox* sandbox) {
    HostConsole console = TRY(
        HostConsole::open(config.console == ConsoleKind::file ? config.console_path : std::string(),
                          config.console == ConsoleKind::stdio));
    auto io = TRY(EventLoop::create());
    return std::unique_ptr<Machine>(
        new Machine(config, log, sandbox, std::move(console), std::move(io)));
}

Result<std::unique_ptr<virtio::VirtioDevice>> Machine::make_device(size_t index) {
    if (index < config_.disks.size()) {
        const DiskOption& disk = config_.disks[index];
        auto backend = TRY_CTX(RawFileBackend::open(disk.path, disk.read_only), "--disk");
        return std::make_unique<virtio::BlockDevice>(
            std::move(backend), disk.serial,
            fmt::format("virtio-blk vd{}", static_cast<char>('a' + index)));
    }
    index -= config_.disks.size();
    if (index < config_.nets.size()) {
        const NetOption& net = config_.nets[index];
        std::unique_ptr<NetBackend> backend;
        std::string option = "--net " + describe(net);
        switch (net.backend) {
            case NetOption::Backend::tap:
                backend = TRY_CTX(TapBackend::open_existing(net.interface), "{}", option);
                break;
            case NetOption::Backend::bridge:
                backend = TRY_CTX(TapBackend::create_on_bridge(net.interface), "{}", option);
                break;
            case NetOption::Backend::user:
                backend = TRY_CTX(
                    UserNetworkBackend::start(helper_beside_us("vessel-slirp"), net.forwards), "{}",
                    option);
                break;
        }
        return std::make_unique<virtio::NetDevice>(std::move(backend),
                                                   net.mac.value_or(random_mac()),
                                                   fmt::format("virtio-net eth{}", index));
    }
    index -= config_.nets.size();
    if (config_.vsock && index-- == 0)
        return TRY_CTX(
            virtio::VsockDevice::create(config_.vsock->guest_cid, config_.vsock->socket_path),
            "--vsock");
    if (config_.rng && index-- == 0) return std::make_unique<virtio::RngDevice>();
    auto console = TRY(virtio::ConsoleDevice::create([this](std::span<const uint8_t> bytes) {
        for (uint8_t byte : bytes)
            console_.write(byte);
    }));
    virtio_console_ = console.get();
    return console;
}

Result<std::vector<VirtioSlot>> Machine::attach_virtio_devices(const GuestMemory& memory, Bus& mmio,
                                                               Engine& engine,
                                                               std::span<const VirtioSlot> slots) {
    size_t count = config_.disks.size() + config_.nets.size() + (config_.vsock ? 1 : 0) +
                   (config_.rng ? 1 : 0) +
                   (config_.console_device == ConsoleDevice::virtio ? 1 : 0);
    if (count > slots.size())
        return fail("{} virtio devices asked for; this board has room for {}", count, slots.size());
    std::vector<VirtioSlot> used;
    for (size_t index = 0; index < count; ++index) {
        auto device = TRY(make_device(index));
        const VirtioSlot& slot = slots[index];
        auto transport = TRY(virtio::MmioTransport::create(
            *device, memory, engine.interrupt_line(slot.irq), *io_, log_));
        TRY(mmio.attach(slot.base, virtio::mmio::window_size, *transport, device->name()));
        for (uint16_t queue = 0; queue < transport->queue_count(); ++queue)
            engine.signal_on_write(slot.base + virtio::mmio::queue_notify, queue,
                                   transport->notify_fd(queue));
        log_.debug("{} at {:#x}, interrupt {}", device->name(), slot.base, slot.irq);
        devices_.push_back(std::move(device));
        transports_.push_back(std::move(transport));
        used.push_back(slot);
    }
    return used;
}

std::function<void()> Machine::confine_as(ThreadRole role) {
    if (!sandbox_) return {};
    return [sandbox = sandbox_, role] { sandbox->confine_thread(role); };
}

Result<> Machine::start_host_threads(std::function<size_t(std::span<const uint8_t>)> uart_input) {
    // Every host resource is open by now (the board attached its devices), and no thread runs
    // yet: the one moment a process can still change its mount namespace.
    if (sandbox_) TRY_CTX(sandbox_->enter(), "jail");
    TRY_CTX(io_->start(confine_as(ThreadRole::io)), "the devices' I/O thread");
    auto input = uart_input;
    if (virtio_console_)
        input = [console = virtio_console_](std::span<const uint8_t> bytes) {
            return console->receive(bytes);
        };
    TRY_CTX(console_.start({.input = std::move(input),
                            .quit =
                                [this](std::string why) {
                                    stop_.request(why == "Ctrl-A x" ? exit_code::powered_off
                                                                    : exit_code::host_stopped,
                                                  fmt::format("stopped by {}", why));
                                }},
                           confine_as(ThreadRole::console)),
            "console");
    return {};
}

int Machine::run(Engine& engine, std::function<size_t(std::span<const uint8_t>)> uart_input) {
    if (auto started_host = start_host_threads(std::move(uart_input)); !started_host) {
        log_.error("{}", started_host.error().message());
        return exit_code::vmm_error;
    }
    auto started = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (unsigned index = 0; index < engine.vcpu_count(); ++index)
        threads.emplace_back([&engine, index, confine = confine_as(ThreadRole::vcpu)] {
            // Named so that the host's tools (top -H, the I/O benchmark) can tell them apart.
            ::pthread_setname_np(::pthread_self(), fmt::format("vcpu {}", index).c_str());
            if (confine) confine();
            engine.run_vcpu(index);
        });
    if (sandbox_) sandbox_->confine_thread(ThreadRole::main);
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (config_.timeout) deadline = started + *config_.timeout;
    std::optional<StopReason> reason = stop_.wait_until(deadline);
    if (!reason) {
        stop_.request(
            exit_code::timed_out,
            fmt::format("guest still running after the {} ms time-out", config_.timeout->count()));
        reason = stop_.reason();
    }
    engine.stop_vcpus();
    for (auto& thread : threads)
        thread.join();
    stop_devices();
    // How the guest ended, when that is worth a line: a power-off or the host's own stop is
    // information, a reboot the guest's choice (warning), a crash, time-out or failure an error.
    if (!reason->message.empty()) {
        if (reason->exit_code == exit_code::powered_off ||
            reason->exit_code == exit_code::host_stopped)
            log_.info("{}", reason->message);
        else if (reason->exit_code == exit_code::reboot)
            log_.warning("{}", reason->message);
        else
            log_.error("{}", reason->message);
    }
    return reason->exit_code;
}

}  // namespace vessel::vm
