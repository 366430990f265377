// The scenario language's lexer: shell words and expression tokens.
//
// A scenario is line-oriented and shell-like, so most of a line is lexed
// the way sh(1) would: blanks separate words, '...' quotes literally,
// "..." quotes but still expands $variables, a backslash escapes the next
// character (and joins lines at the end of one), '#' at the start of a word
// begins a comment, and | ; > >> { } are operators. A word is kept as a
// list of parts so that the interpreter can expand it when the command runs
// (a variable may change between two runs of an `every` block):
//
//   "free: ${x} kB"   ->  Literal("free: ")  Var(x)  Literal(" kB")
//   $(( 4K * 2 ))     ->  Arith(" 4K * 2 ")
//
// A few commands (expect, let, print) take an expression instead of words;
// the parser then switches the lexer to expression mode for the rest of the
// line, where numbers carry units (100M), names have dots and brackets
// (zoneinfo.Normal.min, buddyinfo.Normal[10]) and > means "greater than".
// The lexer does not keep a mode of its own: the parser asks for the next
// shell token or the next expression token, and can rewind to a saved
// position to try one reading and then the other.
//
// A here-document (`boot <<EOF`) is read as soon as its `<<TAG` word is
// seen: the lines after the current one, up to a line holding only TAG, are
// the body, and the lexer jumps over them when it reaches the end of the
// current line.
//
// Every token carries its offset in the text; SourceLoc (file:line:col) is
// computed from that, so errors point at the exact column.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/diag.h"

namespace mmsim::scenario {

struct Expr;  // expr.h

// Thrown instead of a plain InputError when the text ended in the middle of
// something (an open block, a here-document, a trailing backslash): the
// interactive shell then asks for another line instead of reporting it.
class IncompleteInput : public InputError {
public:
    using InputError::InputError;
};

struct WordPart {
    enum class Kind : uint8_t { Literal, Var, Arith };
    Kind kind = Kind::Literal;
    std::string text;  // the literal text, the variable's name, or the arithmetic's source
    SourceLoc loc;
    std::size_t offset = 0;      // of `text` in the source (Arith: of the expression)
    std::shared_ptr<Expr> expr;  // Arith: parsed by the parser
};

enum class Tok : uint8_t {
    Word,
    Newline,
    Semicolon,
    Pipe,         // |
    RedirOut,     // >
    RedirAppend,  // >>
    LBrace,       // { as a word of its own
    RBrace,       // } as a word of its own
    Amp,          // & (reserved)
    Heredoc,      // <<TAG, with the body in `text`
    End,
};
const char* tok_name(Tok t);

struct Token {
    Tok kind = Tok::End;
    std::string raw;              // the source text of the token
    std::vector<WordPart> parts;  // Word: its parts
    std::string text;             // Heredoc: the body
    SourceLoc loc;
    SourceLoc body_loc;              // Heredoc: where the body starts
    std::size_t begin = 0, end = 0;  // offsets in the source

    // True if the word has no variable or arithmetic to expand.
    bool is_literal() const;
    // The word's text when literal (quotes removed).
    std::string literal() const;
};

enum class ETok : uint8_t {
    Number,
    Ident,
    Var,  // $name or ${name}
    Dot,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Assign,  // =
    Eq,      // ==
    Ne,      // !=
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Not,
    String,  // "..." or '...'
    End,     // end of line, ';', '}', '#' or end of text (not consumed)
};
const char* etok_name(ETok t);

struct ExprToken {
    ETok kind = ETok::End;
    std::string text;  // source text; Ident/Var: the name; String: the contents
    double number = 0;
    SourceLoc loc;
    std::size_t begin = 0, end = 0;
};

class Lexer {
public:
    // `first_line`/`first_col` place the text inside a larger file (used
    // for $((...)) and here-documents).
    Lexer(std::string_view text, std::string file, int first_line = 1, int first_col = 1);

    // Shell mode: the next token. Blanks, comments and escaped newlines are
    // skipped; a newline is a token of its own.
    Token next();
    Token peek();

    // Expression mode: the next token of an expression on this line. Stops
    // (returning End without consuming it) at a newline, ';', '}', '#' or
    // the end of the text.
    ExprToken next_expr();
    ExprToken peek_expr();

    std::size_t pos() const { return m_pos; }
    void reset(std::size_t pos) { m_pos = pos; }
    SourceLoc loc_at(std::size_t offset) const;
    SourceLoc loc() const { return loc_at(m_pos); }
    std::string_view text() const { return m_text; }
    const std::string& file() const { return m_file; }
    bool at_end() const { return m_pos >= m_text.size(); }
    // Skips blanks (not newlines) and reports whether a comment or the end
    // of the line follows.
    bool at_line_end();

private:
    [[noreturn]] void fail(std::size_t offset, const std::string& msg) const;
    [[noreturn]] void incomplete(std::size_t offset, const std::string& msg) const;
    void skip_blanks();
    bool word_boundary(std::size_t offset) const;
    Token lex_word();
    Token lex_heredoc(std::size_t start);
    void lex_dollar(std::vector<WordPart>& parts, std::string& lit, std::size_t& lit_off);
    ExprToken lex_number(std::size_t start);
    char at(std::size_t i) const { return i < m_text.size() ? m_text[i] : '\0'; }

    std::string m_text;
    std::string m_file;
    int m_first_line;
    int m_first_col;
    std::vector<std::size_t> m_line_starts;
    std::size_t m_pos = 0;
    // Here-documents: the newline that ends the line holding `<<TAG` ->
    // where lexing resumes after the body.
    std::map<std::size_t, std::pair<std::size_t, std::size_t>> m_skips;  // eol -> (tag offset, resume)
};

// Parses a number with an optional binary size unit: "4096", "0x1000",
// "1.5G", "100M", "4KiB", "30720kB". Returns false if malformed; `unit_error`
// then says why.
bool parse_number_with_unit(std::string_view text, double& value, std::string* unit_error = nullptr);

// Parses a duration: "5s", "100ms", "1.5m", "250us", "10ns", "2h"; a bare
// number is seconds, as for sleep(1). Returns false if malformed.
bool parse_duration(std::string_view text, uint64_t& nanos);

// Formats nanoseconds as the shortest exact duration: "5s", "1500ms".
std::string format_duration(uint64_t nanos);

}  // namespace mmsim::scenario
