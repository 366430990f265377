// The simulated x86-64 TLB of each CPU, and Linux's PCID/ASID and TLB
// flush logic (arch/x86/mm/tlb.c, arch/x86/include/asm/tlbflush.h).
// tlb.cpp opens with the essay on how both work; docs/tlb.md says how to
// configure the TLB and what is counted.
//
// Use:
//
//   std::vector<CpuTlb> tlbs = make_cpu_tlbs(nr_cpus, layout.tlb);
//   init_new_context(tlbs, mm.tlb);              // fork/exec: a fresh ctx_id
//   switch_mm(tlbs, cpu, mm.tlb);                // context switch
//   TlbResult r = tlb_lookup(tlbs[cpu], va, TlbAccess::Write);
//   if (!r.hit()) { walk; tlb_fill(tlbs[cpu], va, pfn, tlb_flags_from_pte(pte)); }
//   flush_tlb_mm_range(tlbs, cpu, mm.tlb, start, end, PAGE_SHIFT, FreedTables::No);
//   tlb_mm_release(tlbs, mm.tlb);                // before the mm is freed
//
// The hit is the hottest path of the simulator: CpuTlb::try_l1_user_hit()
// answers a user access that hits the L1 with one comparison against the
// hit cache; CpuTlb::lookup() is inline too and touches one set of the L1
// array (tags in one array, data in another).
#pragma once

#include <array>
#include <bit>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "machine/machine.h"  // TlbSpec
#include "mmsim/types.h"

namespace mmsim {

// ---------------------------------------------------------------------------
// Constants of arch/x86

// Per-CPU dynamic ASIDs (tlbflush.h: "6 because 6 should be plenty and
// struct tlb_state will fit in two cache lines").
inline constexpr unsigned TLB_NR_DYN_ASIDS = 6;
// flush_tlb_mm_range()'s end for "everything".
inline constexpr uint64_t TLB_FLUSH_ALL = ~uint64_t{0};
// flush_tlb_info::new_tlb_gen of a flush that is not about one mm.
inline constexpr uint64_t TLB_GENERATION_INVALID = 0;
// tlb_single_page_flush_ceiling's default: ranges of more pages are flushed
// whole ("each single flush is about 100 ns, so this caps the maximum
// overhead at about 3,000 ns"). Tunable in debugfs, and in TlbShared here.
inline constexpr uint64_t TLB_SINGLE_PAGE_FLUSH_CEILING = 33;
// CONFIG_HZ of Debian's kernel: the cpumask is trimmed at most once per HZ
// jiffies per mm (should_trim_cpumask()).
inline constexpr uint64_t TLB_HZ = 250;
// init_mm's context.ctx_id; last_mm_ctx_id starts here, so the first mm
// gets 2. 0 marks an empty ASID slot.
inline constexpr uint64_t TLB_INIT_MM_CTX_ID = 1;

// The PCID Linux puts in CR3 for a dynamic ASID: asid + 1, because PCID 0
// is what PCID-unaware code uses. With page table isolation (PTI) each ASID
// would also have a user PCID (kern_pcid | 2048); mmsim models PTI off, as
// on CPUs not affected by Meltdown, so there is one PCID per ASID.
constexpr uint16_t kern_pcid(uint16_t asid) { return static_cast<uint16_t>(asid + 1); }

// The TLB tag: the virtual page number (57-bit addresses, so 45 bits) and a
// 13-bit context: the 12-bit PCID, or TLB_PCID_GLOBAL for a global entry.
// Kernel mappings are global with PTI off (_PAGE_GLOBAL): they match in
// every PCID, which mmsim gets by tagging kernel addresses with this
// pseudo-PCID instead of the current one.
inline constexpr uint16_t TLB_PCID_GLOBAL = 1u << 12;
inline constexpr uint64_t TLB_VPN_MASK = (uint64_t{1} << 45) - 1;
inline constexpr uint64_t TLB_TAG_INVALID = ~uint64_t{0};  // an empty way (never a real tag)
constexpr uint64_t tlb_tag(uint64_t vpn, uint16_t pcid) { return (vpn & TLB_VPN_MASK) << 13 | pcid; }
constexpr uint64_t tlb_tag_vpn(uint64_t tag) { return tag >> 13; }
constexpr uint16_t tlb_tag_pcid(uint64_t tag) { return static_cast<uint16_t>(tag & 0x1fff); }

// The permission and dirty bits a TLB entry caches from the PTE.
inline constexpr uint8_t TLB_WRITE = 1u << 0;  // _PAGE_RW
inline constexpr uint8_t TLB_USER = 1u << 1;   // _PAGE_USER
inline constexpr uint8_t TLB_DIRTY = 1u << 2;  // _PAGE_DIRTY
inline constexpr uint8_t TLB_NX = 1u << 3;     // _PAGE_NX
// From an x86 PTE (RW bit 1, USER bit 2, DIRTY bit 6, NX bit 63).
constexpr uint8_t tlb_flags_from_pte(uint64_t pte) {
    return static_cast<uint8_t>(((pte >> 1) & 1 ? TLB_WRITE : 0) | ((pte >> 2) & 1 ? TLB_USER : 0) |
                                ((pte >> 6) & 1 ? TLB_DIRTY : 0) | ((pte >> 63) & 1 ? TLB_NX : 0));
}

enum class TlbAccess : uint8_t { Read, Write, Exec };

enum class TlbOutcome : uint8_t {
    L1Hit,        // the L1 dTLB had it
    StlbHit,      // the STLB had it; the L1 was refilled
    Miss,         // neither: walk the page table, then tlb_fill()
    DirtyUpdate,  // a write to an entry cached with dirty = 0: the CPU re-walks
                  // to set _PAGE_DIRTY (no fault); walk, set D, tlb_fill()
    Protection,   // the cached permissions refuse the access: the CPU drops
                  // the entry and raises #PF; walk (the fault handler decides,
                  // the PTE may have been upgraded since: a spurious fault)
};

struct TlbResult {
    TlbOutcome outcome = TlbOutcome::Miss;
    Pfn pfn{0};  // valid for the two hits
    bool hit() const { return outcome <= TlbOutcome::StlbHit; }
};

// ---------------------------------------------------------------------------
// Counters

struct TlbLookupCounts {
    uint64_t l1_hits = 0;
    uint64_t stlb_hits = 0;
    uint64_t misses = 0;             // page walks for a translation not cached
    uint64_t dirty_walks = 0;        // TlbOutcome::DirtyUpdate
    uint64_t protection_faults = 0;  // TlbOutcome::Protection
    uint64_t lookups() const { return l1_hits + stlb_hits + misses + dirty_walks + protection_faults; }
    TlbLookupCounts& operator+=(const TlbLookupCounts& o);
    TlbLookupCounts operator-(const TlbLookupCounts& o) const;
    bool operator==(const TlbLookupCounts&) const = default;
};

// The vm events of include/linux/vm_event_item.h that exist only with
// CONFIG_DEBUG_TLBFLUSH (Debian's kernel does not print them). Counted on
// the CPU where arch/x86/mm/tlb.c calls count_vm_tlb_event().
enum class TlbEvent : unsigned {
    NR_TLB_REMOTE_FLUSH,           // one per flush_tlb_multi() / flush_tlb_all() call
    NR_TLB_REMOTE_FLUSH_RECEIVED,  // one per CPU that runs a flush for another CPU
    NR_TLB_LOCAL_FLUSH_ALL,        // the initiating CPU flushed its whole PCID
    NR_TLB_LOCAL_FLUSH_ONE,        // one per page the initiating CPU invalidated
};
inline constexpr unsigned NR_TLB_EVENTS = 4;
// "nr_tlb_remote_flush", ..., as /proc/vmstat names them.
const char* tlb_event_name(TlbEvent e);

struct TlbCounters {
    TlbLookupCounts lookups;
    uint64_t fills = 0;           // tlb_fill() calls (translations cached after a walk)
    uint64_t mm_switches = 0;     // switch_mm_irqs_off() calls that loaded CR3
    uint64_t switch_flushes = 0;  // ... of which flushed the PCID (new slot, or tlb_gen behind)
    uint64_t ipis_sent = 0;       // flush IPIs this CPU sent, one per target CPU
    std::array<uint64_t, NR_TLB_EVENTS> events{};
    uint64_t event(TlbEvent e) const { return events[static_cast<unsigned>(e)]; }
    uint64_t& event(TlbEvent e) { return events[static_cast<unsigned>(e)]; }
    TlbCounters& operator+=(const TlbCounters& o);
};

// What one address space saw (the per-mm view): its lookups while it was
// loaded, and the flushes requested for it.
struct TlbMmStats {
    TlbLookupCounts lookups;
    uint64_t flush_requests = 0;       // flush_tlb_mm_range() calls
    uint64_t full_flush_requests = 0;  // ... that flushed the whole PCID (over the ceiling)
    uint64_t ipis_sent = 0;            // IPIs those requests sent
};

// ---------------------------------------------------------------------------
// Per-mm and per-CPU state

// mm_cpumask(): the CPUs that may hold TLB entries of an mm.
class CpuMask {
public:
    void set(unsigned cpu) {
        if (cpu / 64 >= m_bits.size()) m_bits.resize(cpu / 64 + 1);
        m_bits[cpu / 64] |= uint64_t{1} << (cpu % 64);
    }
    void clear(unsigned cpu) {
        if (cpu / 64 < m_bits.size()) m_bits[cpu / 64] &= ~(uint64_t{1} << (cpu % 64));
    }
    bool test(unsigned cpu) const { return cpu / 64 < m_bits.size() && (m_bits[cpu / 64] >> (cpu % 64)) & 1; }
    void clear_all() { m_bits.clear(); }
    // cpumask_any_but(mask, cpu) < nr_cpu_ids
    bool any_but(unsigned cpu) const;
    unsigned weight() const;
    void or_with(const CpuMask& o);
    std::vector<unsigned> cpus() const;  // in ascending order
    bool operator==(const CpuMask& o) const;

private:
    std::vector<uint64_t> m_bits;
};

// The x86 part of mm_context_t that the TLB code uses. Embedded in the
// address space (MmStruct::tlb). Must stay at one address while any CPU has
// it loaded (CpuTlb::state.loaded_mm points to it), like the mm_struct;
// call tlb_mm_release() before freeing it.
struct TlbMmContext {
    uint64_t ctx_id = 0;             // unique, never reused; 0 until init_new_context()
    uint64_t tlb_gen = 0;            // bumped by every flush request (inc_mm_tlb_gen())
    uint64_t next_trim_cpumask = 0;  // jiffies
    CpuMask cpumask;                 // mm_cpumask()
    TlbMmStats stats;  // lookups are folded in when a CPU switches away; read with tlb_mm_stats()
};

// cpu_tlbstate.ctxs[asid]: which mm an ASID slot holds, and the tlb_gen its
// TLB entries are up to date with.
struct TlbContext {
    uint64_t ctx_id = 0;
    uint64_t tlb_gen = 0;
};

// cpu_tlbstate (and cpu_tlbstate_shared.is_lazy).
struct TlbState {
    TlbMmContext* loaded_mm = nullptr;  // what CR3 points to
    uint16_t loaded_mm_asid = 0;
    uint16_t next_asid = 1;  // round-robin victim for the next new mm
    bool is_lazy = false;    // a kernel thread borrows loaded_mm (enter_lazy_tlb())
    std::array<TlbContext, TLB_NR_DYN_ASIDS> ctxs{};
};

// What all CPUs of one machine share: init_mm's context, the ctx_id
// counter, the flush ceiling, the clock's jiffies.
struct TlbShared {
    TlbSpec spec;
    TlbMmContext init_mm;
    uint64_t last_mm_ctx_id = TLB_INIT_MM_CTX_ID;
    uint64_t tlb_single_page_flush_ceiling = TLB_SINGLE_PAGE_FLUSH_CEILING;
    uint64_t jiffies = 0;  // the caller advances it (should_trim_cpumask())
};

// One level of the TLB: sets x ways, structure of arrays. Replacement:
// tree pseudo-LRU when the ways are a power of two (the L1 dTLB's 4), true
// LRU otherwise (the STLB's 12). Empty ways fill first, lowest index first.
// True LRU keeps, for sets of up to 16 ways, the ways in order of use in
// one word per set (4 bits a way, most recent lowest: `order`), and for
// wider sets a stamp per entry (the time of last use, 0 when empty).
struct TlbLevel {
    std::vector<uint64_t> tag;        // sets * ways; TLB_TAG_INVALID when empty
    std::vector<uint32_t> tag_low;    // the low 32 bits of each tag, for find()'s first pass
    std::vector<uint64_t> data;       // pfn << 8 | TLB_* flags
    std::vector<uint64_t> plru;       // per set: tree bits, node i (1..ways-1) in bit i
    std::vector<uint64_t> order;      // per set (LRU, up to 16 ways): ways by recency; unused nibbles 0xf
    std::vector<uint64_t> stamp;      // per entry (LRU, wider sets): last use; 0 when empty
    std::vector<uint64_t> path_mask;  // per way: the tree nodes on its path
    std::vector<uint64_t> path_bits;  // per way: those nodes pointing away from it
    uint64_t set_mask = 0;
    unsigned ways = 0;
    bool use_plru = true;
    bool use_order = false;  // LRU kept in `order` rather than `stamp`
    uint64_t clock = 0;

    void configure(unsigned entries, unsigned nr_ways);
    unsigned sets() const { return static_cast<unsigned>(set_mask + 1); }
    uint64_t set_of(uint64_t vpn) const { return vpn & set_mask; }

    // The way of `t` in `set`, or -1. The common associativities compare
    // every way without branching (a tag is in at most one way): which way
    // hits is random, and a mispredicted early exit would cost more than
    // the whole lookup. Wide sets compare the low halves of the tags four
    // at a time first, then check the whole tag of the ways that matched
    // (tags of one set differ in their low bits but for pages 2 GiB apart).
    int find(uint64_t set, uint64_t t) const {
        const uint64_t* tags = tag.data() + set * ways;
        switch (ways) {
            case 4:
                return find_fixed<4>(tags, t);
            case 8:
                return find_wide<8>(set, t);
            case 12:
                return find_wide<12>(set, t);
            case 16:
                return find_wide<16>(set, t);
            default:
                for (unsigned w = 0; w < ways; w++)
                    if (tags[w] == t) return static_cast<int>(w);
                return -1;
        }
    }
    template <unsigned N>
    int find_wide(uint64_t set, uint64_t t) const {
        const uint64_t* tags = tag.data() + set * N;
        unsigned cand = low_matches<N>(tag_low.data() + set * N, static_cast<uint32_t>(t));
        while (cand) {
            const unsigned w = static_cast<unsigned>(std::countr_zero(cand));
            if (tags[w] == t) return static_cast<int>(w);
            cand &= cand - 1;
        }
        return -1;
    }
    // Bit w set when low[w] == key, for N a multiple of 4.
    template <unsigned N>
    static unsigned low_matches(const uint32_t* low, uint32_t key) {
#if defined(__SSE2__)
        const __m128i k = _mm_set1_epi32(static_cast<int>(key));
        unsigned m = 0;
        for (unsigned g = 0; g < N; g += 4) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(low + g));
            m |= static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, k)))) << g;
        }
        return m;
#else
        unsigned m = 0;
        for (unsigned w = 0; w < N; w++) m |= static_cast<unsigned>(low[w] == key) << w;
        return m;
#endif
    }
    // Writes a way's tag (both arrays).
    void set_tag(std::size_t slot, uint64_t t) {
        tag[slot] = t;
        tag_low[slot] = static_cast<uint32_t>(t);
    }
    template <unsigned N>
    static int find_fixed(const uint64_t* tags, uint64_t t) {
        unsigned hits = 0;
        for (unsigned w = 0; w < N; w++) hits |= static_cast<unsigned>(tags[w] == t) << w;
        return hits ? std::countr_zero(hits) : -1;
    }
    // Marks a way most recently used.
    void touch(uint64_t set, unsigned way) {
        if (use_plru)
            plru[set] = (plru[set] & ~path_mask[way]) | path_bits[way];
        else if (use_order)
            order[set] = move_to_front(order[set], way);
        else
            stamp[set * ways + way] = ++clock;
    }
    // An order word with `way` moved to the front (nibble 0). The way's
    // nibble is found as the lowest zero nibble of o ^ (way in every
    // nibble); the nibbles before it shift up by one.
    static uint64_t move_to_front(uint64_t o, unsigned way) {
        constexpr uint64_t ones = 0x1111111111111111ull;
        const uint64_t x = o ^ (ones * way);
        const uint64_t zero = (x - ones) & ~x & (ones << 3);
        const unsigned shift = static_cast<unsigned>(std::countr_zero(zero)) & ~3u;  // 4 * position
        const uint64_t before = o & ~(~uint64_t{0} << shift);
        const uint64_t after = o & ((~uint64_t{0} << shift) << 4);
        return after | before << 4 | way;
    }
    // For tests and checks: how many ways of the set were used less
    // recently than `way` (empty ways count as least recent), or -1 if the
    // way is empty. Independent of how the level keeps LRU order.
    int age_rank(uint64_t set, unsigned way) const;
    // The way a new translation goes to: the first empty way, else the
    // pseudo-LRU or least recently used one.
    unsigned victim(uint64_t set) const;
    // Caches a translation, replacing the tag's entry if it is there.
    // Returns the way.
    unsigned insert(uint64_t set, uint64_t t, uint64_t d);
    // The same when the caller knows the tag is not in the set.
    unsigned insert_new(uint64_t set, uint64_t t, uint64_t d) {
        const unsigned w = victim(set);
        set_tag(set * ways + w, t);
        data[set * ways + w] = d;
        touch(set, w);
        return w;
    }
    bool invalidate(uint64_t set, uint64_t t);
    void invalidate_way(uint64_t set, unsigned way);
    unsigned valid_entries() const;
};

struct CpuTlb {
    CpuTlb(unsigned cpu, std::shared_ptr<TlbShared> shared);

    // The hit path. vpn: virtual address >> PAGE_SHIFT; pcid: the current
    // one (user_pcid()) or TLB_PCID_GLOBAL for a kernel address.
    TlbResult lookup(uint64_t vpn, uint16_t pcid, TlbAccess access) {
        const uint64_t t = tlb_tag(vpn, pcid);
        const uint64_t set = m_l1.set_of(vpn);
        const int w = m_l1.find(set, t);
        if (w < 0) [[unlikely]]
            return lookup_stlb(vpn, pcid, access);
        const uint64_t d = m_l1.data[set * m_l1.ways + static_cast<unsigned>(w)];
        const Need n = need(access, pcid);
        if ((d & n.mask) != n.bits) [[unlikely]]
            return refused(vpn, pcid, access, d);
        m_l1.touch(set, static_cast<unsigned>(w));
        remember_l1(vpn, pcid, static_cast<unsigned>(set * m_l1.ways) + static_cast<unsigned>(w), d);
        counters.lookups.l1_hits++;
        return {TlbOutcome::L1Hit, Pfn(d >> 8)};
    }
    // The commonest lookup, for access_memory(): a user address that hits
    // a 4-way pseudo-LRU L1 with the rights the access needs. Does exactly
    // what lookup() does then (the way becomes most recently used, l1_hits
    // counts it) and returns true; in every other case it changes nothing
    // and returns false, and the caller calls lookup().
    //
    // It reads only the hit cache (m_hit_*), a direct-mapped copy of L1
    // entries indexed by vpn modulo kHitSlots: for each slot, the key
    // (va >> 12 and the PCID) of an entry the L1 holds, that entry's data
    // and its place in the L1. Every change to the L1 keeps the copy true
    // (an entry replaced or invalidated leaves the cache with it), so a
    // key match is an L1 hit. An entry is cached when lookup() or a fill
    // meets it; a miss here is only a slower hit. Kernel addresses (bit 63
    // of va gives a key no user entry has) and addresses of 2^57 or more
    // (never cached) always go to lookup(), as do TLBs whose L1 is not
    // 4-way pseudo-LRU (nothing is cached).
    bool try_l1_user_hit(uint64_t va, TlbAccess access) {
        const uint64_t vpn = va >> PAGE_SHIFT;
        const unsigned i = static_cast<unsigned>(vpn & (kHitSlots - 1));
        if (m_hit_key[i] != (vpn | m_hit_pcid)) [[unlikely]]
            return false;
        if (!((m_hit_allows[i] >> static_cast<unsigned>(access)) & 1)) [[unlikely]]
            return false;
        const unsigned way = m_hit_way[i];
        uint64_t& tree = m_l1.plru[m_hit_set[i]];
        tree = (tree & m_plru4_keep[way]) | m_plru4_set[way];
        counters.lookups.l1_hits++;
        return true;
    }
    // After a walk: caches the translation in the STLB and the L1
    // (non-inclusive: each level evicts on its own).
    void insert(uint64_t vpn, uint16_t pcid, Pfn pfn, uint8_t flags);
    // The same when neither level holds the translation, as after a lookup
    // that missed or was refused (both drop it): no search for it first.
    void insert_new(uint64_t vpn, uint16_t pcid, Pfn pfn, uint8_t flags);

    // The hardware invalidations Linux uses (PTI off):
    void invlpg(uint64_t vpn);  // INVLPG: the page in the current PCID, and its global entry
    void invlpg_range(uint64_t vpn, uint64_t nr);  // INVLPG of every 4 KiB piece of vpn..vpn+nr
    void flush_pcid(uint16_t pcid);  // a CR3 write without NOFLUSH: the PCID's non-global entries
    void flush_everything();         // INVPCID all-contexts / CR4.PGE toggle: globals too

    // The PCID user addresses are looked up with (kern_pcid(loaded_mm_asid)).
    uint16_t user_pcid() const { return m_user_pcid; }
    unsigned cpu() const { return m_cpu; }
    const TlbLevel& l1() const { return m_l1; }
    const TlbLevel& stlb() const { return m_stlb; }
    TlbShared& shared() const { return *m_shared; }
    // Valid entries of a PCID in either level (tests, /proc-style reports).
    unsigned entries_of(uint16_t pcid) const;
    // Throws std::logic_error if the hit cache says something the L1 does
    // not hold (validate_tlb()).
    void validate_hit_cache() const;

    TlbState state;  // cpu_tlbstate
    TlbCounters counters;
    TlbLookupCounts fold_base;  // counters.lookups when loaded_mm was loaded

    // Internal to tlb.cpp.
    void set_user_pcid(uint16_t pcid) {
        m_user_pcid = pcid;
        m_hit_pcid = static_cast<uint64_t>(pcid) << kHitPcidShift;
    }

private:
    struct Need {
        uint64_t mask, bits;
    };
    // The flag bits an access needs: user pages need TLB_USER, writes
    // TLB_WRITE and TLB_DIRTY, fetches TLB_NX clear.
    static Need need(TlbAccess a, uint16_t pcid) {
        static constexpr Need table[3][2] = {
            {{TLB_USER, TLB_USER}, {0, 0}},
            {{TLB_USER | TLB_WRITE | TLB_DIRTY, TLB_USER | TLB_WRITE | TLB_DIRTY},
             {TLB_WRITE | TLB_DIRTY, TLB_WRITE | TLB_DIRTY}},
            {{TLB_USER | TLB_NX, TLB_USER}, {TLB_NX, 0}},
        };
        return table[static_cast<unsigned>(a)][pcid == TLB_PCID_GLOBAL];
    }
    TlbResult lookup_stlb(uint64_t vpn, uint16_t pcid, TlbAccess access);
    TlbResult refused(uint64_t vpn, uint16_t pcid, TlbAccess access, uint64_t d);

    // The tree-PLRU path of each way of a 4-way set, as TlbLevel::configure()
    // computes it: nodes 1 (root), 2 and 3; using a way points the root
    // and its child away from it.
    struct PlruPath {
        uint64_t mask, bits;
    };
    static constexpr PlruPath kPlru4[4] = {{0b0110, 0b0110}, {0b0110, 0b0010}, {0b1010, 0b1000}, {0b1010, 0}};

    // The hit cache of try_l1_user_hit(). A key is va >> 12 (52 bits) with
    // the PCID above it; kNoHit (all ones) is never a key, as user PCIDs
    // are below 4095.
    static constexpr unsigned kHitSlots = 256;
    static constexpr unsigned kHitPcidShift = 52;
    static constexpr uint64_t kNoHit = ~uint64_t{0};
    // Caches the L1 entry at `slot` (vpn, pcid, data d) if it can be.
    void remember_l1(uint64_t vpn, uint16_t pcid, unsigned slot, uint64_t d) {
        if (m_l1_not_4way_plru || pcid == TLB_PCID_GLOBAL || (vpn >> 45)) return;
        const unsigned i = static_cast<unsigned>(vpn & (kHitSlots - 1));
        m_hit_key[i] = vpn | static_cast<uint64_t>(pcid) << kHitPcidShift;
        m_hit_data[i] = d;
        m_hit_allows[i] = m_user_allows[d & 15];
        m_hit_set[i] = static_cast<uint8_t>(slot / 4);
        m_hit_way[i] = static_cast<uint8_t>(slot % 4);
    }
    // The L1 entry at `slot`, tagged `old`, is going: so is its copy.
    // Without branches: whether the copy is there is as random as the
    // addresses.
    void forget_l1(uint64_t old, unsigned slot) {
        const unsigned i = static_cast<unsigned>(tlb_tag_vpn(old) & (kHitSlots - 1));
        const uint64_t copied =
            static_cast<uint64_t>(m_hit_set[i] * 4u + m_hit_way[i] == slot) & (old != TLB_TAG_INVALID);
        m_hit_key[i] |= uint64_t{0} - copied;  // kNoHit is all ones
    }
    void forget_all_l1() { m_hit_key.fill(kNoHit); }
    // L1 changes that keep the hit cache true.
    void l1_fill(uint64_t vpn, uint16_t pcid, uint64_t t, uint64_t d, bool absent);
    void l1_invalidate(uint64_t vpn, uint64_t t);

    TlbLevel m_l1;
    TlbLevel m_stlb;
    bool m_l1_not_4way_plru = false;  // true: nothing goes into the hit cache
    uint16_t m_user_pcid = kern_pcid(0);
    // What try_l1_user_hit() reads, next to each other: the current PCID
    // placed as in a key, the 4-way PLRU update of each way (bits kept,
    // bits set) and the hit cache; and, to fill the cache's `allows` bits,
    // the accesses each combination of flags allows.
    uint64_t m_hit_pcid = static_cast<uint64_t>(kern_pcid(0)) << kHitPcidShift;
    // For each combination of the four TLB_* flag bits, bit a set when a
    // user access of TlbAccess a is allowed (need(a, user PCID) holds).
    std::array<uint8_t, 16> m_user_allows{};
    std::array<uint64_t, 4> m_plru4_keep{}, m_plru4_set{};
    std::array<uint64_t, kHitSlots> m_hit_key;
    std::array<uint64_t, kHitSlots> m_hit_data{};
    std::array<uint8_t, kHitSlots> m_hit_allows{};            // the accesses its rights allow
    std::array<uint8_t, kHitSlots> m_hit_set{}, m_hit_way{};  // the entry's place in the L1
    unsigned m_cpu = 0;
    std::shared_ptr<TlbShared> m_shared;
};

// A virtual address's vpn and lookup PCID on this CPU: kernel addresses
// (bit 63 set) are global.
inline uint16_t tlb_pcid_for(const CpuTlb& t, VirtAddr va) {
    return static_cast<int64_t>(va.value) < 0 ? TLB_PCID_GLOBAL : t.user_pcid();
}
inline TlbResult tlb_lookup(CpuTlb& t, VirtAddr va, TlbAccess access) {
    return t.lookup(va.value >> PAGE_SHIFT, tlb_pcid_for(t, va), access);
}
inline void tlb_fill(CpuTlb& t, VirtAddr va, Pfn pfn, uint8_t flags) {
    t.insert(va.value >> PAGE_SHIFT, tlb_pcid_for(t, va), pfn, flags);
}

// ---------------------------------------------------------------------------
// Linux's side (arch/x86/mm/tlb.c). `cpus` is every CPU of the machine,
// `cpu` the one the caller runs on.

// nullopt-style check of a spec: "" when usable, else what is wrong.
std::string tlb_spec_problem(const TlbSpec& spec);
// Boot: one CpuTlb per CPU, each with init_mm loaded in ASID 0
// (initialize_tlbstate_and_flush()). Throws std::invalid_argument for a bad spec.
std::vector<CpuTlb> make_cpu_tlbs(unsigned nr_cpus, const TlbSpec& spec = {});

// A new address space: a fresh ctx_id and tlb_gen 0 (init_new_context()).
void init_new_context(std::span<CpuTlb> cpus, TlbMmContext& mm);
// Before the mm is freed: CPUs that still have it loaded (lazily) switch
// to init_mm, and its lookups are folded into its stats. (The kernel keeps
// a lazily loaded mm alive with a reference instead.)
void tlb_mm_release(std::span<CpuTlb> cpus, TlbMmContext& mm);

// The context switch: choose_new_asid(), then CR3 with or without flush.
void switch_mm_irqs_off(std::span<CpuTlb> cpus, unsigned cpu, TlbMmContext& next);
inline void switch_mm(std::span<CpuTlb> cpus, unsigned cpu, TlbMmContext& next) {
    switch_mm_irqs_off(cpus, cpu, next);
}
// Switching to a kernel thread: keep the user mm loaded, mark the CPU lazy.
void enter_lazy_tlb(std::span<CpuTlb> cpus, unsigned cpu);
// A lazy CPU switches to init_mm.
void leave_mm(std::span<CpuTlb> cpus, unsigned cpu);

enum class FreedTables : bool { No, Yes };

// The flush functions return the number of IPIs sent (remote CPUs that ran
// the flush), for the caller to charge time.
//
// Page tables of `mm` changed in [start, end) (stride 1 << stride_shift):
// bump tlb_gen, flush here if loaded, and IPI the other CPUs of the
// cpumask that have it loaded and are not lazy (all of them when page
// tables were freed). Over tlb_single_page_flush_ceiling strides: full.
unsigned flush_tlb_mm_range(std::span<CpuTlb> cpus, unsigned cpu, TlbMmContext& mm, uint64_t start,
                            uint64_t end, unsigned stride_shift, FreedTables freed_tables);
// flush_tlb_mm(): the whole address space, page tables freed.
unsigned flush_tlb_mm(std::span<CpuTlb> cpus, unsigned cpu, TlbMmContext& mm);
// flush_tlb_page(): one 4 KiB page.
unsigned flush_tlb_page(std::span<CpuTlb> cpus, unsigned cpu, TlbMmContext& mm, VirtAddr addr);
// Every CPU flushes everything, global entries included.
unsigned flush_tlb_all(std::span<CpuTlb> cpus, unsigned cpu);
// Kernel mappings in [start, end) changed (vfree, set_memory_*): every CPU
// invalidates them page by page, or flushes everything over the ceiling.
unsigned flush_tlb_kernel_range(std::span<CpuTlb> cpus, unsigned cpu, uint64_t start, uint64_t end);

// Reclaim's batched unmap flush (try_to_unmap_flush()): pages are unmapped
// from many mms, then one flush covers them all.
struct TlbBatch {
    CpuMask cpumask;
    bool unmapped_pages = false;
};
void arch_tlbbatch_add_pending(TlbBatch& batch, TlbMmContext& mm);
unsigned arch_tlbbatch_flush(std::span<CpuTlb> cpus, unsigned cpu, TlbBatch& batch);

// Reading the counters.
TlbCounters tlb_total_counters(std::span<const CpuTlb> cpus);
uint64_t tlb_vm_event(std::span<const CpuTlb> cpus, TlbEvent e);  // summed over CPUs, as /proc/vmstat
TlbMmStats tlb_mm_stats(std::span<const CpuTlb> cpus, const TlbMmContext& mm);

// Checks every CPU's arrays and tlbstate; throws std::logic_error.
void validate_tlb(std::span<const CpuTlb> cpus);

}  // namespace mmsim
