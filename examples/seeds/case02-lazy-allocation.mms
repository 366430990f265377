# Catalogue case 2: lazy allocation.
# After mmap VSZ grows and RSS does not; the first touch of each page is a
# minor fault; VmRSS grows by exactly the pages touched.
boot ram=1G cpus=1
spawn hello as=p
let vsz0 = proc[$p].status.VmSize
let rss0 = proc[$p].status.VmRSS
let flt0 = proc[$p].stat.minflt

mmap $p 64M as=buf
expect proc[$p].status.VmSize == $vsz0 + 64M
expect proc[$p].status.VmRSS == $rss0
expect proc[$p].stat.minflt == $flt0

touch $p $buf 64M write fraction=0.25   # the first 16 MiB: 4096 pages
expect proc[$p].stat.minflt == $flt0 + 4096
expect proc[$p].status.VmRSS == $rss0 + 16M

touch $p $buf 16M write                 # already there: no new faults
expect proc[$p].stat.minflt == $flt0 + 4096

touch $p $buf 64M read                  # reads of untouched pages map the zero page:
expect proc[$p].status.VmRSS == $rss0 + 16M   # faults, but no memory
expect proc[$p].stat.minflt == $flt0 + 4096 + 12288
grep -E "VmSize|VmRSS|RssAnon|VmPTE" /proc/$p/status
