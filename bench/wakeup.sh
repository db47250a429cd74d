#!/bin/bash
# SPDX-License-Identifier: MIT
#
# wakeup.sh GRB [RUNS] - the recorder's wake-up, none against writer, on
# Debian's python3 allocating 20 x 20,000 bytearrays of 1,000 bytes under
# `grb record --preload libc` (the program of bench/xproc.sh, default
# settings otherwise).  RUNS repetitions (default 9), the two modes
# alternating which goes first; per mode the median and range of the whole
# command's time, the recorder's CPU time (user + system of grb and the
# program together), the runs that lost events and the most lost.  Every
# run's accounting must be exact.  Not a test: a measurement for
# bench/RESULTS.md ("The recorder's wake-up").
set -eu
grb=$1 runs=${2:-9}
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
work=$(mktemp -d /dev/shm/grb-wakeup-XXXXXX)
trap 'rm -rf "$work"' EXIT
prog='
for r in range(20):
    keep = [bytearray(1000) for i in range(20000)]
'
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "wakeup.sh: $cpu, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $runs runs"
res=$work/res.txt
: >"$res"
for i in $(seq 1 "$runs"); do
	if [ $((i % 2)) -eq 1 ]; then order="none writer"; else order="writer none"; fi
	for w in $order; do
		rm -rf "$work/t"
		/usr/bin/time -f "%e %U %S" -o "$work/time.txt" \
			"$grb" record -o "$work/t" --wakeup "$w" --preload libc -- "$py" -c "$prog" \
			>"$work/sum.txt" 2>/dev/null || true
		tot=$(grep '^total:' "$work/sum.txt")
		case $tot in
		*": exact") ;;
		*) echo "wakeup.sh: run $i $w: not exact: $tot" >&2; exit 1 ;;
		esac
		lost=$(echo "$tot" | sed -n 's/.* on disk + \([0-9]*\) lost.*/\1/p')
		written=$(echo "$tot" | sed -n 's/.*processes, \([0-9]*\) written.*/\1/p')
		read -r el us sy <"$work/time.txt"
		echo "$w $el $us $sy $lost $written" >>"$res"
	done
done
"$py" - "$res" "$cpu" <<'EOF'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
cpu = sys.argv[2]
print("%-7s %22s %22s %10s %12s %9s   (%s)" % ("wakeup", "run ms [min - max]",
      "CPU ms [min - max]", "lossy runs", "most lost", "events", cpu))
for w in ("none", "writer"):
    r = [x for x in rows if x[0] == w]
    ms = [float(x[1]) * 1e3 for x in r]
    cpu_ms = [(float(x[2]) + float(x[3])) * 1e3 for x in r]
    lost = [int(x[4]) for x in r]
    print("%-7s %8.0f [%5.0f - %5.0f] %8.0f [%5.0f - %5.0f] %7d/%-2d %12d %9d" % (
        w, st.median(ms), min(ms), max(ms), st.median(cpu_ms), min(cpu_ms), max(cpu_ms),
        sum(1 for x in lost if x), len(r), max(lost), int(st.median(int(x[5]) for x in r))))
EOF
