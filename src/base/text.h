// Small text helpers shared by the parsers of /proc text (clone-host, the
// scenario language's text commands).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mmsim {

// Splits on runs of white space; no empty words.
std::vector<std::string> split_ws(std::string_view s);

}  // namespace mmsim
