# Tour 2: the watermarks, and the two sysctls that move them.
#
# Each zone has three marks, in pages (see /proc/zoneinfo):
#   min   below it only atomic and reserve allocations succeed; the rest
#         reclaim directly (and stall)
#   low   kswapd wakes up when free memory falls below it
#   high  kswapd goes back to sleep once free memory is above it
#
# vm.min_free_kbytes sets the sum of the min marks over the zones, shared
# out in proportion to each zone's size. vm.watermark_scale_factor (in
# 1/10000 of the zone) sets the gaps min->low and low->high, unless a
# quarter of min is larger.
#
# Run it:  mmsim run examples/02-watermarks.mms
boot ram=4G cpus=2

echo "== defaults =="
sysctl vm.min_free_kbytes vm.watermark_scale_factor
grep -E "^Node|^ +(min|low|high|managed) " /proc/zoneinfo
let min_before = zoneinfo.DMA32.min

echo
echo "== double min_free_kbytes =="
let doubled = sysctl.vm.min_free_kbytes * 2
sysctl vm.min_free_kbytes=$doubled
grep -E "^Node|^ +(min|low|high) " /proc/zoneinfo
# min doubles (give or take the rounding of each zone's share).
expect zoneinfo.DMA32.min >= 2 * $min_before - 1 && zoneinfo.DMA32.min <= 2 * $min_before + 1

echo
echo "== watermark_scale_factor 10 -> 500 (0.1% -> 5% of each zone) =="
echo 500 > /proc/sys/vm/watermark_scale_factor
grep -E "^Node|^ +(min|low|high) " /proc/zoneinfo
# The gap between the marks is now 5% of the zone's managed pages.
expect zoneinfo.DMA32.low - zoneinfo.DMA32.min == floor(zoneinfo.DMA32.managed * 500 / 10000)
expect zoneinfo.DMA32.high - zoneinfo.DMA32.low == zoneinfo.DMA32.low - zoneinfo.DMA32.min
# min does not move.
expect zoneinfo.DMA32.min >= 2 * $min_before - 1

echo
echo "== values the kernel refuses are errors of the scenario =="
echo "(try: sysctl vm.watermark_scale_factor=0, which the kernel rejects with EINVAL)"
sysctl vm.watermark_scale_factor
