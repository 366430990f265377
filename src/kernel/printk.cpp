#include "kernel/printk.h"

#include <fmt/format.h>

namespace mmsim {

void KernelLog::printk(Nanos time, LogLevel level, std::string text) {
    m_records.push_back(LogRecord{time, level, std::move(text)});
}

std::string KernelLog::format(const LogRecord& r) {
    return fmt::format("[{:5}.{:06}] {}\n", r.time / NSEC_PER_SEC, (r.time % NSEC_PER_SEC) / NSEC_PER_USEC,
                       r.text);
}

std::string KernelLog::dmesg() const {
    std::string out;
    for (const auto& r : m_records) out += format(r);
    return out;
}

}  // namespace mmsim
