#!/bin/sh
# Builds files.c and runs it three times on the root ext4 filesystem of a
# real 6.18 host (as root): files.out holds the three runs.
set -e
cd "$(dirname "$0")"
gcc -O2 -Wall -o /tmp/mmsim-files files.c
mkdir -p /var/tmp/mmsim-files
: > files.out
for run in 1 2 3; do
  echo "# run $run: STEP buffer_head filp shmem_inode_cache dentry Buffers_kB Cached_kB" >> files.out
  /tmp/mmsim-files /var/tmp/mmsim-files/w >> files.out
done
rm -rf /var/tmp/mmsim-files /tmp/mmsim-files
