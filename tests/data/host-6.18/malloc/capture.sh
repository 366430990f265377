#!/bin/sh
# Captures the real-glibc oracle of the malloc model: Debian 12's glibc 2.36
# on Linux 6.18, x86-64. malloc_steps.out and malloc_steps.out2 are two runs:
# VmRSS differs between them (the file pages libc's code faults in depend on
# the page cache); the heap, VmSize, VmData, the RssAnon deltas and the map
# counts do not. The binary's layout (readelf -lW) is in images.cpp as
# kMallocSteps; its path was /tmp/mo/malloc_steps.
set -e
cd "$(dirname "$0")"
gcc -O0 -Wall -pthread malloc_steps.c -o /tmp/mo/malloc_steps
readelf -lW /tmp/mo/malloc_steps
(cd /tmp/mo && ./malloc_steps) > malloc_steps.out
(cd /tmp/mo && ./malloc_steps) > malloc_steps.out2

# bins.c: tcache reuse order, fastbin overflow, mallinfo2 after the
# fragmentation pattern, the double-free message (stdout flushed first).
gcc -O0 bins.c -o /tmp/mo/bins && (/tmp/mo/bins > bins.out 2>&1 || true)
# arenas.c: n threads each holding a malloc(100); the ---p areas and
# mallinfo2().arena show how many arenas exist (2 CPUs: at most 16).
gcc -O0 -pthread arenas.c -o /tmp/mo/arenas
for n in 1 15 16 20; do echo "threads=$n"; /tmp/mo/arenas $n; done > arenas.out

# case01.c: catalogue case 1 on the real glibc (examples/seeds/case01-brk-vs-mmap.mms
# expects the same heap sizes and malloc_stats numbers).
gcc -O0 case01.c -o /tmp/mo/case01 && /tmp/mo/case01 > case01.out 2>&1

# perturb.c: M_PERTURB makes malloc fill (write) what it returns, and calloc
# write even a fresh mapping: the RssAnon changes.
gcc -O0 perturb.c -o /tmp/mo/perturb && /tmp/mo/perturb > perturb.out

# texit.c: a thread that writes 256 KiB of its stack and frees 20 small
# blocks, joined twice over: the stack stays cached, the arena is reused.
gcc -O0 -pthread texit.c -o /tmp/mo/texit && /tmp/mo/texit > texit.out

# memalign.c: memalign, posix_memalign and aligned_alloc: each block's
# offset from the heap's start (a mapped one's varies run to run) and
# mallinfo2 after each call.
gcc -O0 memalign.c -o /tmp/mo/memalign && /tmp/mo/memalign > memalign.out
