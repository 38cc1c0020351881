#include "vm/devices/uart16550.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vessel::vm {
namespace {

class RecordingLine : public InterruptLine {
  public:
    void set_level(bool asserted) override {
        level = asserted;
        changes.push_back(asserted);
    }
    bool level = false;
    std::vector<bool> changes;
};

struct UartFixture : ::testing::Test {
    std::string sent;
    RecordingLine irq;
    Uart16550 uart{[this](uint8_t byte) { sent.push_back(static_cast<char>(byte)); }, &irq};

    uint8_t in(unsigned reg) { return static_cast<uint8_t>(uart.read(reg, 1)); }
    void out(unsigned reg, uint8_t value) { uart.write(reg, 1, value); }
};

TEST_F(UartFixture, TransmitsToTheHostAndAlwaysReportsAnEmptyTransmitter) {
    for (char c : std::string("hi\n"))
        out(0, static_cast<uint8_t>(c));
    EXPECT_EQ(sent, "hi\n");
    EXPECT_EQ(in(5) & 0x60, 0x60);  // THRE and TEMT
}

TEST_F(UartFixture, DivisorLatchIsReachedOnlyWithDlab) {
    out(3, 0x80);
    out(0, 0x01);
    out(1, 0x00);
    EXPECT_EQ(in(0), 0x01);
    EXPECT_EQ(in(1), 0x00);
    out(3, 0x03);
    out(0, 'x');  // with DLAB clear this is THR again
    EXPECT_EQ(sent, "x");
    EXPECT_EQ(in(3), 0x03);
}

TEST_F(UartFixture, ReceivedBytesRaiseTheRxInterruptUntilDrained) {
    out(1, 0x01);  // ERBFI
    EXPECT_FALSE(irq.level);
    const uint8_t input[] = {'a', 'b'};
    EXPECT_EQ(uart.receive(input), 2u);
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(in(2) & 0x0f, 0x04);
    EXPECT_EQ(in(5) & 0x01, 0x01);
    EXPECT_EQ(in(0), 'a');
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(in(0), 'b');
    EXPECT_FALSE(irq.level);
    EXPECT_EQ(in(5) & 0x01, 0x00);
    EXPECT_EQ(in(2) & 0x0f, 0x01);
}

TEST_F(UartFixture, ReceiveFifoIsBoundedAndTheHostKeepsTheRest) {
    std::vector<uint8_t> input(40, 'z');
    EXPECT_EQ(uart.receive(input), Uart16550::kFifoSize);
    EXPECT_EQ(uart.rx_space(), 0u);
    in(0);
    EXPECT_EQ(uart.rx_space(), 1u);
}

TEST_F(UartFixture, ThreInterruptFollowsLinuxProbeSequence) {
    // serial8250 start-up: enable THRI -> IIR shows THRE; reading IIR acknowledges it.
    out(1, 0x02);
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(in(2) & 0x0f, 0x02);
    EXPECT_FALSE(irq.level);
    EXPECT_EQ(in(2) & 0x0f, 0x01);
    // Each transmitted byte empties the holding register again and re-raises it.
    out(0, 'q');
    EXPECT_TRUE(irq.level);
    out(1, 0x00);
    EXPECT_FALSE(irq.level);
}

TEST_F(UartFixture, FifoControlShowsInIir) {
    EXPECT_EQ(in(2) & 0xc0, 0x00);
    out(2, 0x07);
    EXPECT_EQ(in(2) & 0xc0, 0xc0);
}

TEST_F(UartFixture, LoopbackEchoesTransmitToReceiveAndMirrorsModemLines) {
    out(4, 0x10 | 0x0a);  // LOOP | RTS | OUT2: Linux's autoconfig expects DCD|CTS
    EXPECT_EQ(in(6) & 0xf0, 0x90);
    out(0, 'L');
    EXPECT_TRUE(sent.empty());
    EXPECT_EQ(in(5) & 0x01, 0x01);
    EXPECT_EQ(in(0), 'L');
    const uint8_t input[] = {'h'};
    EXPECT_EQ(uart.receive(input), 0u);  // the line is disconnected in loopback
    out(4, 0x00);
    EXPECT_EQ(in(6) & 0xf0, 0xb0);
}

TEST_F(UartFixture, OverrunIsReportedOnceInLsr) {
    out(4, 0x10);
    for (unsigned i = 0; i < Uart16550::kFifoSize + 1; ++i)
        out(0, 'o');
    EXPECT_EQ(in(5) & 0x02, 0x02);
    EXPECT_EQ(in(5) & 0x02, 0x00);
}

TEST_F(UartFixture, ScratchRegisterHoldsItsValue) {
    out(7, 0x5a);
    EXPECT_EQ(in(7), 0x5a);
}

TEST_F(UartFixture, IgnoresAccessesOutsideTheWindowAndWideAccesses) {
    uart.write(8, 1, 'x');
    uart.write(0, 4, 'x');
    EXPECT_TRUE(sent.empty());
    EXPECT_EQ(uart.read(9, 1), 0u);
}

}  // namespace
}  // namespace vessel::vm
