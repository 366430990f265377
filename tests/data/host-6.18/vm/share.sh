#!/bin/bash
# share.sh - three idle dash shells sharing libc: Rss/Pss/Shared/Private per process and per
# mapping (dash and libc.so.6 VMAs) after starting 1, 2 and 3 shells; then smem output.
# Run as root from this folder: bash share.sh > share.out   (writes smem/*.out too)
set -e
E="env -i PATH=/usr/bin:/bin"
mkdir -p /tmp/vmcap; rm -f /tmp/vmcap/fifo2; mkfifo /tmp/vmcap/fifo2; exec 7<>/tmp/vmcap/fifo2
pids=()
others() { # how many processes (besides ours) map a file
	local n=0 p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		case " ${pids[*]} " in *" $p "*) continue;; esac
		grep -qs "$1" /proc/$p/maps && n=$((n+1)) || true
	done
	echo $n
}
report() {
	echo "## $1"
	echo "# other processes mapping: /usr/bin/dash=$(others /usr/bin/dash) libc.so.6=$(others libc.so.6) ld-linux=$(others ld-linux-x86-64.so.2)"
	local i=0 p
	for p in "${pids[@]}"; do
		i=$((i+1))
		awk -v who="shell$i" '
			/^(Rss|Pss|Pss_Anon|Pss_File|Shared_Clean|Shared_Dirty|Private_Clean|Private_Dirty|Anonymous):/ { s = s " " substr($1, 1, length($1)-1) "=" $2 }
			END { print "who=" who " rollup" s }' /proc/$p/smaps_rollup
		awk -v who="shell$i" '
			/^[0-9a-f]+-[0-9a-f]+ / { name = $6; range = $1; perms = $2; off = $3; s = ""; next }
			name ~ /(libc\.so\.6|\/dash)$/ && /^(Size|Rss|Pss|Shared_Clean|Shared_Dirty|Private_Clean|Private_Dirty|Anonymous):/ {
				s = s " " substr($1, 1, length($1)-1) "=" $2
				if ($1 == "Anonymous:") print "who=" who " map " range " " perms " " off " " name s
			}' /proc/$p/smaps
	done
}
for n in 1 2 3; do
	$E setarch -R /bin/dash -c 'read x # mmsim-share' < /tmp/vmcap/fifo2 &
	pids+=($!)
	sleep 1
	report "shells=$n pids=${pids[*]}"
done
mkdir -p smem
F='mmsim-shar[e]'
smem -P "$F" > smem/smem.out
smem -t -P "$F" > smem/smem-t.out
smem -u -P "$F" > smem/smem-u.out
smem -m -P "$F" > smem/smem-m.out
smem -w > smem/smem-w.out
smem -p -P "$F" > smem/smem-p.out
smem -k -P "$F" > smem/smem-k.out
{ echo "# smem $(dpkg-query -W -f='${Version}' smem) (Debian bookworm); filter -P '$F' selects the three shells"; echo "# pids ${pids[*]}"; } > smem/VERSION
kill "${pids[@]}"
wait 2>/dev/null || true
exec 7>&-; rm -f /tmp/vmcap/fifo2
