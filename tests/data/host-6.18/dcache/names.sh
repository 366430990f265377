#!/bin/bash
# Which kmalloc cache holds the external names of long dentry names: for
# names of 39, 40, 71 and 72 bytes, the caches that grow by more than 100
# active objects while a cold `find -ls` looks up 2000 of them (as root, on
# ext4). Output: names.out.
set -e
T=/var/tmp/mmsim-names
for len in 39 40 71 72; do
  rm -rf $T; mkdir -p $T
  pad=$(printf '%*s' $((len - 5)) '' | tr ' ' x)
  for i in $(seq -f '%05g' 0 1999); do : > "$T/$pad$i"; done
  sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1; echo 2 > /proc/sys/vm/drop_caches; sleep 1
  awk 'NR>2{print $1, $2}' /proc/slabinfo > /tmp/before
  find $T -ls > /dev/null
  awk 'NR>2{print $1, $2}' /proc/slabinfo > /tmp/after
  echo "len=$len: $(join /tmp/before /tmp/after | awk '$3-$2>100{printf "%s +%d  ", $1, $3-$2}')"
done
rm -rf $T
