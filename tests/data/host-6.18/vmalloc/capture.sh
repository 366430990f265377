#!/bin/sh
# Captures, as root on a 6.18 host, /proc/vmallocinfo and the Vmalloc lines
# of /proc/meminfo. Run from this directory: sh capture.sh
# With kernel.kptr_restrict=0 the kernel prints %pK like %p: the addresses
# are hashed (0x00000000xxxxxxxx), so only the format, sizes, callers and
# page counts of these lines are real; mmsim prints the unhashed addresses
# a kptr_restrict=1 root reader sees.
cat /proc/sys/kernel/kptr_restrict > kptr_restrict
nproc > nproc
uname -r > kernel-release.txt
cat /proc/vmallocinfo > vmallocinfo
grep '^Vmalloc' /proc/meminfo > meminfo-vmalloc
stat -c '%a %U %G' /proc/vmallocinfo > mode
