// The scenario interpreter, the runner behind `mmsim run`, and the
// interactive shell behind `mmsim shell` (see interp.h and scenario.h).
#include "scenario/interp.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "mm/mm_init.h"
#include "mm/page_owner.h"
#include "mm/slab_track.h"
#include "proc/procfs.h"
#include "proc/sysctl.h"
#include "scenario/scenario.h"

namespace mmsim::scenario {

namespace fs = std::filesystem;

// ---- expression environment -------------------------------------------------

class Interp::Env : public EvalEnv {
public:
    explicit Env(Interp& in) : m_in(in) {}

    Value variable(const std::string& name, const SourceLoc& loc) override {
        const std::string* v = m_in.var(name);
        if (!v)
            throw InputError(loc, fmt::format("variable '${}' is not set yet (its `let` has not run)", name));
        double d;
        if (parse_number_with_unit(*v, d)) return Value::of(d);
        return Value::of(*v);
    }

    Value reference(const std::vector<RefStep>& path, const Expr& ref) override {
        const ValueSource* src = m_in.registry().find_source(path.at(0).name);
        if (!src) throw InputError(ref.loc, fmt::format("unknown value source '{}'", path[0].name));
        if (src->needs_kernel) m_in.kernel(ref.loc);
        return src->resolve(m_in, path, ref);
    }

private:
    Interp& m_in;
};

// ---- the interpreter ----------------------------------------------------------

Interp::Interp(const CommandRegistry& registry, std::ostream& out, std::ostream& err, InterpConfig cfg)
    : m_registry(registry), m_out(out), m_err(err), m_cfg(std::move(cfg)) {}

Interp::~Interp() { discard_snapshots(); }

void Interp::run(const Program& program) { exec_block(*program.body); }

void Interp::exec_block(const Block& block) {
    for (const auto& p : block.items) exec_pipeline(p);
}

void Interp::run_event(const Block& body) {
    struct Depth {
        int& d;
        explicit Depth(int& x) : d(x) { d++; }
        ~Depth() { d--; }
    } depth(m_event_depth);
    exec_block(body);
}

void Interp::exec_pipeline(const Pipeline& p) {
    m_current_loc = p.loc;
    std::string data;
    bool has_input = false;
    for (const auto& c : p.stages) {
        std::string out;
        run_command(c, has_input ? &data : nullptr, out);
        data = std::move(out);
        has_input = true;
    }
    if (p.redirect) {
        std::string path = expand(p.redirect->target);
        write_file(path, data, p.stages.back().name, p.redirect->target.loc);
    } else if (!data.empty()) {
        m_out << data;
    }
    after_command();
}

void Interp::run_command(const Command& c, const std::string* input, std::string& out) {
    m_current_loc = c.loc;
    const CommandSpec& s = *c.spec;
    if (s.needs_kernel) kernel(c.loc);
    Args args;
    args.loc = c.loc;
    bool words = s.syntax == Syntax::Words ||
                 (!c.expr && (s.syntax == Syntax::ExprOrWords || s.syntax == Syntax::Let));
    if (words) args = m_registry.parse_args(s, expand_args(c), c.loc);
    Invocation inv{c, std::move(args), input != nullptr, input ? *input : std::string(), out};
    // Pages (with page_owner=on) and slab objects the command allocates
    // name it in their stack.
    std::optional<PageOwnerSite> site;
    std::optional<SlabTrackSite> slab_site;
    if (m_kernel && m_kernel->page_owner) site.emplace(*m_kernel, s.name + " [scenario]");
    if (m_kernel) slab_site.emplace(*m_kernel, s.name + " [scenario]");
    s.run(*this, inv);
}

void Interp::after_command() {
    // --check (and MMSIM_CHECK, see boot()) validates the whole machine
    // after every command.
    if (m_cfg.check && m_kernel) m_kernel->validate();
}

std::vector<Arg> Interp::expand_args(const Command& c) {
    std::vector<Arg> out;
    out.reserve(c.args.size());
    for (const auto& w : c.args) out.push_back(Arg{expand(w), w.loc});
    return out;
}

std::string Interp::expand(const Word& w) {
    std::string s;
    for (const auto& part : w.parts) {
        switch (part.kind) {
            case WordPart::Kind::Literal:
                s += part.text;
                break;
            case WordPart::Kind::Var: {
                const std::string* v = var(part.text);
                if (!v)
                    throw InputError(
                        part.loc,
                        fmt::format("variable '${}' is not set yet (its `let` has not run)", part.text));
                s += *v;
                break;
            }
            case WordPart::Kind::Arith:
                s += format_value(eval(*part.expr), false);
                break;
        }
    }
    return s;
}

const std::string* Interp::var(const std::string& name) const {
    auto it = m_vars.find(name);
    return it == m_vars.end() ? nullptr : &it->second;
}

std::set<std::string> Interp::var_names() const {
    std::set<std::string> names;
    for (const auto& [k, _] : m_vars) names.insert(k);
    return names;
}

Value Interp::eval(const Expr& e, std::vector<Comparison>* trace) {
    m_file_cache.clear();
    Env env(*this);
    Value v = scenario::eval(e, env, trace);
    m_file_cache.clear();
    return v;
}

Kernel& Interp::kernel(const SourceLoc& loc) {
    if (!m_kernel)
        throw InputError(
            loc,
            "no machine is booted yet: start with a boot line (for example `boot ram=1G cpus=2`) "
            "or run with --machine FILE");
    return *m_kernel;
}

void Interp::boot(MachineDesc desc, const SourceLoc& loc) {
    if (m_kernel)
        throw InputError(loc, fmt::format("the machine is already booted (by {}); a scenario boots once",
                                          m_boot_loc.str()));
    if (m_cfg.seed) desc.seed = *m_cfg.seed;
    auto k = boot_kernel(desc);
    // MMSIM_CHECK (set by every test) makes boot_kernel() turn on the
    // allocator's after-every-operation validation, which walks every free
    // page and would make long scenarios quadratic. A scenario checks at
    // its own grain instead: the whole machine after every command, as
    // --check does.
    if (k->debug_vm) {
        k->debug_vm = false;
        m_cfg.check = true;
    }
    if (m_cfg.check) k->validate();
    m_kernel = std::move(k);
    m_boot_loc = loc;
}

void Interp::halt() {
    m_kernel.reset();
    m_pending_at.clear();
    m_handles.clear();
}

std::string Interp::resolve_input_path(const std::string& path) const {
    fs::path p(path);
    if (p.is_absolute() || m_cfg.scenario_file.empty()) return path;
    fs::path beside = fs::path(m_cfg.scenario_file).parent_path() / p;
    std::error_code ec;
    if (fs::exists(beside, ec)) return beside.string();
    return path;
}

std::string Interp::read_file(const std::string& path, const SourceLoc& loc, const std::string& prefix) {
    Kernel& k = kernel(loc);
    auto r = proc_read(k, path);
    if (!r) {
        throw InputError(
            loc, fmt::format("{}{}: {}", prefix.empty() ? "" : prefix + ": ", path, errno_text(r.err())));
    }
    return std::move(r.value());
}

const std::string& Interp::read_file_cached(const std::string& path, const SourceLoc& loc) {
    auto it = m_file_cache.find(path);
    if (it != m_file_cache.end()) return it->second;
    return m_file_cache.emplace(path, read_file(path, loc, "")).first->second;
}

void Interp::write_file(const std::string& path, const std::string& data, const std::string& command,
                        const SourceLoc& loc) {
    if (path == "/dev/null") return;
    if (path.rfind("/proc/", 0) != 0 && path.rfind("/sys/", 0) != 0)
        throw InputError(
            loc, fmt::format("cannot write '{}': a scenario writes only to the simulated /proc and /sys "
                             "(and /dev/null)",
                             path));
    Kernel& k = kernel(loc);
    auto r = proc_write(k, path, data);
    if (r) return;
    Errno e = r.err();
    std::string detail;
    const std::string vm_dir = "/proc/sys/vm/";
    if (path.rfind(vm_dir, 0) == 0) {
        std::string name = path.substr(vm_dir.size());
        const SysctlInfo* info = sysctl_vm_find(name);
        if (info && e == Errno::INVAL && !info->range.empty())
            detail = fmt::format(" (vm.{} takes {})", name, info->range);
        if (!info && e == Errno::NOENT) {
            std::string hint = sysctl_vm_suggest(name);
            if (!hint.empty()) detail = fmt::format(" (did you mean {}{}?)", vm_dir, hint);
        }
    }
    if (detail.empty() && !r.error().message.empty()) detail = fmt::format(" ({})", r.error().message);
    bool open_error = e == Errno::NOENT || e == Errno::ACCES || e == Errno::ISDIR || e == Errno::PERM ||
                      e == Errno::ROFS || e == Errno::NOTDIR;
    if (open_error) throw InputError(loc, fmt::format("{}: {}{}", path, errno_text(e), detail));
    throw InputError(loc, fmt::format("{}: write error: {}{}", command, errno_text(e), detail));
}

void Interp::message(const std::string& line) {
    m_out.flush();
    m_err << line << "\n";
    m_err.flush();
}

void Interp::expectation_failed(const SourceLoc& loc, const std::string& message_text) {
    m_failures++;
    message(fmt::format("{}: {}", loc.str(), message_text));
}

void Interp::report_unrun_events() {
    if (m_pending_at.empty() || !m_kernel) return;
    std::vector<SourceLoc> locs;
    for (const auto& [_, loc] : m_pending_at) locs.push_back(loc);
    std::sort(locs.begin(), locs.end(), [](const SourceLoc& a, const SourceLoc& b) {
        return std::tie(a.line, a.col) < std::tie(b.line, b.col);
    });
    for (const auto& loc : locs)
        message(fmt::format("{}: note: this block never ran: the scenario ended at {} of simulated time",
                            loc.str(), format_duration(m_kernel->clock.now())));
}

void Interp::snapshot(const std::string& dir, const SourceLoc& loc) {
    Kernel& k = kernel(loc);
    if (dir.empty()) throw InputError(loc, "snapshot needs a directory name");
    std::error_code ec;
    fs::path d(dir);
    if (fs::exists(d, ec) &&
        !(fs::is_directory(d, ec) && (fs::is_empty(d, ec) || fs::exists(d / "proc", ec))))
        throw InputError(
            loc, fmt::format("snapshot: '{}' exists and is not a snapshot; choose another directory", dir));
    std::string target = dir;
    while (target.size() > 1 && target.back() == '/') target.pop_back();
    if (m_cfg.stage_snapshots)
        target =
            fmt::format("{}.mmsim-staging-{}-{}", target, static_cast<long>(::getpid()), ++m_snapshot_seq);
    try {
        write_snapshot(k, target);
    } catch (const std::exception& e) {
        throw InputError(loc, fmt::format("snapshot: cannot write '{}': {}", dir, e.what()));
    }
    if (m_cfg.stage_snapshots) m_staged.push_back(Staged{target, dir});
}

void Interp::commit_snapshots() {
    std::vector<Staged> staged = std::move(m_staged);
    m_staged.clear();
    for (std::size_t i = 0; i < staged.size(); i++) {
        const auto& s = staged[i];
        std::error_code ec;
        fs::path dest(s.dest);
        if (fs::exists(dest, ec)) fs::remove_all(dest, ec);
        fs::rename(s.staging, dest, ec);
        if (ec) {
            for (std::size_t j = i; j < staged.size(); j++) {
                std::error_code ignore;
                fs::remove_all(staged[j].staging, ignore);
            }
            throw InputError(SourceLoc{s.dest, 0, 0},
                             fmt::format("cannot move the snapshot into place: {}", ec.message()));
        }
    }
}

void Interp::discard_snapshots() {
    for (const auto& s : m_staged) {
        std::error_code ec;
        fs::remove_all(s.staging, ec);
    }
    m_staged.clear();
}

// ---- running a scenario ---------------------------------------------------------

namespace {

bool boots_itself(const Program& p) {
    for (const auto& item : p.body->items)
        for (const auto& c : item.stages)
            if (c.name == "boot") return true;
    return false;
}

}  // namespace

RunResult run_scenario_text(std::string_view text, const std::string& file, const RunOptions& opts) {
    std::ostream& out = opts.out ? *opts.out : std::cout;
    std::ostream& err = opts.err ? *opts.err : std::cerr;
    RunResult result;
    std::unique_ptr<Interp> in;
    auto report = [&](const std::string& msg) {
        out.flush();
        err << msg << "\n";
        err.flush();
    };
    try {
        Program program = parse_program(text, file, builtin_registry());
        std::optional<MachineDesc> machine;
        if (!opts.machine_file.empty()) machine = load_machine_file(opts.machine_file);
        in = std::make_unique<Interp>(builtin_registry(), out, err,
                                      InterpConfig{file, opts.seed, opts.check, /*stage_snapshots=*/true});
        if (machine && !boots_itself(program))
            in->boot(std::move(*machine), SourceLoc{opts.machine_file, 0, 0});
        std::optional<int> exit_status;
        try {
            in->run(program);
        } catch (const Interp::Exit& x) {
            exit_status = x.status;
        }
        if (!opts.snapshot_dir.empty()) {
            if (!in->booted())
                throw InputError(SourceLoc{file, 0, 0},
                                 "--snapshot needs a booted machine, and this scenario "
                                 "never booted one");
            in->snapshot(opts.snapshot_dir, SourceLoc{file, 0, 0});
        }
        in->report_unrun_events();
        in->commit_snapshots();
        result.expectations_failed = in->failures();
        result.status = exit_status ? *exit_status : (in->failures() ? 1 : 0);
    } catch (const InputError& e) {
        report(e.what());
        result.status = 2;
    } catch (const KernelPanic& e) {
        SourceLoc where = in ? in->current_loc() : SourceLoc{file, 0, 0};
        report(fmt::format("{}: the simulated kernel panicked: {}", where.str(), e.what()));
        result.status = 1;
    } catch (const std::exception& e) {
        SourceLoc where = in ? in->current_loc() : SourceLoc{file, 0, 0};
        report(fmt::format("{}: internal error (a simulator bug): {}", where.str(), e.what()));
        result.status = 3;
    }
    if (in) {
        result.expectations_failed = in->failures();
        in->discard_snapshots();
    }
    out.flush();
    return result;
}

RunResult run_scenario_file(const std::string& path, const RunOptions& opts) {
    std::ifstream f(path, std::ios::binary);
    if (!f || fs::is_directory(path)) {
        int e = errno;
        std::ostream& err = opts.err ? *opts.err : std::cerr;
        std::string why = fs::is_directory(path) ? "it is a directory" : std::strerror(e ? e : ENOENT);
        err << InputError(SourceLoc{path, 0, 0}, fmt::format("cannot read the scenario: {}", why)).what()
            << "\n";
        return RunResult{2, 0};
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    return run_scenario_text(ss.str(), path, opts);
}

// ---- the interactive shell --------------------------------------------------------

Shell::Shell(const RunOptions& opts)
    : m_out(opts.out ? opts.out : &std::cout), m_err(opts.err ? opts.err : &std::cerr) {
    m_interp = std::make_unique<Interp>(builtin_registry(), *m_out, *m_err,
                                        InterpConfig{"", opts.seed, opts.check, /*stage_snapshots=*/false});
    if (!opts.machine_file.empty()) {
        try {
            m_interp->boot(load_machine_file(opts.machine_file), SourceLoc{opts.machine_file, 0, 0});
        } catch (const InputError& e) {
            m_interp->message(e.what());
            m_status = 2;
        }
    }
}

Shell::~Shell() = default;

bool Shell::feed_line(const std::string& raw_line) {
    if (m_done) return false;
    std::string line = raw_line;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    m_line++;
    if (m_buffer.empty()) {
        m_buffer_line = m_line;
        if (line.find_first_not_of(" \t") == std::string::npos) return true;
    }
    m_buffer += line;
    m_buffer += '\n';
    std::string text = m_buffer;
    ParseOptions po;
    po.known_vars = m_interp->var_names();
    po.first_line = m_buffer_line;
    Program program;
    try {
        program = parse_program(text, "<shell>", builtin_registry(), po);
    } catch (const IncompleteInput&) {
        return true;  // wait for the rest of the block
    } catch (const InputError& e) {
        m_buffer.clear();
        m_interp->message(e.what());
        m_status = std::max(m_status, 2);
        return true;
    }
    m_buffer.clear();
    int failures_before = m_interp->failures();
    try {
        m_interp->run(program);
    } catch (const Interp::Exit& x) {
        m_done = true;
        if (x.status) m_status = *x.status;
    } catch (const InputError& e) {
        m_interp->message(e.what());
        m_status = std::max(m_status, 2);
    } catch (const KernelPanic& e) {
        m_interp->message(
            fmt::format("{}: the simulated kernel panicked: {}; the machine has halted (`boot` starts "
                        "a new one)",
                        m_interp->current_loc().str(), e.what()));
        m_interp->halt();
        m_status = std::max(m_status, 1);
    } catch (const std::exception& e) {
        m_interp->message(
            fmt::format("{}: internal error (a simulator bug): {}", m_interp->current_loc().str(), e.what()));
        m_status = std::max(m_status, 3);
    }
    if (m_interp->failures() > failures_before && !m_done) m_status = std::max(m_status, 1);
    m_out->flush();
    return !m_done;
}

int Shell::run(std::istream& in, bool prompt) {
    std::string line;
    while (!m_done) {
        if (prompt) *m_out << (needs_more() ? "...> " : "mmsim> ") << std::flush;
        if (!std::getline(in, line)) break;
        if (!feed_line(line)) break;
    }
    if (!m_done && needs_more()) {
        try {
            ParseOptions po;
            po.known_vars = m_interp->var_names();
            po.first_line = m_buffer_line;
            (void)parse_program(m_buffer, "<shell>", builtin_registry(), po);
        } catch (const InputError& e) {
            m_interp->message(e.what());
            m_status = std::max(m_status, 2);
        }
        m_buffer.clear();
    }
    if (prompt && !m_done) *m_out << "\n";
    m_out->flush();
    return m_status;
}

}  // namespace mmsim::scenario
