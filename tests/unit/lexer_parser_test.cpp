// The scenario language's front end: the lexer's words and expression
// tokens, numbers, sizes and durations, the expression parser and
// evaluator, the command parser's structure and its file:line:col errors,
// and the registry's argument splitter. Nothing here boots a machine.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "scenario/commands.h"
#include "scenario/expr.h"
#include "scenario/lexer.h"
#include "scenario/parser.h"

namespace mmsim::scenario {
namespace {

// ---- helpers ---------------------------------------------------------------------

std::vector<Token> lex_all(std::string_view text) {
    Lexer lx(text, "t.mms");
    std::vector<Token> out;
    while (true) {
        Token t = lx.next();
        if (t.kind == Tok::End) return out;
        out.push_back(t);
    }
}

std::vector<ExprToken> lex_expr(std::string_view text) {
    Lexer lx(text, "t.mms");
    std::vector<ExprToken> out;
    while (true) {
        ExprToken t = lx.next_expr();
        if (t.kind == ETok::End) return out;
        out.push_back(t);
    }
}

// The message of the InputError that `f` throws ("" if none).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

// An environment with fixed variables and refs ("a.b" -> value).
class FakeEnv : public EvalEnv {
public:
    std::map<std::string, Value> vars;
    std::map<std::string, double> refs;

    Value variable(const std::string& name, const SourceLoc& loc) override {
        auto it = vars.find(name);
        if (it == vars.end()) throw InputError(loc, "unset " + name);
        return it->second;
    }
    Value reference(const std::vector<RefStep>& path, const Expr& ref) override {
        std::string key;
        for (const auto& s : path)
            key += s.is_index ? "[" + std::to_string(s.index) + "]" : (key.empty() ? "" : ".") + s.name;
        auto it = refs.find(key);
        if (it == refs.end()) throw InputError(ref.loc, "no " + key);
        return Value::of(it->second);
    }
};

ExprSyntax fake_syntax() {
    ExprSyntax s;
    s.is_source = [](std::string_view n) { return n == "zoneinfo" || n == "meminfo" || n == "buddyinfo"; };
    s.unknown_name_hint = [](std::string_view n) {
        return n == "zonenfo" ? std::string("(did you mean 'zoneinfo'?)") : "";
    };
    return s;
}

ExprPtr expr(std::string_view text) { return parse_expr_text(text, "t.mms", 1, 1, fake_syntax()); }

Value eval_text(std::string_view text, FakeEnv& env) { return eval(*expr(text), env); }

Program parse(std::string_view text) { return parse_program(text, "t.mms", builtin_registry()); }

std::string parse_error(std::string_view text) {
    return error_of([&] { (void)parse(text); });
}

// ---- lexer: shell words ------------------------------------------------------------

TEST(Lexer, SplitsWordsOperatorsAndLines) {
    auto t = lex_all("cat /proc/zoneinfo | grep min > /dev/null\necho a;echo b");
    ASSERT_EQ(t.size(), 13u);
    EXPECT_EQ(t[0].literal(), "cat");
    EXPECT_EQ(t[2].kind, Tok::Pipe);
    EXPECT_EQ(t[5].kind, Tok::RedirOut);
    EXPECT_EQ(t[7].kind, Tok::Newline);
    EXPECT_EQ(t[10].kind, Tok::Semicolon);
    EXPECT_EQ(t[12].literal(), "b");
}

TEST(Lexer, LocationsAreLineAndColumn) {
    auto t = lex_all("boot ram=1G\n  sysctl   vm.swappiness=10");
    ASSERT_EQ(t.size(), 5u);
    EXPECT_EQ(t[3].loc.str(), "t.mms:2:3");
    EXPECT_EQ(t[4].loc.str(), "t.mms:2:12");
}

TEST(Lexer, QuotesEscapesAndComments) {
    auto t = lex_all(R"(echo 'a  $x' "b \"c\" $y" d\ e # a comment
x#y)");
    ASSERT_EQ(t.size(), 6u);
    EXPECT_EQ(t[1].literal(), "a  $x");
    EXPECT_TRUE(t[1].is_literal());
    // "b \"c\" $y": literal, variable
    ASSERT_EQ(t[2].parts.size(), 2u);
    EXPECT_EQ(t[2].parts[0].text, "b \"c\" ");
    EXPECT_EQ(t[2].parts[1].kind, WordPart::Kind::Var);
    EXPECT_EQ(t[2].parts[1].text, "y");
    EXPECT_EQ(t[3].literal(), "d e");
    EXPECT_EQ(t[4].kind, Tok::Newline);
    EXPECT_EQ(t[5].literal(), "x#y");  // '#' inside a word is not a comment
}

TEST(Lexer, VariablesAndArithmetic) {
    auto t = lex_all("echo ${a}b$c-$((1 + (2*3))) $ $? $!");
    ASSERT_EQ(t.size(), 5u);
    const auto& p = t[1].parts;
    ASSERT_EQ(p.size(), 5u);
    EXPECT_EQ(p[0].kind, WordPart::Kind::Var);
    EXPECT_EQ(p[0].text, "a");
    EXPECT_EQ(p[1].text, "b");
    EXPECT_EQ(p[2].text, "c");
    EXPECT_EQ(p[3].text, "-");
    EXPECT_EQ(p[4].kind, WordPart::Kind::Arith);
    EXPECT_EQ(p[4].text, "1 + (2*3)");
    EXPECT_EQ(t[2].literal(), "$");
    EXPECT_EQ(t[3].parts[0].text, "?");
    EXPECT_EQ(t[4].parts[0].text, "!");
}

TEST(Lexer, BracesAreOperatorsOnlyAsWordsOfTheirOwn) {
    auto t = lex_all("at 1s { echo {x} }");
    ASSERT_EQ(t.size(), 6u);
    EXPECT_EQ(t[2].kind, Tok::LBrace);
    EXPECT_EQ(t[4].literal(), "{x}");
    EXPECT_EQ(t[5].kind, Tok::RBrace);
}

TEST(Lexer, HeredocBodyIsSkippedAndKept) {
    auto t = lex_all("boot <<EOF\nram = 1\n  EOF\necho after");
    ASSERT_EQ(t.size(), 5u);
    EXPECT_EQ(t[1].kind, Tok::Heredoc);
    EXPECT_EQ(t[1].text, "ram = 1\n");
    EXPECT_EQ(t[1].body_loc.line, 2);
    EXPECT_EQ(t[2].kind, Tok::Newline);
    EXPECT_EQ(t[3].literal(), "echo");
    EXPECT_EQ(t[3].loc.line, 4);
}

TEST(Lexer, LineContinuation) {
    auto t = lex_all("echo a \\\n  b");
    ASSERT_EQ(t.size(), 3u);
    EXPECT_EQ(t[2].literal(), "b");
    EXPECT_EQ(t[2].loc.line, 2);
}

TEST(Lexer, BadInputIsAnErrorNotACrash) {
    EXPECT_EQ(error_of([] { lex_all("echo 'abc"); }),
              "t.mms:1:6: error: unterminated quote: expected a closing ' on this line");
    EXPECT_NE(error_of([] { lex_all(std::string("echo \0x", 7)); }).find("NUL byte"), std::string::npos);
    EXPECT_NE(error_of([] { lex_all("echo $(date)"); }).find("command substitution"), std::string::npos);
    EXPECT_NE(error_of([] { lex_all("cat < f"); }).find("input redirection"), std::string::npos);
    EXPECT_NE(error_of([] { lex_all("a && b"); }).find("'&&'"), std::string::npos);
    EXPECT_THROW(lex_all("boot <<EOF\nram = 1\n"), IncompleteInput);
    EXPECT_THROW(lex_all("echo a \\"), IncompleteInput);
}

// ---- lexer: expressions, numbers, durations -------------------------------------------

TEST(ExprLexer, NamesWithDotsBracketsAndMeminfoParentheses) {
    auto t = lex_expr("meminfo.Active(anon) >= buddyinfo.Normal.10 + x[2]");
    std::vector<ETok> kinds;
    for (const auto& x : t) kinds.push_back(x.kind);
    std::vector<ETok> want = {ETok::Ident, ETok::Dot,      ETok::Ident,  ETok::Ge,      ETok::Ident,
                              ETok::Dot,   ETok::Ident,    ETok::Dot,    ETok::Number,  ETok::Plus,
                              ETok::Ident, ETok::LBracket, ETok::Number, ETok::RBracket};
    EXPECT_EQ(kinds, want);
    EXPECT_EQ(t[2].text, "Active(anon)");
    EXPECT_EQ(t[8].number, 10);
}

TEST(ExprLexer, StopsAtTheEndOfTheStatement) {
    EXPECT_EQ(lex_expr("1 + 2 # comment").size(), 3u);
    EXPECT_EQ(lex_expr("1 ; echo").size(), 1u);
    EXPECT_EQ(lex_expr("1 } ").size(), 1u);
    EXPECT_EQ(lex_expr("1\n2").size(), 1u);
}

TEST(Numbers, BinaryUnitsHexAndFractions) {
    double v;
    ASSERT_TRUE(parse_number_with_unit("4096", v));
    EXPECT_EQ(v, 4096);
    ASSERT_TRUE(parse_number_with_unit("4K", v));
    EXPECT_EQ(v, 4096);
    ASSERT_TRUE(parse_number_with_unit("30720kB", v));
    EXPECT_EQ(v, 30720.0 * 1024);
    ASSERT_TRUE(parse_number_with_unit("1.5G", v));
    EXPECT_EQ(v, 1.5 * (1 << 30));
    ASSERT_TRUE(parse_number_with_unit("2MiB", v));
    EXPECT_EQ(v, 2 << 20);
    ASSERT_TRUE(parse_number_with_unit("0x1000", v));
    EXPECT_EQ(v, 4096);
    std::string why;
    EXPECT_FALSE(parse_number_with_unit("5X", v, &why));
    EXPECT_NE(why.find("unknown unit 'X'"), std::string::npos);
    EXPECT_FALSE(parse_number_with_unit("0xZZ", v));
    EXPECT_FALSE(parse_number_with_unit("K", v));
}

TEST(Numbers, Durations) {
    uint64_t ns;
    ASSERT_TRUE(parse_duration("5s", ns));
    EXPECT_EQ(ns, 5000000000u);
    ASSERT_TRUE(parse_duration("5", ns));  // seconds, as sleep(1)
    EXPECT_EQ(ns, 5000000000u);
    ASSERT_TRUE(parse_duration("250ms", ns));
    EXPECT_EQ(ns, 250000000u);
    ASSERT_TRUE(parse_duration("1.5us", ns));
    EXPECT_EQ(ns, 1500u);
    ASSERT_TRUE(parse_duration("2m", ns));
    EXPECT_EQ(ns, 120000000000u);
    ASSERT_TRUE(parse_duration("1h", ns));
    EXPECT_EQ(ns, 3600000000000u);
    EXPECT_FALSE(parse_duration("5x", ns));
    EXPECT_FALSE(parse_duration("-1s", ns));
    EXPECT_FALSE(parse_duration("s", ns));
    EXPECT_EQ(format_duration(5000000000u), "5s");
    EXPECT_EQ(format_duration(1500000000u), "1500ms");
    EXPECT_EQ(format_duration(7u), "7ns");
}

// ---- expressions ----------------------------------------------------------------------

TEST(Expr, PrecedenceAndArithmetic) {
    FakeEnv env;
    EXPECT_EQ(eval_text("1 + 2 * 3", env).num, 7);
    EXPECT_EQ(eval_text("(1 + 2) * 3", env).num, 9);
    EXPECT_EQ(eval_text("10 - 4 - 3", env).num, 3);
    EXPECT_EQ(eval_text("7 / 2", env).num, 3.5);
    EXPECT_EQ(eval_text("7 % 4", env).num, 3);
    EXPECT_EQ(eval_text("-2 * -3", env).num, 6);
    EXPECT_EQ(eval_text("1M / 4K", env).num, 256);
    EXPECT_EQ(eval_text("1 < 2 && 2 < 3 || 0", env).num, 1);
    EXPECT_EQ(eval_text("!(1 == 1)", env).num, 0);
    EXPECT_EQ(eval_text("floor(7 / 2) + max(1, 5, 2) + min(3) + abs(-1) + ceil(0.5) + round(1.4)", env).num,
              14);
}

TEST(Expr, RefsAndVariables) {
    FakeEnv env;
    env.refs["zoneinfo.Normal.min"] = 6000;
    env.refs["buddyinfo.Normal[10]"] = 3;
    env.vars["o"] = Value::of(10);
    EXPECT_EQ(eval_text("zoneinfo.Normal.min == 6000", env).num, 1);
    EXPECT_EQ(eval_text("buddyinfo.Normal[$o]", env).num, 3);
    EXPECT_EQ(eval_text("buddyinfo.Normal[5 * 2]", env).num, 3);
    EXPECT_EQ(eval_text("buddyinfo.Normal.10", env).num, 3);
    EXPECT_EQ(eval_text("${o} * 2", env).num, 20);
}

TEST(Expr, ShortCircuitSkipsTheRightSide) {
    FakeEnv env;  // zoneinfo.X is not defined: evaluating it would throw
    EXPECT_EQ(eval_text("0 && zoneinfo.X", env).num, 0);
    EXPECT_EQ(eval_text("1 || zoneinfo.X", env).num, 1);
}

TEST(Expr, StringsCompareWithEqualityOnly) {
    FakeEnv env;
    env.vars["s"] = Value::of(std::string("madvise"));
    EXPECT_EQ(eval_text("$s == \"madvise\"", env).num, 1);
    EXPECT_EQ(eval_text("$s != 'never'", env).num, 1);
    EXPECT_NE(error_of([&] { eval_text("$s < \"x\"", env); }).find("only be compared with == and !="),
              std::string::npos);
    EXPECT_NE(error_of([&] { eval_text("$s == 1", env); }).find("cannot compare a number with a string"),
              std::string::npos);
    EXPECT_NE(error_of([&] { eval_text("$s + 1", env); }).find("needs numbers"), std::string::npos);
}

TEST(Expr, RuntimeErrorsNameTheirColumn) {
    FakeEnv env;
    EXPECT_EQ(error_of([&] { eval_text("1 + 4 / (2 - 2)", env); }),
              "t.mms:1:5: error: division by zero in '4 / (2 - 2)'");
    EXPECT_EQ(error_of([&] { eval_text("buddyinfo.Normal[1.5]", env); }),
              "t.mms:1:18: error: an index must be a whole number, not 1.5");
}

TEST(Expr, ParseErrorsSayWhatWasExpected) {
    EXPECT_EQ(error_of([] { expr("zoneinfo.Normal.min = 5"); }),
              "t.mms:1:21: error: '=' assigns; to compare, write '=='");
    EXPECT_EQ(error_of([] { expr("1 < 2 < 3"); }),
              "t.mms:1:7: error: comparisons cannot be chained; join them with '&&'");
    EXPECT_EQ(error_of([] { expr("zonenfo.Normal.min"); }),
              "t.mms:1:1: error: unknown name 'zonenfo' (did you mean 'zoneinfo'?)");
    EXPECT_EQ(error_of([] { expr("(1 + 2"); }),
              "t.mms:1:7: error: expected ')' to close the '(' at column 1, found end of line");
    EXPECT_EQ(error_of([] { expr("1 +"); }),
              "t.mms:1:4: error: expected a number, a $variable or a value such as meminfo.MemFree, found "
              "end of line");
    EXPECT_EQ(error_of([] { expr("1 2"); }),
              "t.mms:1:3: error: expected an operator or the end of the expression, found '2'");
    EXPECT_EQ(error_of([] { expr("floor(1, 2)"); }), "t.mms:1:1: error: floor() takes 1 argument, not 2");
    EXPECT_NE(error_of([] { expr("1 & 2"); }).find("expected '&&'"), std::string::npos);
    EXPECT_NE(error_of([] { expr("buddyinfo.Normal[1"); }).find("expected ']'"), std::string::npos);
}

TEST(Expr, FailedExpectationsExplainBothSides) {
    FakeEnv env;
    env.refs["zoneinfo.Normal.min"] = 5999;
    env.refs["zoneinfo.Normal.low"] = 7500;
    auto check = [&](std::string_view text) {
        ExprPtr e = expr(text);
        std::vector<Comparison> trace;
        Value v = eval(*e, env, &trace);
        EXPECT_FALSE(truthy(v)) << text;
        return e->text + " " + explain_false(*e, trace, v);
    };
    EXPECT_EQ(check("zoneinfo.Normal.min == 6000"), "zoneinfo.Normal.min == 6000 (left 5999, right 6000)");
    EXPECT_EQ(
        check("zoneinfo.Normal.low == 7500 && zoneinfo.Normal.min >= 6000"),
        "zoneinfo.Normal.low == 7500 && zoneinfo.Normal.min >= 6000 (zoneinfo.Normal.min >= 6000: left 5999, "
        "right 6000)");
    EXPECT_EQ(check("zoneinfo.Normal.min - 5999"), "zoneinfo.Normal.min - 5999 (value 0)");
    EXPECT_EQ(check("(zoneinfo.Normal.min + 1) / 2 > 3000"),
              "(zoneinfo.Normal.min + 1) / 2 > 3000 (left 3000, right 3000)");
}

TEST(Expr, FormatsIntegersWithoutAFraction) {
    EXPECT_EQ(format_number(6000), "6000");
    EXPECT_EQ(format_number(-3), "-3");
    EXPECT_EQ(format_number(1.5), "1.5");
    EXPECT_EQ(format_value(Value::of(std::string("x"))), "\"x\"");
    EXPECT_EQ(format_value(Value::of(std::string("x")), false), "x");
}

// ---- the parser ------------------------------------------------------------------------

TEST(Parser, PipelinesRedirectsAndStatements) {
    Program p = parse(
        "boot ram=1G\ncat /proc/zoneinfo | grep min | head -n 3\necho 10 > /proc/sys/vm/swappiness; dmesg\n");
    const auto& items = p.body->items;
    ASSERT_EQ(items.size(), 4u);
    EXPECT_EQ(items[1].stages.size(), 3u);
    EXPECT_EQ(items[1].stages[2].name, "head");
    ASSERT_TRUE(items[2].redirect);
    EXPECT_EQ(items[2].redirect->target.literal(), "/proc/sys/vm/swappiness");
    EXPECT_EQ(items[3].stages[0].name, "dmesg");
    EXPECT_EQ(items[3].loc.str(), "t.mms:3:36");
}

TEST(Parser, ExpressionCommands) {
    Program p = parse(
        "let x = 5\nlet name = Normal zone\nexpect zoneinfo.Normal.min == $x # why\nprint meminfo.MemFree / "
        "1M\nprint hello world\n");
    const auto& it = p.body->items;
    ASSERT_EQ(it.size(), 5u);
    EXPECT_EQ(it[0].stages[0].let_name, "x");
    ASSERT_TRUE(it[0].stages[0].expr);
    EXPECT_EQ(it[1].stages[0].expr, nullptr);
    EXPECT_EQ(it[1].stages[0].args.size(), 2u);
    ASSERT_TRUE(it[2].stages[0].expr);
    EXPECT_EQ(it[2].stages[0].expr->text, "zoneinfo.Normal.min == $x");
    EXPECT_EQ(it[2].stages[0].expr->loc.str(), "t.mms:3:8");
    EXPECT_TRUE(it[3].stages[0].expr);
    EXPECT_FALSE(it[4].stages[0].expr);
}

TEST(Parser, BlocksInlineBodiesAndHeredocs) {
    Program p = parse(
        "boot <<M\n[[node]]\nmemory = \"1G\"\nM\nat 10s {\n  echo a\n  every 1s for 3s { echo b }\n}\nevery "
        "2s cat /proc/meminfo | grep MemFree\n");
    const auto& it = p.body->items;
    ASSERT_EQ(it.size(), 3u);
    ASSERT_TRUE(it[0].stages[0].heredoc);
    EXPECT_EQ(it[0].stages[0].heredoc->body, "[[node]]\nmemory = \"1G\"\n");
    const Command& at = it[1].stages[0];
    ASSERT_TRUE(at.body);
    ASSERT_EQ(at.body->items.size(), 2u);
    const Command& inner = at.body->items[1].stages[0];
    EXPECT_EQ(inner.name, "every");
    EXPECT_EQ(inner.args.size(), 3u);  // 1s for 3s
    const Command& every = it[2].stages[0];
    EXPECT_TRUE(every.body_is_inline);
    ASSERT_EQ(every.body->items.size(), 1u);
    EXPECT_EQ(every.body->items[0].stages.size(), 2u);
}

TEST(Parser, ErrorsNameTheLineColumnAndTheExpectation) {
    EXPECT_EQ(parse_error("boot ram=1G\nslep 5s"),
              "t.mms:2:1: error: unknown command 'slep' (did you mean 'sleep'?)");
    EXPECT_EQ(parse_error("echo a }"), "t.mms:1:8: error: unexpected '}': no block is open here");
    EXPECT_EQ(
        parse_error("at 1s {\n  sleep 1s\n}"),
        "t.mms:2:3: error: 'sleep' cannot be used inside an at/every block: those run at one instant of "
        "simulated time");
    EXPECT_EQ(parse_error("echo $undefined"),
              "t.mms:1:6: error: undefined variable '$undefined' (set it first: let undefined = ...)");
    EXPECT_EQ(parse_error("let count = 1\necho $cont"),
              "t.mms:2:6: error: undefined variable '$cont' (did you mean '$count'?)");
    EXPECT_EQ(parse_error("expect"), "t.mms:1:7: error: 'expect' needs an expression (usage: expect EXPR)");
    EXPECT_EQ(parse_error("dmesg extra"),
              "t.mms:1:7: error: unexpected argument 'extra' for dmesg (usage: dmesg)");
    EXPECT_EQ(parse_error("sleep"),
              "t.mms:1:1: error: sleep needs at least 1 argument (usage: sleep DURATION...)");
    EXPECT_NE(parse_error("echo x | sysctl vm.swappiness").find("'sysctl' does not read its input"),
              std::string::npos);
    EXPECT_NE(parse_error("echo x > /etc/passwd").find("writes only to the simulated /proc and /sys"),
              std::string::npos);
    EXPECT_NE(parse_error("dmesg {").find("'dmesg' does not take a block"), std::string::npos);
    EXPECT_NE(parse_error("at 5s").find("expected '{' or a command after 'at'"), std::string::npos);
    EXPECT_NE(parse_error("every 1s for { echo }").find("every"), std::string::npos);
    EXPECT_NE(parse_error("echo a &").find("'&'"), std::string::npos);
    EXPECT_NE(parse_error("$cmd arg").find("command name must be written out"), std::string::npos);
    EXPECT_NE(parse_error("let = 5").find("expected a variable name after 'let'"), std::string::npos);
    EXPECT_NE(parse_error("echo <<EOF\nx\nEOF").find("'echo' does not take a here-document"),
              std::string::npos);
}

TEST(Parser, MachineDescriptionsAreCheckedBeforeAnythingRuns) {
    // The here-document's error is placed at its line in the scenario.
    EXPECT_EQ(parse_error("echo hi\nboot <<M\narch = \"x86_64\"\nM"),
              "t.mms:3:1: error: the machine has no memory: add a [[node]] with memory = \"SIZE\" (for "
              "example memory "
              "= \"8G\")");
    EXPECT_NE(parse_error("boot ram=1G cpus=x").find("t.mms:1:"), std::string::npos);
    EXPECT_NE(parse_error("boot machine=/nonexistent/m.toml").find("/nonexistent/m.toml"), std::string::npos);
    EXPECT_NE(parse_error("boot machine=x.toml <<M\n[[node]]\nM").find("not both"), std::string::npos);
    EXPECT_NE(parse_error("boot ram=1G\nsysctl vm.swapiness=1")
                  .find("t.mms:2:8: error: unknown sysctl 'vm.swapiness' "
                        "(did you mean vm.swappiness?)"),
              std::string::npos);
    EXPECT_NE(parse_error("boot ram=1G\nsysctl kernel.pid_max").find("not a vm.* or fs.* sysctl"),
              std::string::npos);
    EXPECT_NE(parse_error("boot ram=1G\necho 1 > /proc/sys/vm/swapiness")
                  .find("did you mean /proc/sys/vm/swappiness?"),
              std::string::npos);
}

TEST(Parser, OpenBlocksAreIncompleteInput) {
    EXPECT_THROW(parse("at 1s {\n  echo a\n"), IncompleteInput);
    EXPECT_THROW(parse("boot <<EOF\nram = 1\n"), IncompleteInput);
    EXPECT_EQ(parse_error("at 1s {\n  echo a\n"),
              "t.mms:1:7: error: this '{' is never closed: expected '}' after the block's commands");
}

TEST(Parser, KnownVariablesComeFromEarlierShellLines) {
    ParseOptions po;
    po.known_vars = {"x"};
    po.first_line = 7;
    Program p = parse_program("echo $x", "<shell>", builtin_registry(), po);
    EXPECT_EQ(p.body->items[0].loc.str(), "<shell>:7:1");
}

TEST(Parser, ArithmeticInWordsIsParsedEarly) {
    EXPECT_EQ(parse_error("echo $(( 1 + ))"),
              "t.mms:1:14: error: expected a number, a $variable or a value such as "
              "meminfo.MemFree, found end of line");
    Program p = parse("echo $((meminfo.MemFree / 1M)) MiB");
    const auto& part = p.body->items[0].stages[0].args[0].parts[0];
    ASSERT_TRUE(part.expr);
    EXPECT_EQ(part.expr->text, "meminfo.MemFree / 1M");
}

// ---- the registry's argument splitter ----------------------------------------------------

TEST(Registry, SplitsFlagsOptionsAndPositionals) {
    const CommandRegistry& r = builtin_registry();
    auto words = [](std::vector<std::string> ws) {
        std::vector<Arg> out;
        int col = 1;
        for (auto& w : ws) {
            out.push_back(Arg{w, SourceLoc{"t.mms", 1, col}});
            col += static_cast<int>(w.size()) + 1;
        }
        return out;
    };
    Args a = r.parse_args(*r.find("grep"), words({"-iv", "-c", "min", "/proc/zoneinfo"}),
                          SourceLoc{"t.mms", 1, 1});
    EXPECT_TRUE(a.has_flag("-i"));
    EXPECT_TRUE(a.has_flag("-v"));
    EXPECT_TRUE(a.has_flag("-c"));
    ASSERT_EQ(a.positional.size(), 2u);
    EXPECT_EQ(a.positional[0].value, "min");

    Args h = r.parse_args(*r.find("head"), words({"-5"}), SourceLoc{});
    EXPECT_EQ(h.flag("-n")->value, "5");
    Args h2 = r.parse_args(*r.find("head"), words({"-n7", "/proc/meminfo"}), SourceLoc{});
    EXPECT_EQ(h2.flag("-n")->value, "7");

    Args al = r.parse_args(*r.find("alloc_pages"), words({"order=3", "count=2", "as=x"}), SourceLoc{});
    EXPECT_EQ(al.option("order")->value, "3");
    EXPECT_EQ(al.option("as")->value, "x");

    Args e = r.parse_args(*r.find("echo"), words({"-5", "a=b"}), SourceLoc{});
    ASSERT_EQ(e.positional.size(), 2u);  // echo keeps what it does not know

    EXPECT_EQ(error_of([&] {
                  r.parse_args(*r.find("grep"), words({"-z", "x"}), SourceLoc{});
              }),
              "t.mms:1:1: error: unknown option '-z' for grep (it takes -i, -v, -c, -n, -w, -E, -F; usage: "
              "grep [-i] "
              "[-v] [-c] [-n] [-w] [-E|-F] PATTERN [FILE...])");
    EXPECT_NE(error_of([&] {
                  r.parse_args(*r.find("alloc_pages"), words({"order=1", "order=2"}), SourceLoc{});
              }).find("given twice"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  r.parse_args(*r.find("alloc_pages"), words({"count=2"}), SourceLoc{"t.mms", 1, 1});
              }).find("alloc_pages needs order="),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  r.parse_args(*r.find("alloc_pages"), words({"order=x"}), SourceLoc{});
              }).find("order= must be a whole number, not 'x'"),
              std::string::npos);
    EXPECT_NE(
        error_of([&] { r.parse_args(*r.find("head"), words({"-n"}), SourceLoc{}); }).find("-n needs a value"),
        std::string::npos);
}

TEST(Registry, SuggestionsAreCloseMatchesOnly) {
    EXPECT_EQ(did_you_mean("sysclt", {"sysctl", "sleep"}), "sysctl");
    EXPECT_EQ(did_you_mean("zzzzzz", {"sysctl", "sleep"}), "");
    EXPECT_EQ(builtin_registry().suggest_command("ecoh", "script"), " (did you mean 'echo'?)");
}

}  // namespace
}  // namespace mmsim::scenario
