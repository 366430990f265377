#!/bin/bash
# capture.sh - builds the tools fixture: a small /proc tree copied from this host (kthreadd, an
# idle sleep, two idle dash shells and an idle bash), then runs the real procps-ng 4.0.2 and
# smem 1.5 tools on that tree (bind-mounted over /proc in a private mount namespace), so the
# expected outputs match the captured files exactly.
# Run as root from this folder: bash capture.sh   (rewrites host/proc and host/expected)
set -e
out=$PWD/host
rm -rf "$out"; mkdir -p "$out/proc/sys/kernel" "$out/expected"
E="env -i PATH=/usr/bin:/bin"
$E setarch -R sleep 100000 & p1=$!
$E setarch -R /bin/dash -c 'read x # tools-fixture' < <(sleep 600) & p2=$!
$E setarch -R /bin/dash -c 'read x # tools-fixture' < <(sleep 600) & p3=$!
$E setarch -R /bin/bash -c 'read -r x # tools-fixture' < <(sleep 600) & p4=$!
sleep 1
for p in 2 $p1 $p2 $p3 $p4; do
	mkdir -p "$out/proc/$p"
	for f in cmdline comm stat statm status maps smaps smaps_rollup; do
		cat /proc/$p/$f > "$out/proc/$p/$f" 2>/dev/null || rm -f "$out/proc/$p/$f"
	done
	: > "$out/proc/$p/environ"
done
for f in meminfo stat uptime loadavg cpuinfo; do cat /proc/$f > "$out/proc/$f"; done
for f in pid_max osrelease; do cat /proc/sys/kernel/$f > "$out/proc/sys/kernel/$f"; done
# The real tools run in a new pid namespace as pid 1 and read /proc/self = /proc/1, so the
# tree has a pid 1: the files of one more idle sleep, renumbered 1 with parent 0.
$E setarch -R sleep 100001 & p0=$!
sleep 0.5
mkdir -p "$out/proc/1"
for f in cmdline comm statm maps smaps smaps_rollup; do cat /proc/$p0/$f > "$out/proc/1/$f"; done
sed -E "s/^$p0 (\([^)]*\)) (.) [0-9]+ /1 \1 \2 0 /" /proc/$p0/stat > "$out/proc/1/stat"
sed -E "s/^(Tgid|Pid|NSpid):.*/\1:\t1/; s/^PPid:.*/PPid:\t0/" /proc/$p0/status > "$out/proc/1/status"
: > "$out/proc/1/environ"
kill $p0
ln -s 1 "$out/proc/self"
kill $p1 $p2 $p3 $p4
echo "$p1 $p2 $p3 $p4" > "$out/pids"
run() { # name command...
	local n=$1; shift
	# a tmpfs /proc filled in pid order, so that readdir lists pids in order as /proc does
	unshare -m -p -f sh -c 'mount -t tmpfs tmpfs /proc && cd "$0/proc" &&
		for e in $(ls | sort -rn); do cp -a "$e" /proc/; done && exec "$@"' \
		"$out" "$@" > "$out/expected/$n" 2>&1 || true
}
for p in $p1 $p2 $p4; do
	run pmap-$p pmap $p
	run pmap-x-$p pmap -x $p
	run pmap-X-$p pmap -X $p
	run pmap-d-$p pmap -d $p
done
run pmap-multi pmap $p1 $p2
run pmap-X-multi pmap -X $p1 $p4
run pmap-XX-$p2 pmap -XX $p2
run pmap-q-$p2 pmap -x -q $p2
run pmap-p-$p2 pmap -p $p2
run pmap-A-$p2 pmap -A 7ffff7dd3000,7ffff7f4f000 $p2
run pmap-kthread pmap 2
run pmap-x-kthread pmap -x 2
run pmap-missing pmap 99 $p1
run ps-e ps -e
run ps-ef ps -ef   # STIME depends on the day it runs: not compared
run ps-default ps
run ps-o ps -e -o pid,ppid,vsz,rss,comm,args,%mem,stat,user
run ps-p ps -p $p4 -o pid,vsz,rss,comm
run ps-p-default ps -p $p2
run ps-o2 ps -e -o pid,stat,tty,time,%cpu,nlwp,ni,uid,s
run ps-o3 ps -o user,args,pid -p 2
run ps-o4 ps -o comm,pid -p 2,$p4
run ps-o5 ps -o args -p $p1 -p $p2
run top env COLUMNS=200 top -b -n 1 -w 512
run top-p top -b -n 1 -p $p4
F='tools-fixtur[e]'
run smem smem
run smem-P smem -P "$F"
run smem-t smem -t -P "$F"
run smem-u smem -u
run smem-m smem -m -P "$F"
run smem-w smem -w
run smem-p smem -p
run smem-k smem -k -P "$F"
run smem-mt smem -m -t
