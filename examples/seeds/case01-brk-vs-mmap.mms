# Catalogue case 1: brk versus mmap at 128 KiB, and what free returns.
# glibc serves a request below M_MMAP_THRESHOLD (128 KiB at start) from the
# heap, grown with brk; one at or above it gets a mapping of its own, which
# free unmaps at once. Freeing a mapped block raises the threshold to its
# size, so the same request then comes from the heap; and memory freed on
# the heap goes back to the kernel only when the top chunk passes
# M_TRIM_THRESHOLD (twice the threshold once it has moved). The program is
# malloc_steps, the image of the real-glibc oracle (docs/malloc.md): it uses
# no stdio, so it starts with no heap. The same calls on the real glibc
# (tests/data/host-6.18/malloc/case01.c) give the same heap sizes and
# malloc_stats numbers.
boot ram=1G cpus=2
spawn malloc_steps as=p
let vsz0 = proc[$p].status.VmSize
let areas0 = proc[$p].maps.count
let rss0 = proc[$p].status.RssAnon
expect malloc[$p].heap == 0

# 127 KiB: the first malloc makes the tcache (656 bytes) and the heap:
# request + M_TOP_PAD (128 KiB) + MINSIZE, page-rounded: 132 KiB by brk.
malloc $p 127K fill as=small
expect malloc[$p].heap == 132K
expect proc[$p].status.VmSize == $vsz0 + 132K
expect proc[$p].maps.count == $areas0 + 1            # [heap]
expect proc[$p].status.RssAnon == $rss0 + 128K       # 32 pages written
let rss1 = proc[$p].status.RssAnon

# 128 KiB: at the threshold, its own mapping of 128 KiB + 16 bytes of
# header, page-rounded: 132 KiB, outside the heap. It lands just below the
# lowest mapping, an anonymous read-write area like itself, and the kernel
# merges the two: VmSize grows, the number of areas does not (as on the host).
malloc $p 128K fill as=big
expect malloc[$p].heap == 132K
expect malloc[$p].hblkhd == 132K
expect proc[$p].status.VmSize == $vsz0 + 132K + 132K
expect proc[$p].maps.count == $areas0 + 1
expect proc[$p].status.RssAnon == $rss1 + 132K

# free of a mapped block: munmap, every page back at once; the threshold
# rises to the block's size.
free $p $big
expect proc[$p].status.VmSize == $vsz0 + 132K
expect proc[$p].status.RssAnon == $rss1
expect malloc[$p].mmap_threshold == 132K
expect malloc[$p].trim_threshold == 264K

# The same request is now below the threshold: the heap grows by brk.
malloc $p 128K fill as=big2
expect malloc[$p].hblkhd == 0
expect malloc[$p].heap == 384K
let rss2 = proc[$p].status.RssAnon

# free on the heap: the block joins the top chunk (256 KiB and a bit),
# which is below the trim threshold (264 KiB): nothing goes back.
free $p $big2
expect malloc[$p].heap == 384K
expect proc[$p].status.RssAnon == $rss2

# The last block joins the top chunk too; now it passes the threshold and
# brk gives back all but M_TOP_PAD, page-rounded: the heap is 132 KiB again.
free $p $small
expect malloc[$p].heap == 132K
expect proc[$p].status.VmSize == $vsz0 + 132K
expect proc[$p].status.RssAnon < $rss2
malloc_stats $p
grep -E "VmSize|VmData|VmRSS|RssAnon" /proc/$p/status
pmap -x $p
