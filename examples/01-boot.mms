# Tour 1: boot a machine and read it the way you would read a real one.
#
# `boot` lays memory out as x86-64 firmware and early boot do (the e820 map,
# memblock, zones DMA < 16 MiB, DMA32 < 4 GiB, Normal above), hands every
# free page to the buddy allocator, and computes min_free_kbytes and the
# watermarks. Everything below is the text of the simulated /proc files,
# printed by renderers that follow the 6.18 kernel's formats.
#
# Run it:  mmsim run examples/01-boot.mms
boot ram=8G cpus=2

echo "== the boot log (dmesg) =="
dmesg | head -n 25

echo
echo "== /proc/meminfo =="
cat /proc/meminfo

echo
echo "== /proc/zoneinfo, one zone (grep and head work in pipes) =="
cat /proc/zoneinfo | grep -E "^Node|pages free|^ +(min|low|high|spanned|present|managed) |protection"

echo
echo "== /proc/buddyinfo: free blocks of each order, 4 KiB to 4 MiB =="
cat /proc/buddyinfo

# A freshly booted machine has almost all of its memory free, in large
# blocks: meminfo values are read in bytes (the file's kB times 1024).
expect meminfo.MemTotal > 7G
expect meminfo.MemFree > 7G
expect buddyinfo.Normal[10] > 1000
expect zoneinfo.Normal.managed * 4K <= meminfo.MemTotal
print meminfo.MemFree / 1M
print sysctl.vm.min_free_kbytes
