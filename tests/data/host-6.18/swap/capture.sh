#!/bin/bash
# capture.sh - rebuild and rerun every capture in this folder on a real Linux host (as root).
# Needs: no swap on at the start, /dev/zram0 present and not initialised (disksize 0), /var/tmp on
# a filesystem that supports swap files (ext4 here). Turns swap on and off, resets zram0 and drops
# the page cache; restores the host (swapoff, zram0 reset, swap files removed) on any exit.
# See README.md for what each output is.
set -euo pipefail
cd "$(dirname "$0")"
B=/tmp/mmsim-swapcap
SWAPFILE=/var/tmp/mmsim-swapfile
SWAPFILE2=/var/tmp/mmsim-swapfile2
LRUFILE=/var/tmp/mmsim-lru-steps.dat
ZRAM=/dev/zram0
ZSYS=/sys/block/zram0
LOG=conditions.txt
HOLD_PID=

die() { echo "capture.sh: $*" >&2; exit 1; }

# --- preconditions (checked before the trap is set, so a busy host is left untouched) ---
[ "$(id -u)" = 0 ] || die "run as root"
[ "$(tail -n +2 /proc/swaps | wc -l)" = 0 ] || die "some swap is already on: $(cat /proc/swaps)"
[ -b $ZRAM ] || die "no $ZRAM"
[ "$(cat $ZSYS/disksize)" = 0 ] || die "$ZRAM is already initialised (disksize $(cat $ZSYS/disksize))"

cleanup() {
	set +e
	if [ -n "$HOLD_PID" ]; then kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null; fi
	for s in $SWAPFILE $SWAPFILE2 $ZRAM; do
		if awk -v s="$s" '$1 == s { f = 1 } END { exit !f }' /proc/swaps; then swapoff "$s"; fi
	done
	echo 1 > $ZSYS/reset
	rm -f $SWAPFILE $SWAPFILE2 $LRUFILE
	echo "--- /proc/swaps after cleanup:"
	cat /proc/swaps
	echo "--- zram0 disksize after cleanup: $(cat $ZSYS/disksize)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Prints the swap devices that are on but not in the space-separated list $1.
foreign_swaps() {
	tail -n +2 /proc/swaps | awk '{ print $1 }' | while read -r d; do
		case " $1 " in *" $d "*) ;; *) echo "$d" ;; esac
	done
}

vmstat_get() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
meminfo_get() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# Other sessions share this host (builds, other captures). Wait until the host is quiet: over a
# 2 s window fewer than 2000 page faults system-wide, AnonPages moving by less than 2 MiB, no
# swap I/O, and no swap device on but the ones listed in $1 (a space-separated list). All waits
# together give up after WAIT_BUDGET seconds (default 2400); after that each capture runs after
# one 2 s sample, and the noise seen is written to conditions.txt.
WAIT_BUDGET=${WAIT_BUDGET:-2400}
WAIT_DEADLINE=$(( $(date +%s) + WAIT_BUDGET ))
wait_quiet() {
	local want="$1" tries=0 f0 f1 a0 a1 s0 s1 others
	while :; do
		others=$(foreign_swaps "$want")
		f0=$(vmstat_get pgfault); a0=$(meminfo_get AnonPages)
		s0=$(( $(vmstat_get pswpin) + $(vmstat_get pswpout) ))
		sleep 2
		f1=$(vmstat_get pgfault); a1=$(meminfo_get AnonPages)
		s1=$(( $(vmstat_get pswpin) + $(vmstat_get pswpout) ))
		local df=$((f1 - f0)) da=$((a1 - a0)) ds=$((s1 - s0))
		[ $da -lt 0 ] && da=$((-da))
		if [ -z "$others" ] && [ $df -lt 2000 ] && [ $da -lt 2048 ] && [ $ds = 0 ]; then
			echo "  quiet after $tries retries: pgfault +$df, |AnonPages delta| ${da} kB, pswp +$ds in 2 s; loadavg $(cut -d' ' -f1-3 /proc/loadavg)" >> $LOG
			return 0
		fi
		tries=$((tries + 1))
		[ -n "$others" ] && die "a swap device not ours is on: $others"
		if [ "$(date +%s)" -ge $WAIT_DEADLINE ]; then
			echo "  NOT QUIET after $tries tries (pgfault +$df, |AnonPages delta| ${da} kB, pswp +$ds in 2 s; loadavg $(cut -d' ' -f1-3 /proc/loadavg))" >> $LOG
			return 0
		fi
		sleep 3
	done
}

# Fails if a swap device other than the listed ones is on (another session's), which would take
# our pages if its priority were higher.
check_swaps() {
	local others
	others=$(foreign_swaps "$1")
	[ -z "$others" ] || die "a swap device not ours appeared during a capture: $others"
}

zram_on() { # $1 = extra swapon options
	echo 256M > $ZSYS/disksize
	mkswap $ZRAM > /dev/null
	swapon $1 $ZRAM
}
zram_off() {
	swapoff $ZRAM
	echo 1 > $ZSYS/reset
}
file_on() { # $1 = path, $2 = size
	rm -f "$1"
	fallocate -l "$2" "$1"
	chmod 600 "$1"
	mkswap "$1" > /dev/null
	swapon "$1"
}

mkdir -p $B
gcc -O1 -Wall -o $B/swap_steps swap_steps.c
gcc -O1 -Wall -o $B/lru_steps lru_steps.c
gcc -O1 -Wall -o $B/hold_pageout hold_pageout.c

{
	echo "kernel: $(uname -r)"
	echo "started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "nproc: $(nproc)  MemTotal: $(meminfo_get MemTotal) kB"
	echo "vm.swappiness=$(cat /proc/sys/vm/swappiness) vm.page-cluster=$(cat /proc/sys/vm/page-cluster) vma_ra_enabled=$(cat /sys/kernel/mm/swap/vma_ra_enabled)"
	echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled); mTHP sizes enabled: $(grep -l -e '\[always\]' -e '\[madvise\]' -e '\[inherit\]' /sys/kernel/mm/transparent_hugepage/hugepages-*/enabled | sed 's,.*/hugepages-,,; s,/enabled,,' | tr '\n' ' ')"
	echo "memcg: $(grep ':memory:' /proc/self/cgroup || echo none)"
	echo "zram0 comp_algorithm (before init): $(cat $ZSYS/comp_algorithm)"
} > $LOG

# --- 3. LRU steps, no swap on, three runs ---
: > lru_steps.out
for r in 1 2 3; do
	echo "lru_steps run $r:" >> $LOG
	rm -f $LRUFILE
	wait_quiet ""
	$B/lru_steps $r >> lru_steps.out
	check_swaps ""
done

# --- 1, 2, 5. swap file on ext4 ---
file_on $SWAPFILE 256M
echo "swap file: $(tail -n +2 /proc/swaps)" >> $LOG
echo "swap_steps file:" >> $LOG
wait_quiet $SWAPFILE
setarch -R $B/swap_steps -m full -s smaps_swapped_area.file.txt -S smaps_swapped_area.file.slept.txt > swap_steps.file.out
check_swaps $SWAPFILE
echo "swap_sparse file:" >> $LOG
wait_quiet $SWAPFILE
setarch -R $B/swap_steps -m sparse > swap_sparse.file.out
check_swaps $SWAPFILE
swapoff $SWAPFILE
rm -f $SWAPFILE

# --- 1, 2. zram0, a freshly initialised device for each run ---
zram_on ""
echo "zram: $(tail -n +2 /proc/swaps); comp_algorithm $(cat $ZSYS/comp_algorithm)" >> $LOG
echo "swap_steps zram:" >> $LOG
wait_quiet $ZRAM
setarch -R $B/swap_steps -m full -s smaps_swapped_area.zram.txt -z zram.swap_steps.slept > swap_steps.zram.out
check_swaps $ZRAM
cat $ZSYS/mm_stat > zram.swap_steps.after.mm_stat
cat $ZSYS/stat > zram.swap_steps.after.stat
zram_off
zram_on ""
echo "swap_sparse zram:" >> $LOG
wait_quiet $ZRAM
setarch -R $B/swap_steps -m sparse -z zram.swap_sparse.slept > swap_sparse.zram.out
check_swaps $ZRAM
cat $ZSYS/mm_stat > zram.swap_sparse.after.mm_stat
cat $ZSYS/stat > zram.swap_sparse.after.stat
zram_off

# --- 4. /proc/swaps, swapon --show and free with several devices ---
echo "swaps_format:" >> $LOG
snap() { # $1 = suffix
	cat /proc/swaps > proc_swaps.$1.txt
	swapon --show > swapon_show.$1.txt
	free > free.$1.txt
}
file_on $SWAPFILE 256M                       # default priority
snap one
zram_on "-p 5"                               # 256M zram0, priority 5
snap two
file_on $SWAPFILE2 64M                       # second default priority
snap three
$B/hold_pageout > $B/hold.ready &
HOLD_PID=$!
for i in $(seq 1 100); do grep -q ready $B/hold.ready 2>/dev/null && break; sleep 0.1; done
grep -q ready $B/hold.ready || die "hold_pageout did not get ready"
snap used                                    # 8 MiB paged out to zram0 (highest priority)
kill $HOLD_PID; wait $HOLD_PID 2>/dev/null || true
HOLD_PID=
swapoff $SWAPFILE                            # take away the first default-priority device
snap after_swapoff_first
swapon $SWAPFILE                             # and turn it on again
snap reswapon
check_swaps "$SWAPFILE $SWAPFILE2 $ZRAM"

uname -r > kernel-release.txt
date -u +%Y-%m-%dT%H:%MZ >> kernel-release.txt
echo "finished: $(date -u +%Y-%m-%dT%H:%M:%SZ)" >> $LOG
