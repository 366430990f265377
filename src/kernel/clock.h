// Simulated time: a nanosecond clock and an event queue.
//
// Nothing in mmsim reads the host's clock. Time moves only when the
// simulation says so: a scenario's `sleep`, the cost of an operation, a
// kernel thread's timer. Events scheduled for the same instant run in the
// order they were scheduled (a sequence number breaks ties), so a scenario
// and a seed always give the same run.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <unordered_set>
#include <vector>

#include "mmsim/types.h"

namespace mmsim {

class Clock {
public:
    using Action = std::function<void()>;

    Nanos now() const { return m_now; }

    // Runs `action` at absolute time `when` (not before now()). Returns an
    // id that cancel() accepts.
    uint64_t schedule_at(Nanos when, Action action);
    uint64_t schedule_after(Nanos delay, Action action) {
        return schedule_at(m_now + delay, std::move(action));
    }
    void cancel(uint64_t id);

    // Moves time forward to `until`, running every event due on the way, in
    // time order. Events may schedule further events; those run too if due.
    void advance_to(Nanos until);
    void advance_by(Nanos delta) { advance_to(m_now + delta); }

    // Charges a cost without running events (used inside an operation).
    void charge(Nanos cost) { m_now += cost; }

    std::size_t pending() const { return m_live.size(); }

private:
    struct Event {
        Nanos when;
        uint64_t seq;
        uint64_t id;
        Action action;
    };
    struct Later {
        bool operator()(const Event& a, const Event& b) const {
            return a.when != b.when ? a.when > b.when : a.seq > b.seq;
        }
    };
    Nanos m_now = 0;
    uint64_t m_seq = 0;
    std::priority_queue<Event, std::vector<Event>, Later> m_queue;
    std::unordered_set<uint64_t> m_live;  // ids scheduled and neither run nor cancelled
};

}  // namespace mmsim
