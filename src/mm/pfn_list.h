// list_add(), list_add_tail() and list_del() for lists of pages threaded
// through Page::next/prev by pfn (PfnList): the buddy free lists and the
// LRU lists both use them.
#pragma once

#include <cstdint>

#include "mm/memmap.h"
#include "mmsim/mmzone.h"

namespace mmsim {

[[gnu::always_inline]] inline void list_add_head(PageView mm, PfnList& list, uint64_t pfn) {
    Page& p = mm[pfn];
    p.prev = PFN_NIL;
    p.next = list.first;
    if (list.first != PFN_NIL)
        mm[list.first].prev = static_cast<uint32_t>(pfn);
    else
        list.last = static_cast<uint32_t>(pfn);
    list.first = static_cast<uint32_t>(pfn);
}

[[gnu::always_inline]] inline void list_add_tail(PageView mm, PfnList& list, uint64_t pfn) {
    Page& p = mm[pfn];
    p.next = PFN_NIL;
    p.prev = list.last;
    if (list.last != PFN_NIL)
        mm[list.last].next = static_cast<uint32_t>(pfn);
    else
        list.first = static_cast<uint32_t>(pfn);
    list.last = static_cast<uint32_t>(pfn);
}

[[gnu::always_inline]] inline void list_del(PageView mm, PfnList& list, uint64_t pfn) {
    Page& p = mm[pfn];
    if (p.prev != PFN_NIL)
        mm[p.prev].next = p.next;
    else
        list.first = p.next;
    if (p.next != PFN_NIL)
        mm[p.next].prev = p.prev;
    else
        list.last = p.prev;
    p.next = p.prev = 0;
}

}  // namespace mmsim
