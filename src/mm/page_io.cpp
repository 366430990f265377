// Swap I/O (mm/page_io.c): writing a folio to its slot and reading it back.
//
// swap_writeout() is what reclaim's pageout() calls for a dirty folio in
// the swap cache. A page that holds nothing but zeroes is not written at
// all: 6.8 added a per-device bitmap (the zeromap) that marks such slots,
// and swap-in fills the page with zeroes instead of reading (swpout_zero,
// swpin_zero). Every other page is written (pswpout): on a device with
// synchronous I/O (zram, a ramdisk) the write is over when the call
// returns; on a disk it is a bio that completes later, and until then the
// folio is under writeback.
//
// Here every write completes within the call, after the device's write
// time; a disk's write still passes through PG_writeback so that reclaim
// sees what it sees in the kernel: the folio cannot be freed in the pass
// that wrote it, and the end of writeback rotates it to the tail of the
// inactive list (PG_reclaim, pgrotated) to be freed first next time.
//
// The simulator does not keep page contents, so whether a page is all
// zeroes is not known; a page written by a program is taken to hold data
// (the zeromap stays empty), which is what the programs people run do.
#include "mm/pgtable.h"
#include "mm/swap.h"
#include "mm/swap_state.h"

namespace mmsim {

void swap_writeout(Kernel& k, Pfn pfn, SwpEntry e) {
    Page& p = page_of(k, pfn);
    const SwapInfo& si = swap_info_of(k, e);
    swap_zeromap_set(k, e, false);
    p.clear(PG_dirty);
    p.set(PG_writeback);
    k.count_event(PSWPOUT);
    // submit_bio() counts the bio in pgpgout (kB, as /proc/vmstat shows it).
    k.count_event(PGPGOUT, PAGE_SIZE / 1024);
    k.clock.charge(si.write_latency);
    // The bio's completion (end_swap_bio_write / folio_end_writeback).
    if (!si.synchronous_io()) return;
    p.clear(PG_writeback);
    p.clear(PG_reclaim);
}

void swap_end_writeback(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (!p.test(PG_writeback)) return;
    p.clear(PG_writeback);
    // folio_end_writeback(): a folio reclaim wanted goes to the tail.
    if (p.test(PG_reclaim)) {
        p.clear(PG_reclaim);
        folio_rotate_reclaimable(k, pfn);
    }
}

void swap_read_folio(Kernel& k, Pfn pfn, SwpEntry e) {
    Page& p = page_of(k, pfn);
    const SwapInfo& si = swap_info_of(k, e);
    if (swap_zeromap_test(k, e)) {
        k.count_event(SWPIN_ZERO);
    } else {
        k.count_event(PSWPIN);
        k.count_event(PGPGIN, PAGE_SIZE / 1024);
        k.clock.charge(si.read_latency);
    }
    p.set(PG_uptodate);
}

}  // namespace mmsim
