// The scenario parser: a hand-written recursive descent over the lexer's
// tokens, guided by the command registry (see parser.h).
#include "scenario/parser.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "scenario/commands.h"

namespace mmsim::scenario {

bool Word::is_literal() const {
    return std::all_of(parts.begin(), parts.end(),
                       [](const WordPart& p) { return p.kind == WordPart::Kind::Literal; });
}

std::string Word::literal() const {
    std::string s;
    for (const auto& p : parts)
        if (p.kind == WordPart::Kind::Literal) s += p.text;
    return s;
}

ExprSyntax expr_syntax(const CommandRegistry& registry, const std::set<std::string>* vars) {
    ExprSyntax s;
    s.is_source = [&registry](std::string_view name) { return registry.find_source(name) != nullptr; };
    s.unknown_name_hint = [&registry, vars](std::string_view name) -> std::string {
        if (vars && vars->count(std::string(name))) return fmt::format("(did you mean ${}?)", name);
        std::vector<std::string> names;
        for (const auto* src : registry.sources()) names.push_back(src->name);
        std::string best = did_you_mean(name, names);
        if (!best.empty()) return fmt::format("(did you mean '{}'?)", best);
        return fmt::format("(expected a number, a $variable, or a value from {})", fmt::join(names, ", "));
    };
    return s;
}

namespace {

std::string describe(const Token& t) {
    if (t.kind == Tok::Word) return fmt::format("'{}'", t.raw);
    if (t.kind == Tok::Heredoc) return fmt::format("here-document '{}'", t.raw);
    return tok_name(t.kind);
}

class Parser {
public:
    Parser(std::string_view text, const std::string& file, const CommandRegistry& registry,
           const ParseOptions& opts)
        : m_lx(text, file, opts.first_line),
          m_file(file),
          m_registry(registry),
          m_defined(opts.known_vars),
          m_syntax(expr_syntax(registry, &m_defined)) {}

    Program parse() {
        Program p;
        p.file = m_file;
        p.body = parse_block(ParseContext{}, Term::Input, m_lx.loc());
        check_vars();
        return p;
    }

private:
    enum class Term { Input, Brace, EndWord };

    [[noreturn]] void fail(const SourceLoc& loc, const std::string& msg) { throw InputError(loc, msg); }

    std::shared_ptr<Block> parse_block(const ParseContext& ctx, Term term, const SourceLoc& open) {
        auto block = std::make_shared<Block>();
        block->loc = open;
        while (true) {
            Token t = m_lx.peek();
            switch (t.kind) {
                case Tok::Newline:
                case Tok::Semicolon:
                    m_lx.next();
                    continue;
                case Tok::End:
                    if (term == Term::Brace)
                        throw IncompleteInput(
                            open, "this '{' is never closed: expected '}' after the block's commands");
                    if (term == Term::EndWord)
                        throw IncompleteInput(open, "this block is never closed: expected a line 'end'");
                    return block;
                case Tok::RBrace:
                    if (term != Term::Brace) fail(t.loc, "unexpected '}': no block is open here");
                    m_lx.next();
                    return block;
                case Tok::Word:
                    if (term == Term::EndWord && t.is_literal() && t.literal() == "end") {
                        m_lx.next();
                        expect_statement_end("'end'");
                        return block;
                    }
                    block->items.push_back(parse_pipeline(ctx));
                    continue;
                default:
                    fail(t.loc, fmt::format("expected a command, found {}", describe(t)));
            }
        }
    }

    void expect_statement_end(const std::string& after) {
        Token t = m_lx.peek();
        if (t.kind == Tok::Newline || t.kind == Tok::Semicolon || t.kind == Tok::End || t.kind == Tok::RBrace)
            return;
        if (t.kind == Tok::Amp)
            fail(t.loc,
                 "'&' (running in the background) is not supported; at and every schedule commands instead");
        fail(t.loc, fmt::format("expected the end of the line after {}, found {}", after, describe(t)));
    }

    Pipeline parse_pipeline(const ParseContext& ctx) {
        Pipeline p;
        p.loc = m_lx.peek().loc;
        p.stages.push_back(parse_command(ctx, false));
        while (m_lx.peek().kind == Tok::Pipe) {
            m_lx.next();
            Token t = m_lx.peek();
            if (t.kind != Tok::Word)
                fail(t.loc, fmt::format("expected a command after '|', found {}", describe(t)));
            p.stages.push_back(parse_command(ctx, true));
        }
        Token t = m_lx.peek();
        if (t.kind == Tok::RedirOut || t.kind == Tok::RedirAppend) {
            m_lx.next();
            Token target = m_lx.next();
            if (target.kind != Tok::Word)
                fail(target.loc,
                     fmt::format("expected a file name after '{}', found {}", t.raw, describe(target)));
            Redirect r;
            r.append = t.kind == Tok::RedirAppend;
            r.target = make_word(target);
            r.loc = t.loc;
            if (r.target.is_literal()) {
                check_redirect_target(r.target.literal(), target.loc);
                if (m_registry.check_write_path) m_registry.check_write_path(r.target.literal(), target.loc);
            }
            p.redirect = std::move(r);
            expect_statement_end("the redirection");
        } else {
            expect_statement_end(fmt::format("'{}'", p.stages.back().name));
        }
        if (p.stages.size() > 1 || p.redirect) {
            for (const auto& c : p.stages) {
                if (c.body)
                    fail(c.loc,
                         fmt::format("'{}' takes a block, so it cannot be piped or redirected", c.name));
                if (c.spec->syntax == Syntax::Expr || c.spec->syntax == Syntax::Let)
                    fail(c.loc, fmt::format("'{}' cannot be piped or redirected", c.name));
            }
        }
        return p;
    }

    static void check_redirect_target(const std::string& path, const SourceLoc& loc) {
        if (path == "/dev/null" || path.rfind("/proc/", 0) == 0 || path.rfind("/sys/", 0) == 0) return;
        throw InputError(
            loc, fmt::format("cannot write '{}': a scenario writes only to the simulated /proc and /sys "
                             "(and /dev/null)",
                             path));
    }

    Word make_word(const Token& t) {
        Word w;
        w.parts = t.parts;
        w.raw = t.raw;
        w.loc = t.loc;
        for (auto& part : w.parts) {
            if (part.kind == WordPart::Kind::Var) {
                m_used.emplace_back(part.text, part.loc);
            } else if (part.kind == WordPart::Kind::Arith) {
                part.expr = parse_expr_text(part.text, m_file, part.loc.line, part.loc.col, m_syntax);
                collect_vars(*part.expr, m_used);
            }
        }
        return w;
    }

    Command parse_command(const ParseContext& ctx, bool piped) {
        Token name_tok = m_lx.next();
        Command c;
        c.loc = name_tok.loc;
        if (!name_tok.is_literal() || name_tok.parts.empty())
            fail(name_tok.loc, "a command name must be written out, not computed from variables");
        c.name = name_tok.literal();
        c.spec = m_registry.find(c.name);
        if (!c.spec)
            fail(name_tok.loc,
                 fmt::format("unknown command '{}'{}", c.name, m_registry.suggest_command(c.name, ctx.name)));
        check_context(c, ctx, piped);
        switch (c.spec->syntax) {
            case Syntax::Expr:
                parse_expr_args(c);
                break;
            case Syntax::ExprOrWords:
                // A line that starts with a value or a function is meant as
                // an expression, so its mistakes are reported; anything else
                // that does not parse is text.
                if (starts_like_expr())
                    c.expr = parse_expr(m_lx, m_syntax);
                else
                    c.expr = try_parse_expr(m_lx, m_syntax);
                if (c.expr)
                    collect_vars(*c.expr, m_used);
                else
                    parse_words(c, ctx);
                break;
            case Syntax::Let:
                parse_let(c, ctx);
                break;
            case Syntax::Words:
                parse_words(c, ctx);
                break;
        }
        if (c.spec->defines) {
            std::vector<std::string> names;
            c.spec->defines(c, names);
            m_defined.insert(names.begin(), names.end());
        }
        check_args(c);
        return c;
    }

    void check_context(const Command& c, const ParseContext& ctx, bool piped) {
        const CommandSpec& s = *c.spec;
        if (std::find(s.contexts.begin(), s.contexts.end(), ctx.name) == s.contexts.end())
            fail(c.loc, fmt::format("'{}' cannot be used {}", c.name,
                                    ctx.name == "script" ? "in a script"
                                                         : fmt::format("inside a {} block", ctx.name)));
        if (ctx.in_event && !s.in_events)
            fail(c.loc,
                 fmt::format("'{}' cannot be used inside an at/every block: those run at one instant of "
                             "simulated time",
                             c.name));
        if (piped && !s.reads_input) {
            std::vector<std::string> readers;
            for (const auto* spec : m_registry.commands())
                if (spec->reads_input) readers.push_back(spec->name);
            fail(c.loc, fmt::format("'{}' does not read its input, so it cannot follow '|' (these can: {})",
                                    c.name, fmt::join(readers, ", ")));
        }
    }

    bool starts_like_expr() {
        ExprToken t = m_lx.peek_expr();
        if (t.kind == ETok::Var) return false;  // "$x items" is text too
        if (t.kind != ETok::Ident) return false;
        if (m_syntax.is_source && m_syntax.is_source(t.text)) return true;
        if (!is_expr_function(t.text)) return false;
        std::size_t save = m_lx.pos();
        m_lx.next_expr();
        bool call = m_lx.peek_expr().kind == ETok::LParen;
        m_lx.reset(save);
        return call;
    }

    void parse_expr_args(Command& c) {
        if (m_lx.peek_expr().kind == ETok::End)
            fail(m_lx.loc(), fmt::format("'{}' needs an expression (usage: {})", c.name, c.spec->usage));
        c.expr = parse_expr(m_lx, m_syntax);
        collect_vars(*c.expr, m_used);
    }

    void parse_let(Command& c, const ParseContext& ctx) {
        ExprToken name = m_lx.next_expr();
        if (name.kind != ETok::Ident)
            fail(name.loc, fmt::format("expected a variable name after 'let' (usage: {})", c.spec->usage));
        ExprToken eq = m_lx.next_expr();
        if (eq.kind != ETok::Assign)
            fail(eq.loc, fmt::format("expected '=' after 'let {}' (usage: {})", name.text, c.spec->usage));
        c.let_name = name.text;
        c.expr = try_parse_expr(m_lx, m_syntax);
        if (c.expr) {
            collect_vars(*c.expr, m_used);
        } else {
            parse_words(c, ctx);
            if (c.args.empty()) fail(m_lx.loc(), fmt::format("'let {} =' needs a value", name.text));
        }
        m_defined.insert(c.let_name);
    }

    void parse_words(Command& c, const ParseContext& ctx) {
        const CommandSpec& s = *c.spec;
        while (true) {
            Token t = m_lx.peek();
            if (t.kind != Tok::Word && t.kind != Tok::Heredoc) break;
            if (s.body == BodyKind::BracesOrCommand && s.lead_words &&
                c.args.size() >= s.lead_words(c.args, t))
                break;
            m_lx.next();
            if (t.kind == Tok::Heredoc) {
                if (!s.heredoc) fail(t.loc, fmt::format("'{}' does not take a here-document", c.name));
                if (c.heredoc) fail(t.loc, "only one here-document per command");
                c.heredoc = Heredoc{t.raw, t.text, t.loc, t.body_loc};
                continue;
            }
            c.args.push_back(make_word(t));
        }
        Token t = m_lx.peek();
        ParseContext body_ctx{s.body_context, ctx.in_event || s.body_is_event};
        switch (s.body) {
            case BodyKind::None:
                if (t.kind == Tok::LBrace) fail(t.loc, fmt::format("'{}' does not take a block", c.name));
                return;
            case BodyKind::Braces:
                if (t.kind != Tok::LBrace)
                    fail(t.loc, fmt::format("expected '{{' to start the block of '{}', found {} (usage: {})",
                                            c.name, describe(t), s.usage));
                m_lx.next();
                c.body = parse_block(body_ctx, Term::Brace, t.loc);
                return;
            case BodyKind::BracesOrCommand:
                if (t.kind == Tok::LBrace) {
                    m_lx.next();
                    c.body = parse_block(body_ctx, Term::Brace, t.loc);
                } else if (t.kind == Tok::Word) {
                    c.body = std::make_shared<Block>();
                    c.body->loc = t.loc;
                    c.body->items.push_back(parse_pipeline(body_ctx));
                    c.body_is_inline = true;
                } else {
                    fail(t.loc, fmt::format("expected '{{' or a command after '{}', found {} (usage: {})",
                                            c.name, describe(t), s.usage));
                }
                return;
            case BodyKind::UntilEnd:
                expect_statement_end(fmt::format("'{}'", c.name));
                c.body = parse_block(body_ctx, Term::EndWord, c.loc);
                return;
        }
    }

    void check_args(const Command& c) {
        if (c.spec->syntax != Syntax::Words) return;
        if (!std::all_of(c.args.begin(), c.args.end(), [](const Word& w) { return w.is_literal(); })) return;
        std::vector<Arg> words;
        for (const auto& w : c.args) words.push_back(Arg{w.literal(), w.loc});
        Args args = m_registry.parse_args(*c.spec, words, c.loc);
        if (c.spec->check) c.spec->check(args, c);
    }

    void check_vars() {
        for (const auto& [name, loc] : m_used) {
            if (m_defined.count(name)) continue;
            std::vector<std::string> known(m_defined.begin(), m_defined.end());
            std::string hint = did_you_mean(name, known);
            fail(loc, fmt::format("undefined variable '${}'{}", name,
                                  hint.empty() ? fmt::format(" (set it first: let {} = ...)", name)
                                               : fmt::format(" (did you mean '${}'?)", hint)));
        }
    }

    Lexer m_lx;
    std::string m_file;
    const CommandRegistry& m_registry;
    std::set<std::string> m_defined;
    ExprSyntax m_syntax;
    std::vector<std::pair<std::string, SourceLoc>> m_used;
};

}  // namespace

Program parse_program(std::string_view text, const std::string& file, const CommandRegistry& registry,
                      const ParseOptions& options) {
    return Parser(text, file, registry, options).parse();
}

}  // namespace mmsim::scenario
