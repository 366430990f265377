// Expressions: what `expect`, `let`, `print` and $((...)) compute.
//
// An expression combines numbers, $variables and values read from the
// simulated machine's files:
//
//   expect zoneinfo.Normal.min == 6000
//   expect meminfo.MemFree > 100M && vmstat.pgalloc_normal >= 1
//   expect buddyinfo.Normal[10] * 4M <= meminfo.MemFree
//
// Grammar (loosest binding first):
//
//   expr    := and ( '||' and )*
//   and     := cmp ( '&&' cmp )*
//   cmp     := sum [ ('=='|'!='|'<'|'<='|'>'|'>=') sum ]     (no chaining)
//   sum     := product ( ('+'|'-') product )*
//   product := unary ( ('*'|'/'|'%') unary )*
//   unary   := ('-'|'+'|'!') unary | primary
//   primary := NUMBER | STRING | $var | ${var} | '(' expr ')' | call | ref
//   call    := FUNC '(' expr { ',' expr } ')'
//   ref     := NAME ( '.' NAME | '[' expr ']' )*
//
// The functions are floor, ceil, round, abs (one argument) and min, max
// (one or more): floor(managed * 10 / 10000) is the kernel's integer
// division.
//
// Numbers are real numbers (doubles: exact for integers below 2^53, about
// 9 PB), may be hexadecimal (0x1000) and may carry a binary size unit that
// multiplies them into bytes: 4K = 4096, 100M, 1.5G, 2T (K/KB/KiB all mean
// 1024). A comparison is 1 or 0, && and || short-circuit, and a value is
// true when it is not 0.
//
// A ref's first name is its source (meminfo, zoneinfo, vmstat, ...). The
// parser checks only that the source exists; what the rest means, and what
// file it reads, is up to the source (registered in commands.h), which the
// evaluator reaches through EvalEnv. Evaluation records every comparison it
// makes, so a failed expectation can say which side was what:
//
//   run.mms:7:8: expectation failed: zoneinfo.Normal.min == 6000 (left 5999, right 6000)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/diag.h"

namespace mmsim::scenario {

class Lexer;
struct Expr;
using ExprPtr = std::shared_ptr<Expr>;

// One step of a ref: `.name` or `[index]`.
struct PathItem {
    bool is_index = false;
    std::string name;  // the name (not an index)
    ExprPtr index;     // the index expression
    SourceLoc loc;
};

enum class ExprOp : uint8_t { Add, Sub, Mul, Div, Mod, Eq, Ne, Lt, Le, Gt, Ge, And, Or, Neg, Not, Plus };
const char* expr_op_text(ExprOp op);

struct Expr {
    enum class Kind : uint8_t { Number, String, Var, Ref, Unary, Binary, Call };
    Kind kind = Kind::Number;
    ExprOp op = ExprOp::Add;
    double number = 0;           // Number
    std::string name;            // Var: the variable; String: the text; Call: the function
    std::vector<PathItem> path;  // Ref: path[0] is the source
    ExprPtr lhs, rhs;            // Unary: lhs only
    std::vector<ExprPtr> args;   // Call
    SourceLoc loc;
    std::string text;  // the source text, for messages

    bool is_comparison() const;
    // True if evaluating it reads the machine or a variable.
    bool is_constant() const;
};

struct Value {
    enum class Type : uint8_t { Number, String };
    Type type = Type::Number;
    double num = 0;
    std::string str;

    static Value of(double d) { return Value{Type::Number, d, {}}; }
    static Value of(std::string s) { return Value{Type::String, 0, std::move(s)}; }
    bool is_number() const { return type == Type::Number; }
};

// 6000, 1.5, 1e+20, "text" (strings quoted only when `quote_strings`).
std::string format_number(double v);
std::string format_value(const Value& v, bool quote_strings = true);

// What the parser needs to know about the world: which ref sources exist.
struct ExprSyntax {
    std::function<bool(std::string_view)> is_source;
    // A sentence for an unknown name: "(did you mean $free?)", the list of
    // sources, ...; may be empty.
    std::function<std::string(std::string_view)> unknown_name_hint;
};

// Parses one expression from the lexer's position to the end of the line
// (or ';' or '}'). Throws InputError naming what was expected.
ExprPtr parse_expr(Lexer& lx, const ExprSyntax& syntax);
// Parses a complete text (used for $((...)), `first_line`/`first_col`
// place it in its file).
ExprPtr parse_expr_text(std::string_view text, const std::string& file, int first_line, int first_col,
                        const ExprSyntax& syntax);
// True for the names of the functions (floor, min, ...).
bool is_expr_function(std::string_view name);
// Tries to parse an expression that fills the rest of the line; on failure
// restores the lexer and returns nullptr (used by `let` and `print`, whose
// argument may also be plain words).
ExprPtr try_parse_expr(Lexer& lx, const ExprSyntax& syntax);

// A ref's path with its indexes evaluated.
struct RefStep {
    bool is_index = false;
    std::string name;
    int64_t index = 0;
    SourceLoc loc;
};

class EvalEnv {
public:
    virtual ~EvalEnv() = default;
    virtual Value variable(const std::string& name, const SourceLoc& loc) = 0;
    virtual Value reference(const std::vector<RefStep>& path, const Expr& ref) = 0;
};

struct Comparison {
    const Expr* node = nullptr;
    Value left, right;
    bool result = false;
};

// Evaluates; throws InputError for a runtime problem (division by zero,
// arithmetic on a string, an unknown field reported by the source).
// Comparisons made on the way are appended to `trace` when given.
Value eval(const Expr& e, EvalEnv& env, std::vector<Comparison>* trace = nullptr);
bool truthy(const Value& v);

// The parenthesised explanation of a false expectation, built from the
// comparisons its evaluation made: "(left 5999, right 6000)".
std::string explain_false(const Expr& e, const std::vector<Comparison>& trace, const Value& result);

// Every $variable an expression reads (for the parser's checks).
void collect_vars(const Expr& e, std::vector<std::pair<std::string, SourceLoc>>& out);

}  // namespace mmsim::scenario
