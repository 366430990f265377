# Catalogue case 5: `pmap -X` of a shell.
#
# One line per area of the address space, bottom to top: bash's text,
# read-only data, RELRO and data (with the bss after it, anonymous), the
# heap, then near the top the libraries (libc, libtinfo), the vvar and
# vdso pages, ld.so, and the stack; Rss and Pss per area, and Anonymous:
# the pages written (data, bss, heap, stack, and the relocated RELRO
# pages), against the file pages shared with the page cache.
#
# The shell then grows its heap with brk and writes 64 KiB of it, and its
# stack grows by 16 KiB below the [stack] area: the heap and stack lines
# gain exactly those pages, all anonymous and private (Pss = Rss), and
# nothing else moves. The layout and counts at the start are bash's on the
# real 6.18 host (tests/data/host-6.18/vm/images/bash/pmap-X).
boot ram=1G cpus=2
spawn bash as=sh
let size0 = proc[$sh].status.VmSize
let data0 = proc[$sh].status.VmData
let stk0 = proc[$sh].status.VmStk
let rss0 = proc[$sh].status.VmRSS
let anon0 = proc[$sh].smaps_rollup.Anonymous
let pss_anon0 = proc[$sh].smaps_rollup.Pss_Anon
let dirty0 = proc[$sh].smaps_rollup.Private_Dirty
let file0 = proc[$sh].status.RssFile
let flt0 = proc[$sh].stat.minflt

brk $sh +64K                            # the heap area grows: no memory yet
expect proc[$sh].status.VmSize == $size0 + 64K
expect proc[$sh].status.VmData == $data0 + 64K
expect proc[$sh].status.VmRSS == $rss0
touch $sh $(( $addr - 64K )) 64K write  # the shell fills it: 16 new pages
expect proc[$sh].stat.minflt == $flt0 + 16
expect proc[$sh].smaps_rollup.Anonymous == $anon0 + 64K
expect proc[$sh].smaps_rollup.Pss_Anon == $pss_anon0 + 64K
expect proc[$sh].smaps_rollup.Private_Dirty == $dirty0 + 64K

# A deeper call chain: the stack grows down over 16 KiB below [stack].
touch $sh $(( 0x7ffffffde000 - 16K )) 16K write
expect proc[$sh].status.VmStk == $stk0 + 16K
expect proc[$sh].status.VmSize == $size0 + 64K + 16K
expect proc[$sh].smaps_rollup.Anonymous == $anon0 + 64K + 16K
expect proc[$sh].smaps_rollup.Pss_Anon == $pss_anon0 + 64K + 16K
expect proc[$sh].status.RssFile == $file0  # no file page moved

pmap -X $sh
pmap -x $sh
