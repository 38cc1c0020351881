// The stub's commands against a fake two-CPU target: what a debugger sends in a session (and what
// a broken or hostile one might) and what it must get back. No sockets, no CPUs.
#include "vm/debug/gdb_stub.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "vm/debug/packet.h"

namespace vessel::debug {
namespace {

class FakeTarget final : public DebugTarget {
  public:
    static constexpr uint64_t kMemoryBase = 0x1000;

    FakeTarget() : memory(64) {
        for (size_t i = 0; i < memory.size(); ++i)
            memory[i] = static_cast<uint8_t>(i);
        for (unsigned thread = 0; thread < 2; ++thread)
            for (unsigned regnum = 0; regnum < 3; ++regnum)
                registers[{thread, regnum}] = thread * 0x100 + regnum;
    }

    unsigned thread_count() const override { return 2; }
    const std::string& target_xml() const override { return xml; }
    std::span<const unsigned> g_registers() const override { return g; }
    std::optional<std::vector<uint8_t>> read_register(unsigned thread, unsigned regnum) override {
        auto found = registers.find({thread, regnum});
        if (found == registers.end()) return std::nullopt;
        std::vector<uint8_t> bytes(8);
        for (unsigned i = 0; i < 8; ++i)
            bytes[i] = static_cast<uint8_t>(found->second >> (8 * i));
        return bytes;
    }
    bool write_register(unsigned thread, unsigned regnum, std::span<const uint8_t> bytes) override {
        auto found = registers.find({thread, regnum});
        if (found == registers.end() || bytes.size() != 8) return false;
        uint64_t value = 0;
        for (unsigned i = 0; i < 8; ++i)
            value |= uint64_t{bytes[i]} << (8 * i);
        found->second = value;
        return true;
    }
    bool set_pc(unsigned thread, uint64_t address) override {
        registers[{thread, 2}] = address;
        return true;
    }
    size_t read_memory(unsigned, uint64_t address, std::span<uint8_t> out) override {
        size_t done = 0;
        while (done < out.size() && address + done >= kMemoryBase &&
               address + done - kMemoryBase < memory.size()) {
            out[done] = memory[address + done - kMemoryBase];
            ++done;
        }
        return done;
    }
    size_t write_memory(unsigned, uint64_t address, std::span<const uint8_t> bytes) override {
        size_t done = 0;
        while (done < bytes.size() && address + done >= kMemoryBase &&
               address + done - kMemoryBase < memory.size()) {
            memory[address + done - kMemoryBase] = bytes[done];
            ++done;
        }
        return done;
    }
    Result<> insert_breakpoint(BreakpointKind kind, uint64_t address, uint64_t length) override {
        if (address == 0xdead) return fail("refused");
        breakpoints.push_back({kind, address, length});
        return {};
    }
    Result<> remove_breakpoint(BreakpointKind kind, uint64_t address, uint64_t length) override {
        for (auto it = breakpoints.begin(); it != breakpoints.end(); ++it)
            if (it->kind == kind && it->address == address && it->length == length) {
                breakpoints.erase(it);
                return {};
            }
        return fail("none");
    }
    std::string thread_description(unsigned thread) override {
        return "cpu " + std::to_string(thread);
    }
    void resume(std::span<const ResumeMode> modes) override {
        resumed.emplace_back(modes.begin(), modes.end());
    }
    void halt() override {}
    std::optional<StopEvent> interrupt() override { return std::nullopt; }
    int stop_fd() const override { return -1; }
    std::optional<StopEvent> take_stop() override { return std::nullopt; }
    void detach() override {}
    void kill() override {}

    struct Point {
        BreakpointKind kind;
        uint64_t address, length;
    };
    std::string xml = std::string(100, 'x') + "<target/>";
    std::vector<unsigned> g = {0, 1, 2};
    std::map<std::pair<unsigned, unsigned>, uint64_t> registers;
    std::vector<uint8_t> memory;
    std::vector<Point> breakpoints;
    std::vector<std::vector<ResumeMode>> resumed;
};

struct StubTest : ::testing::Test {
    std::string ask(std::string_view packet) {
        auto outcome = stub.handle(packet);
        EXPECT_EQ(outcome.after, GdbStub::After::reply) << packet;
        return outcome.reply;
    }
    FakeTarget target;
    GdbStub stub{target};
};

TEST_F(StubTest, Negotiation) {
    std::string supported = ask("qSupported:multiprocess+;swbreak+;xmlRegisters=i386");
    EXPECT_NE(supported.find("PacketSize=4000"), std::string::npos);
    EXPECT_NE(supported.find("qXfer:features:read+"), std::string::npos);
    EXPECT_EQ(ask("vCont?"), "vCont;c;C;s;S");
    EXPECT_FALSE(stub.no_ack());
    EXPECT_EQ(ask("QStartNoAckMode"), "OK");
    EXPECT_TRUE(stub.no_ack());
    EXPECT_EQ(ask("qAttached"), "1");
    EXPECT_EQ(ask("vMustReplyEmpty"), "");
    EXPECT_EQ(ask("qTStatus"), "") << "unsupported: the empty reply";
    EXPECT_EQ(ask("?"), "T05thread:1;");
}

TEST_F(StubTest, TargetDescriptionInChunks) {
    EXPECT_EQ(ask("qXfer:features:read:target.xml:0,10"), "m" + target.xml.substr(0, 16));
    EXPECT_EQ(ask("qXfer:features:read:target.xml:64,1000"), "l" + target.xml.substr(100));
    EXPECT_EQ(ask("qXfer:features:read:target.xml:6d,10"), "l") << "at the end";
    EXPECT_EQ(ask("qXfer:features:read:target.xml:6e,10"), "E01") << "past the end";
    EXPECT_EQ(ask("qXfer:features:read:other.xml:0,10"), "E00");
    EXPECT_EQ(ask("qXfer:features:read:target.xml:0"), "E01");
    EXPECT_EQ(ask("qXfer:features:read:target.xml"), "E01");
}

TEST_F(StubTest, ThreadsAndSelection) {
    EXPECT_EQ(ask("qfThreadInfo"), "m1,2");
    EXPECT_EQ(ask("qsThreadInfo"), "l");
    EXPECT_EQ(ask("qC"), "QC1");
    EXPECT_EQ(ask("T2"), "OK");
    EXPECT_EQ(ask("T3"), "E02");
    EXPECT_EQ(ask("T0"), "E02");
    EXPECT_EQ(ask("Hg2"), "OK");
    EXPECT_EQ(ask("qC"), "QC2");
    EXPECT_EQ(ask("g"),
              "0001000000000000"
              "0101000000000000"
              "0201000000000000");
    EXPECT_EQ(ask("Hg3"), "E02");
    EXPECT_EQ(ask("Hgzz"), "E02");
    EXPECT_EQ(ask("Hx1"), "E01");
    EXPECT_EQ(ask("H"), "E01");
    EXPECT_EQ(ask("Hc-1"), "OK");
    EXPECT_EQ(ask("qThreadExtraInfo,1"), to_hex(std::string_view("cpu 0")));
    EXPECT_EQ(ask("qThreadExtraInfo,9"), "E02");
}

TEST_F(StubTest, Registers) {
    EXPECT_EQ(ask("p1"), "0100000000000000");
    EXPECT_EQ(ask("p99"), "E16") << "no such register";
    EXPECT_EQ(ask("p"), "E01");
    EXPECT_EQ(ask("p10000"), "E01") << "register number out of range";
    EXPECT_EQ(ask("P1=2a00000000000000"), "OK");
    EXPECT_EQ((target.registers[{0, 1}]), 0x2au);
    EXPECT_EQ(ask("P1=2a"), "E16") << "wrong size";
    EXPECT_EQ(ask("P1=zz00000000000000"), "E01");
    EXPECT_EQ(ask("P1"), "E01");
    std::string all = ask("g");
    EXPECT_EQ(all.size(), 48u);
    all[0] = 'f';
    EXPECT_EQ(ask("G" + all), "OK");
    EXPECT_EQ((target.registers[{0, 0}]), 0xf0u);
    EXPECT_EQ(ask("G" + all.substr(2)), "E01") << "short";
    EXPECT_EQ(ask("G" + all + "00"), "E01") << "long";
    EXPECT_EQ((target.registers[{0, 0}]), 0xf0u);
}

TEST_F(StubTest, MemoryReadsAreCheckedAndMayBeShort) {
    EXPECT_EQ(ask("m1000,4"), "00010203");
    EXPECT_EQ(ask("m103e,4"), "3e3f") << "short at the end of what is readable";
    EXPECT_EQ(ask("m2000,4"), "E0e");
    EXPECT_EQ(ask("m1000,0"), "E01");
    EXPECT_EQ(ask("m1000"), "E01");
    EXPECT_EQ(ask("mzz,4"), "E01");
    EXPECT_EQ(ask("mffffffffffffffff,2"), "E01") << "wraps past 2^64";
    EXPECT_EQ(ask("m1000,ffffffffffffffff"), "E01");
    // A huge length gets a reply within the packet size, never a huge allocation.
    EXPECT_EQ(ask("m1000,100000"), to_hex(std::span(target.memory)));
}

TEST_F(StubTest, MemoryWrites) {
    EXPECT_EQ(ask("M1000,2:aabb"), "OK");
    EXPECT_EQ(target.memory[0], 0xaa);
    EXPECT_EQ(target.memory[1], 0xbb);
    EXPECT_EQ(ask("M1000,3:aabb"), "E01") << "length and data disagree";
    EXPECT_EQ(ask("M1000,1:a"), "E01");
    EXPECT_EQ(ask("M1000,1"), "E01");
    EXPECT_EQ(ask("M103f,2:0102"), "E0e") << "partly outside";
    EXPECT_EQ(ask("M1000,4001:00"), "E01") << "longer than a packet";
    EXPECT_EQ(ask("X1000,0:"), "OK") << "gdb's probe for binary writes";
    EXPECT_EQ(ask(std::string("X1004,2:}\x03") + "\x7d\x5d"), "OK");
    EXPECT_EQ(target.memory[4], '#');
    EXPECT_EQ(target.memory[5], '}');
    EXPECT_EQ(ask("X1004,2:a}"), "E01") << "dangling escape";
}

TEST_F(StubTest, BreakpointsAndWatchpoints) {
    EXPECT_EQ(ask("Z0,1000,4"), "OK");
    EXPECT_EQ(ask("Z1,1004,2"), "OK");
    EXPECT_EQ(ask("Z2,2000,8"), "OK");
    EXPECT_EQ(ask("Z3,2000,4;X2,ab"), "OK") << "conditions are the debugger's";
    EXPECT_EQ(ask("Z4,2000,1"), "OK");
    ASSERT_EQ(target.breakpoints.size(), 5u);
    EXPECT_EQ(target.breakpoints[0].kind, BreakpointKind::software);
    EXPECT_EQ(target.breakpoints[0].length, 1u) << "a breakpoint's kind is not a length";
    EXPECT_EQ(target.breakpoints[2].kind, BreakpointKind::write_watch);
    EXPECT_EQ(target.breakpoints[2].length, 8u);
    EXPECT_EQ(target.breakpoints[3].kind, BreakpointKind::read_watch);
    EXPECT_EQ(target.breakpoints[4].kind, BreakpointKind::access_watch);
    EXPECT_EQ(ask("z2,2000,8"), "OK");
    EXPECT_EQ(ask("z2,2000,8"), "E16") << "already gone";
    EXPECT_EQ(ask("Z5,1000,4"), "E01");
    EXPECT_EQ(ask("Z2,2000,0"), "E16") << "an empty watchpoint";
    EXPECT_EQ(ask("Z0,dead,4"), "E16");
    EXPECT_EQ(ask("Z0,1000"), "E01");
    EXPECT_EQ(ask("Z"), "E01");
    EXPECT_EQ(ask("Z2,ffffffffffffffff,2"), "E01");
}

TEST_F(StubTest, ContinueAndStep) {
    auto outcome = stub.handle("c");
    EXPECT_EQ(outcome.after, GdbStub::After::resumed);
    ASSERT_EQ(target.resumed.size(), 1u);
    EXPECT_EQ(target.resumed[0], (std::vector{ResumeMode::run, ResumeMode::run}));
    // 's' steps the Hc thread (else the Hg one) and leaves the other stopped.
    ask("Hg2");
    EXPECT_EQ(stub.handle("s").after, GdbStub::After::resumed);
    EXPECT_EQ(target.resumed[1], (std::vector{ResumeMode::stay, ResumeMode::step}));
    ask("Hc1");
    EXPECT_EQ(stub.handle("s1234").after, GdbStub::After::resumed);
    EXPECT_EQ(target.resumed[2], (std::vector{ResumeMode::step, ResumeMode::stay}));
    EXPECT_EQ((target.registers[{0, 2}]), 0x1234u) << "s ADDR resumes there";
    EXPECT_EQ(stub.handle("C05").after, GdbStub::After::resumed);
    EXPECT_EQ(stub.handle("S05;1000").after, GdbStub::After::resumed);
    EXPECT_EQ(ask("Czz"), "E01");
    EXPECT_EQ(ask("czz"), "E01");
}

TEST_F(StubTest, VCont) {
    EXPECT_EQ(stub.handle("vCont;s:2;c").after, GdbStub::After::resumed);
    EXPECT_EQ(target.resumed.back(), (std::vector{ResumeMode::run, ResumeMode::step}));
    EXPECT_EQ(stub.handle("vCont;c:1").after, GdbStub::After::resumed);
    EXPECT_EQ(target.resumed.back(), (std::vector{ResumeMode::run, ResumeMode::stay}));
    EXPECT_EQ(stub.handle("vCont;S05:1;C05:-1").after, GdbStub::After::resumed);
    EXPECT_EQ(target.resumed.back(), (std::vector{ResumeMode::step, ResumeMode::run}));
    size_t before = target.resumed.size();
    EXPECT_EQ(ask("vCont;t"), "E01");
    EXPECT_EQ(ask("vCont;c:3"), "E02");
    EXPECT_EQ(ask("vCont;x"), "E01");
    EXPECT_EQ(ask("vCont;"), "E01");
    EXPECT_EQ(ask("vCont;Cxx"), "E01");
    EXPECT_EQ(target.resumed.size(), before) << "a bad vCont must not resume anything";
}

TEST_F(StubTest, StopRepliesNameTheThreadAndWatchpoint) {
    EXPECT_EQ(stub.stop_reply({StopEvent::Kind::breakpoint, 1}), "T05thread:2;");
    EXPECT_EQ(ask("qC"), "QC2") << "the stopped thread becomes current";
    EXPECT_EQ(ask("?"), "T05thread:2;");
    EXPECT_EQ(stub.stop_reply({StopEvent::Kind::step, 0}), "T05thread:1;");
    EXPECT_EQ(stub.stop_reply({StopEvent::Kind::interrupted, 0}), "T02thread:1;");
    EXPECT_EQ(stub.stop_reply({StopEvent::Kind::watch_write, 0, 0x2004}),
              "T05watch:2004;thread:1;");
    EXPECT_EQ(stub.stop_reply({StopEvent::Kind::watch_read, 1, 0x10}), "T05rwatch:10;thread:2;");
    EXPECT_EQ(stub.stop_reply({StopEvent::Kind::watch_access, 1, 0x10}), "T05awatch:10;thread:2;");
    EXPECT_EQ(stub.stop_reply({StopEvent::Kind::exited, 0, 0, 0}), "W00");
    EXPECT_EQ(stub.stop_reply({StopEvent::Kind::exited, 0, 0, 3}), "W03");
}

TEST_F(StubTest, DetachKillAndGarbage) {
    EXPECT_EQ(stub.handle("D").after, GdbStub::After::detached);
    EXPECT_EQ(stub.handle("D;1").reply, "OK");
    EXPECT_EQ(stub.handle("k").after, GdbStub::After::killed);
    EXPECT_EQ(ask(""), "");
    EXPECT_EQ(ask("\x01\xff garbage"), "");
    EXPECT_EQ(ask(std::string(3, '\0')), "");
}

}  // namespace
}  // namespace vessel::debug
