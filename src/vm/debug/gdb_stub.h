// The GDB remote protocol's commands over a DebugTarget: one packet in, what to answer and what
// happens next out. No sockets here (gdb_server.h moves the bytes), so that every packet a
// debugger may send, malformed ones included, can be tested against a fake target. Every number
// and length from the debugger is checked; a bad packet gets an error reply ("Exx"), an unknown
// one the empty reply that means "not supported".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "vm/debug/debug_target.h"

namespace vessel::debug {

class GdbStub {
  public:
    // The largest packet payload the stub takes (qSupported's PacketSize).
    static constexpr size_t kMaxPacket = 0x4000;

    explicit GdbStub(DebugTarget& target) : target_(target) {}

    enum class After {
        reply,     // send `reply`
        resumed,   // the target runs: the reply is a stop reply, later
        detached,  // send `reply` ("OK"), then the session ends and the target runs on
        killed,    // the session ends and the machine with it; nothing to send
    };
    struct Outcome {
        After after = After::reply;
        std::string reply;
    };
    // One packet's payload (between '$' and '#').
    Outcome handle(std::string_view packet);

    // The stop reply for an event ("T05thread:1;", "W00"); its thread becomes the current one.
    std::string stop_reply(const StopEvent& event);
    // The thread Ctrl-C is reported on.
    unsigned current_thread() const { return general_thread_; }

    // Set once QStartNoAckMode is answered: no '+' / '-' from then on.
    bool no_ack() const { return no_ack_; }

  private:
    std::string query(std::string_view packet);
    std::string set_thread(std::string_view packet);
    std::string read_registers();
    std::string write_registers(std::string_view hex);
    std::string read_register(std::string_view packet);
    std::string write_register(std::string_view packet);
    std::string read_memory(std::string_view packet);
    std::string write_memory(std::string_view packet, bool binary);
    std::string breakpoint(std::string_view packet, bool insert);
    Outcome resume_all(std::string_view address, bool step);
    Outcome vcont(std::string_view actions);
    // "1", "-1", "0" -> thread index, all (-1 as nullopt in `all`), any; nullopt: no such thread.
    std::optional<int> parse_thread(std::string_view text) const;

    DebugTarget& target_;
    unsigned general_thread_ = 0;  // Hg: registers and memory
    int continue_thread_ = -1;     // Hc: 's' and 'c'; -1 = all
    std::optional<StopEvent> last_stop_;
    bool no_ack_ = false;
};

}  // namespace vessel::debug
