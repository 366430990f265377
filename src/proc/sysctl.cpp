// The /proc/sys/vm table.
//
// Each file under /proc/sys/vm is a ctl_table entry in the kernel: a name,
// a mode, a pointer to the variable and a handler. Most handlers are one of
// a few generic parsers from kernel/sysctl.c:
//
//   proc_dointvec           an int; any value that fits
//   proc_dointvec_minmax    an int within [extra1, extra2]
//   proc_doulongvec_minmax  an unsigned long within [extra1, extra2]; a
//                           minus sign is refused
//   proc_dointvec_jiffies   an int of seconds, kept in jiffies
//   proc_dostring           a string
//
// The parsers share their rules, which this file follows: leading blanks
// are skipped; a number is read with base 0 (so "0x10" is 16 and "020" is
// 16 too); it must be followed by a blank, a newline or the end; a write
// with no number at all ("\n") is EINVAL; for a single value, whatever
// follows the first number is ignored; a vector takes up to its length in
// values and leaves the rest unchanged. Any refused value is EINVAL and
// changes nothing.
//
// A handler may do more after a successful write, and the kernel's
// follow-ups are reproduced: min_free_kbytes and watermark_scale_factor
// recompute every zone's watermarks, lowmem_reserve_ratio the protection
// arrays (a ratio below 1 becomes 0), percpu_pagelist_high_fraction the
// per-CPU list sizes (refusing 1..7), the dirty_* pairs and the
// overcommit_* pairs each zero their twin, memfd_noexec may only be raised.
//
// The valid ranges were checked one by one on a real 6.18 kernel by writing
// boundary values (see docs/sysctl.md).
#include "proc/sysctl.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <functional>

#include "mm/compaction.h"
#include "mm/khugepaged.h"
#include "mm/page_alloc.h"

namespace mmsim {

namespace {

// CONFIG_HZ of the modelled kernel: the jiffies handlers refuse more than
// INT_MAX / HZ seconds.
constexpr long kHz = 250;

enum class Kind { Int, ULong, IntVec, Jiffies, String, WriteOnly, Bool };

struct Entry {
    SysctlInfo info;
    Kind kind = Kind::Int;
    long min = LONG_MIN;  // inclusive bounds for Int/ULong/Jiffies
    long max = LONG_MAX;
    std::function<long(const Kernel&)> get;          // scalars
    std::function<Result<void>(Kernel&, long)> set;  // scalars, after the range check
    std::function<std::string(const Kernel&)> get_text;
    std::function<Result<void>(Kernel&, std::string_view)> set_text;
};

// ---- the generic parsers ----------------------------------------------------

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

struct Cursor {
    std::string_view s;
    std::size_t i = 0;
    void skip_blanks() {
        while (i < s.size() && is_blank(s[i])) i++;
    }
    bool done() const { return i >= s.size(); }
};

// proc_get_long(): an optional '-', then digits in base 0, then a blank or
// the end. Returns false for anything else.
bool get_long(Cursor& c, bool& neg, unsigned long long& val) {
    neg = false;
    if (c.done()) return false;
    if (c.s[c.i] == '-') {
        neg = true;
        c.i++;
    }
    if (c.done() || !std::isdigit(static_cast<unsigned char>(c.s[c.i]))) return false;
    std::string digits;
    while (!c.done() && std::isalnum(static_cast<unsigned char>(c.s[c.i]))) digits += c.s[c.i++];
    if (!c.done() && !is_blank(c.s[c.i])) return false;
    errno = 0;
    char* end = nullptr;
    val = std::strtoull(digits.c_str(), &end, 0);
    if (errno || *end != '\0') return false;
    return true;
}

// Reads up to `max_values` signed ints (proc_dointvec's loop).
Result<std::vector<long>> parse_ints(std::string_view text, std::size_t max_values) {
    Cursor c{text};
    std::vector<long> out;
    while (out.size() < max_values) {
        c.skip_blanks();
        if (c.done()) break;
        bool neg;
        unsigned long long v;
        if (!get_long(c, neg, v)) return make_error(Errno::INVAL, "expected an integer");
        if (neg ? v > static_cast<unsigned long long>(INT_MAX) + 1
                : v > static_cast<unsigned long long>(INT_MAX))
            return make_error(Errno::INVAL, "value does not fit an int");
        out.push_back(neg ? -static_cast<long>(v) : static_cast<long>(v));
    }
    if (out.empty()) return make_error(Errno::INVAL, "expected an integer");
    return out;
}

Result<unsigned long> parse_ulong(std::string_view text) {
    Cursor c{text};
    c.skip_blanks();
    bool neg;
    unsigned long long v;
    if (c.done() || !get_long(c, neg, v)) return make_error(Errno::INVAL, "expected an unsigned integer");
    if (neg) return make_error(Errno::INVAL, "negative values are refused");
    return static_cast<unsigned long>(v);
}

std::string range_text(long min, long max, Kind kind) {
    bool has_min = min != LONG_MIN && !(kind == Kind::ULong && min == 0);
    bool has_max = max != LONG_MAX;
    if (has_min && has_max) return fmt::format("{}..{}", min, max);
    if (has_min) return fmt::format("an integer >= {}", min);
    if (has_max) return fmt::format("an integer <= {}", max);
    return kind == Kind::ULong ? "an unsigned integer" : "an integer";
}

// ---- building the table ----------------------------------------------------

template <class F>
Entry int_entry(const char* name, long min, long max, F field, unsigned mode = 0644) {
    Entry e;
    e.info = {name, mode, range_text(min, max, Kind::Int)};
    e.kind = Kind::Int;
    e.min = min;
    e.max = max;
    e.get = [field](const Kernel& k) { return static_cast<long>(field(const_cast<Kernel&>(k))); };
    e.set = [field](Kernel& k, long v) {
        field(k) = static_cast<std::remove_reference_t<decltype(field(k))>>(v);
        return Result<void>();
    };
    return e;
}

template <class F>
Entry ulong_entry(const char* name, unsigned long min, F field, unsigned mode = 0644) {
    Entry e;
    e.info = {name, mode, range_text(static_cast<long>(min), LONG_MAX, Kind::ULong)};
    e.kind = Kind::ULong;
    e.min = static_cast<long>(min);
    e.get = [field](const Kernel& k) { return static_cast<long>(field(const_cast<Kernel&>(k))); };
    e.set = [field](Kernel& k, long v) {
        field(k) = static_cast<unsigned long>(v);
        return Result<void>();
    };
    return e;
}

#define VM(member) \
    [](Kernel & k) -> auto& { return k.vm.member; }

Entry with_after(Entry e, std::function<void(Kernel&)> after) {
    auto set = e.set;
    e.set = [set, after](Kernel& k, long v) {
        auto r = set(k, v);
        if (r) after(k);
        return r;
    };
    return e;
}

std::vector<Entry> build_table() {
    std::vector<Entry> t;
    constexpr long kIntMax = INT_MAX;

    t.push_back(ulong_entry("admin_reserve_kbytes", 0, VM(admin_reserve_kbytes)));
    {
        // A write of 1 compacts every zone; nothing else is accepted.
        Entry e = int_entry("compact_memory", 1, 1, VM(compact_memory), 0200);
        e.kind = Kind::WriteOnly;
        e = with_after(e, [](Kernel& k) {
            if (reclaim_hooks(k).compact_nodes) reclaim_hooks(k).compact_nodes(k);
        });
        t.push_back(e);
    }
    t.push_back(int_entry("compact_unevictable_allowed", 0, 1, VM(compact_unevictable_allowed)));
    t.push_back(with_after(int_entry("compaction_proactiveness", 0, 100, VM(compaction_proactiveness)),
                           [](Kernel& k) { compaction_proactiveness_changed(k); }));
    t.push_back(int_entry("defrag_mode", 0, 1, VM(defrag_mode)));
    t.push_back(with_after(ulong_entry("dirty_background_bytes", 1, VM(dirty_background_bytes)),
                           [](Kernel& k) { k.vm.dirty_background_ratio = 0; }));
    t.push_back(with_after(int_entry("dirty_background_ratio", 0, 100, VM(dirty_background_ratio)),
                           [](Kernel& k) { k.vm.dirty_background_bytes = 0; }));
    t.push_back(with_after(ulong_entry("dirty_bytes", 2 * PAGE_SIZE, VM(dirty_bytes)),
                           [](Kernel& k) { k.vm.dirty_ratio = 0; }));
    t.push_back(int_entry("dirty_expire_centisecs", 0, kIntMax, VM(dirty_expire_centisecs)));
    t.push_back(with_after(int_entry("dirty_ratio", 0, 100, VM(dirty_ratio)),
                           [](Kernel& k) { k.vm.dirty_bytes = 0; }));
    t.push_back(int_entry("dirty_writeback_centisecs", LONG_MIN, LONG_MAX, VM(dirty_writeback_centisecs)));
    t.push_back(int_entry("dirtytime_expire_seconds", 0, kIntMax, VM(dirtytime_expire_seconds)));
    {
        // 1 drops the page cache, 2 slab objects, 3 both; 4 silences the
        // log line. The 6.18 handler takes 1..63.
        Entry e = int_entry("drop_caches", 1, 63, VM(drop_caches), 0200);
        e.kind = Kind::WriteOnly;
        e = with_after(e, [](Kernel& k) {
            int v = k.vm.drop_caches;
            if (reclaim_hooks(k).drop_caches) reclaim_hooks(k).drop_caches(k, v & 3);
            if (!(v & 4))
                k.log.printk(k.clock.now(), LogLevel::Info,
                             fmt::format("{} ({}): drop_caches: {}", k.current_comm, k.current_pid, v));
        });
        t.push_back(e);
    }
    t.push_back(int_entry("extfrag_threshold", 0, 1000, VM(extfrag_threshold)));
    {
        Entry e = int_entry("hugetlb_optimize_vmemmap", LONG_MIN, LONG_MAX, VM(hugetlb_optimize_vmemmap));
        e.kind = Kind::Bool;
        t.push_back(e);
    }
    t.push_back(int_entry("hugetlb_shm_group", LONG_MIN, LONG_MAX, VM(hugetlb_shm_group)));
    {
        Entry e = int_entry("laptop_mode", LONG_MIN, LONG_MAX, VM(laptop_mode));
        e.kind = Kind::Jiffies;
        t.push_back(e);
    }
    t.push_back(int_entry("legacy_va_layout", 0, kIntMax, VM(legacy_va_layout)));
    {
        Entry e;
        e.info = {"lowmem_reserve_ratio", 0644, "one integer per zone"};
        e.kind = Kind::IntVec;
        t.push_back(e);
    }
    t.push_back(int_entry("max_map_count", 0, kIntMax, VM(max_map_count)));
    {
        // A pid namespace's memfd_noexec can be raised but never lowered.
        Entry e = int_entry("memfd_noexec", 0, 2, VM(memfd_noexec));
        e.info.range = "0..2, not below the current value";
        auto set = e.set;
        e.set = [set](Kernel& k, long v) -> Result<void> {
            if (v < k.vm.memfd_noexec) return make_error(Errno::INVAL, "memfd_noexec may only be raised");
            return set(k, v);
        };
        t.push_back(e);
    }
    t.push_back(
        with_after(int_entry("min_free_kbytes", 0, kIntMax, VM(min_free_kbytes)), min_free_kbytes_changed));
    t.push_back(int_entry("min_slab_ratio", 0, 100, VM(min_slab_ratio)));
    t.push_back(int_entry("min_unmapped_ratio", 0, 100, VM(min_unmapped_ratio)));
    t.push_back(ulong_entry("mmap_min_addr", 0, VM(mmap_min_addr)));
    t.push_back(int_entry("mmap_rnd_bits", 28, 32, VM(mmap_rnd_bits), 0600));
    t.push_back(int_entry("mmap_rnd_compat_bits", 8, 16, VM(mmap_rnd_compat_bits), 0600));
    for (const char* name : {"nr_hugepages", "nr_hugepages_mempolicy"}) {
        // The hugetlb pool is filled by allocating huge pages from the buddy
        // allocator; until a hugetlb subsystem registers itself, only the
        // empty pool can be asked for.
        Entry e = ulong_entry(name, 0, VM(nr_hugepages));
        e.set = [](Kernel& k, long v) -> Result<void> {
            auto& h = reclaim_hooks(k);
            if (!h.set_nr_hugepages) {
                if (v == 0) return {};
                return make_error(Errno::OPNOTSUPP, "the hugetlb pool is not modelled by this build");
            }
            auto r = h.set_nr_hugepages(k, static_cast<uint64_t>(v));
            if (!r) return r.error();
            k.vm.nr_hugepages = *r;
            return {};
        };
        t.push_back(e);
    }
    t.push_back(ulong_entry("nr_overcommit_hugepages", 0, VM(nr_overcommit_hugepages)));
    t.push_back(int_entry("numa_stat", 0, 1, VM(numa_stat)));
    {
        // Zonelist ordering modes are gone; the file still reads "Node" and
        // takes any word starting with d/D/n/N, refusing the rest.
        Entry e;
        e.info = {"numa_zonelist_order", 0644, "Node or Default"};
        e.kind = Kind::String;
        e.get_text = [](const Kernel& k) { return k.vm.numa_zonelist_order + "\n"; };
        e.set_text = [](Kernel& k, std::string_view s) -> Result<void> {
            if (s.empty() || !(s[0] == 'd' || s[0] == 'D' || s[0] == 'n' || s[0] == 'N'))
                return make_error(Errno::INVAL, "expected Node or Default");
            k.log.printk(k.clock.now(), LogLevel::Warning, "numa_zonelist_order has been deprecated");
            return {};
        };
        t.push_back(e);
    }
    t.push_back(int_entry("oom_dump_tasks", LONG_MIN, LONG_MAX, VM(oom_dump_tasks)));
    t.push_back(int_entry("oom_kill_allocating_task", LONG_MIN, LONG_MAX, VM(oom_kill_allocating_task)));
    t.push_back(with_after(ulong_entry("overcommit_kbytes", 0, VM(overcommit_kbytes)),
                           [](Kernel& k) { k.vm.overcommit_ratio = 0; }));
    t.push_back(int_entry("overcommit_memory", 0, 2, VM(overcommit_memory)));
    t.push_back(with_after(int_entry("overcommit_ratio", LONG_MIN, LONG_MAX, VM(overcommit_ratio)),
                           [](Kernel& k) { k.vm.overcommit_kbytes = 0; }));
    t.push_back(int_entry("page-cluster", 0, 31, VM(page_cluster)));
    t.push_back(int_entry("page_lock_unfairness", 0, kIntMax, VM(page_lock_unfairness)));
    t.push_back(int_entry("panic_on_oom", 0, 2, VM(panic_on_oom)));
    {
        // 0 sizes the lists from the zone's low watermark; otherwise the
        // fraction must be at least MIN_PERCPU_PAGELIST_HIGH_FRACTION (8).
        Entry e = int_entry("percpu_pagelist_high_fraction", 0, kIntMax, VM(percpu_pagelist_high_fraction));
        e.info.range = "0, or an integer >= 8";
        auto set = e.set;
        e.set = [set](Kernel& k, long v) -> Result<void> {
            if (v != 0 && v < 8) return make_error(Errno::INVAL, "a fraction below 8 is refused");
            int old = k.vm.percpu_pagelist_high_fraction;
            auto r = set(k, v);
            if (r && old != k.vm.percpu_pagelist_high_fraction) percpu_pagelist_high_fraction_changed(k);
            return r;
        };
        t.push_back(e);
    }
    t.push_back(int_entry("shrink_inodes_with_pagecache", 0, 1, VM(shrink_inodes_with_pagecache)));
    {
        Entry e = int_entry("stat_interval", LONG_MIN, LONG_MAX, VM(stat_interval));
        e.kind = Kind::Jiffies;
        t.push_back(e);
    }
    {
        // Writing folds every CPU's pending counter deltas into the global
        // counters (vmstat_refresh); mmsim's counters are always folded, so
        // the write only has to be a number. Reading gives nothing.
        Entry e;
        e.info = {"stat_refresh", 0600, "an integer"};
        e.kind = Kind::String;
        e.get_text = [](const Kernel&) { return std::string(); };
        e.set_text = [](Kernel&, std::string_view s) -> Result<void> {
            auto r = parse_ints(s, 1);
            if (!r) return r.error();
            return {};
        };
        t.push_back(e);
    }
    t.push_back(int_entry("swappiness", 0, 200, VM(swappiness)));
    t.push_back(int_entry("unprivileged_userfaultfd", 0, 1, VM(unprivileged_userfaultfd)));
    t.push_back(ulong_entry("user_reserve_kbytes", 0, VM(user_reserve_kbytes)));
    t.push_back(int_entry("vfs_cache_pressure", 0, kIntMax, VM(vfs_cache_pressure)));
    t.push_back(int_entry("vfs_cache_pressure_denom", 100, kIntMax, VM(vfs_cache_pressure_denom)));
    t.push_back(int_entry("watermark_boost_factor", 0, kIntMax, VM(watermark_boost_factor)));
    t.push_back(with_after(int_entry("watermark_scale_factor", 1, 3000, VM(watermark_scale_factor)),
                           watermark_scale_factor_changed));
    t.push_back(int_entry("zone_reclaim_mode", 0, kIntMax, VM(zone_reclaim_mode)));
    return t;
}

#undef VM

const std::vector<Entry>& table() {
    static const std::vector<Entry> t = build_table();
    return t;
}

const Entry* find_entry(std::string_view name) {
    for (const auto& e : table())
        if (e.info.name == name) return &e;
    return nullptr;
}

Result<void> write_lowmem_reserve_ratio(Kernel& k, std::string_view text) {
    auto vals = parse_ints(text, k.nr_zone_types());
    if (!vals) return vals.error();
    for (std::size_t i = 0; i < vals->size(); i++) {
        long v = (*vals)[i];
        k.vm.lowmem_reserve_ratio[i] = v < 1 ? 0 : static_cast<int>(v);
    }
    lowmem_reserve_ratio_changed(k);
    return {};
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); j++) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); i++) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); j++)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

}  // namespace

const std::vector<SysctlInfo>& sysctl_vm_table() {
    static const std::vector<SysctlInfo> infos = [] {
        std::vector<SysctlInfo> v;
        for (const auto& e : table()) v.push_back(e.info);
        return v;
    }();
    return infos;
}

const SysctlInfo* sysctl_vm_find(std::string_view name) {
    const Entry* e = find_entry(name);
    return e ? &e->info : nullptr;
}

Result<std::string> sysctl_vm_read(const Kernel& k, std::string_view name) {
    const Entry* e = find_entry(name);
    if (!e) return make_error(Errno::NOENT, fmt::format("no such sysctl vm.{}", name));
    if (!(e->info.mode & 0444)) return make_error(Errno::ACCES, fmt::format("vm.{} is write-only", name));
    switch (e->kind) {
        case Kind::IntVec: {
            std::string s;
            for (unsigned i = 0; i < k.nr_zone_types(); i++)
                s += fmt::format("{}{}", i ? "\t" : "", k.vm.lowmem_reserve_ratio[i]);
            return s + "\n";
        }
        case Kind::String:
            return e->get_text(k);
        case Kind::ULong:
            return fmt::format("{}\n", static_cast<unsigned long>(e->get(k)));
        default:
            return fmt::format("{}\n", e->get(k));
    }
}

Result<void> sysctl_vm_write(Kernel& k, std::string_view name, std::string_view text) {
    const Entry* e = find_entry(name);
    if (!e) return make_error(Errno::NOENT, fmt::format("no such sysctl vm.{}", name));
    if (!(e->info.mode & 0222)) return make_error(Errno::ACCES, fmt::format("vm.{} is read-only", name));
    auto refuse = [&](const char* why) {
        return make_error(Errno::INVAL, fmt::format("{}; vm.{} takes {}", why, name, e->info.range));
    };
    switch (e->kind) {
        case Kind::IntVec:
            return write_lowmem_reserve_ratio(k, text);
        case Kind::String:
            return e->set_text(k, text);
        case Kind::ULong: {
            auto v = parse_ulong(text);
            if (!v) return refuse("not an unsigned integer");
            if (*v > static_cast<unsigned long>(LONG_MAX) || static_cast<long>(*v) < e->min)
                return refuse("out of range");
            return e->set(k, static_cast<long>(*v));
        }
        case Kind::Jiffies: {
            auto v = parse_ints(text, 1);
            if (!v) return refuse("not an integer");
            if ((*v)[0] > INT_MAX / kHz) return refuse("too many seconds");
            return e->set(k, (*v)[0]);
        }
        case Kind::Bool: {
            auto v = parse_ints(text, 1);
            if (!v) return refuse("not an integer");
            return e->set(k, (*v)[0] != 0 ? 1 : 0);
        }
        case Kind::Int:
        case Kind::WriteOnly: {
            auto v = parse_ints(text, 1);
            if (!v) return refuse("not an integer");
            long x = (*v)[0];
            if (x < e->min || x > e->max) return refuse("out of range");
            return e->set(k, x);
        }
    }
    return refuse("unsupported");
}

std::string sysctl_vm_key(std::string_view dotted) {
    for (std::string_view prefix : {"vm.", "vm/", "/proc/sys/vm/"})
        if (dotted.substr(0, prefix.size()) == prefix) return std::string(dotted.substr(prefix.size()));
    return {};
}

std::string sysctl_vm_suggest(std::string_view name) {
    std::string best;
    std::size_t best_d = SIZE_MAX;
    for (const auto& e : table()) {
        std::size_t d = edit_distance(name, e.info.name);
        if (d < best_d) {
            best_d = d;
            best = e.info.name;
        }
    }
    return best_d <= std::max<std::size_t>(2, name.size() / 4) ? best : std::string();
}

}  // namespace mmsim
