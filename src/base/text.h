// Small text helpers shared by the parsers of /proc text (clone-host, the
// scenario language's text commands).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mmsim {

// Splits on runs of white space; no empty words.
std::vector<std::string> split_ws(std::string_view s);
// Lines without their newlines (a final newline adds no empty line).
std::vector<std::string> split_lines(const std::string& text);
// Fields between separators (empty fields kept).
std::vector<std::string> split(std::string_view s, char sep);
std::string trim(std::string_view s);
// A whole string as a finite number (strtod syntax).
bool to_number(std::string_view s, double& v);

}  // namespace mmsim
