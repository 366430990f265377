# Catalogue case 19: a real-time program's memory. The usual recipe: lock
# everything now and in the future (mlockall), tell glibc never to give
# heap memory back (M_TRIM_THRESHOLD -1) and never to map blocks of their
# own (M_MMAP_MAX 0, or every large free would munmap and the next malloc
# would fault again), then allocate and write a pool once and free it.
# Every later allocation is served from memory already resident and locked:
# no page faults, and nothing can be reclaimed or swapped.
boot ram=1G cpus=2
spawn malloc_steps as=p

mlockall $p current,future
mallopt $p M_TRIM_THRESHOLD -1
mallopt $p M_MMAP_MAX 0
expect malloc[$p].trim_threshold > 1024T                # (size_t)-1: never trim

# Prefault: a 16 MiB pool, written once, freed. brk under MCL_FUTURE maps
# the new heap locked and populated; with M_MMAP_MAX 0 even 16 MiB comes
# from the heap.
malloc $p 16M fill as=pool
expect malloc[$p].hblkhd == 0
expect malloc[$p].heap >= 16M + 128K
free $p $pool
expect malloc[$p].heap >= 16M + 128K                 # never trimmed
let heap = malloc[$p].heap
# Everything is locked but [vvar] (16 KiB), [vvar_vclock] and [vdso] (8 KiB each).
expect proc[$p].status.VmLck == proc[$p].status.VmSize - 32K

# The real-time loop: allocations of all sizes, written, freed, and none
# of them faults, not even the large ones that would otherwise be mmapped.
let flt = proc[$p].stat.minflt
let rss = proc[$p].status.VmRSS
malloc $p 200 count=1000 fill as=msgs
malloc $p 4M fill as=frame
malloc $p 512K fill as=buf
free $p msgs keep=10
free $p $frame
malloc $p 1M fill as=frame2
free $p $buf
free $p $frame2
free $p msgs
expect proc[$p].stat.minflt == $flt
expect proc[$p].status.VmRSS == $rss
expect malloc[$p].heap == $heap
expect proc[$p].status.VmSwap == 0
grep -E "VmSize|VmLck|VmRSS|VmSwap" /proc/$p/status
grep Mlocked /proc/meminfo
