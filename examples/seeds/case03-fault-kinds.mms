# Catalogue case 3: four kinds of page fault.
#
#   minor   the first write to an anonymous page: a zeroed page is mapped
#           (stat.minflt +1, vmstat pgfault +1)
#   SIGSEGV an access outside every area: SEGV_MAPERR, and the kernel logs
#           "comm[pid]: segfault at ADDR ip ... sp ... error 6"
#   SIGSEGV a write to the read-only text segment: SEGV_ACCERR, error 7
#   major   the page has to be read from disk: stat.majflt +1, pgmajfault +1
#
# The error code is the x86 page-fault error code the CPU pushes: bit 0
# (1) the page was present, so a protection violation; bit 1 (2) a write;
# bit 2 (4) from user mode. A write to an unmapped address is 4|2 = 6; a
# write to a present text page is 4|2|1 = 7. Neither SIGSEGV counts in
# pgfault: the kernel refuses them before handle_mm_fault().
#
# The classic major fault is a swap-in: the last part pages memory out with
# MADV_PAGEOUT and touches it again. On a disk the written pages stay in
# the swap cache until memory is short, so touching them again is only a
# minor fault; on zram (synchronous) they are freed at once, and the touch
# reads the page back: a major fault. (As on the host: swap_steps.c in
# tests/data/host-6.18/swap. zram's own compressed store is not modelled
# yet.) A page that must be read from a file not in the page cache is a
# major fault too. Real errnos and si_codes:
# tests/data/host-6.18/vm/errno.out.
boot ram=1G cpus=1

echo "== minor: the first write to a page =="
spawn hello as=p
mmap $p 64K as=buf
let min0 = proc[$p].stat.minflt
let maj0 = proc[$p].stat.majflt
let anon0 = proc[$p].status.RssAnon
let pgf0 = vmstat.pgfault
touch $p $buf 4K write
expect proc[$p].stat.minflt == $min0 + 1
expect vmstat.pgfault == $pgf0 + 1
expect proc[$p].status.RssAnon == $anon0 + 4K
touch $p $buf 4K write                  # mapped now: no fault at all
expect proc[$p].stat.minflt == $min0 + 1
expect vmstat.pgfault == $pgf0 + 1
print proc[$p].stat.minflt - $min0
print proc[$p].stat.majflt - $maj0

echo
echo "== SIGSEGV: a write outside every area (SEGV_MAPERR) =="
spawn hello as=a
let pgf1 = vmstat.pgfault
touch $a 0x10000 4K write               # below the executable: no area there
expect $signal == "SIGSEGV"
expect vmstat.pgfault == $pgf1
echo -n "kernel log lines 'hello[$a]: segfault at 10000 ... error 6': "
dmesg | grep -F "hello[$a]: segfault at 10000 ip " | grep -c -w "error 6"

echo
echo "== SIGSEGV: a write to the text segment (SEGV_ACCERR) =="
spawn hello as=b
let pgf2 = vmstat.pgfault
# hello's code is the r-xp area at 0x555555555000; its page is resident
# (the program ran it), so the fault is a protection violation.
touch $b 0x555555555000 4K exec         # running it is fine: no fault
expect vmstat.pgfault == $pgf2
touch $b 0x555555555000 4K write
expect $signal == "SIGSEGV"
expect vmstat.pgfault == $pgf2
echo -n "kernel log lines 'hello[$b]: segfault at 555555555000 ... error 7': "
dmesg | grep -F "hello[$b]: segfault at 555555555000 ip " | grep -c -w "error 7"

echo
echo "== major: the page must be read from disk =="
file /data/app.dat 1M                   # on disk, not in the page cache
mmap $p 1M prot=r file=/data/app.dat as=f
let min2 = proc[$p].stat.minflt
let maj2 = proc[$p].stat.majflt
let pgf4 = vmstat.pgfault
let pgmaj2 = vmstat.pgmajfault
touch $p $f 4K read
expect proc[$p].stat.majflt == $maj2 + 1
expect proc[$p].stat.minflt == $min2    # a major fault is not also a minor one
expect vmstat.pgmajfault == $pgmaj2 + 1
expect vmstat.pgfault == $pgf4 + 1      # pgfault counts every fault, majors too
touch $p $f 4K read                     # now mapped: no fault
expect proc[$p].stat.majflt == $maj2 + 1
print proc[$p].stat.majflt - $maj0
# Fault-around maps only pages already in the page cache, so it never makes
# a fault major. (On the real kernel the cold fault also reads ahead, and
# its retry maps a 64 KiB window at once: readahead comes with the files
# issue.)

echo
echo "== the same page for the next process: minor =="
spawn hello as=q
mmap $q 1M prot=r file=/data/app.dat as=g
let qmin = proc[$q].stat.minflt
let qmaj = proc[$q].stat.majflt
touch $q $g 4K read                     # in the page cache now
expect proc[$q].stat.minflt == $qmin + 1
expect proc[$q].stat.majflt == $qmaj
print proc[$q].stat.minflt - $qmin
print proc[$q].stat.majflt - $qmaj

echo
echo "== swapped out to a disk: still in the swap cache, so minor =="
swapon /swapfile size=64M
mmap $p 1M as=s
touch $p $s 1M write
madvise $p $s 1M pageout                # reclaim writes the 256 pages now
expect proc[$p].status.VmSwap == 1M
expect meminfo.SwapCached == 1M         # written, but kept until memory is short
let min5 = proc[$p].stat.minflt
let maj5 = proc[$p].stat.majflt
touch $p $s 4K read
expect proc[$p].stat.minflt == $min5 + 1
expect proc[$p].stat.majflt == $maj5
print proc[$p].status.VmSwap
swapoff /swapfile                       # reads every page back in
expect proc[$p].status.VmSwap == 0
expect meminfo.SwapTotal == 0

echo
echo "== major: the page is in swap (zram) =="
swapon /dev/zram0 size=64M medium=zram
madvise $p $s 1M pageout
expect meminfo.SwapCached == 0          # synchronous: written and freed at once
let maj6 = proc[$p].stat.majflt
let pgmaj6 = vmstat.pgmajfault
let in6 = vmstat.pswpin
touch $p $s 4K read
expect proc[$p].stat.majflt == $maj6 + 1
expect vmstat.pgmajfault == $pgmaj6 + 1
expect vmstat.pswpin == $in6 + 1
expect proc[$p].status.VmSwap == 1020K
print proc[$p].stat.majflt - $maj6
