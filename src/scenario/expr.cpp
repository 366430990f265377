// Expressions: a recursive-descent parser over the lexer's expression
// tokens, and an evaluator that records its comparisons (see expr.h).
#include "scenario/expr.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "scenario/lexer.h"

namespace mmsim::scenario {

const char* expr_op_text(ExprOp op) {
    switch (op) {
        case ExprOp::Add:
            return "+";
        case ExprOp::Sub:
            return "-";
        case ExprOp::Mul:
            return "*";
        case ExprOp::Div:
            return "/";
        case ExprOp::Mod:
            return "%";
        case ExprOp::Eq:
            return "==";
        case ExprOp::Ne:
            return "!=";
        case ExprOp::Lt:
            return "<";
        case ExprOp::Le:
            return "<=";
        case ExprOp::Gt:
            return ">";
        case ExprOp::Ge:
            return ">=";
        case ExprOp::And:
            return "&&";
        case ExprOp::Or:
            return "||";
        case ExprOp::Neg:
            return "-";
        case ExprOp::Not:
            return "!";
        case ExprOp::Plus:
            return "+";
    }
    return "?";
}

bool Expr::is_comparison() const {
    return kind == Kind::Binary && (op == ExprOp::Eq || op == ExprOp::Ne || op == ExprOp::Lt ||
                                    op == ExprOp::Le || op == ExprOp::Gt || op == ExprOp::Ge);
}

bool Expr::is_constant() const {
    switch (kind) {
        case Kind::Number:
        case Kind::String:
            return true;
        case Kind::Var:
        case Kind::Ref:
            return false;
        case Kind::Unary:
            return lhs->is_constant();
        case Kind::Binary:
            return lhs->is_constant() && rhs->is_constant();
        case Kind::Call:
            for (const auto& a : args)
                if (!a->is_constant()) return false;
            return true;
    }
    return false;
}

std::string format_number(double v) {
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e18)
        return fmt::format("{}", static_cast<int64_t>(v));
    return fmt::format("{}", v);
}

std::string format_value(const Value& v, bool quote_strings) {
    if (v.is_number()) return format_number(v.num);
    return quote_strings ? fmt::format("\"{}\"", v.str) : v.str;
}

namespace {

// The functions an expression may call, with their arity (-1: one or more).
struct Function {
    const char* name;
    int arity;
};
constexpr Function kFunctions[] = {{"floor", 1}, {"ceil", 1}, {"round", 1},
                                   {"abs", 1},   {"min", -1}, {"max", -1}};

const Function* find_function(std::string_view name) {
    for (const auto& f : kFunctions)
        if (name == f.name) return &f;
    return nullptr;
}

std::string describe(const ExprToken& t) {
    if (t.kind == ETok::End) return "end of line";
    if (t.kind == ETok::String) return fmt::format("\"{}\"", t.text);
    return fmt::format("'{}'", t.text);
}

class ExprParser {
public:
    ExprParser(Lexer& lx, const ExprSyntax& syntax) : m_lx(lx), m_syntax(syntax) {}

    ExprPtr parse_all() {
        ExprPtr e = parse_or();
        ExprToken t = m_lx.peek_expr();
        if (t.kind == ETok::Assign) fail(t, "'=' assigns; to compare, write '=='");
        if (t.kind != ETok::End)
            fail(t, fmt::format("expected an operator or the end of the expression, found {}", describe(t)));
        return e;
    }

private:
    [[noreturn]] void fail(const ExprToken& t, const std::string& msg) { throw InputError(t.loc, msg); }

    ExprToken take() {
        ExprToken t = m_lx.next_expr();
        if (t.kind != ETok::End) m_last_end = t.end;
        return t;
    }

    ExprPtr node(Expr::Kind kind, std::size_t begin, const SourceLoc& loc) {
        auto e = std::make_shared<Expr>();
        e->kind = kind;
        e->loc = loc;
        std::string_view src = m_lx.text();
        if (m_last_end > begin) e->text = std::string(src.substr(begin, m_last_end - begin));
        return e;
    }

    ExprPtr binary(ExprOp op, ExprPtr l, ExprPtr r, std::size_t begin, const SourceLoc& loc) {
        auto e = node(Expr::Kind::Binary, begin, loc);
        e->op = op;
        e->lhs = std::move(l);
        e->rhs = std::move(r);
        return e;
    }

    ExprPtr parse_or() {
        std::size_t begin = m_lx.peek_expr().begin;
        SourceLoc loc = m_lx.peek_expr().loc;
        ExprPtr l = parse_and();
        while (m_lx.peek_expr().kind == ETok::OrOr) {
            take();
            ExprPtr r = parse_and();
            l = binary(ExprOp::Or, l, r, begin, loc);
        }
        return l;
    }

    ExprPtr parse_and() {
        std::size_t begin = m_lx.peek_expr().begin;
        SourceLoc loc = m_lx.peek_expr().loc;
        ExprPtr l = parse_cmp();
        while (m_lx.peek_expr().kind == ETok::AndAnd) {
            take();
            ExprPtr r = parse_cmp();
            l = binary(ExprOp::And, l, r, begin, loc);
        }
        return l;
    }

    static bool cmp_op(ETok k, ExprOp& op) {
        switch (k) {
            case ETok::Eq:
                op = ExprOp::Eq;
                return true;
            case ETok::Ne:
                op = ExprOp::Ne;
                return true;
            case ETok::Lt:
                op = ExprOp::Lt;
                return true;
            case ETok::Le:
                op = ExprOp::Le;
                return true;
            case ETok::Gt:
                op = ExprOp::Gt;
                return true;
            case ETok::Ge:
                op = ExprOp::Ge;
                return true;
            default:
                return false;
        }
    }

    ExprPtr parse_cmp() {
        std::size_t begin = m_lx.peek_expr().begin;
        SourceLoc loc = m_lx.peek_expr().loc;
        ExprPtr l = parse_sum();
        ExprOp op;
        if (!cmp_op(m_lx.peek_expr().kind, op)) return l;
        take();
        ExprPtr r = parse_sum();
        ExprToken t = m_lx.peek_expr();
        ExprOp op2;
        if (cmp_op(t.kind, op2)) fail(t, "comparisons cannot be chained; join them with '&&'");
        return binary(op, l, r, begin, loc);
    }

    ExprPtr parse_sum() {
        std::size_t begin = m_lx.peek_expr().begin;
        SourceLoc loc = m_lx.peek_expr().loc;
        ExprPtr l = parse_product();
        while (true) {
            ETok k = m_lx.peek_expr().kind;
            if (k != ETok::Plus && k != ETok::Minus) return l;
            take();
            ExprPtr r = parse_product();
            l = binary(k == ETok::Plus ? ExprOp::Add : ExprOp::Sub, l, r, begin, loc);
        }
    }

    ExprPtr parse_product() {
        std::size_t begin = m_lx.peek_expr().begin;
        SourceLoc loc = m_lx.peek_expr().loc;
        ExprPtr l = parse_unary();
        while (true) {
            ETok k = m_lx.peek_expr().kind;
            if (k != ETok::Star && k != ETok::Slash && k != ETok::Percent) return l;
            take();
            ExprPtr r = parse_unary();
            ExprOp op = k == ETok::Star ? ExprOp::Mul : k == ETok::Slash ? ExprOp::Div : ExprOp::Mod;
            l = binary(op, l, r, begin, loc);
        }
    }

    ExprPtr parse_unary() {
        ExprToken t = m_lx.peek_expr();
        if (t.kind == ETok::Minus || t.kind == ETok::Not || t.kind == ETok::Plus) {
            take();
            ExprPtr operand = parse_unary();
            auto e = node(Expr::Kind::Unary, t.begin, t.loc);
            e->op = t.kind == ETok::Minus ? ExprOp::Neg : t.kind == ETok::Not ? ExprOp::Not : ExprOp::Plus;
            e->lhs = std::move(operand);
            return e;
        }
        return parse_primary();
    }

    ExprPtr parse_primary() {
        ExprToken t = take();
        switch (t.kind) {
            case ETok::Number: {
                auto e = node(Expr::Kind::Number, t.begin, t.loc);
                e->number = t.number;
                return e;
            }
            case ETok::String: {
                auto e = node(Expr::Kind::String, t.begin, t.loc);
                e->name = t.text;
                return e;
            }
            case ETok::Var: {
                auto e = node(Expr::Kind::Var, t.begin, t.loc);
                e->name = t.text;
                return e;
            }
            case ETok::LParen: {
                ExprPtr inner = parse_or();
                ExprToken close = take();
                if (close.kind != ETok::RParen)
                    fail(close, fmt::format("expected ')' to close the '(' at column {}, found {}", t.loc.col,
                                            describe(close)));
                // Keep the parentheses in the text for messages.
                auto e = std::make_shared<Expr>(*inner);
                e->text = std::string(m_lx.text().substr(t.begin, close.end - t.begin));
                return e;
            }
            case ETok::Ident:
                if (const Function* f = find_function(t.text); f && m_lx.peek_expr().kind == ETok::LParen)
                    return parse_call(t, *f);
                return parse_ref(t);
            case ETok::End:
                fail(t,
                     "expected a number, a $variable or a value such as meminfo.MemFree, found end of line");
            default:
                fail(t, fmt::format(
                            "expected a number, a $variable or a value such as meminfo.MemFree, found {}",
                            describe(t)));
        }
    }

    ExprPtr parse_call(const ExprToken& name, const Function& f) {
        take();  // (
        std::vector<ExprPtr> args;
        while (true) {
            args.push_back(parse_or());
            ExprToken t = take();
            if (t.kind == ETok::RParen) break;
            if (t.kind != ETok::Comma)
                fail(t, fmt::format("expected ',' or ')' in the arguments of {}(), found {}", name.text,
                                    describe(t)));
        }
        if (f.arity >= 0 && static_cast<int>(args.size()) != f.arity)
            fail(name, fmt::format("{}() takes {} argument{}, not {}", name.text, f.arity,
                                   f.arity == 1 ? "" : "s", args.size()));
        auto e = node(Expr::Kind::Call, name.begin, name.loc);
        e->name = name.text;
        e->args = std::move(args);
        return e;
    }

    ExprPtr parse_ref(const ExprToken& first) {
        if (!m_syntax.is_source || !m_syntax.is_source(first.text)) {
            std::string hint =
                m_syntax.unknown_name_hint ? m_syntax.unknown_name_hint(first.text) : std::string();
            fail(first, fmt::format("unknown name '{}'{}", first.text, hint.empty() ? "" : " " + hint));
        }
        std::vector<PathItem> path;
        path.push_back(PathItem{false, first.text, nullptr, first.loc});
        while (true) {
            ExprToken t = m_lx.peek_expr();
            if (t.kind == ETok::Dot) {
                take();
                ExprToken name = take();
                if (name.kind == ETok::Ident) {
                    path.push_back(PathItem{false, name.text, nullptr, name.loc});
                } else if (name.kind == ETok::Number && name.number == std::floor(name.number) &&
                           name.text.find_first_not_of("0123456789") == std::string::npos) {
                    // buddyinfo.Normal.10 reads like buddyinfo.Normal[10].
                    auto idx = std::make_shared<Expr>();
                    idx->kind = Expr::Kind::Number;
                    idx->number = name.number;
                    idx->text = name.text;
                    idx->loc = name.loc;
                    path.push_back(PathItem{true, {}, idx, name.loc});
                } else {
                    fail(name, fmt::format("expected a name after '.', found {}", describe(name)));
                }
            } else if (t.kind == ETok::LBracket) {
                take();
                ExprPtr idx = parse_or();
                ExprToken close = take();
                if (close.kind != ETok::RBracket)
                    fail(close, fmt::format("expected ']' after the index, found {}", describe(close)));
                path.push_back(PathItem{true, {}, idx, t.loc});
            } else {
                break;
            }
        }
        auto e = node(Expr::Kind::Ref, first.begin, first.loc);
        e->path = std::move(path);
        return e;
    }

    Lexer& m_lx;
    const ExprSyntax& m_syntax;
    std::size_t m_last_end = 0;
};

[[noreturn]] void eval_fail(const Expr& e, const std::string& msg) { throw InputError(e.loc, msg); }

double need_number(const Value& v, const Expr& where, const char* op) {
    if (!v.is_number())
        eval_fail(where, fmt::format("'{}' needs numbers, but {} is the string {}", op, where.text,
                                     format_value(v)));
    return v.num;
}

}  // namespace

bool is_expr_function(std::string_view name) { return find_function(name) != nullptr; }

ExprPtr parse_expr(Lexer& lx, const ExprSyntax& syntax) { return ExprParser(lx, syntax).parse_all(); }

ExprPtr parse_expr_text(std::string_view text, const std::string& file, int first_line, int first_col,
                        const ExprSyntax& syntax) {
    Lexer lx(text, file, first_line, first_col);
    if (lx.peek_expr().kind == ETok::End) throw InputError(lx.loc(), "expected an expression, found nothing");
    ExprPtr e = parse_expr(lx, syntax);
    ExprToken rest = lx.peek_expr();
    if (rest.begin < lx.text().size())
        throw InputError(rest.loc,
                         "unexpected text in the expression (';', '}', '#' and line breaks end it)");
    return e;
}

ExprPtr try_parse_expr(Lexer& lx, const ExprSyntax& syntax) {
    std::size_t save = lx.pos();
    try {
        if (lx.peek_expr().kind == ETok::End) return nullptr;
        return parse_expr(lx, syntax);
    } catch (const InputError&) {
        lx.reset(save);
        return nullptr;
    }
}

bool truthy(const Value& v) { return v.is_number() ? v.num != 0 : !v.str.empty(); }

Value eval(const Expr& e, EvalEnv& env, std::vector<Comparison>* trace) {
    switch (e.kind) {
        case Expr::Kind::Number:
            return Value::of(e.number);
        case Expr::Kind::String:
            return Value::of(e.name);
        case Expr::Kind::Var:
            return env.variable(e.name, e.loc);
        case Expr::Kind::Ref: {
            std::vector<RefStep> steps;
            for (const auto& item : e.path) {
                RefStep s;
                s.is_index = item.is_index;
                s.name = item.name;
                s.loc = item.loc;
                if (item.is_index) {
                    Value iv = eval(*item.index, env, nullptr);
                    double d = need_number(iv, *item.index, "[]");
                    if (d != std::floor(d) || std::fabs(d) > 1e15)
                        eval_fail(*item.index,
                                  fmt::format("an index must be a whole number, not {}", format_number(d)));
                    s.index = static_cast<int64_t>(d);
                }
                steps.push_back(std::move(s));
            }
            return env.reference(steps, e);
        }
        case Expr::Kind::Unary: {
            Value v = eval(*e.lhs, env, trace);
            if (e.op == ExprOp::Not) return Value::of(truthy(v) ? 0.0 : 1.0);
            double d = need_number(v, *e.lhs, expr_op_text(e.op));
            return Value::of(e.op == ExprOp::Neg ? -d : d);
        }
        case Expr::Kind::Call: {
            std::vector<double> a;
            for (const auto& arg : e.args)
                a.push_back(need_number(eval(*arg, env, trace), *arg, e.name.c_str()));
            if (e.name == "floor") return Value::of(std::floor(a[0]));
            if (e.name == "ceil") return Value::of(std::ceil(a[0]));
            if (e.name == "round") return Value::of(std::round(a[0]));
            if (e.name == "abs") return Value::of(std::fabs(a[0]));
            if (e.name == "min") return Value::of(*std::min_element(a.begin(), a.end()));
            return Value::of(*std::max_element(a.begin(), a.end()));
        }
        case Expr::Kind::Binary:
            break;
    }
    if (e.op == ExprOp::And) {
        if (!truthy(eval(*e.lhs, env, trace))) return Value::of(0.0);
        return Value::of(truthy(eval(*e.rhs, env, trace)) ? 1.0 : 0.0);
    }
    if (e.op == ExprOp::Or) {
        if (truthy(eval(*e.lhs, env, trace))) return Value::of(1.0);
        return Value::of(truthy(eval(*e.rhs, env, trace)) ? 1.0 : 0.0);
    }
    Value l = eval(*e.lhs, env, trace);
    Value r = eval(*e.rhs, env, trace);
    if (e.is_comparison()) {
        bool res;
        if (l.is_number() && r.is_number()) {
            switch (e.op) {
                case ExprOp::Eq:
                    res = l.num == r.num;
                    break;
                case ExprOp::Ne:
                    res = l.num != r.num;
                    break;
                case ExprOp::Lt:
                    res = l.num < r.num;
                    break;
                case ExprOp::Le:
                    res = l.num <= r.num;
                    break;
                case ExprOp::Gt:
                    res = l.num > r.num;
                    break;
                default:
                    res = l.num >= r.num;
                    break;
            }
        } else if (!l.is_number() && !r.is_number() && (e.op == ExprOp::Eq || e.op == ExprOp::Ne)) {
            res = (l.str == r.str) == (e.op == ExprOp::Eq);
        } else if (!l.is_number() && !r.is_number()) {
            eval_fail(e, fmt::format("strings can only be compared with == and !=, in '{}'", e.text));
        } else {
            eval_fail(e, fmt::format("cannot compare a number with a string in '{}' (left {}, right {})",
                                     e.text, format_value(l), format_value(r)));
        }
        if (trace) trace->push_back(Comparison{&e, l, r, res});
        return Value::of(res ? 1.0 : 0.0);
    }
    double a = need_number(l, *e.lhs, expr_op_text(e.op));
    double b = need_number(r, *e.rhs, expr_op_text(e.op));
    switch (e.op) {
        case ExprOp::Add:
            return Value::of(a + b);
        case ExprOp::Sub:
            return Value::of(a - b);
        case ExprOp::Mul:
            return Value::of(a * b);
        case ExprOp::Div:
            if (b == 0) eval_fail(e, fmt::format("division by zero in '{}'", e.text));
            return Value::of(a / b);
        case ExprOp::Mod:
            if (b == 0) eval_fail(e, fmt::format("division by zero in '{}'", e.text));
            return Value::of(std::fmod(a, b));
        default:
            break;
    }
    eval_fail(e, "internal error: unknown operator");
}

std::string explain_false(const Expr& e, const std::vector<Comparison>& trace, const Value& result) {
    if (e.is_comparison()) {
        for (const auto& c : trace)
            if (c.node == &e)
                return fmt::format("(left {}, right {})", format_value(c.left), format_value(c.right));
    }
    std::vector<std::string> parts;
    for (const auto& c : trace)
        if (!c.result)
            parts.push_back(fmt::format("{}: left {}, right {}", c.node->text, format_value(c.left),
                                        format_value(c.right)));
    if (parts.empty()) return fmt::format("(value {})", format_value(result));
    return fmt::format("({})", fmt::join(parts, "; "));
}

void collect_vars(const Expr& e, std::vector<std::pair<std::string, SourceLoc>>& out) {
    if (e.kind == Expr::Kind::Var) out.emplace_back(e.name, e.loc);
    for (const auto& item : e.path)
        if (item.index) collect_vars(*item.index, out);
    if (e.lhs) collect_vars(*e.lhs, out);
    if (e.rhs) collect_vars(*e.rhs, out);
    for (const auto& a : e.args) collect_vars(*a, out);
}

}  // namespace mmsim::scenario
