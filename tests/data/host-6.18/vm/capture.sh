#!/bin/bash
# capture.sh - rebuild and rerun every capture in this folder (as root, on the host being captured).
set -e
cd "$(dirname "$0")"
B=/tmp/vmcap
mkdir -p $B
gcc -O0 -Wall -o $B/steps steps.c
setarch -R $B/steps > steps.out
gcc -O0 -Wall -o $B/errno errno.c
setarch -R $B/errno > errno.out
gcc -O0 -Wall -pthread -o $B/thread thread.c
(cd $B && env -i setarch -R ./thread) > thread.out
gcc -O0 -Wall -o $B/faultaround faultaround.c
setarch -R $B/faultaround > faultaround.out
gcc -O1 -Wall -o $B/shmem_faultaround shmem_faultaround.c
$B/shmem_faultaround > shmem_faultaround.out
bash images.sh
bash share.sh > share.out
uname -r > kernel-release.txt
date -u +%Y-%m-%dT%H:%MZ >> kernel-release.txt
