#include "base/diag.h"

#include <fmt/format.h>

namespace mmsim {

std::string SourceLoc::str() const {
    if (line <= 0) return file;
    if (col <= 0) return fmt::format("{}:{}", file, line);
    return fmt::format("{}:{}:{}", file, line, col);
}

InputError::InputError(SourceLoc loc, const std::string& message)
    : std::runtime_error(fmt::format("{}: error: {}", loc.str(), message)),
      m_loc(std::move(loc)),
      m_message(message) {}

}  // namespace mmsim
