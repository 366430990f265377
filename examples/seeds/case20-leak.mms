# Catalogue case 20: a leak.
# A server allocates 1 KiB for each request's header and never frees it;
# the body's buffers it frees. Its USS grows linearly, a page at a time,
# and memleak names the call site that leaks, with its byte total and count.
#
# glibc's arithmetic: malloc(1024) takes a chunk of 1040 bytes (the request
# plus the 8-byte size field, rounded up to 16), carved from the top chunk,
# whose new size field malloc writes just past it. `fill` writes the block
# as the program would, so each page becomes resident when the first header
# or top chunk reaches it: 1040 bytes a second is a page about every 4 s.
# The body's four 256-byte blocks (272-byte chunks) go back to the tcache
# and are reused every second: they cost nothing after the first time.
boot ram=1G cpus=1
spawn hello as=p

# One request's body before the loop, so that its chunks already exist.
malloc $p 256 count=4 at=main,handle_request,read_body as=body
free $p body

# hello's heap: 132 KiB from its first sbrk (main's first malloc asked for
# stdio's 4 KiB buffer; glibc adds M_TOP_PAD, 128 KiB, and MINSIZE and rounds
# to pages). Its top chunk starts after the tcache, the buffer and the body.
let uss0 = proc[$p].smaps_rollup.Private_Clean + proc[$p].smaps_rollup.Private_Dirty
let top0 = malloc[$p].arena - malloc[$p].keepcost   # the top chunk's offset in the heap
expect malloc[$p].heap == 132K
expect $top0 == 0x290 + 0x1010 + 4 * 272            # tcache, the 4 KiB buffer, the body
smem -P hello

# Pages of the heap written when the top chunk starts at offset TOP: up
# to the one holding its size field (TOP + 8). The heap starts on a page.
every 1s {
  malloc $p 1K at=main,handle_request,parse_header fill
  malloc $p 256 count=4 at=main,handle_request,read_body as=body
  free $p body
}
memleak -p $p 20s 3                                  # reports at 20 s, 40 s and 60 s
sleep 60s
expect malloc[$p].arena - malloc[$p].keepcost == $top0 + 60 * 1040
expect proc[$p].smaps_rollup.Private_Clean + proc[$p].smaps_rollup.Private_Dirty == \
       $uss0 + 4K * (floor(($top0 + 60 * 1040 + 8) / 4K) - floor(($top0 + 8) / 4K))

# memleak (which leaves out blocks younger than 500 ms, here the one of
# this very second) names the site: 59 blocks of 1024 bytes. Its value
# source counts every block.
memleak -p $p
expect memleak[$p][0].site == "main;handle_request;parse_header"
expect memleak[$p][0].bytes == 60 * 1K && memleak[$p][0].allocs == 60
expect memleak[$p].stacks == 2                       # and stdio's buffer; no read_body

# Two more minutes. The 125th header no longer fits in the top chunk:
# sysmalloc asks brk for 1040 + 128K + 32 bytes less what is left of the
# top, rounded up to a page: exactly 132 KiB more. The break moves, but
# USS still grows only by the pages written.
sleep 2m
expect malloc[$p].heap == 264K
expect malloc[$p].arena - malloc[$p].keepcost == $top0 + 180 * 1040
expect proc[$p].smaps_rollup.Private_Clean + proc[$p].smaps_rollup.Private_Dirty == \
       $uss0 + 4K * (floor(($top0 + 180 * 1040 + 8) / 4K) - floor(($top0 + 8) / 4K))
expect memleak[$p][0].bytes == 180 * 1K && memleak[$p][0].allocs == 180
grep heap /proc/$p/maps
smem -P hello                                        # 180 chunks of 1040 bytes: 46 pages more
memleak -p $p --top 1
