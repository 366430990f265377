# Catalogue case 6: fork and copy-on-write.
# The child shares every anonymous page until it writes; PSS halves;
# writing copies only the pages written. Mirrors the real kernel's run of
# tests/data/host-6.18/vm/steps.c (mmap 16 MiB, touch, fork, the child
# writes 8 MiB, the child exits, munmap).
boot ram=2G cpus=2
spawn hello as=p
let size0 = proc[$p].status.VmSize
let rss0 = proc[$p].status.VmRSS
let pte0 = proc[$p].status.VmPTE
let anon0 = proc[$p].smaps_rollup.Pss_Anon

mmap $p 16M as=buf                      # VSZ grows at once, RSS does not
expect proc[$p].status.VmSize == $size0 + 16M
expect proc[$p].status.VmRSS == $rss0

touch $p $buf 16M write                 # every page faults in, zeroed
expect proc[$p].status.RssAnon == $anon0 + 16M
expect proc[$p].status.VmPTE > $pte0
let pss_anon = proc[$p].smaps_rollup.Pss_Anon

fork $p as=c                            # the child shares every page
expect proc[$c].status.RssAnon == proc[$p].status.RssAnon
expect proc[$p].smaps_rollup.Pss_Anon == $pss_anon / 2
let pss_forked = proc[$p].smaps_rollup.Pss
let child_dirty = proc[$c].smaps_rollup.Private_Dirty

touch $c $buf 8M write                  # copies exactly the 2048 pages written
expect proc[$c].smaps_rollup.Private_Dirty == $child_dirty + 8M
expect proc[$p].smaps_rollup.Pss == $pss_forked + 4M

exit_process $c                         # the parent's pages are its own again
wait $p $c
expect proc[$p].smaps_rollup.Pss_Anon == $pss_anon

munmap $p $buf 16M                      # back to the start
expect proc[$p].status.VmSize == $size0
expect proc[$p].status.VmPTE == $pte0
expect proc[$p].status.VmRSS == $rss0
cat /proc/$p/smaps_rollup
