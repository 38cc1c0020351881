#include "vm/debug/riscv_target.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>

#include "vm/boot/vm_config.h"

namespace vessel::debug {

namespace {

using riscv::TriggerModule;

constexpr const char* kIntegerNames[32] = {"zero", "ra", "sp",  "gp",  "tp", "t0", "t1", "t2",
                                           "fp",   "s1", "a0",  "a1",  "a2", "a3", "a4", "a5",
                                           "a6",   "a7", "s2",  "s3",  "s4", "s5", "s6", "s7",
                                           "s8",   "s9", "s10", "s11", "t3", "t4", "t5", "t6"};
constexpr const char* kFloatNames[32] = {
    "ft0", "ft1", "ft2", "ft3", "ft4",  "ft5",  "ft6", "ft7", "fs0",  "fs1", "fa0",
    "fa1", "fa2", "fa3", "fa4", "fa5",  "fa6",  "fa7", "fs2", "fs3",  "fs4", "fs5",
    "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11"};

struct Csr {
    const char* name;
    uint32_t number;
};
// The CSRs the debugger sees (gdb numbers them 65 + the CSR number).
constexpr Csr kCsrs[] = {
    {"sstatus", 0x100},  {"sie", 0x104},        {"stvec", 0x105},   {"scounteren", 0x106},
    {"sscratch", 0x140}, {"sepc", 0x141},       {"scause", 0x142},  {"stval", 0x143},
    {"sip", 0x144},      {"stimecmp", 0x14d},   {"satp", 0x180},    {"mstatus", 0x300},
    {"misa", 0x301},     {"medeleg", 0x302},    {"mideleg", 0x303}, {"mie", 0x304},
    {"mtvec", 0x305},    {"mcounteren", 0x306}, {"menvcfg", 0x30a}, {"mscratch", 0x340},
    {"mepc", 0x341},     {"mcause", 0x342},     {"mtval", 0x343},   {"mip", 0x344},
    {"tselect", 0x7a0},  {"tdata1", 0x7a1},     {"tdata2", 0x7a2},  {"tdata3", 0x7a3},
    {"tinfo", 0x7a4},    {"cycle", 0xc00},      {"time", 0xc01},    {"instret", 0xc02},
    {"mhartid", 0xf14},
};

std::string build_target_xml() {
    std::string xml =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
        "<target version=\"1.0\">\n<architecture>riscv:rv64</architecture>\n"
        "<feature name=\"org.gnu.gdb.riscv.cpu\">\n";
    for (unsigned i = 0; i < 32; ++i) {
        const char* type = i == 1                                   ? "code_ptr"
                           : (i == 2 || i == 3 || i == 4 || i == 8) ? "data_ptr"
                                                                    : "int";
        xml += fmt::format("<reg name=\"{}\" bitsize=\"64\" type=\"{}\" regnum=\"{}\"/>\n",
                           kIntegerNames[i], type, i);
    }
    xml += fmt::format("<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"{}\"/>\n",
                       RiscvTarget::kPc);
    xml +=
        "</feature>\n<feature name=\"org.gnu.gdb.riscv.fpu\">\n<union id=\"riscv_double\">"
        "<field name=\"float\" type=\"ieee_single\"/><field name=\"double\" "
        "type=\"ieee_double\"/></union>\n";
    for (unsigned i = 0; i < 32; ++i)
        xml +=
            fmt::format("<reg name=\"{}\" bitsize=\"64\" type=\"riscv_double\" regnum=\"{}\"/>\n",
                        kFloatNames[i], RiscvTarget::kFirstFp + i);
    xml += fmt::format(
        "<reg name=\"fflags\" bitsize=\"32\" type=\"int\" regnum=\"{}\"/>\n"
        "<reg name=\"frm\" bitsize=\"32\" type=\"int\" regnum=\"{}\"/>\n"
        "<reg name=\"fcsr\" bitsize=\"32\" type=\"int\" regnum=\"{}\"/>\n",
        RiscvTarget::kFflags, RiscvTarget::kFrm, RiscvTarget::kFcsr);
    xml += "</feature>\n<feature name=\"org.gnu.gdb.riscv.csr\">\n";
    for (const Csr& csr : kCsrs)
        xml += fmt::format("<reg name=\"{}\" bitsize=\"64\" type=\"int\" regnum=\"{}\"/>\n",
                           csr.name, RiscvTarget::kFirstCsr + csr.number);
    xml += fmt::format(
        "</feature>\n<feature name=\"org.gnu.gdb.riscv.virtual\">\n"
        "<reg name=\"priv\" bitsize=\"64\" type=\"int\" regnum=\"{}\"/>\n</feature>\n</target>\n",
        RiscvTarget::kPriv);
    return xml;
}

// The CSR behind a register number, and its size in bytes.
std::optional<std::pair<uint32_t, size_t>> csr_for(unsigned regnum) {
    if (regnum == RiscvTarget::kFflags) return std::pair{0x001u, size_t{4}};
    if (regnum == RiscvTarget::kFrm) return std::pair{0x002u, size_t{4}};
    if (regnum == RiscvTarget::kFcsr) return std::pair{0x003u, size_t{4}};
    for (const Csr& csr : kCsrs)
        if (regnum == RiscvTarget::kFirstCsr + csr.number) return std::pair{csr.number, size_t{8}};
    return std::nullopt;
}

std::vector<uint8_t> little_endian(uint64_t value, size_t size) {
    std::vector<uint8_t> bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<uint8_t>(value >> (8 * i));
    return bytes;
}

uint64_t from_little_endian(std::span<const uint8_t> bytes) {
    uint64_t value = 0;
    for (size_t i = 0; i < bytes.size() && i < 8; ++i)
        value |= uint64_t{bytes[i]} << (8 * i);
    return value;
}

// A trigger the debugger may take: not the debugger's already, and not one the guest armed.
bool trigger_free(uint64_t tdata1) {
    if (tdata1 & TriggerModule::kDmode) return false;
    uint64_t type = tdata1 >> TriggerModule::kTypeShift;
    if (type != TriggerModule::kTypeMcontrol && type != TriggerModule::kTypeMcontrol6) return true;
    return !(tdata1 & (TriggerModule::kExecute | TriggerModule::kLoad | TriggerModule::kStore));
}

// The first of `count` consecutive free triggers, not the end of a chain the guest started.
std::optional<unsigned> free_triggers(const TriggerModule& triggers, unsigned count) {
    for (unsigned first = 0; first + count <= TriggerModule::kCount; ++first) {
        if (first > 0) {
            uint64_t before = triggers.tdata1_at(first - 1);
            if ((before & (TriggerModule::kDmode | TriggerModule::kChain)) == TriggerModule::kChain)
                continue;
        }
        bool all = true;
        for (unsigned i = first; i < first + count; ++i)
            all = all && trigger_free(triggers.tdata1_at(i));
        if (all) return first;
    }
    return std::nullopt;
}

struct TriggerSetting {
    uint64_t tdata1, tdata2;
};

// mcontrol6 triggers owned by the debugger (dmode, action 1) for a Z1-Z4 point, in every privilege:
// one for an address or an aligned power-of-two range (NAPOT), else a chained ">= start" and
// "< end".
std::vector<TriggerSetting> plan_triggers(BreakpointKind kind, uint64_t address, uint64_t length) {
    uint64_t accesses = kind == BreakpointKind::hardware      ? TriggerModule::kExecute
                        : kind == BreakpointKind::write_watch ? TriggerModule::kStore
                        : kind == BreakpointKind::read_watch
                            ? TriggerModule::kLoad
                            : TriggerModule::kLoad | TriggerModule::kStore;
    uint64_t base = (TriggerModule::kTypeMcontrol6 << TriggerModule::kTypeShift) |
                    TriggerModule::kDmode |
                    (uint64_t{TriggerModule::kActionDebugger} << TriggerModule::kActionShift) |
                    TriggerModule::kM | TriggerModule::kS | TriggerModule::kU | accesses;
    auto with_match = [&](unsigned match) {
        return base | (uint64_t{match} << TriggerModule::kMatchShift);
    };
    if (kind == BreakpointKind::hardware || length == 1)
        return {{with_match(TriggerModule::match_equal), address}};
    if (std::has_single_bit(length) && address % length == 0)
        return {{with_match(TriggerModule::match_napot), address | (length / 2 - 1)}};
    return {{with_match(TriggerModule::match_ge) | TriggerModule::kChain, address},
            {with_match(TriggerModule::match_lt), address + length}};
}

}  // namespace

Result<std::unique_ptr<RiscvTarget>> RiscvTarget::create(std::span<riscv::Hart* const> harts,
                                                         vm::StopLatch& stop) {
    UniqueFd event_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!event_fd) return fail_errno("--gdb: eventfd");
    std::unique_ptr<RiscvTarget> target(new RiscvTarget(harts, stop, std::move(event_fd)));
    for (riscv::Hart* hart : target->harts_)
        hart->set_debug_listener(target.get());
    return target;
}

RiscvTarget::RiscvTarget(std::span<riscv::Hart* const> harts, vm::StopLatch& stop,
                         UniqueFd event_fd)
    : harts_(harts.begin(), harts.end()),
      stop_(stop),
      event_fd_(std::move(event_fd)),
      xml_(build_target_xml()),
      parked_in_(harts.size(), 0) {
    for (unsigned regnum = 0; regnum <= kPc; ++regnum)
        g_registers_.push_back(regnum);
}

RiscvTarget::~RiscvTarget() {
    for (riscv::Hart* hart : harts_)
        hart->set_debug_listener(nullptr);
}

void RiscvTarget::hold_at_start() {
    for (riscv::Hart* hart : harts_)
        hart->request_debug_halt();
}

void RiscvTarget::shut_down() {
    {
        std::lock_guard lock(mutex_);
        shut_down_ = true;
    }
    changed_.notify_all();
    uint64_t one = 1;
    [[maybe_unused]] ssize_t written = ::write(event_fd_.get(), &one, sizeof one);
}

// --- The harts' side (their own threads) ---

void RiscvTarget::hart_stopped(riscv::Hart& hart, const riscv::DebugStop& stop) {
    std::unique_lock lock(mutex_);
    if (shut_down_) return;
    auto found = std::find(harts_.begin(), harts_.end(), &hart);
    if (found == harts_.end()) return;
    auto index = static_cast<unsigned>(found - harts_.begin());
    // A hart that saw a halt request which resume() has since cancelled (it was on its way into
    // run() when the debugger resumed) runs on instead of waiting for the next resume.
    if (stop.kind == riscv::DebugStopKind::halted && !hart.debug_halt_requested()) return;
    // The first hart to stop is the one the debugger hears of; the others, halted after it,
    // stopped before their instruction and meet their breakpoint again when they run.
    if (stop.kind != riscv::DebugStopKind::halted && !event_) {
        event_ = event_for(index, stop);
        uint64_t one = 1;
        [[maybe_unused]] ssize_t written = ::write(event_fd_.get(), &one, sizeof one);
    }
    uint64_t generation = generation_;
    parked_in_[index] = generation + 1;
    changed_.notify_all();
    changed_.wait(lock, [&] { return shut_down_ || generation_ != generation; });
    parked_in_[index] = 0;
}

StopEvent RiscvTarget::event_for(unsigned thread, const riscv::DebugStop& stop) const {
    StopEvent event{StopEvent::Kind::breakpoint, thread, stop.address, 0};
    if (stop.kind == riscv::DebugStopKind::step) event.kind = StopEvent::Kind::step;
    if (stop.kind != riscv::DebugStopKind::trigger || stop.access == riscv::Access::fetch)
        return event;
    // Which watchpoint: the one covering the address for this kind of access.
    bool store = stop.access == riscv::Access::store;
    event.kind = StopEvent::Kind::watch_access;
    for (const TriggerPoint& point : trigger_points_) {
        if (stop.address < point.address || stop.address - point.address >= point.length) continue;
        if (store && point.kind == BreakpointKind::write_watch)
            event.kind = StopEvent::Kind::watch_write;
        else if (!store && point.kind == BreakpointKind::read_watch)
            event.kind = StopEvent::Kind::watch_read;
        else
            continue;
        break;
    }
    return event;
}

// --- Run control (the debugger's thread) ---

void RiscvTarget::halt_all(std::unique_lock<std::mutex>& lock) {
    for (riscv::Hart* hart : harts_)
        hart->request_debug_halt();
    for (;;) {
        bool all = true;
        for (size_t i = 0; i < harts_.size(); ++i)
            if (parked_in_[i] != generation_ + 1 && harts_[i]->in_run()) all = false;
        if (all || shut_down_) return;
        // A hart that leaves run() (an SBI HSM stop) does not notify: look again now and then.
        changed_.wait_for(lock, std::chrono::milliseconds(10));
    }
}

void RiscvTarget::drain_event_fd() {
    uint64_t count;
    [[maybe_unused]] ssize_t got = ::read(event_fd_.get(), &count, sizeof count);
}

void RiscvTarget::halt() {
    std::unique_lock lock(mutex_);
    halt_all(lock);
}

std::optional<StopEvent> RiscvTarget::interrupt() {
    std::unique_lock lock(mutex_);
    halt_all(lock);
    drain_event_fd();
    return std::exchange(event_, std::nullopt);
}

std::optional<StopEvent> RiscvTarget::take_stop() {
    std::unique_lock lock(mutex_);
    drain_event_fd();
    if (shut_down_) {
        auto reason = stop_.reason();
        return StopEvent{StopEvent::Kind::exited, 0, 0, reason ? reason->exit_code : 0};
    }
    if (!event_) return std::nullopt;
    halt_all(lock);
    return std::exchange(event_, std::nullopt);
}

void RiscvTarget::resume(std::span<const ResumeMode> modes) {
    {
        std::lock_guard lock(mutex_);
        event_.reset();
        drain_event_fd();
        for (size_t i = 0; i < harts_.size(); ++i) {
            ResumeMode mode = i < modes.size() ? modes[i] : ResumeMode::stay;
            if (mode == ResumeMode::stay) {
                harts_[i]->request_debug_halt();
                continue;
            }
            harts_[i]->set_debug_step(mode == ResumeMode::step, true);
            harts_[i]->cancel_debug_halt();
        }
        ++generation_;
    }
    changed_.notify_all();
}

void RiscvTarget::detach() {
    software_breakpoints_.clear();
    push_software_breakpoints();
    while (!trigger_points_.empty()) {
        const TriggerPoint& point = trigger_points_.back();
        (void)remove_breakpoint(point.kind, point.address, point.length);
    }
    std::vector<ResumeMode> modes(harts_.size(), ResumeMode::run);
    resume(modes);
}

void RiscvTarget::kill() {
    stop_.request(vm::exit_code::host_stopped, "killed by the debugger");
}

// --- State ---

std::optional<std::vector<uint8_t>> RiscvTarget::read_register(unsigned thread, unsigned regnum) {
    if (thread >= harts_.size()) return std::nullopt;
    riscv::Hart& hart = *harts_[thread];
    if (regnum < 32) return little_endian(hart.reg(regnum), 8);
    if (regnum == kPc) return little_endian(hart.pc(), 8);
    if (regnum >= kFirstFp && regnum < kFirstFp + 32)
        return little_endian(hart.fp_reg(regnum - kFirstFp), 8);
    if (regnum == kPriv) return little_endian(static_cast<uint64_t>(hart.priv()), 8);
    auto csr = csr_for(regnum);
    uint64_t value;
    if (!csr || !hart.debug_read_csr(csr->first, value)) return std::nullopt;
    return little_endian(value, csr->second);
}

bool RiscvTarget::write_register(unsigned thread, unsigned regnum, std::span<const uint8_t> bytes) {
    if (thread >= harts_.size()) return false;
    riscv::Hart& hart = *harts_[thread];
    uint64_t value = from_little_endian(bytes);
    auto csr = csr_for(regnum);
    size_t size = csr ? csr->second : 8;
    if (bytes.size() != size) return false;
    if (regnum < 32) {
        hart.set_reg(regnum, value);  // x0 stays zero
        return true;
    }
    if (regnum == kPc) return set_pc(thread, value);
    if (regnum >= kFirstFp && regnum < kFirstFp + 32) {
        hart.set_fp_reg(regnum - kFirstFp, value);
        return true;
    }
    if (regnum == kPriv) {
        if (value != 0 && value != 1 && value != 3) return false;
        hart.debug_set_priv(static_cast<riscv::Priv>(value));
        return true;
    }
    return csr && hart.debug_write_csr(csr->first, value);
}

bool RiscvTarget::set_pc(unsigned thread, uint64_t address) {
    if (thread >= harts_.size()) return false;
    harts_[thread]->set_pc(address & ~uint64_t{1});  // instructions are 2-byte aligned
    return true;
}

size_t RiscvTarget::read_memory(unsigned thread, uint64_t address, std::span<uint8_t> out) {
    if (thread >= harts_.size()) return 0;
    return harts_[thread]->debug_read_memory(address, out);
}

size_t RiscvTarget::write_memory(unsigned thread, uint64_t address,
                                 std::span<const uint8_t> bytes) {
    if (thread >= harts_.size()) return 0;
    return harts_[thread]->debug_write_memory(address, bytes);
}

std::string RiscvTarget::thread_description(unsigned thread) {
    if (thread >= harts_.size()) return {};
    riscv::Hart& hart = *harts_[thread];
    static constexpr const char* kModes[] = {"U", "S", "?", "M"};
    return fmt::format("hart {}, {}-mode{}", hart.hart_id(),
                       kModes[static_cast<unsigned>(hart.priv()) & 3],
                       hart.in_run() ? "" : ", not running");
}

// --- Breakpoints and watchpoints ---

void RiscvTarget::push_software_breakpoints() {
    for (riscv::Hart* hart : harts_)
        hart->set_debug_breakpoints(software_breakpoints_);
}

Result<> RiscvTarget::insert_breakpoint(BreakpointKind kind, uint64_t address, uint64_t length) {
    if (kind == BreakpointKind::software) {
        software_breakpoints_.push_back(address);
        push_software_breakpoints();
        return {};
    }
    if (length == 0 || length - 1 > ~uint64_t{0} - address)
        return fail("a watchpoint of {} bytes at {:#x} wraps around", length, address);
    std::vector<TriggerSetting> plan = plan_triggers(kind, address, length);
    auto count = static_cast<unsigned>(plan.size());
    TriggerPoint point{kind, address, length, {}, count};
    auto undo = [&] {
        for (size_t h = 0; h < point.first.size(); ++h)
            for (unsigned j = 0; j < count; ++j)
                harts_[h]->write_trigger(point.first[h] + j, 0, 0);
    };
    for (riscv::Hart* hart : harts_) {
        auto first = free_triggers(hart->triggers(), count);
        if (!first) {
            undo();
            return fail("hart {} has no {} free trigger(s)", hart->hart_id(), count);
        }
        point.first.push_back(*first);
        for (unsigned j = 0; j < count; ++j)
            hart->write_trigger(*first + j, plan[j].tdata1, plan[j].tdata2);
        if (!(hart->triggers().tdata1_at(*first + count - 1) & TriggerModule::kDmode)) {
            undo();
            return fail("hart {} refused the trigger", hart->hart_id());
        }
    }
    trigger_points_.push_back(std::move(point));
    return {};
}

Result<> RiscvTarget::remove_breakpoint(BreakpointKind kind, uint64_t address, uint64_t length) {
    if (kind == BreakpointKind::software) {
        auto found = std::find(software_breakpoints_.begin(), software_breakpoints_.end(), address);
        if (found == software_breakpoints_.end()) return fail("no breakpoint at {:#x}", address);
        software_breakpoints_.erase(found);
        push_software_breakpoints();
        return {};
    }
    auto found = std::find_if(trigger_points_.begin(), trigger_points_.end(), [&](auto& point) {
        return point.kind == kind && point.address == address && point.length == length;
    });
    if (found == trigger_points_.end()) return fail("no such watchpoint at {:#x}", address);
    for (size_t h = 0; h < harts_.size() && h < found->first.size(); ++h)
        for (unsigned j = 0; j < found->count; ++j)
            harts_[h]->write_trigger(found->first[h] + j, 0, 0);
    trigger_points_.erase(found);
    return {};
}

}  // namespace vessel::debug
