// Simulated time: events run in time order, ties in scheduling order, and
// cancelled events never run.
#include "kernel/clock.h"

#include <gtest/gtest.h>

#include <string>

#include "kernel/printk.h"

namespace mmsim {
namespace {

TEST(Clock, EventsRunInTimeOrderThenSchedulingOrder) {
    Clock c;
    std::string order;
    c.schedule_at(300, [&] { order += "c"; });
    c.schedule_at(100, [&] { order += "a"; });
    c.schedule_at(100, [&] { order += "b"; });
    c.advance_to(250);
    EXPECT_EQ(order, "ab");
    EXPECT_EQ(c.now(), 250u);
    c.advance_by(50);
    EXPECT_EQ(order, "abc");
}

TEST(Clock, EventsScheduledByEventsRunWhenDue) {
    Clock c;
    int ticks = 0;
    std::function<void()> tick = [&] {
        ticks++;
        c.schedule_after(NSEC_PER_SEC, tick);
    };
    c.schedule_after(NSEC_PER_SEC, tick);
    c.advance_by(10 * NSEC_PER_SEC);
    EXPECT_EQ(ticks, 10);
    EXPECT_EQ(c.pending(), 1u);
}

TEST(Clock, CancelledEventsDoNotRunAndCancellingTwiceIsHarmless) {
    Clock c;
    bool ran = false;
    auto id = c.schedule_after(10, [&] { ran = true; });
    c.cancel(id);
    c.cancel(id);
    c.advance_by(100);
    EXPECT_FALSE(ran);
    EXPECT_EQ(c.pending(), 0u);
}

TEST(KernelLog, DmesgFormatsSecondsAndMicroseconds) {
    KernelLog log;
    log.printk(0, LogLevel::Info, "Linux version 6.18.0-mmsim");
    log.printk(12 * NSEC_PER_SEC + 345678 * NSEC_PER_USEC, LogLevel::Warning, "hello");
    EXPECT_EQ(log.dmesg(), "[    0.000000] Linux version 6.18.0-mmsim\n[   12.345678] hello\n");
}

}  // namespace
}  // namespace mmsim
