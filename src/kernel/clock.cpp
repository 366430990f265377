#include "kernel/clock.h"

#include <algorithm>

namespace mmsim {

uint64_t Clock::schedule_at(Nanos when, Action action) {
    uint64_t id = ++m_seq;
    m_queue.push(Event{std::max(when, m_now), id, id, std::move(action)});
    m_live.insert(id);
    return id;
}

void Clock::cancel(uint64_t id) { m_live.erase(id); }

void Clock::advance_to(Nanos until) {
    while (!m_queue.empty() && m_queue.top().when <= until) {
        Event ev = m_queue.top();
        m_queue.pop();
        if (m_live.erase(ev.id) == 0) continue;  // cancelled
        m_now = std::max(m_now, ev.when);
        ev.action();
    }
    m_now = std::max(m_now, until);
}

}  // namespace mmsim
