#!/bin/sh
# Captures /proc/swaps, swapon --show, swapon --show --bytes, swapon -s and
# the kernel's "Adding ... swap" lines with two swap areas in use: a 256 MiB
# swap file at the default priority and a 64 MiB loop device (a block
# device, so "partition") at priority 10. A 100 MiB process in a 16 MiB
# memory cgroup (v1) pushes ~84 MiB out: it fills the higher-priority loop
# device first, then spills to the file. Run as root on a host with no other
# swap active; it cleans up after itself. Needs gcc, losetup, util-linux.
set -e
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
gcc -O2 -o "$work/hog" "$here/hog.c"
fallocate -l 256M /var/tmp/swapfile; chmod 600 /var/tmp/swapfile; mkswap -q /var/tmp/swapfile
fallocate -l 64M /var/tmp/swapdisk.img; loop=$(losetup -f --show /var/tmp/swapdisk.img); mkswap -q "$loop"
swapon /var/tmp/swapfile
swapon -p 10 "$loop"
cg=/sys/fs/cgroup/memory/mmsimcap
mkdir -p $cg; echo 16M > $cg/memory.limit_in_bytes
sh -c "echo \$\$ > $cg/cgroup.procs; exec $work/hog 100" > "$work/hog.out" &
hog=$!
sleep 3
cat /proc/swaps > "$here/proc-swaps"
swapon --show > "$here/swapon-show"
swapon --show --bytes > "$here/swapon-show-bytes"
swapon -s > "$here/swapon-s"
dmesg | grep 'Adding' | tail -2 > "$here/dmesg-adding"
kill "$hog"; wait "$hog" || true
swapoff "$loop" /var/tmp/swapfile; losetup -d "$loop"
rm -f /var/tmp/swapfile /var/tmp/swapdisk.img; rmdir $cg; rm -rf "$work"
