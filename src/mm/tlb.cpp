// The TLB, and how Linux keeps it coherent (arch/x86/mm/tlb.c, 6.18).
//
// A TLB caches page-table walks: virtual page -> pfn, with the permission
// and dirty bits the PTE had. Each simulated CPU has two set-associative
// levels, indexed by the low bits of the virtual page number:
//
//   vpn --> L1 dTLB (64 entries, 4-way, 16 sets) --hit--> done
//             | miss
//           STLB (1536 entries, 12-way, 128 sets) --hit--> refill the L1
//             | miss
//           the caller walks the page table, then tlb_fill() fills both
//
//   entry: tag = vpn << 13 | PCID (empty = ~0), data = pfn << 8 | W U D NX
//
// Tagging by PCID lets a CR3 switch keep other address spaces' entries:
// they just do not match. Kernel mappings are global (PTI off) and match
// under every PCID. A write hitting an entry cached with D = 0 is not a
// hit (the CPU re-walks to set D); an access the cached bits refuse drops
// the entry and faults. The levels are non-inclusive.
//
// Linux gives each CPU TLB_NR_DYN_ASIDS = 6 slots, cpu_tlbstate.ctxs[asid]
// = {ctx_id, tlb_gen}, and writes PCID kern_pcid(asid) = asid + 1 to CR3.
// On a context switch (switch_mm_irqs_off()) choose_new_asid() reuses the
// slot holding the mm's ctx_id (never reused, so stale slots are harmless),
// flushing it only if its tlb_gen is behind the mm's; otherwise it evicts
// slot next_asid, round robin, and flushes.
//
// flush_tlb_mm_range() bumps the mm's tlb_gen, flushes here if the mm is
// loaded, and IPIs the other CPUs of mm_cpumask() that have it loaded and
// are not lazy (flush_tlb_multi() -> flush_tlb_func()); the rest catch up
// at their next switch to it. Up to tlb_single_page_flush_ceiling (33)
// strides go page by page (INVLPG), more flush the whole PCID. CPUs leave
// the cpumask lazily, when a flush finds them running something else.
// The CONFIG_DEBUG_TLBFLUSH vm events are counted where tlb.c counts them.
//
// The simulator's own speed: a user access that hits the L1 reads the hit
// cache (an exact, direct-mapped copy of L1 entries that every L1 change
// keeps true) instead of searching its set; wide sets compare the low
// halves of four tags at once; LRU sets of up to 16 ways keep their order
// of use in one word. None of it changes what is simulated: docs/tlb.md,
// "Speed".
// Not modelled: PTI's user PCIDs, AMD's INVLPGB and global ASIDs, 2 MiB
// TLB entries (huge mappings are cached as 4 KiB pieces), and the races
// tlb_gen guards against (mmsim runs one CPU at a time).
#include "mm/tlb.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace mmsim {

// ---------------------------------------------------------------------------
// Counters

TlbLookupCounts& TlbLookupCounts::operator+=(const TlbLookupCounts& o) {
    l1_hits += o.l1_hits;
    stlb_hits += o.stlb_hits;
    misses += o.misses;
    dirty_walks += o.dirty_walks;
    protection_faults += o.protection_faults;
    return *this;
}

TlbLookupCounts TlbLookupCounts::operator-(const TlbLookupCounts& o) const {
    TlbLookupCounts r;
    r.l1_hits = l1_hits - o.l1_hits;
    r.stlb_hits = stlb_hits - o.stlb_hits;
    r.misses = misses - o.misses;
    r.dirty_walks = dirty_walks - o.dirty_walks;
    r.protection_faults = protection_faults - o.protection_faults;
    return r;
}

TlbCounters& TlbCounters::operator+=(const TlbCounters& o) {
    lookups += o.lookups;
    fills += o.fills;
    mm_switches += o.mm_switches;
    switch_flushes += o.switch_flushes;
    ipis_sent += o.ipis_sent;
    for (unsigned i = 0; i < NR_TLB_EVENTS; i++) events[i] += o.events[i];
    return *this;
}

const char* tlb_event_name(TlbEvent e) {
    switch (e) {
        case TlbEvent::NR_TLB_REMOTE_FLUSH:
            return "nr_tlb_remote_flush";
        case TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED:
            return "nr_tlb_remote_flush_received";
        case TlbEvent::NR_TLB_LOCAL_FLUSH_ALL:
            return "nr_tlb_local_flush_all";
        case TlbEvent::NR_TLB_LOCAL_FLUSH_ONE:
            return "nr_tlb_local_flush_one";
    }
    return "?";
}

// ---------------------------------------------------------------------------
// CpuMask

bool CpuMask::any_but(unsigned cpu) const {
    for (size_t i = 0; i < m_bits.size(); i++) {
        uint64_t w = m_bits[i];
        if (i == cpu / 64) w &= ~(uint64_t{1} << (cpu % 64));
        if (w) return true;
    }
    return false;
}

unsigned CpuMask::weight() const {
    unsigned n = 0;
    for (uint64_t w : m_bits) n += static_cast<unsigned>(std::popcount(w));
    return n;
}

void CpuMask::or_with(const CpuMask& o) {
    if (o.m_bits.size() > m_bits.size()) m_bits.resize(o.m_bits.size());
    for (size_t i = 0; i < o.m_bits.size(); i++) m_bits[i] |= o.m_bits[i];
}

std::vector<unsigned> CpuMask::cpus() const {
    std::vector<unsigned> out;
    for (size_t i = 0; i < m_bits.size(); i++)
        for (uint64_t w = m_bits[i]; w; w &= w - 1)
            out.push_back(static_cast<unsigned>(i * 64 + std::countr_zero(w)));
    return out;
}

bool CpuMask::operator==(const CpuMask& o) const {
    size_t n = std::max(m_bits.size(), o.m_bits.size());
    for (size_t i = 0; i < n; i++) {
        uint64_t a = i < m_bits.size() ? m_bits[i] : 0, b = i < o.m_bits.size() ? o.m_bits[i] : 0;
        if (a != b) return false;
    }
    return true;
}

// ---------------------------------------------------------------------------
// One level of the hardware

void TlbLevel::configure(unsigned entries, unsigned nr_ways) {
    ways = nr_ways;
    unsigned nr_sets = entries / nr_ways;
    set_mask = nr_sets - 1;
    use_plru = std::has_single_bit(nr_ways);
    tag.assign(entries, TLB_TAG_INVALID);
    tag_low.assign(entries, static_cast<uint32_t>(TLB_TAG_INVALID));
    data.assign(entries, 0);
    plru.assign(use_plru ? nr_sets : 0, 0);
    use_order = !use_plru && nr_ways <= 16;
    // Any order will do for empty sets: ways 0, 1, 2, ... from the front.
    uint64_t identity = ~uint64_t{0};
    for (unsigned w = nr_ways; w-- > 0;) identity = identity << 4 | w;
    order.assign(use_order ? nr_sets : 0, identity);
    stamp.assign(use_plru || use_order ? 0 : entries, 0);
    path_mask.assign(nr_ways, 0);
    path_bits.assign(nr_ways, 0);
    clock = 0;
    if (!use_plru) return;
    // The tree of a 2^k-way set has nodes 1 .. ways-1 (heap order: node n
    // has children 2n and 2n+1, leaves ways .. 2*ways-1 are the ways). A
    // node's bit says which child the next victim is under (0 left, 1
    // right); using a way points every node on its path away from it.
    unsigned depth = static_cast<unsigned>(std::countr_zero(nr_ways));
    for (unsigned w = 0; w < nr_ways; w++) {
        unsigned node = 1;
        for (unsigned level = depth; level-- > 0;) {
            unsigned right = (w >> level) & 1;
            path_mask[w] |= uint64_t{1} << node;
            if (!right) path_bits[w] |= uint64_t{1} << node;
            node = 2 * node + right;
        }
    }
}

namespace {

// The first way with the lowest stamp among n (see victim()).
template <unsigned N>
unsigned lowest_stamp_fixed(const uint64_t* st) {
    unsigned best = 0;
    uint64_t lowest = st[0];
#pragma GCC unroll 64
    for (unsigned w = 1; w < N; w++) {
        const bool lower = st[w] < lowest;
        lowest = lower ? st[w] : lowest;
        best = lower ? w : best;
    }
    return best;
}

unsigned lowest_stamp(const uint64_t* st, unsigned n) {
    switch (n) {
        case 6:
            return lowest_stamp_fixed<6>(st);
        case 12:
            return lowest_stamp_fixed<12>(st);
        default: {
            unsigned best = 0;
            uint64_t lowest = st[0];
            for (unsigned w = 1; w < n; w++) {
                const bool lower = st[w] < lowest;
                lowest = lower ? st[w] : lowest;
                best = lower ? w : best;
            }
            return best;
        }
    }
}

}  // namespace

unsigned TlbLevel::victim(uint64_t set) const {
    if (use_plru) {
        const uint64_t* tags = tag.data() + set * ways;
        if (ways == 4) {
            // The L1's 4 ways: the first empty one, else follow the tree
            // (root bit 1 picks node 2 or 3, whose bit picks the way).
            const int empty = find_fixed<4>(tags, TLB_TAG_INVALID);
            if (empty >= 0) return static_cast<unsigned>(empty);
            const uint64_t tree = plru[set];
            const unsigned right = (tree >> 1) & 1;
            return 2 * right + static_cast<unsigned>((tree >> (2 + right)) & 1);
        }
        for (unsigned w = 0; w < ways; w++)
            if (tags[w] == TLB_TAG_INVALID) return w;
        unsigned node = 1;
        while (node < ways) node = 2 * node + static_cast<unsigned>((plru[set] >> node) & 1);
        return node - ways;
    }
    if (use_order) {
        // The first empty way, else the way at the back of the order.
        const int empty = find(set, TLB_TAG_INVALID);
        if (empty >= 0) return static_cast<unsigned>(empty);
        return static_cast<unsigned>((order[set] >> (4 * (ways - 1))) & 15);
    }
    // An empty way has stamp 0 and a valid one a stamp of at least 1, all
    // different (validate_tlb() checks both), so the first way with the
    // lowest stamp is the first empty way if there is one, else the least
    // recently used: one pass, no branch on the data.
    return lowest_stamp(stamp.data() + set * ways, ways);
}

int TlbLevel::age_rank(uint64_t set, unsigned way) const {
    const uint64_t* tags = tag.data() + set * ways;
    if (tags[way] == TLB_TAG_INVALID) return -1;
    int rank = 0;
    for (unsigned o = 0; o < ways; o++) {
        if (tags[o] == TLB_TAG_INVALID) {
            rank++;
        } else if (use_plru) {
            continue;  // tree PLRU keeps no full order
        } else if (use_order) {
            auto pos = [&](unsigned w) {
                for (unsigned i = 0; i < ways; i++)
                    if (((order[set] >> (4 * i)) & 15) == w) return i;
                return ways;
            };
            rank += pos(o) > pos(way);
        } else {
            rank += stamp[set * ways + o] < stamp[set * ways + way];
        }
    }
    return rank;
}

unsigned TlbLevel::insert(uint64_t set, uint64_t t, uint64_t d) {
    int found = find(set, t);
    unsigned w = found >= 0 ? static_cast<unsigned>(found) : victim(set);
    set_tag(set * ways + w, t);
    data[set * ways + w] = d;
    touch(set, w);
    return w;
}

void TlbLevel::invalidate_way(uint64_t set, unsigned way) {
    set_tag(set * ways + way, TLB_TAG_INVALID);
    data[set * ways + way] = 0;
    if (!use_plru && !use_order) stamp[set * ways + way] = 0;
}

bool TlbLevel::invalidate(uint64_t set, uint64_t t) {
    int w = find(set, t);
    if (w < 0) return false;
    invalidate_way(set, static_cast<unsigned>(w));
    return true;
}

unsigned TlbLevel::valid_entries() const {
    return static_cast<unsigned>(tag.size() - std::count(tag.begin(), tag.end(), TLB_TAG_INVALID));
}

namespace {

// Invalidates every valid entry for which drop(tag) is true.
template <class Pred>
void invalidate_where(TlbLevel& l, Pred drop) {
    for (size_t i = 0; i < l.tag.size(); i++)
        if (l.tag[i] != TLB_TAG_INVALID && drop(l.tag[i])) l.invalidate_way(i / l.ways, i % l.ways);
}

}  // namespace

// ---------------------------------------------------------------------------
// CpuTlb: the hardware of one CPU

CpuTlb::CpuTlb(unsigned cpu, std::shared_ptr<TlbShared> shared) : m_cpu(cpu), m_shared(std::move(shared)) {
    const TlbSpec& s = m_shared->spec;
    m_l1.configure(s.l1_entries, s.l1_ways);
    m_stlb.configure(s.l2_entries, s.l2_ways);
    m_l1_not_4way_plru = !(m_l1.ways == 4 && m_l1.use_plru && s.l1_entries <= 256);
    forget_all_l1();
    if (!m_l1_not_4way_plru)
        for (unsigned w = 0; w < 4; w++) {
            if (m_l1.path_mask[w] != kPlru4[w].mask || m_l1.path_bits[w] != kPlru4[w].bits)
                throw std::logic_error("TLB: the 4-way PLRU table differs from configure()'s");
            m_plru4_keep[w] = ~kPlru4[w].mask;
            m_plru4_set[w] = kPlru4[w].bits;
        }
    for (unsigned flags = 0; flags < 16; flags++)
        for (unsigned a = 0; a < 3; a++) {
            const Need n = need(static_cast<TlbAccess>(a), 0);
            if ((flags & n.mask) == n.bits) m_user_allows[flags] |= static_cast<uint8_t>(1u << a);
        }
    set_user_pcid(m_user_pcid);
}

TlbResult CpuTlb::lookup_stlb(uint64_t vpn, uint16_t pcid, TlbAccess access) {
    const uint64_t t = tlb_tag(vpn, pcid);
    const uint64_t set = m_stlb.set_of(vpn);
    const int w = m_stlb.find(set, t);
    if (w < 0) {
        counters.lookups.misses++;
        return {TlbOutcome::Miss, Pfn(0)};
    }
    const uint64_t d = m_stlb.data[set * m_stlb.ways + static_cast<unsigned>(w)];
    const Need n = need(access, pcid);
    if ((d & n.mask) != n.bits) return refused(vpn, pcid, access, d);
    m_stlb.touch(set, static_cast<unsigned>(w));
    l1_fill(vpn, pcid, t, d, true);  // lookup() just missed it in the L1
    counters.lookups.stlb_hits++;
    return {TlbOutcome::StlbHit, Pfn(d >> 8)};
}

TlbResult CpuTlb::refused(uint64_t vpn, uint16_t pcid, TlbAccess access, uint64_t d) {
    const Need n = need(access, pcid);
    if (access == TlbAccess::Write &&
        (d & n.mask & ~uint64_t{TLB_DIRTY}) == (n.bits & ~uint64_t{TLB_DIRTY})) {
        // Writable but clean: a page walk sets _PAGE_DIRTY (no fault).
        counters.lookups.dirty_walks++;
        return {TlbOutcome::DirtyUpdate, Pfn(d >> 8)};
    }
    // A #PF: the CPU invalidates the translations of the faulting address.
    const uint64_t t = tlb_tag(vpn, pcid);
    l1_invalidate(vpn, t);
    m_stlb.invalidate(m_stlb.set_of(vpn), t);
    counters.lookups.protection_faults++;
    return {TlbOutcome::Protection, Pfn(0)};
}

void CpuTlb::l1_fill(uint64_t vpn, uint16_t pcid, uint64_t t, uint64_t d, bool absent) {
    const uint64_t set = m_l1.set_of(vpn);
    const int found = absent ? -1 : m_l1.find(set, t);
    const unsigned w = found >= 0 ? static_cast<unsigned>(found) : m_l1.victim(set);
    const unsigned slot = static_cast<unsigned>(set * m_l1.ways) + w;
    forget_l1(m_l1.tag[slot], slot);
    m_l1.set_tag(slot, t);
    m_l1.data[slot] = d;
    m_l1.touch(set, w);
    remember_l1(vpn, pcid, slot, d);
}

void CpuTlb::l1_invalidate(uint64_t vpn, uint64_t t) {
    const uint64_t set = m_l1.set_of(vpn);
    const int w = m_l1.find(set, t);
    if (w < 0) return;
    const unsigned slot = static_cast<unsigned>(set * m_l1.ways) + static_cast<unsigned>(w);
    forget_l1(t, slot);
    m_l1.invalidate_way(set, static_cast<unsigned>(w));
}

void CpuTlb::insert(uint64_t vpn, uint16_t pcid, Pfn pfn, uint8_t flags) {
    const uint64_t t = tlb_tag(vpn, pcid);
    const uint64_t d = pfn.value << 8 | flags;
    m_stlb.insert(m_stlb.set_of(vpn), t, d);
    l1_fill(vpn, pcid, t, d, false);
    counters.fills++;
}

void CpuTlb::insert_new(uint64_t vpn, uint16_t pcid, Pfn pfn, uint8_t flags) {
    const uint64_t t = tlb_tag(vpn, pcid);
    const uint64_t d = pfn.value << 8 | flags;
    m_stlb.insert_new(m_stlb.set_of(vpn), t, d);
    l1_fill(vpn, pcid, t, d, true);
    counters.fills++;
}

void CpuTlb::invlpg(uint64_t vpn) {
    for (uint16_t pcid : {m_user_pcid, TLB_PCID_GLOBAL}) {
        const uint64_t t = tlb_tag(vpn, pcid);
        l1_invalidate(vpn, t);
        m_stlb.invalidate(m_stlb.set_of(vpn), t);
    }
}

void CpuTlb::invlpg_range(uint64_t vpn, uint64_t nr) {
    if (nr <= 64) {
        for (uint64_t i = 0; i < nr; i++) invlpg(vpn + i);
        return;
    }
    // Cheaper to look at every entry than to probe nr pages.
    const uint64_t first = vpn & TLB_VPN_MASK, user = m_user_pcid;
    auto drop = [&](uint64_t t) {
        uint16_t p = tlb_tag_pcid(t);
        return (p == user || p == TLB_PCID_GLOBAL) && tlb_tag_vpn(t) - first < nr;
    };
    forget_all_l1();
    invalidate_where(m_l1, drop);
    invalidate_where(m_stlb, drop);
}

void CpuTlb::flush_pcid(uint16_t pcid) {
    auto drop = [pcid](uint64_t t) { return tlb_tag_pcid(t) == pcid; };
    forget_all_l1();
    invalidate_where(m_l1, drop);
    invalidate_where(m_stlb, drop);
}

void CpuTlb::flush_everything() {
    forget_all_l1();
    invalidate_where(m_l1, [](uint64_t) { return true; });
    invalidate_where(m_stlb, [](uint64_t) { return true; });
}

void CpuTlb::validate_hit_cache() const {
    for (unsigned i = 0; i < kHitSlots; i++) {
        const uint64_t key = m_hit_key[i];
        if (key == kNoHit) continue;
        const uint64_t vpn = key & ((uint64_t{1} << kHitPcidShift) - 1);
        const auto pcid = static_cast<uint16_t>(key >> kHitPcidShift);
        const unsigned slot = m_hit_set[i] * 4u + m_hit_way[i];
        if (m_l1_not_4way_plru || (vpn & (kHitSlots - 1)) != i || slot >= m_l1.tag.size() ||
            m_l1.tag[slot] != tlb_tag(vpn, pcid) || m_l1.data[slot] != m_hit_data[i] ||
            m_hit_allows[i] != m_user_allows[m_hit_data[i] & 15])
            throw std::logic_error(
                fmt::format("tlb invariant: cpu {}: the hit cache's vpn {:#x} PCID {} is not at L1 slot {}",
                            m_cpu, vpn, pcid, slot));
    }
}

unsigned CpuTlb::entries_of(uint16_t pcid) const {
    unsigned n = 0;
    for (const TlbLevel* l : {&m_l1, &m_stlb})
        for (uint64_t t : l->tag) n += t != TLB_TAG_INVALID && tlb_tag_pcid(t) == pcid;
    return n;
}

// ---------------------------------------------------------------------------
// Linux: boot, contexts, switching

namespace {

// The PCID in CR3 for an ASID: kern_pcid(), or 0 on a CPU without PCID.
uint16_t hw_pcid(const CpuTlb& t, uint16_t asid) { return t.shared().spec.pcid ? kern_pcid(asid) : 0; }

// Adds the lookups since loaded_mm was loaded to its stats.
void fold_stats(CpuTlb& t) {
    if (t.state.loaded_mm) t.state.loaded_mm->stats.lookups += t.counters.lookups - t.fold_base;
    t.fold_base = t.counters.lookups;
}

// Boot (and CPU hotplug): init_mm in ASID 0, the other slots empty.
void initialize_tlbstate_and_flush(CpuTlb& t) {
    TlbMmContext& mm = t.shared().init_mm;
    t.flush_pcid(hw_pcid(t, 0));
    t.state.loaded_mm = &mm;
    t.state.loaded_mm_asid = 0;
    t.state.next_asid = 1;
    t.state.is_lazy = false;
    t.state.ctxs[0] = {mm.ctx_id, mm.tlb_gen};
    for (unsigned i = 1; i < TLB_NR_DYN_ASIDS; i++) t.state.ctxs[i].ctx_id = 0;
    t.set_user_pcid(hw_pcid(t, 0));
    t.fold_base = t.counters.lookups;
}

struct NewAsid {
    uint16_t asid = 0;
    bool need_flush = false;
};

NewAsid choose_new_asid(CpuTlb& t, const TlbMmContext& next, uint64_t next_tlb_gen) {
    if (!t.shared().spec.pcid) return {0, true};
    for (uint16_t asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) {
        if (t.state.ctxs[asid].ctx_id != next.ctx_id) continue;
        return {asid, t.state.ctxs[asid].tlb_gen < next_tlb_gen};
    }
    // No slot holds this mm on this CPU: take the next one round robin.
    uint16_t asid = t.state.next_asid++;
    if (asid >= TLB_NR_DYN_ASIDS) {
        asid = 0;
        t.state.next_asid = 1;
    }
    return {asid, true};
}

}  // namespace

std::string tlb_spec_problem(const TlbSpec& s) {
    auto level = [](const char* name, unsigned entries, unsigned ways) -> std::string {
        if (ways == 0 || ways > 64) return fmt::format("{}_ways must be 1 to 64, not {}", name, ways);
        if (entries == 0 || entries % ways != 0)
            return fmt::format("{}_entries must be a positive multiple of {}_ways ({}), not {}", name, name,
                               ways, entries);
        if (!std::has_single_bit(entries / ways))
            return fmt::format("{}_entries / {}_ways = {} sets, not a power of two", name, name,
                               entries / ways);
        return "";
    };
    std::string p = level("l1", s.l1_entries, s.l1_ways);
    return p.empty() ? level("l2", s.l2_entries, s.l2_ways) : p;
}

std::vector<CpuTlb> make_cpu_tlbs(unsigned nr_cpus, const TlbSpec& spec) {
    if (std::string p = tlb_spec_problem(spec); !p.empty()) throw std::invalid_argument("TLB: " + p);
    auto shared = std::make_shared<TlbShared>();
    shared->spec = spec;
    shared->init_mm.ctx_id = TLB_INIT_MM_CTX_ID;
    std::vector<CpuTlb> cpus;
    cpus.reserve(nr_cpus);
    for (unsigned c = 0; c < nr_cpus; c++) {
        cpus.emplace_back(c, shared);
        initialize_tlbstate_and_flush(cpus.back());
    }
    return cpus;
}

void init_new_context(std::span<CpuTlb> cpus, TlbMmContext& mm) {
    TlbShared& s = cpus.front().shared();
    mm.ctx_id = ++s.last_mm_ctx_id;
    mm.tlb_gen = 0;
    mm.next_trim_cpumask = s.jiffies + TLB_HZ;
    mm.cpumask.clear_all();
    mm.stats = {};
}

void switch_mm_irqs_off(std::span<CpuTlb> cpus, unsigned cpu, TlbMmContext& next) {
    CpuTlb& t = cpus[cpu];
    TlbMmContext* prev = t.state.loaded_mm;
    const uint16_t prev_asid = t.state.loaded_mm_asid;
    const bool was_lazy = t.state.is_lazy;
    TlbMmContext& init_mm = t.shared().init_mm;
    if (next.ctx_id == 0) throw std::logic_error("switch_mm() to an mm without init_new_context()");
    t.state.is_lazy = false;

    NewAsid ns;
    uint64_t next_tlb_gen;
    if (prev == &next) {
        // Another thread of the same process: nothing to do, unless the
        // CPU was lazy and flushes went by meanwhile.
        if (!was_lazy) return;
        next_tlb_gen = next.tlb_gen;
        if (t.state.ctxs[prev_asid].tlb_gen == next_tlb_gen) return;
        ns = {prev_asid, true};
    } else {
        fold_stats(t);
        // Since 6.x the CPU stays in prev's cpumask; flushes trim it.
        if (&next != &init_mm) next.cpumask.set(cpu);
        next_tlb_gen = next.tlb_gen;
        ns = choose_new_asid(t, next, next_tlb_gen);
    }

    // reload_tlb: load_new_mm_cr3(), flushing the PCID or not (CR3_NOFLUSH).
    t.counters.mm_switches++;
    if (ns.need_flush) {
        t.state.ctxs[ns.asid] = {next.ctx_id, next_tlb_gen};
        t.flush_pcid(hw_pcid(t, ns.asid));
        t.counters.switch_flushes++;
    }
    t.state.loaded_mm = &next;
    t.state.loaded_mm_asid = ns.asid;
    t.set_user_pcid(hw_pcid(t, ns.asid));
}

void enter_lazy_tlb(std::span<CpuTlb> cpus, unsigned cpu) {
    CpuTlb& t = cpus[cpu];
    if (t.state.loaded_mm == &t.shared().init_mm) return;
    t.state.is_lazy = true;
}

void leave_mm(std::span<CpuTlb> cpus, unsigned cpu) {
    CpuTlb& t = cpus[cpu];
    if (t.state.loaded_mm == &t.shared().init_mm) return;
    switch_mm_irqs_off(cpus, cpu, t.shared().init_mm);
}

void tlb_mm_release(std::span<CpuTlb> cpus, TlbMmContext& mm) {
    for (CpuTlb& t : cpus)
        if (t.state.loaded_mm == &mm) switch_mm_irqs_off(cpus, t.cpu(), t.shared().init_mm);
    mm.cpumask.clear_all();
}

// ---------------------------------------------------------------------------
// Linux: flushing

namespace {

struct FlushTlbInfo {
    TlbMmContext* mm = nullptr;  // nullptr: whatever each CPU has loaded (batched flush)
    uint64_t start = 0;
    uint64_t end = 0;
    uint64_t new_tlb_gen = TLB_GENERATION_INVALID;
    unsigned initiating_cpu = 0;
    unsigned stride_shift = PAGE_SHIFT;
    bool freed_tables = false;
    bool trim_cpumask = false;
};

FlushTlbInfo init_flush_tlb_info(const TlbShared& s, TlbMmContext* mm, uint64_t start, uint64_t end,
                                 unsigned stride_shift, bool freed_tables, uint64_t new_tlb_gen,
                                 unsigned cpu) {
    // Over the ceiling a full flush is cheaper than one INVLPG per stride.
    if (end < start || stride_shift >= 64 ||
        (end - start) >> stride_shift > s.tlb_single_page_flush_ceiling) {
        start = 0;
        end = TLB_FLUSH_ALL;
    }
    return {mm, start, end, new_tlb_gen, cpu, stride_shift, freed_tables, false};
}

// flush_tlb_one_user(): INVLPG of one stride. mmsim caches 4 KiB pieces
// only, so a PMD-sized stride drops all 512 of them.
void flush_tlb_one_user(CpuTlb& t, uint64_t addr, unsigned stride_shift) {
    if (stride_shift <= PAGE_SHIFT)
        t.invlpg(addr >> PAGE_SHIFT);
    else
        t.invlpg_range(addr >> PAGE_SHIFT, uint64_t{1} << (stride_shift - PAGE_SHIFT));
}

void flush_tlb_func(std::span<CpuTlb> cpus, unsigned cpu, const FlushTlbInfo& f) {
    CpuTlb& t = cpus[cpu];
    TlbMmContext* loaded_mm = t.state.loaded_mm;
    const uint16_t asid = t.state.loaded_mm_asid;
    const bool local = cpu == f.initiating_cpu;

    if (!local) t.counters.event(TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED)++;
    // The CPU was left in the mm's cpumask but runs something else now.
    if (f.mm && f.mm != loaded_mm) {
        f.mm->cpumask.clear(cpu);
        return;
    }
    if (loaded_mm == &t.shared().init_mm) return;
    if (t.state.is_lazy) {
        // Cheaper to drop the borrowed mm than to flush for it.
        switch_mm_irqs_off(cpus, cpu, t.shared().init_mm);
        return;
    }
    const uint64_t local_tlb_gen = t.state.ctxs[asid].tlb_gen;
    if (f.new_tlb_gen != TLB_GENERATION_INVALID && f.new_tlb_gen <= local_tlb_gen) return;
    const uint64_t mm_tlb_gen = loaded_mm->tlb_gen;
    if (local_tlb_gen == mm_tlb_gen) return;

    // A partial flush only when it alone brings this CPU up to date.
    if (f.end != TLB_FLUSH_ALL && f.new_tlb_gen == local_tlb_gen + 1 && f.new_tlb_gen == mm_tlb_gen) {
        const uint64_t nr = (f.end - f.start) >> f.stride_shift;
        const uint64_t step = uint64_t{1} << f.stride_shift;
        for (uint64_t addr = f.start; addr < f.end; addr += step) flush_tlb_one_user(t, addr, f.stride_shift);
        if (local) t.counters.event(TlbEvent::NR_TLB_LOCAL_FLUSH_ONE) += nr;
    } else {
        t.flush_pcid(t.user_pcid());  // flush_tlb_local(): rewrite CR3
        if (local) t.counters.event(TlbEvent::NR_TLB_LOCAL_FLUSH_ALL)++;
    }
    t.state.ctxs[asid].tlb_gen = mm_tlb_gen;
}

bool should_flush_tlb(const CpuTlb& t, const FlushTlbInfo& f) {
    if (t.state.is_lazy) return false;  // flushed at the next switch
    if (!f.mm) return true;
    if (t.state.loaded_mm == f.mm) return true;
    return f.trim_cpumask;  // in the cpumask but running something else
}

bool should_trim_cpumask(TlbShared& s, TlbMmContext& mm) {
    if (s.jiffies > mm.next_trim_cpumask) {  // time_after()
        mm.next_trim_cpumask = s.jiffies + TLB_HZ;
        return true;
    }
    return false;
}

// native_flush_tlb_multi(): on_each_cpu_cond_mask() over a copy of the
// mask; the initiating CPU runs the function itself, the others by IPI.
unsigned flush_tlb_multi(std::span<CpuTlb> cpus, const CpuMask& mask, const FlushTlbInfo& f) {
    CpuTlb& me = cpus[f.initiating_cpu];
    me.counters.event(TlbEvent::NR_TLB_REMOTE_FLUSH)++;
    unsigned ipis = 0;
    for (unsigned c : mask.cpus()) {
        if (c >= cpus.size()) continue;
        // Freed page tables must not be walked speculatively even by lazy CPUs.
        if (!f.freed_tables && !should_flush_tlb(cpus[c], f)) continue;
        if (c != f.initiating_cpu) ipis++;
        flush_tlb_func(cpus, c, f);
    }
    me.counters.ipis_sent += ipis;
    return ipis;
}

// on_each_cpu(do_flush_tlb_all): every CPU, the caller included, counts a
// received flush and drops everything.
unsigned flush_all_cpus(std::span<CpuTlb> cpus, unsigned cpu) {
    for (CpuTlb& t : cpus) {
        t.counters.event(TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED)++;
        t.flush_everything();
    }
    unsigned ipis = static_cast<unsigned>(cpus.size()) - 1;
    cpus[cpu].counters.ipis_sent += ipis;
    return ipis;
}

}  // namespace

unsigned flush_tlb_mm_range(std::span<CpuTlb> cpus, unsigned cpu, TlbMmContext& mm, uint64_t start,
                            uint64_t end, unsigned stride_shift, FreedTables freed_tables) {
    TlbShared& s = cpus[cpu].shared();
    const uint64_t new_tlb_gen = ++mm.tlb_gen;  // inc_mm_tlb_gen()
    FlushTlbInfo f = init_flush_tlb_info(s, &mm, start, end, stride_shift, freed_tables == FreedTables::Yes,
                                         new_tlb_gen, cpu);
    unsigned ipis = 0;
    if (mm.cpumask.any_but(cpu)) {
        f.trim_cpumask = should_trim_cpumask(s, mm);
        ipis = flush_tlb_multi(cpus, mm.cpumask, f);
    } else if (cpus[cpu].state.loaded_mm == &mm) {
        flush_tlb_func(cpus, cpu, f);
    }
    mm.stats.flush_requests++;
    if (f.end == TLB_FLUSH_ALL) mm.stats.full_flush_requests++;
    mm.stats.ipis_sent += ipis;
    return ipis;
}

unsigned flush_tlb_mm(std::span<CpuTlb> cpus, unsigned cpu, TlbMmContext& mm) {
    return flush_tlb_mm_range(cpus, cpu, mm, 0, TLB_FLUSH_ALL, 0, FreedTables::Yes);
}

unsigned flush_tlb_page(std::span<CpuTlb> cpus, unsigned cpu, TlbMmContext& mm, VirtAddr addr) {
    return flush_tlb_mm_range(cpus, cpu, mm, addr.value, addr.value + PAGE_SIZE, PAGE_SHIFT, FreedTables::No);
}

unsigned flush_tlb_all(std::span<CpuTlb> cpus, unsigned cpu) {
    cpus[cpu].counters.event(TlbEvent::NR_TLB_REMOTE_FLUSH)++;
    return flush_all_cpus(cpus, cpu);
}

unsigned flush_tlb_kernel_range(std::span<CpuTlb> cpus, unsigned cpu, uint64_t start, uint64_t end) {
    FlushTlbInfo f = init_flush_tlb_info(cpus[cpu].shared(), nullptr, start, end, PAGE_SHIFT, false,
                                         TLB_GENERATION_INVALID, cpu);
    if (f.end == TLB_FLUSH_ALL) return flush_all_cpus(cpus, cpu);  // no NR_TLB_REMOTE_FLUSH here
    // do_kernel_range_flush() on every CPU: flush_tlb_one_kernel() per page.
    for (CpuTlb& t : cpus) {
        for (uint64_t addr = f.start; addr < f.end; addr += PAGE_SIZE) {
            t.counters.event(TlbEvent::NR_TLB_LOCAL_FLUSH_ONE)++;
            t.invlpg(addr >> PAGE_SHIFT);
        }
    }
    unsigned ipis = static_cast<unsigned>(cpus.size()) - 1;
    cpus[cpu].counters.ipis_sent += ipis;
    return ipis;
}

void arch_tlbbatch_add_pending(TlbBatch& batch, TlbMmContext& mm) {
    ++mm.tlb_gen;
    batch.cpumask.or_with(mm.cpumask);
    batch.unmapped_pages = true;
}

unsigned arch_tlbbatch_flush(std::span<CpuTlb> cpus, unsigned cpu, TlbBatch& batch) {
    FlushTlbInfo f = init_flush_tlb_info(cpus[cpu].shared(), nullptr, 0, TLB_FLUSH_ALL, 0, false,
                                         TLB_GENERATION_INVALID, cpu);
    unsigned ipis = 0;
    if (batch.cpumask.any_but(cpu))
        ipis = flush_tlb_multi(cpus, batch.cpumask, f);
    else if (batch.cpumask.test(cpu))
        flush_tlb_func(cpus, cpu, f);
    batch.cpumask.clear_all();
    return ipis;
}

// ---------------------------------------------------------------------------
// Reading and checking

TlbCounters tlb_total_counters(std::span<const CpuTlb> cpus) {
    TlbCounters total;
    for (const CpuTlb& t : cpus) total += t.counters;
    return total;
}

uint64_t tlb_vm_event(std::span<const CpuTlb> cpus, TlbEvent e) {
    uint64_t n = 0;
    for (const CpuTlb& t : cpus) n += t.counters.event(e);
    return n;
}

TlbMmStats tlb_mm_stats(std::span<const CpuTlb> cpus, const TlbMmContext& mm) {
    TlbMmStats s = mm.stats;
    for (const CpuTlb& t : cpus)
        if (t.state.loaded_mm == &mm) s.lookups += t.counters.lookups - t.fold_base;
    return s;
}

namespace {

void check_level(const TlbLevel& l, const std::string& where, const std::vector<uint16_t>& pcids) {
    auto fail = [&](const std::string& what) {
        throw std::logic_error("tlb invariant: " + where + ": " + what);
    };
    if (l.tag.size() != l.data.size() || l.tag.size() != l.tag_low.size() ||
        l.tag.size() != (l.set_mask + 1) * l.ways)
        fail("array sizes");
    for (std::size_t i = 0; i < l.tag.size(); i++)
        if (l.tag_low[i] != static_cast<uint32_t>(l.tag[i])) fail("tag_low differs from the tag");
    for (uint64_t set = 0; set <= l.set_mask; set++) {
        for (unsigned w = 0; w < l.ways; w++) {
            uint64_t t = l.tag[set * l.ways + w];
            if (t == TLB_TAG_INVALID) {
                if (!l.use_plru && !l.use_order && l.stamp[set * l.ways + w] != 0)
                    fail("empty way with an LRU stamp");
                continue;
            }
            if ((tlb_tag_vpn(t) & l.set_mask) != set)
                fail(fmt::format("vpn {:#x} is in set {}", tlb_tag_vpn(t), set));
            if (std::find(pcids.begin(), pcids.end(), tlb_tag_pcid(t)) == pcids.end())
                fail(fmt::format("entry with PCID {} that no ASID uses", tlb_tag_pcid(t)));
            if (!l.use_plru && !l.use_order && l.stamp[set * l.ways + w] == 0)
                fail("valid entry without an LRU stamp");
            for (unsigned v = w + 1; v < l.ways; v++)
                if (l.tag[set * l.ways + v] == t)
                    fail(fmt::format("vpn {:#x} cached twice in set {}", tlb_tag_vpn(t), set));
        }
        if (l.use_plru && l.ways < 64 && (l.plru[set] & ~((uint64_t{1} << l.ways) - 2)) != 0)
            fail(fmt::format("PLRU bits outside the tree in set {}", set));
        if (l.use_order) {
            uint64_t seen = 0;
            for (unsigned i = 0; i < 16; i++) {
                unsigned w = static_cast<unsigned>((l.order[set] >> (4 * i)) & 15);
                if (i >= l.ways) {
                    if (w != 15) fail(fmt::format("LRU order of set {} has a way past the end", set));
                    continue;
                }
                if (w >= l.ways || (seen >> w & 1))
                    fail(fmt::format("LRU order of set {} is not a permutation", set));
                seen |= uint64_t{1} << w;
            }
        }
    }
}

}  // namespace

void validate_tlb(std::span<const CpuTlb> cpus) {
    for (const CpuTlb& t : cpus) {
        std::string where = fmt::format("cpu {}", t.cpu());
        auto fail = [&](const std::string& what) {
            throw std::logic_error("tlb invariant: " + where + ": " + what);
        };
        const TlbState& s = t.state;
        if (!s.loaded_mm) fail("no loaded mm");
        if (s.loaded_mm_asid >= TLB_NR_DYN_ASIDS) fail(fmt::format("loaded ASID {}", s.loaded_mm_asid));
        if (s.next_asid < 1 || s.next_asid > TLB_NR_DYN_ASIDS) fail(fmt::format("next_asid {}", s.next_asid));
        const TlbContext& cur = s.ctxs[s.loaded_mm_asid];
        if (cur.ctx_id != s.loaded_mm->ctx_id)
            fail(fmt::format("ASID {} holds ctx_id {} but ctx_id {} is loaded", s.loaded_mm_asid, cur.ctx_id,
                             s.loaded_mm->ctx_id));
        if (cur.tlb_gen > s.loaded_mm->tlb_gen)
            fail(fmt::format("ASID {} is at tlb_gen {}, ahead of its mm's {}", s.loaded_mm_asid, cur.tlb_gen,
                             s.loaded_mm->tlb_gen));
        if (s.loaded_mm != &t.shared().init_mm && !s.loaded_mm->cpumask.test(t.cpu()))
            fail("the loaded mm's cpumask lacks this CPU");
        if (t.shared().spec.pcid) {
            for (unsigned a = 0; a < TLB_NR_DYN_ASIDS; a++)
                for (unsigned b = a + 1; b < TLB_NR_DYN_ASIDS; b++)
                    if (s.ctxs[a].ctx_id != 0 && s.ctxs[a].ctx_id == s.ctxs[b].ctx_id)
                        fail(fmt::format("ctx_id {} in ASIDs {} and {}", s.ctxs[a].ctx_id, a, b));
        }
        if (t.user_pcid() != hw_pcid(t, s.loaded_mm_asid)) fail("CR3's PCID is not the loaded ASID's");
        std::vector<uint16_t> pcids{TLB_PCID_GLOBAL};
        for (uint16_t a = 0; a < TLB_NR_DYN_ASIDS; a++) pcids.push_back(hw_pcid(t, a));
        check_level(t.l1(), where + " L1", pcids);
        t.validate_hit_cache();
        check_level(t.stlb(), where + " STLB", pcids);
    }
}

}  // namespace mmsim
