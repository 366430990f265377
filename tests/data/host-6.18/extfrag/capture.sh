#!/bin/sh
# Captured as root on the 6.18 host: debugfs's extfrag files with the
# buddyinfo they were computed from (retried until buddyinfo read the same
# before and after, so the three files agree).
mount -t debugfs none /sys/kernel/debug
for i in $(seq 1 50); do
    cat /proc/buddyinfo > buddyinfo
    cat /sys/kernel/debug/extfrag/unusable_index > unusable_index
    cat /sys/kernel/debug/extfrag/extfrag_index > extfrag_index
    cat /proc/buddyinfo > buddyinfo.after
    if cmp -s buddyinfo buddyinfo.after; then break; fi
done
rm -f buddyinfo.after
umount /sys/kernel/debug
