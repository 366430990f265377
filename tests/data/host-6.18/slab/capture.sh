#!/bin/sh
# Captures, as root on a 6.18 host, /proc/slabinfo and the SLUB geometry of
# every cache in /sys/kernel/slab (directories; symlinks are merged aliases).
# Run from this directory: sh capture.sh
cat /proc/slabinfo > slabinfo
nproc > nproc
{
  echo "# name order objs_per_slab object_size slab_size align min_partial cpu_partial sheaf_capacity hwcache_align reclaim_account cache_dma aliases"
  for d in /sys/kernel/slab/*; do
    [ -L "$d" ] && continue
    n=$(basename "$d")
    printf '%s' "$n"
    for f in order objs_per_slab object_size slab_size align min_partial cpu_partial sheaf_capacity hwcache_align reclaim_account cache_dma aliases; do
      printf ' %s' "$(cat "$d/$f" 2>/dev/null || echo -)"
    done
    echo
  done
} > geometry
ls -l /sys/kernel/slab | awk '$1 ~ /^l/ {print $9, $11}' | sed 's#\.\./##; s#.*/##' > /dev/null
for l in /sys/kernel/slab/*; do [ -L "$l" ] && echo "$(basename "$l") $(basename "$(readlink "$l")")"; done > links
