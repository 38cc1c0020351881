#include "vm/debug/gdb_stub.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "vm/debug/packet.h"

namespace vessel::debug {

namespace {

// Error replies: the numbers are errno values, as gdbserver sends them.
constexpr std::string_view kBadPacket = "E01", kNoThread = "E02", kBadAddress = "E0e",
                           kInvalid = "E16";
constexpr int kAllThreads = -1, kAnyThread = -2;
// The largest memory transfer in one packet: its hex must fit in kMaxPacket.
constexpr size_t kMaxTransfer = GdbStub::kMaxPacket / 2 - 16;

// Splits "a,b" at the first `separator`; nullopt when there is none.
std::optional<std::pair<std::string_view, std::string_view>> split(std::string_view text,
                                                                   char separator) {
    size_t at = text.find(separator);
    if (at == std::string_view::npos) return std::nullopt;
    return std::pair{text.substr(0, at), text.substr(at + 1)};
}

// "ADDR,LENGTH" with a length in [1, max] whose range does not wrap past 2^64.
std::optional<std::pair<uint64_t, uint64_t>> address_and_length(std::string_view text,
                                                                uint64_t max) {
    auto parts = split(text, ',');
    if (!parts) return std::nullopt;
    auto address = parse_hex(parts->first), length = parse_hex(parts->second);
    if (!address || !length || *length > max) return std::nullopt;
    if (*length > 0 && *length - 1 > ~uint64_t{0} - *address) return std::nullopt;
    return std::pair{*address, *length};
}

}  // namespace

GdbStub::Outcome GdbStub::handle(std::string_view packet) {
    auto reply = [](std::string text) { return Outcome{After::reply, std::move(text)}; };
    if (packet.empty()) return reply("");
    std::string_view rest = packet.substr(1);
    switch (packet[0]) {
        case '?':
            if (last_stop_) return reply(stop_reply(*last_stop_));
            return reply(fmt::format("T05thread:{:x};", general_thread_ + 1));
        case 'g':
            return reply(read_registers());
        case 'G':
            return reply(write_registers(rest));
        case 'p':
            return reply(read_register(rest));
        case 'P':
            return reply(write_register(rest));
        case 'm':
            return reply(read_memory(rest));
        case 'M':
            return reply(write_memory(rest, false));
        case 'X':
            return reply(write_memory(rest, true));
        case 'Z':
        case 'z':
            return reply(breakpoint(rest, packet[0] == 'Z'));
        case 'H':
            return reply(set_thread(rest));
        case 'T': {
            auto thread = parse_thread(rest);
            return reply(thread && *thread >= 0 ? "OK" : std::string(kNoThread));
        }
        case 'c':
        case 's':
            return resume_all(rest, packet[0] == 's');
        case 'C':
        case 'S': {
            // "Csig[;addr]": the signal means nothing to a bare CPU; it is checked, then dropped.
            auto signal_and_address = split(rest, ';');
            std::string_view signal = signal_and_address ? signal_and_address->first : rest;
            if (!parse_hex(signal)) return reply(std::string(kBadPacket));
            return resume_all(signal_and_address ? signal_and_address->second : "",
                              packet[0] == 'S');
        }
        case 'D':
            return {After::detached, "OK"};
        case 'k':
            return {After::killed, {}};
        case 'q':
        case 'Q':
            return reply(query(packet));
        case 'v':
            if (packet == "vCont?") return reply("vCont;c;C;s;S");
            if (packet.starts_with("vCont;")) return vcont(packet.substr(5));
            return reply("");
        default:
            return reply("");
    }
}

std::string GdbStub::stop_reply(const StopEvent& event) {
    if (event.kind == StopEvent::Kind::exited)
        return fmt::format("W{:02x}", static_cast<unsigned>(event.exit_code) & 0xff);
    if (event.thread < target_.thread_count()) general_thread_ = event.thread;
    last_stop_ = event;
    unsigned thread = event.thread + 1;
    switch (event.kind) {
        case StopEvent::Kind::interrupted:
            return fmt::format("T02thread:{:x};", thread);
        case StopEvent::Kind::watch_write:
            return fmt::format("T05watch:{:x};thread:{:x};", event.address, thread);
        case StopEvent::Kind::watch_read:
            return fmt::format("T05rwatch:{:x};thread:{:x};", event.address, thread);
        case StopEvent::Kind::watch_access:
            return fmt::format("T05awatch:{:x};thread:{:x};", event.address, thread);
        default:
            return fmt::format("T05thread:{:x};", thread);
    }
}

std::optional<int> GdbStub::parse_thread(std::string_view text) const {
    if (text == "-1") return kAllThreads;
    auto id = parse_hex(text);
    if (!id) return std::nullopt;
    if (*id == 0) return kAnyThread;
    if (*id > target_.thread_count()) return std::nullopt;
    return static_cast<int>(*id - 1);
}

std::string GdbStub::query(std::string_view packet) {
    if (packet.starts_with("qSupported"))
        return fmt::format("PacketSize={:x};qXfer:features:read+;QStartNoAckMode+;vContSupported+",
                           kMaxPacket);
    if (packet == "QStartNoAckMode") {
        no_ack_ = true;
        return "OK";
    }
    if (packet.starts_with("qXfer:features:read:")) {
        auto annex_and_range = split(packet.substr(20), ':');
        if (!annex_and_range) return std::string(kBadPacket);
        if (annex_and_range->first != "target.xml") return "E00";
        auto range = split(annex_and_range->second, ',');
        if (!range) return std::string(kBadPacket);
        auto offset = parse_hex(range->first), length = parse_hex(range->second);
        const std::string& xml = target_.target_xml();
        if (!offset || !length || *offset > xml.size()) return std::string(kBadPacket);
        // Escaping may double the data: keep a chunk within the packet size either way.
        uint64_t chunk = std::min<uint64_t>({*length, xml.size() - *offset, kMaxPacket / 2 - 16});
        bool last = *offset + chunk >= xml.size();
        return (last ? "l" : "m") + xml.substr(*offset, chunk);
    }
    if (packet == "qfThreadInfo") {
        std::string reply = "m";
        for (unsigned thread = 0; thread < target_.thread_count(); ++thread)
            reply += fmt::format("{}{:x}", thread ? "," : "", thread + 1);
        return reply;
    }
    if (packet == "qsThreadInfo") return "l";
    if (packet == "qC") return fmt::format("QC{:x}", general_thread_ + 1);
    if (packet == "qAttached") return "1";  // quitting the debugger detaches, never kills
    if (packet.starts_with("qThreadExtraInfo,")) {
        auto thread = parse_thread(packet.substr(17));
        if (!thread || *thread < 0) return std::string(kNoThread);
        return to_hex(target_.thread_description(static_cast<unsigned>(*thread)));
    }
    if (packet == "qSymbol::") return "OK";
    return "";
}

std::string GdbStub::set_thread(std::string_view packet) {
    if (packet.empty()) return std::string(kBadPacket);
    auto thread = parse_thread(packet.substr(1));
    if (!thread) return std::string(kNoThread);
    switch (packet[0]) {
        case 'g':
            if (*thread >= 0) general_thread_ = static_cast<unsigned>(*thread);
            return "OK";
        case 'c':
            continue_thread_ = *thread >= 0 ? *thread : kAllThreads;
            return "OK";
        default:
            return std::string(kBadPacket);
    }
}

std::string GdbStub::read_registers() {
    std::string reply;
    for (unsigned regnum : target_.g_registers()) {
        auto bytes = target_.read_register(general_thread_, regnum);
        if (!bytes) return std::string(kInvalid);
        reply += to_hex(*bytes);
    }
    return reply;
}

std::string GdbStub::write_registers(std::string_view hex) {
    auto bytes = from_hex(hex);
    if (!bytes) return std::string(kBadPacket);
    // The whole set or nothing: sizes first, from what the registers read as.
    std::vector<size_t> sizes;
    size_t total = 0;
    for (unsigned regnum : target_.g_registers()) {
        auto current = target_.read_register(general_thread_, regnum);
        if (!current) return std::string(kInvalid);
        sizes.push_back(current->size());
        total += current->size();
    }
    if (bytes->size() != total) return std::string(kBadPacket);
    size_t offset = 0, index = 0;
    for (unsigned regnum : target_.g_registers()) {
        auto value = std::span<const uint8_t>(*bytes).subspan(offset, sizes[index]);
        if (!target_.write_register(general_thread_, regnum, value)) return std::string(kInvalid);
        offset += sizes[index++];
    }
    return "OK";
}

std::string GdbStub::read_register(std::string_view packet) {
    auto regnum = parse_hex(packet);
    if (!regnum || *regnum > 0xffff) return std::string(kBadPacket);
    auto bytes = target_.read_register(general_thread_, static_cast<unsigned>(*regnum));
    if (!bytes) return std::string(kInvalid);
    return to_hex(*bytes);
}

std::string GdbStub::write_register(std::string_view packet) {
    auto parts = split(packet, '=');
    if (!parts) return std::string(kBadPacket);
    auto regnum = parse_hex(parts->first);
    auto bytes = from_hex(parts->second);
    if (!regnum || *regnum > 0xffff || !bytes || bytes->empty()) return std::string(kBadPacket);
    if (!target_.write_register(general_thread_, static_cast<unsigned>(*regnum), *bytes))
        return std::string(kInvalid);
    return "OK";
}

std::string GdbStub::read_memory(std::string_view packet) {
    auto request = address_and_length(packet, ~uint64_t{0});
    if (!request || request->second == 0) return std::string(kBadPacket);
    // A request larger than a reply can hold gets a short read; the debugger asks for the rest.
    std::vector<uint8_t> bytes(std::min<uint64_t>(request->second, kMaxTransfer));
    size_t done = target_.read_memory(general_thread_, request->first, bytes);
    if (done == 0) return std::string(kBadAddress);
    return to_hex(std::span(bytes).first(done));
}

std::string GdbStub::write_memory(std::string_view packet, bool binary) {
    auto header_and_data = split(packet, ':');
    if (!header_and_data) return std::string(kBadPacket);
    auto request = address_and_length(header_and_data->first, kMaxPacket);
    if (!request) return std::string(kBadPacket);
    std::vector<uint8_t> bytes;
    if (binary) {
        auto data = unescape_binary(header_and_data->second);
        if (!data) return std::string(kBadPacket);
        bytes.assign(data->begin(), data->end());
    } else {
        auto data = from_hex(header_and_data->second);
        if (!data) return std::string(kBadPacket);
        bytes = std::move(*data);
    }
    if (bytes.size() != request->second) return std::string(kBadPacket);
    if (bytes.empty()) return "OK";  // gdb's probe for X support
    if (target_.write_memory(general_thread_, request->first, bytes) != bytes.size())
        return std::string(kBadAddress);
    return "OK";
}

std::string GdbStub::breakpoint(std::string_view packet, bool insert) {
    // "type,addr,kind[;cond...]": conditions and commands are the debugger's to evaluate.
    packet = packet.substr(0, packet.find(';'));
    auto type_and_rest = split(packet, ',');
    if (!type_and_rest) return std::string(kBadPacket);
    auto type = parse_hex(type_and_rest->first);
    auto request = address_and_length(type_and_rest->second, ~uint64_t{0});
    if (!type || *type > 4 || !request) return std::string(kBadPacket);
    auto kind = static_cast<BreakpointKind>(*type);
    // For Z0/Z1 the "length" is the instruction size, which a breakpoint at an address ignores.
    bool watch = kind != BreakpointKind::software && kind != BreakpointKind::hardware;
    if (watch && request->second == 0) return std::string(kInvalid);
    uint64_t length = watch ? request->second : 1;
    auto done = insert ? target_.insert_breakpoint(kind, request->first, length)
                       : target_.remove_breakpoint(kind, request->first, length);
    return done ? "OK" : std::string(kInvalid);
}

GdbStub::Outcome GdbStub::resume_all(std::string_view address, bool step) {
    unsigned thread =
        continue_thread_ >= 0 ? static_cast<unsigned>(continue_thread_) : general_thread_;
    if (!address.empty()) {
        auto pc = parse_hex(address);
        if (!pc || !target_.set_pc(thread, *pc)) return {After::reply, std::string(kBadPacket)};
    }
    // 'c' runs every CPU; 's' steps one and leaves the others stopped.
    std::vector<ResumeMode> modes(target_.thread_count(),
                                  step ? ResumeMode::stay : ResumeMode::run);
    if (step) modes[thread] = ResumeMode::step;
    target_.resume(modes);
    return {After::resumed, {}};
}

GdbStub::Outcome GdbStub::vcont(std::string_view actions) {
    Outcome bad{After::reply, std::string(kBadPacket)};
    unsigned count = target_.thread_count();
    std::vector<ResumeMode> modes(count, ResumeMode::stay);
    std::vector<bool> assigned(count, false);
    // ";action[:thread]" repeated: the first action that names a thread (or none) is its action.
    while (!actions.empty()) {
        if (actions[0] != ';') return bad;
        actions.remove_prefix(1);
        std::string_view action = actions.substr(0, actions.find(';'));
        actions.remove_prefix(action.size());
        auto action_and_thread = split(action, ':');
        std::string_view verb = action_and_thread ? action_and_thread->first : action;
        ResumeMode mode;
        if (verb == "c") {
            mode = ResumeMode::run;
        } else if (verb == "s") {
            mode = ResumeMode::step;
        } else if (!verb.empty() && (verb[0] == 'C' || verb[0] == 'S') &&
                   parse_hex(verb.substr(1))) {
            mode = verb[0] == 'C' ? ResumeMode::run : ResumeMode::step;
        } else {
            return bad;
        }
        int thread = kAllThreads;
        if (action_and_thread) {
            auto parsed = parse_thread(action_and_thread->second);
            if (!parsed) return {After::reply, std::string(kNoThread)};
            thread = *parsed == kAnyThread ? static_cast<int>(general_thread_) : *parsed;
        }
        for (unsigned index = 0; index < count; ++index) {
            if (assigned[index] || (thread >= 0 && static_cast<unsigned>(thread) != index))
                continue;
            modes[index] = mode;
            assigned[index] = true;
        }
    }
    // Nothing to run would wait for a stop that never comes.
    if (std::all_of(modes.begin(), modes.end(),
                    [](ResumeMode mode) { return mode == ResumeMode::stay; }))
        return bad;
    target_.resume(modes);
    return {After::resumed, {}};
}

}  // namespace vessel::debug
