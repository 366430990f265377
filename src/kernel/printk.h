// The simulated kernel log (printk and dmesg).
//
// Each record keeps its log level and the simulated time it was written, and
// renders the way `dmesg` prints the real ring buffer:
//
//   [    0.000000] Linux version 6.18.0-mmsim ...
//   [   12.345678] bash: page allocation failure: order:10, mode:0xcc0(GFP_KERNEL), ...
#pragma once

#include <string>
#include <vector>

#include "mmsim/types.h"

namespace mmsim {

enum class LogLevel : int { Emerg = 0, Alert, Crit, Err, Warning, Notice, Info, Debug };

struct LogRecord {
    Nanos time = 0;
    LogLevel level = LogLevel::Info;
    std::string text;
};

class KernelLog {
public:
    void printk(Nanos time, LogLevel level, std::string text);
    const std::vector<LogRecord>& records() const { return m_records; }
    // "[%5lu.%06lu] text\n" for each record, as dmesg prints them.
    std::string dmesg() const;
    static std::string format(const LogRecord& r);

private:
    std::vector<LogRecord> m_records;
};

}  // namespace mmsim
