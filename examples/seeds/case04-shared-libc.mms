# Catalogue case 4: three shells sharing libc.
#
# RSS counts every page a process maps, so the pages of dash and of the
# libraries, which sit once in the page cache, count in all three shells:
# adding up RSS overstates what the shells use. PSS charges a page shared
# by N processes 1/N to each; USS counts only the pages a process alone
# maps (its anonymous memory here). So
#
#   sum of RSS  = 3 x (private + shared)
#   PSS         = private + shared / 3                  (each shell)
#   sum of PSS  = 3 x private + shared = the pages really in use
#
# as in the catalogue's "4 MiB RSS with 3 MiB shared libc: three processes
# really use 3*(4-3)+3 = 6 MiB". Real dash shells share these pages with
# ~80 other processes of the host too (tests/data/host-6.18/vm/share.out,
# smem/); the simulated machine runs only the three.
boot ram=1G cpus=2
spawn dash as=a
spawn dash as=b
spawn dash as=c

# smem's PSS adds up the Pss line of every area of /proc/PID/smaps, each
# rounded down to a kB, so it reads a few kB below smaps_rollup's Pss.
smem -t
smem -m

# The kernel's own figures, in bytes, each file read at one moment.
let rss_sum = proc[$a].status.VmRSS + proc[$b].status.VmRSS + proc[$c].status.VmRSS
let pss_sum = proc[$a].smaps_rollup.Pss + proc[$b].smaps_rollup.Pss + proc[$c].smaps_rollup.Pss
let private = proc[$a].smaps_rollup.Private_Clean + proc[$a].smaps_rollup.Private_Dirty
let shared = proc[$a].smaps_rollup.Shared_Clean + proc[$a].smaps_rollup.Shared_Dirty
print $rss_sum / 1K
print $pss_sum / 1K
print $private / 1K
print $shared / 1K

# The three shells are alike: same RSS, same split.
expect proc[$b].status.VmRSS == proc[$a].status.VmRSS
expect proc[$c].status.VmRSS == proc[$a].status.VmRSS
expect proc[$b].smaps_rollup.Shared_Clean == $shared
expect proc[$c].smaps_rollup.Shared_Clean == $shared
# Every mapped page is either private (anonymous) or shared by all three
# (file pages: dash, libc, ld.so, the vDSO).
expect $private + $shared == proc[$a].smaps_rollup.Rss
expect $private == proc[$a].status.RssAnon
expect $shared == proc[$a].status.RssFile

# The sum of RSS overstates: it counts the shared pages three times.
expect $rss_sum == 3 * ($private + $shared)
expect $rss_sum > $pss_sum
# PSS splits the shared pages three ways. The kernel charges each page
# 4096/3 bytes in fixed point with 12 extra bits (PSS_SHIFT), rounded
# down, adds them up, and prints whole kB, rounded down again: here a
# hair under a third of the shared kB, so one kB less.
expect proc[$a].smaps_rollup.Pss_File == floor(floor($shared / 4K * floor(4096 * 4096 / 3) / 4096) / 1K) * 1K
expect proc[$a].smaps_rollup.Pss == $private + proc[$a].smaps_rollup.Pss_File
# USS is the private part: what would be freed if the shell exited.
expect proc[$a].smaps_rollup.Pss_Anon == $private
# The sum of PSS is the memory really in use, each page counted once
# (less each rollup's rounding, at most 1 kB per shell) ...
expect $pss_sum <= 3 * $private + $shared
expect $pss_sum >= 3 * $private + $shared - 3K
# ... and that is exactly what the kernel's global counters hold, since
# nothing else runs: anonymous pages plus mapped file pages.
expect 3 * $private + $shared == meminfo.AnonPages + meminfo.Mapped
