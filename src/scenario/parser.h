// The scenario parser: from text to a tree of commands.
//
// A scenario is a list of pipelines, one per line (or separated by ';'):
//
//   program   := { pipeline (NEWLINE | ';') }
//   pipeline  := command { '|' command } [ ('>' | '>>') WORD ]
//   command   := NAME arguments [ HEREDOC ] [ body ]
//   body      := '{' program '}'            (at, every, ...)
//              | pipeline                   (every 1s cat /proc/meminfo)
//              | NEWLINE program 'end'      (commands that declare it)
//
// What a command's arguments look like is the command's business, not the
// parser's: the command registry (commands.h) says whether the rest of the
// line is shell words or an expression (expect, let, print), whether the
// command takes a block, and which options and flags it accepts. So a new
// command never needs a change here. The parser checks everything it can
// before anything runs: unknown commands (with a suggestion), malformed
// options, blocks where none is allowed, `sleep` inside an event, pipes into
// commands that read no input, and $variables that are never set. Words that
// hold $variables are checked again when they are expanded at run time.
//
// The tree keeps every location, so the interpreter's errors can name
// file:line:col too. Blocks are shared_ptrs because scheduled events
// (`at`, `every`) keep them alive after the parse.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/diag.h"
#include "scenario/expr.h"
#include "scenario/lexer.h"

namespace mmsim::scenario {

struct CommandSpec;
class CommandRegistry;

struct Word {
    std::vector<WordPart> parts;
    std::string raw;  // as written
    SourceLoc loc;

    bool is_literal() const;
    std::string literal() const;  // the text of a literal word
};

struct Heredoc {
    std::string tag;
    std::string body;
    SourceLoc loc;       // of <<TAG
    SourceLoc body_loc;  // of the body's first line
};

struct Block;

struct Command {
    std::string name;
    SourceLoc loc;
    const CommandSpec* spec = nullptr;
    std::vector<Word> args;  // Syntax::Words (and the text form of print/let)
    ExprPtr expr;            // Syntax::Expr, and print/let when an expression
    std::string let_name;    // Syntax::Let
    std::optional<Heredoc> heredoc;
    std::shared_ptr<Block> body;
    bool body_is_inline = false;  // `every 1s CMD` rather than `every 1s { ... }`
};

struct Redirect {
    bool append = false;
    Word target;
    SourceLoc loc;
};

struct Pipeline {
    std::vector<Command> stages;
    std::optional<Redirect> redirect;
    SourceLoc loc;
};

struct Block {
    std::vector<Pipeline> items;
    SourceLoc loc;
};

struct Program {
    std::string file;
    std::shared_ptr<Block> body;
};

struct ParseOptions {
    // Variables that already exist (the interactive shell's earlier lines);
    // a $variable must be set by one of these or by a `let` in the text.
    std::set<std::string> known_vars;
    // Where the text sits in its file (the shell parses chunk by chunk).
    int first_line = 1;
};

// Where a command appears: the top level of a script, an event body, or a
// body that a command declares (e.g. a program definition).
struct ParseContext {
    std::string name = "script";
    bool in_event = false;
};

// Parses a whole text. Throws InputError (IncompleteInput if the text ends
// inside a block or here-document).
Program parse_program(std::string_view text, const std::string& file, const CommandRegistry& registry,
                      const ParseOptions& options = {});

// The ExprSyntax the registry's value sources define, with hints that
// mention the given variables.
ExprSyntax expr_syntax(const CommandRegistry& registry, const std::set<std::string>* vars = nullptr);

}  // namespace mmsim::scenario
