// The scenario lexer: shell words, expression tokens, here-documents, and
// the number, size and duration formats of the language (see lexer.h).
#include "scenario/lexer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

namespace mmsim::scenario {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
// Characters that end an unquoted word.
bool is_word_break(char c) {
    return c == '\0' || is_blank(c) || c == '\n' || c == ';' || c == '|' || c == '&' || c == '<' || c == '>';
}

std::string show_char(char c) {
    if (c == '\n') return "end of line";
    if (c == '\0') return "end of input";
    if (std::isprint(static_cast<unsigned char>(c))) return fmt::format("'{}'", c);
    return fmt::format("byte 0x{:02x}", static_cast<unsigned char>(c));
}

}  // namespace

const char* tok_name(Tok t) {
    switch (t) {
        case Tok::Word:
            return "a word";
        case Tok::Newline:
            return "end of line";
        case Tok::Semicolon:
            return "';'";
        case Tok::Pipe:
            return "'|'";
        case Tok::RedirOut:
            return "'>'";
        case Tok::RedirAppend:
            return "'>>'";
        case Tok::LBrace:
            return "'{'";
        case Tok::RBrace:
            return "'}'";
        case Tok::Amp:
            return "'&'";
        case Tok::Heredoc:
            return "a here-document";
        case Tok::End:
            return "end of input";
    }
    return "?";
}

const char* etok_name(ETok t) {
    switch (t) {
        case ETok::Number:
            return "a number";
        case ETok::Ident:
            return "a name";
        case ETok::Var:
            return "a $variable";
        case ETok::Dot:
            return "'.'";
        case ETok::LBracket:
            return "'['";
        case ETok::RBracket:
            return "']'";
        case ETok::LParen:
            return "'('";
        case ETok::RParen:
            return "')'";
        case ETok::Comma:
            return "','";
        case ETok::Plus:
            return "'+'";
        case ETok::Minus:
            return "'-'";
        case ETok::Star:
            return "'*'";
        case ETok::Slash:
            return "'/'";
        case ETok::Percent:
            return "'%'";
        case ETok::Assign:
            return "'='";
        case ETok::Eq:
            return "'=='";
        case ETok::Ne:
            return "'!='";
        case ETok::Lt:
            return "'<'";
        case ETok::Le:
            return "'<='";
        case ETok::Gt:
            return "'>'";
        case ETok::Ge:
            return "'>='";
        case ETok::AndAnd:
            return "'&&'";
        case ETok::OrOr:
            return "'||'";
        case ETok::Not:
            return "'!'";
        case ETok::String:
            return "a string";
        case ETok::End:
            return "end of line";
    }
    return "?";
}

bool Token::is_literal() const {
    return std::all_of(parts.begin(), parts.end(),
                       [](const WordPart& p) { return p.kind == WordPart::Kind::Literal; });
}

std::string Token::literal() const {
    std::string s;
    for (const auto& p : parts)
        if (p.kind == WordPart::Kind::Literal) s += p.text;
    return s;
}

Lexer::Lexer(std::string_view text, std::string file, int first_line, int first_col)
    : m_text(text), m_file(std::move(file)), m_first_line(first_line), m_first_col(first_col) {
    m_line_starts.push_back(0);
    for (std::size_t i = 0; i < m_text.size(); i++)
        if (m_text[i] == '\n') m_line_starts.push_back(i + 1);
}

SourceLoc Lexer::loc_at(std::size_t offset) const {
    offset = std::min(offset, m_text.size());
    auto it = std::upper_bound(m_line_starts.begin(), m_line_starts.end(), offset);
    std::size_t idx = static_cast<std::size_t>(it - m_line_starts.begin()) - 1;
    int col = static_cast<int>(offset - m_line_starts[idx]) + 1;
    if (idx == 0) col += m_first_col - 1;
    return SourceLoc{m_file, m_first_line + static_cast<int>(idx), col};
}

void Lexer::fail(std::size_t offset, const std::string& msg) const { throw InputError(loc_at(offset), msg); }

void Lexer::incomplete(std::size_t offset, const std::string& msg) const {
    throw IncompleteInput(loc_at(offset), msg);
}

void Lexer::skip_blanks() {
    while (m_pos < m_text.size()) {
        char c = m_text[m_pos];
        if (is_blank(c)) {
            m_pos++;
        } else if (c == '\\' && at(m_pos + 1) == '\n') {
            m_pos += 2;
        } else if (c == '\\' && m_pos + 1 == m_text.size()) {
            incomplete(m_pos, "the line ends with '\\': expected its continuation on the next line");
        } else {
            break;
        }
    }
}

bool Lexer::at_line_end() {
    skip_blanks();
    char c = at(m_pos);
    return c == '\0' || c == '\n' || c == '#';
}

bool Lexer::word_boundary(std::size_t offset) const {
    char c = at(offset);
    return c == '\0' || is_blank(c) || c == '\n' || c == ';';
}

Token Lexer::peek() {
    std::size_t save = m_pos;
    Token t = next();
    m_pos = save;
    return t;
}

Token Lexer::next() {
    skip_blanks();
    Token t;
    t.begin = m_pos;
    t.loc = loc_at(m_pos);
    if (m_pos >= m_text.size()) {
        t.kind = Tok::End;
        t.end = m_pos;
        return t;
    }
    char c = m_text[m_pos];
    if (c == '\0') fail(m_pos, "unexpected NUL byte (is this a binary file?)");
    if (c == '#') {
        while (m_pos < m_text.size() && m_text[m_pos] != '\n') m_pos++;
        return next();
    }
    auto single = [&](Tok kind, std::size_t len) {
        t.kind = kind;
        t.raw = m_text.substr(m_pos, len);
        m_pos += len;
        t.end = m_pos;
        return t;
    };
    switch (c) {
        case '\n': {
            std::size_t nl = m_pos;
            t = single(Tok::Newline, 1);
            auto it = m_skips.find(nl);
            if (it != m_skips.end()) m_pos = it->second.second;
            return t;
        }
        case ';':
            return single(Tok::Semicolon, 1);
        case '|':
            if (at(m_pos + 1) == '|')
                fail(m_pos, "'||' is not supported between commands; put them on separate lines");
            return single(Tok::Pipe, 1);
        case '&':
            if (at(m_pos + 1) == '&')
                fail(m_pos, "'&&' is not supported between commands; put them on separate lines");
            return single(Tok::Amp, 1);
        case '>':
            if (at(m_pos + 1) == '>') return single(Tok::RedirAppend, 2);
            return single(Tok::RedirOut, 1);
        case '<':
            if (at(m_pos + 1) == '<') return lex_heredoc(m_pos);
            fail(m_pos, "input redirection '<' is not supported (use a pipe: cat FILE | ...)");
        case '{':
            if (word_boundary(m_pos + 1)) return single(Tok::LBrace, 1);
            break;
        case '}':
            if (word_boundary(m_pos + 1)) return single(Tok::RBrace, 1);
            break;
        default:
            break;
    }
    return lex_word();
}

Token Lexer::lex_word() {
    Token t;
    t.kind = Tok::Word;
    t.begin = m_pos;
    t.loc = loc_at(m_pos);
    std::string lit;
    std::size_t lit_off = m_pos;
    auto flush = [&] {
        if (!lit.empty())
            t.parts.push_back(WordPart{WordPart::Kind::Literal, lit, loc_at(lit_off), lit_off, nullptr});
        lit.clear();
    };
    bool key_value = false;  // an unquoted '=' was seen: this is KEY=VALUE
    while (m_pos < m_text.size()) {
        char c = m_text[m_pos];
        // In gfp=GFP_KERNEL|__GFP_ZERO the '|' belongs to the value, as in C.
        if (c == '|' && key_value && !is_word_break(at(m_pos + 1))) {
            lit += c;
            m_pos++;
            continue;
        }
        if (is_word_break(c)) break;
        if (c == '=') key_value = true;
        if (lit.empty()) lit_off = m_pos;
        if (c == '\\') {
            char n = at(m_pos + 1);
            if (n == '\n') {
                m_pos += 2;
            } else if (n == '\0') {
                incomplete(m_pos, "the line ends with '\\': expected its continuation on the next line");
            } else {
                lit += n;
                m_pos += 2;
            }
        } else if (c == '\'') {
            std::size_t close = m_pos + 1;
            while (close < m_text.size() && m_text[close] != '\'' && m_text[close] != '\n') close++;
            if (at(close) != '\'') fail(m_pos, "unterminated quote: expected a closing ' on this line");
            lit += m_text.substr(m_pos + 1, close - m_pos - 1);
            m_pos = close + 1;
        } else if (c == '"') {
            std::size_t open = m_pos++;
            while (true) {
                char d = at(m_pos);
                if (d == '\0' || d == '\n')
                    fail(open, "unterminated quote: expected a closing \" on this line");
                if (d == '"') {
                    m_pos++;
                    break;
                }
                if (d == '\\' && (at(m_pos + 1) == '"' || at(m_pos + 1) == '\\' || at(m_pos + 1) == '$')) {
                    if (lit.empty()) lit_off = m_pos;
                    lit += at(m_pos + 1);
                    m_pos += 2;
                } else if (d == '$') {
                    lex_dollar(t.parts, lit, lit_off);
                } else {
                    if (lit.empty()) lit_off = m_pos;
                    lit += d;
                    m_pos++;
                }
            }
        } else if (c == '$') {
            lex_dollar(t.parts, lit, lit_off);
        } else {
            lit += c;
            m_pos++;
        }
    }
    flush();
    t.end = m_pos;
    t.raw = m_text.substr(t.begin, t.end - t.begin);
    return t;
}

// At a '$': a variable, ${variable}, $((expression)), or a plain '$'.
void Lexer::lex_dollar(std::vector<WordPart>& parts, std::string& lit, std::size_t& lit_off) {
    std::size_t start = m_pos;
    auto push = [&](WordPart::Kind kind, std::string text, std::size_t off) {
        if (!lit.empty())
            parts.push_back(WordPart{WordPart::Kind::Literal, lit, loc_at(lit_off), lit_off, nullptr});
        lit.clear();
        parts.push_back(WordPart{kind, std::move(text), loc_at(kind == WordPart::Kind::Arith ? off : start),
                                 off, nullptr});
    };
    char n = at(m_pos + 1);
    if (n == '(' && at(m_pos + 2) == '(') {
        std::size_t i = m_pos + 3;
        int depth = 0;
        while (true) {
            char d = at(i);
            if (d == '\0' || d == '\n') fail(start, "unterminated $((: expected '))' on this line");
            if (d == '(') depth++;
            if (d == ')') {
                if (depth == 0 && at(i + 1) == ')') break;
                if (depth == 0) fail(i, "unbalanced ')' in $((...))");
                depth--;
            }
            i++;
        }
        push(WordPart::Kind::Arith, m_text.substr(m_pos + 3, i - m_pos - 3), m_pos + 3);
        m_pos = i + 2;
        return;
    }
    if (n == '(')
        fail(start, "command substitution $(...) is not supported; $((...)) evaluates an expression");
    if (n == '{') {
        std::size_t i = m_pos + 2;
        while (i < m_text.size() && (is_ident_char(m_text[i]) || m_text[i] == '?' || m_text[i] == '!')) i++;
        std::string name = m_text.substr(m_pos + 2, i - m_pos - 2);
        bool special = name == "?" || name == "!";
        if (at(i) != '}' || name.empty() || (!special && !is_ident_start(name[0])) ||
            (!special && name.find_first_of("?!") != std::string::npos))
            fail(start, "bad variable reference: expected ${name} with a name of letters, digits and '_'");
        push(WordPart::Kind::Var, name, start);
        m_pos = i + 1;
        return;
    }
    if (is_ident_start(n)) {
        std::size_t i = m_pos + 1;
        while (is_ident_char(at(i))) i++;
        push(WordPart::Kind::Var, m_text.substr(m_pos + 1, i - m_pos - 1), start);
        m_pos = i;
        return;
    }
    if (n == '?' || n == '!') {
        push(WordPart::Kind::Var, std::string(1, n), start);
        m_pos += 2;
        return;
    }
    if (lit.empty()) lit_off = m_pos;
    lit += '$';
    m_pos++;
}

Token Lexer::lex_heredoc(std::size_t start) {
    m_pos = start + 2;
    if (at(m_pos) == '-') m_pos++;
    std::string tag;
    char q = at(m_pos);
    if (q == '\'' || q == '"') {
        std::size_t close = m_text.find(q, m_pos + 1);
        std::size_t eol = m_text.find('\n', m_pos);
        if (close == std::string::npos || (eol != std::string::npos && close > eol))
            fail(m_pos, "unterminated quote in the here-document tag");
        tag = m_text.substr(m_pos + 1, close - m_pos - 1);
        m_pos = close + 1;
    } else {
        while (is_ident_char(at(m_pos))) tag += m_text[m_pos++];
    }
    if (tag.empty()) fail(start, "expected a tag after '<<' (for example <<EOF)");
    std::size_t eol = m_text.find('\n', m_pos);
    if (eol == std::string::npos)
        incomplete(start,
                   fmt::format("the here-document <<{} needs a body on the following lines, ended by a line "
                               "'{}'",
                               tag, tag));
    auto known = m_skips.find(eol);
    if (known != m_skips.end() && known->second.first != start)
        fail(start, "only one here-document per line");

    std::size_t ls = eol + 1;
    while (true) {
        if (ls >= m_text.size())
            incomplete(start, fmt::format("the here-document <<{} is not terminated: expected a line '{}'",
                                          tag, tag));
        std::size_t le = m_text.find('\n', ls);
        if (le == std::string::npos) le = m_text.size();
        std::string_view line(m_text.data() + ls, le - ls);
        std::size_t a = 0, b = line.size();
        while (a < b && (is_blank(line[a]))) a++;
        while (b > a && (is_blank(line[b - 1]))) b--;
        if (line.substr(a, b - a) == tag) {
            Token t;
            t.kind = Tok::Heredoc;
            t.begin = start;
            t.end = m_pos;
            t.raw = m_text.substr(start, m_pos - start);
            t.text = m_text.substr(eol + 1, ls - eol - 1);
            t.loc = loc_at(start);
            t.body_loc = loc_at(eol + 1);
            m_skips[eol] = {start, std::min(le + 1, m_text.size())};
            return t;
        }
        ls = le + 1;
    }
}

ExprToken Lexer::peek_expr() {
    std::size_t save = m_pos;
    ExprToken t = next_expr();
    m_pos = save;
    return t;
}

ExprToken Lexer::next_expr() {
    skip_blanks();
    ExprToken t;
    t.begin = m_pos;
    t.loc = loc_at(m_pos);
    char c = at(m_pos);
    auto op = [&](ETok kind, std::size_t len) {
        t.kind = kind;
        t.text = m_text.substr(m_pos, len);
        m_pos += len;
        t.end = m_pos;
        return t;
    };
    if (c == '\0' || c == '\n' || c == ';' || c == '}' || c == '#') {
        t.kind = ETok::End;
        t.end = m_pos;
        return t;
    }
    // ".5" is a number, but in buddyinfo.Normal.10 the dot follows a name.
    bool after_name = m_pos > 0 && (is_ident_char(m_text[m_pos - 1]) || m_text[m_pos - 1] == ']');
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && !after_name && std::isdigit(static_cast<unsigned char>(at(m_pos + 1)))))
        return lex_number(m_pos);
    if (is_ident_start(c)) {
        std::size_t i = m_pos;
        while (is_ident_char(at(i))) i++;
        // meminfo.Active(anon): a parenthesised suffix glued to a name after
        // a dot is part of the name, as /proc/meminfo spells it.
        if (m_pos > 0 && m_text[m_pos - 1] == '.' && at(i) == '(') {
            std::size_t j = i + 1;
            while (is_ident_char(at(j))) j++;
            if (j > i + 1 && at(j) == ')') i = j + 1;
        }
        t.kind = ETok::Ident;
        t.text = m_text.substr(m_pos, i - m_pos);
        m_pos = i;
        t.end = m_pos;
        return t;
    }
    switch (c) {
        case '$': {
            std::size_t i = m_pos + 1;
            std::string name;
            if (at(i) == '{') {
                std::size_t j = i + 1;
                while (is_ident_char(at(j))) j++;
                name = m_text.substr(i + 1, j - i - 1);
                if (at(j) != '}' || name.empty() || !is_ident_start(name[0]))
                    fail(m_pos, "bad variable reference: expected ${name}");
                i = j + 1;
            } else if (at(i) == '?' || at(i) == '!') {
                name = std::string(1, at(i));
                i++;
            } else if (is_ident_start(at(i))) {
                std::size_t j = i;
                while (is_ident_char(at(j))) j++;
                name = m_text.substr(i, j - i);
                i = j;
            } else {
                fail(m_pos, "expected a variable name after '$'");
            }
            t.kind = ETok::Var;
            t.text = name;
            m_pos = i;
            t.end = m_pos;
            return t;
        }
        case '.':
            return op(ETok::Dot, 1);
        case '[':
            return op(ETok::LBracket, 1);
        case ']':
            return op(ETok::RBracket, 1);
        case '(':
            return op(ETok::LParen, 1);
        case ')':
            return op(ETok::RParen, 1);
        case ',':
            return op(ETok::Comma, 1);
        case '+':
            return op(ETok::Plus, 1);
        case '-':
            return op(ETok::Minus, 1);
        case '*':
            return op(ETok::Star, 1);
        case '/':
            return op(ETok::Slash, 1);
        case '%':
            return op(ETok::Percent, 1);
        case '=':
            return at(m_pos + 1) == '=' ? op(ETok::Eq, 2) : op(ETok::Assign, 1);
        case '!':
            return at(m_pos + 1) == '=' ? op(ETok::Ne, 2) : op(ETok::Not, 1);
        case '<':
            return at(m_pos + 1) == '=' ? op(ETok::Le, 2) : op(ETok::Lt, 1);
        case '>':
            return at(m_pos + 1) == '=' ? op(ETok::Ge, 2) : op(ETok::Gt, 1);
        case '&':
            if (at(m_pos + 1) == '&') return op(ETok::AndAnd, 2);
            fail(m_pos, "expected '&&' (a single '&' is not an operator)");
        case '|':
            if (at(m_pos + 1) == '|') return op(ETok::OrOr, 2);
            fail(m_pos, "expected '||' (an expression cannot be piped)");
        case '"':
        case '\'': {
            std::size_t close = m_pos + 1;
            while (close < m_text.size() && m_text[close] != c && m_text[close] != '\n') close++;
            if (at(close) != c)
                fail(m_pos, fmt::format("unterminated quote: expected a closing {} on this line", c));
            t.kind = ETok::String;
            t.text = m_text.substr(m_pos + 1, close - m_pos - 1);
            m_pos = close + 1;
            t.end = m_pos;
            return t;
        }
        default:
            break;
    }
    fail(m_pos, fmt::format("unexpected {} in an expression", show_char(c)));
}

ExprToken Lexer::lex_number(std::size_t start) {
    std::size_t i = start;
    while (is_ident_char(at(i)) || at(i) == '.') i++;
    // "1.5G" is one number; "5.foo" is not.
    std::string text = m_text.substr(start, i - start);
    ExprToken t;
    t.kind = ETok::Number;
    t.text = text;
    t.begin = start;
    t.end = i;
    t.loc = loc_at(start);
    std::string why;
    if (!parse_number_with_unit(text, t.number, &why)) fail(start, why);
    m_pos = i;
    return t;
}

bool parse_number_with_unit(std::string_view text, double& value, std::string* unit_error) {
    auto bad = [&](std::string why) {
        if (unit_error) *unit_error = std::move(why);
        return false;
    };
    if (text.empty()) return bad("expected a number");
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        uint64_t v = 0;
        for (std::size_t i = 2; i < text.size(); i++) {
            char c = text[i];
            int d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            else
                return bad(fmt::format("malformed hexadecimal number '{}'", text));
            if (v >> 60) return bad(fmt::format("number '{}' is too large", text));
            v = v * 16 + static_cast<uint64_t>(d);
        }
        value = static_cast<double>(v);
        return true;
    }
    std::size_t i = 0;
    bool digits = false, dot = false;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || (text[i] == '.' && !dot))) {
        if (text[i] == '.')
            dot = true;
        else
            digits = true;
        i++;
    }
    if (!digits) return bad(fmt::format("malformed number '{}'", text));
    double v = std::strtod(std::string(text.substr(0, i)).c_str(), nullptr);
    std::string unit;
    for (char c : text.substr(i)) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    double mult = 1;
    if (unit.empty() || unit == "b")
        mult = 1;
    else if (unit == "k" || unit == "kb" || unit == "kib")
        mult = 1024.0;
    else if (unit == "m" || unit == "mb" || unit == "mib")
        mult = 1024.0 * 1024;
    else if (unit == "g" || unit == "gb" || unit == "gib")
        mult = 1024.0 * 1024 * 1024;
    else if (unit == "t" || unit == "tb" || unit == "tib")
        mult = 1024.0 * 1024 * 1024 * 1024;
    else if (unit == "p" || unit == "pb" || unit == "pib")
        mult = 1024.0 * 1024 * 1024 * 1024 * 1024;
    else
        return bad(fmt::format("unknown unit '{}' on '{}' (expected K, M, G, T or P: powers of 1024 bytes)",
                               text.substr(i), text));
    value = v * mult;
    return true;
}

bool parse_duration(std::string_view text, uint64_t& nanos) {
    std::size_t i = 0;
    bool digits = false, dot = false;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || (text[i] == '.' && !dot))) {
        if (text[i] == '.')
            dot = true;
        else
            digits = true;
        i++;
    }
    if (!digits) return false;
    double v = std::strtod(std::string(text.substr(0, i)).c_str(), nullptr);
    std::string_view unit = text.substr(i);
    double mult;
    if (unit.empty() || unit == "s")
        mult = 1e9;
    else if (unit == "ns")
        mult = 1;
    else if (unit == "us")
        mult = 1e3;
    else if (unit == "ms")
        mult = 1e6;
    else if (unit == "m" || unit == "min")
        mult = 60e9;
    else if (unit == "h")
        mult = 3600e9;
    else
        return false;
    double ns = std::round(v * mult);
    if (!(ns >= 0) || ns > 9.2e18) return false;
    nanos = static_cast<uint64_t>(ns);
    return true;
}

std::string format_duration(uint64_t nanos) {
    if (nanos == 0) return "0s";
    if (nanos % 1000000000 == 0) return fmt::format("{}s", nanos / 1000000000);
    if (nanos % 1000000 == 0) return fmt::format("{}ms", nanos / 1000000);
    if (nanos % 1000 == 0) return fmt::format("{}us", nanos / 1000);
    return fmt::format("{}ns", nanos);
}

}  // namespace mmsim::scenario
