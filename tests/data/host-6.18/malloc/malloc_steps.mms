# The real-glibc oracle, mirrored: tests/data/host-6.18/malloc/malloc_steps.c
# ran on Debian 12 (glibc 2.36, Linux 6.18) and printed after each step the
# heap's extent, VmSize, VmData, VmRSS, RssAnon and its number of areas
# (malloc_steps.out). This scenario makes the same calls on the built-in
# malloc_steps image (the same binary's layout) and prints the same line;
# tests/scenario/malloc_oracle_test.cpp compares the two step by step.
boot ram=1G cpus=2
spawn malloc_steps as=p

# spawned: ld.so and libc mapped, no heap yet (the program uses no stdio)
echo "start heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# below the threshold: the heap starts, 64 KiB + M_TOP_PAD, page-rounded
malloc $p 64K as=a
echo "malloc-64K heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# at or above 128 KiB: its own mapping of 1 MiB + one page
malloc $p 1M as=b
echo "malloc-1M heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# munmap, and the threshold rises to the chunk's size (1 MiB + 4 KiB)
free $p $b
echo "free-1M heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# now below the threshold: from the heap
malloc $p 1M as=c
echo "malloc-1M-again heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

malloc $p 1M as=d
echo "malloc-1M-third heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# merges into top, which stays below the trim threshold (2 x 1 MiB)
free $p $d
echo "free-third heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# top passes the trim threshold: brk shrinks to M_TOP_PAD
free $p $c
echo "free-second heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# merges into top, below the trim threshold
free $p $a
echo "free-64K heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# 4096 chunks of 1008 bytes, written
touch $p 0x5555555680e0 32K write   # the program's own array of 4096 pointers (small.0 in its bss)
malloc $p 1000 count=4096 fill as=small
echo "malloc-4096x1000 heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# every 16th kept: nothing can be returned
free $p small keep=16
echo "free-15-of-16 heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# trims top and MADV_DONTNEEDs the whole free pages in the holes
malloc_trim $p 0
echo "malloc_trim-$ret heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# a fixed threshold: 200 KiB from the heap
mallopt $p M_MMAP_THRESHOLD 256K
malloc $p 200K as=e
echo "mmap256K-malloc-200K heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# above it: mmapped
malloc $p 300K as=f
echo "malloc-300K heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# a fixed threshold does not move
free $p $f
echo "free-300K heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# top above 64 KiB: trimmed
mallopt $p M_TRIM_THRESHOLD 64K
free $p $e
echo "trim64K-free-200K heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# mmapped, and not written: fresh pages are already zero
calloc $p 1 2M as=g
echo "calloc-2M heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# mremap may move it: the old range goes, one area more
realloc $p $g 4M as=g
echo "realloc-4M heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

free $p $g
echo "free-4M heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"

# a new arena: a 64 MiB heap reserved PROT_NONE, 132 KiB of it read-write
thread $p as=t
malloc $t 1K fill as=h
echo "thread-malloc-1K heap=$((malloc[$p].heap)) VmSize=$((proc[$p].status.VmSize / 1024)) VmData=$((proc[$p].status.VmData / 1024)) VmRSS=$((proc[$p].status.VmRSS / 1024)) RssAnon=$((proc[$p].status.RssAnon / 1024)) maps=$((proc[$p].maps.count))"
