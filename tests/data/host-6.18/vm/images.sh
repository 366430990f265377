#!/bin/bash
# images.sh - capture the process image of an idle bash, an idle dash and hello (hello.c)
# from outside the process, plus readelf -lW and sizes of the ELF files they map.
# Run as root from this folder: bash images.sh   (writes images/<prog>/*, images/elf/*)
set -e
out=$PWD/images
mkdir -p /tmp/vmcap "$out/elf"
gcc -O0 -Wall -o /tmp/vmcap/hello hello.c

capture() { # name pid
	local d=$out/$1 pid=$2
	mkdir -p "$d"
	sleep 1
	for f in maps smaps smaps_rollup status statm stat; do
		cat /proc/$pid/$f > "$d/$f"
	done
	pmap -x $pid > "$d/pmap-x"
	pmap -X $pid > "$d/pmap-X"
	pmap -d $pid > "$d/pmap-d"
	ps -o pid,vsz,rss,comm -p $pid > "$d/ps"
	top -b -n 1 -p $pid > "$d/top"
	echo "$1: pid $pid" >&2
}

E="env -i PATH=/usr/bin:/bin"
# stdin of the idle shells: a FIFO that this script keeps open read-write, so `read` blocks forever
rm -f /tmp/vmcap/fifo; mkfifo /tmp/vmcap/fifo; exec 7<>/tmp/vmcap/fifo
$E setarch -R /bin/bash -c 'read -r x' < /tmp/vmcap/fifo & pid=$!
capture bash $pid; kill $pid
$E setarch -R /bin/dash -c 'read x' < /tmp/vmcap/fifo & pid=$!
capture dash $pid; kill $pid
$E setarch -R /tmp/vmcap/hello > /dev/null & pid=$!
capture hello $pid; kill $pid
wait 2>/dev/null || true
exec 7>&-; rm -f /tmp/vmcap/fifo

for f in /bin/bash /bin/dash /lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2 \
	 /lib/x86_64-linux-gnu/libtinfo.so.6 /tmp/vmcap/hello; do
	b=$(basename $f)
	readelf -lW $f > "$out/elf/readelf-l-$b"
done
{
	echo "# ls -lL (sizes) and resolved paths; bytes"
	for f in /bin/bash /bin/dash /lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2 \
		 /lib/x86_64-linux-gnu/libtinfo.so.6 /tmp/vmcap/hello; do
		echo "$(ls -lL $f)  -> $(readlink -f $f)"
	done
	echo "# dpkg versions"
	dpkg-query -W bash dash libc6 libtinfo6 procps gcc-12
} > "$out/elf/sizes"
