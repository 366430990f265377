# Catalogue case 9: min_free_kbytes sets the min watermarks, and each zone's
# share is proportional to its size.
#
# A 1 GiB machine whose Normal zone holds 800 MiB (204800 pages) and whose
# DMA32 zone holds the other 224 MiB (57344 pages). With
# vm.min_free_kbytes = 30720 the kernel reserves 30720 kB = 7680 pages in
# all, and __setup_per_zone_wmarks() gives each lowmem zone
#
#   min  = 7680 * managed / 262144          Normal: 6000 pages (24000 kB)
#   low  = min + max(min / 4, managed * watermark_scale_factor / 10000)
#   high = low + the same step
#
# With the default watermark_scale_factor of 10 (0.1% of the zone) the
# step is max(1500, 204) = 1500 pages for Normal: low 7500, high 9000.
# DMA32 gets min 1680, low 2100, high 2520.
#
# No x86-64 profile has an 800 MiB Normal zone in 1 GiB (everything below
# 4 GiB is DMA/DMA32), so the zones are given explicitly, as clone-host
# writes them.
boot <<MACHINE
arch = "explicit"
cpus = 2

[[zone]]
node = 0
type = "DMA32"
start_pfn = 4096
spanned = 57344
present = 57344
managed = 57344

[[zone]]
node = 0
type = "Normal"
start_pfn = 1048576
spanned = 204800
present = 204800
managed = 204800
MACHINE

echo "== at boot (min_free_kbytes computed by the kernel) =="
sysctl vm.min_free_kbytes vm.watermark_scale_factor
grep -E "^Node|^ +(min|low|high|managed) " /proc/zoneinfo

echo
echo "== vm.min_free_kbytes = 30720 =="
sysctl vm.min_free_kbytes=30720
grep -E "^Node|^ +(min|low|high|managed) " /proc/zoneinfo

expect sysctl.vm.min_free_kbytes == 30720
expect zoneinfo.Normal.managed == 204800
expect zoneinfo.Normal.min == 6000
expect zoneinfo.Normal.min * 4K == 24000K     # 24000 kB, as the catalogue says
expect zoneinfo.Normal.low == 7500
expect zoneinfo.Normal.high == 9000
expect zoneinfo.DMA32.min == 1680
expect zoneinfo.DMA32.low == 2100
expect zoneinfo.DMA32.high == 2520
# The shares add up to min_free_kbytes (less rounding down).
expect (zoneinfo.DMA32.min + zoneinfo.Normal.min) * 4 == sysctl.vm.min_free_kbytes

echo
echo "== the same through /proc, and a larger scale factor =="
echo 200 > /proc/sys/vm/watermark_scale_factor
grep -E "^Node|^ +(min|low|high) " /proc/zoneinfo
# Now the step is managed * 200 / 10000 = 4096 pages for Normal.
expect zoneinfo.Normal.min == 6000
expect zoneinfo.Normal.low == 6000 + 4096
expect zoneinfo.Normal.high == 6000 + 2 * 4096
