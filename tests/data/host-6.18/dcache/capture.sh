#!/bin/sh
# Captures what a directory walk and drop_caches do to the dentry and
# ext4 inode caches on a real 6.18 host (run as root, on ext4).
# Output: walk.out, one "STEP dentry ext4_inode_cache dentry-state" line per
# step, counting active objects from /proc/slabinfo. find -ls stats every
# entry (plain find reads d_type from getdents and looks up no file).
set -e
T=/var/tmp/mmsim-walk
rm -rf $T; mkdir -p $T
for d in $(seq -w 0 19); do mkdir $T/d$d; for f in $(seq -w 0 99); do : > $T/d$d/f$f; done; done
sync
line() {
  printf '%s %s %s %s\n' "$1" \
    "$(awk '$1=="dentry"{print $2}' /proc/slabinfo)" \
    "$(awk '$1=="ext4_inode_cache"{print $2}' /proc/slabinfo)" \
    "$(cut -f1,2 /proc/sys/fs/dentry-state | tr '\t' ,)"
}
echo 2 > /proc/sys/vm/drop_caches
line before
find $T -ls > /dev/null
line after-walk
find $T -ls > /dev/null
line after-second-walk
echo 2 > /proc/sys/vm/drop_caches
line after-drop
rm -rf $T
