#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/lttng/run.sh - grb's bench_write and LTTng-UST (bench_lttng) side by
# side, in one invocation, with the same payload (two uint64_t) and the same
# buffer geometry (256 KiB x 32 sub-buffers, per-UID buffers).
#
#	bench/lttng/run.sh                  # 1 thread, 5 runs, discard + overwrite
#	bench/lttng/run.sh --runs 9 --threads 2 --modes discard
#
# Order: bench_write (grb, mono and tsc) - LTTng-UST discard - LTTng-UST
# overwrite - bench_write again, so that a slow phase of the shared machine
# shows up as a difference between the two grb runs.  Then RATIO lines.
#
# The script starts its own lttng-sessiond (LTTNG_HOME in a temporary
# directory) and stops it, by its PID only, when it exits.  As root, the
# session daemon's run directory is always /var/run/lttng whatever
# LTTNG_HOME says, so the script refuses to run if a root session daemon is
# already running there: it never touches a daemon it did not start.  That
# logic lives in session.sh, shared with bench/suite.sh.
#
# Needs liblttng-ust-dev and lttng-tools (and babeltrace2, optional, to count
# the recorded events).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=5
events=2000000
threads=1
modes="discard overwrite"
count=auto
callgrind=no

usage() {
	sed -n '3,23p' "$0" | sed 's/^# \{0,1\}//'
	echo "options: --runs R  --events N  --threads 1|2  --modes 'discard overwrite'"
	echo "         --no-count (do not count the recorded events with babeltrace2)"
	echo "         --callgrind (then also: instructions/event of LTTng-UST under callgrind,"
	echo "                      100,000 vs 300,000 events, discard, same channel)"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=$2; shift 2 ;;
	--events) events=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--modes) modes=$2; shift 2 ;;
	--no-count) count=no; shift ;;
	--callgrind) callgrind=yes; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

for tool in lttng lttng-sessiond; do
	command -v $tool >/dev/null || { echo "run.sh: $tool not found (lttng-tools)" >&2; exit 2; }
done
if [ "$count" = auto ]; then
	if command -v babeltrace2 >/dev/null; then count=yes; else count=no; fi
fi

# Build both programs.
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE="${GRB_BUILD_TYPE:-RelWithDebInfo}" \
	-DGRB_BUILD_BENCH=ON -DGRB_SANITIZE= >/dev/null
cmake --build "$root/build" -j2 --target bench_bench_write >/dev/null
bench_write=$root/build/bench/bench_write
bench_lttng=$("$here/build.sh" | tail -n 1)

. "$here/session.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/grb-lttng.XXXXXX")
lttng_setup "$tmp"

cleanup() {
	set +e
	lttng_session_destroy
	sessiond_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sessiond_start || exit 2
echo "run.sh: $(lttng --version | head -n 1); liblttng-ust $(dpkg-query -W -f '${Version}' liblttng-ust1 2>/dev/null || echo '?')"
echo "run.sh: load average before: $(cat /proc/loadavg)"

grb() {
	echo "=== grb bench_write ($1): --threads $threads --runs $runs --events $events"
	"$bench_write" --threads "$threads" --runs "$runs" --events "$events" |
		sed "s/^SUMMARY bench=write /SUMMARY bench=write when=$1 /"
}

lttng_case() {
	mode=$1
	session=grb-bench-$mode
	echo "=== LTTng-UST $mode: channel 256 KiB x 32, per-UID buffers"
	lttng_session_start "$session" "$tmp/trace-$mode" "$mode" grb_bench:write16
	"$bench_lttng" --case "lttng-ust-$mode" --threads "$threads" --runs "$runs" \
		--events "$events" >"$tmp/out-$mode.txt"
	cat "$tmp/out-$mode.txt"
	lttng_session_stop "$session"
	stats=$lttng_stats
	discarded=$lttng_discarded
	lostpk=$lttng_lost_packets
	written=$(sed -n 's/^SUMMARY bench=lttng .* written=\([0-9]*\).*/\1/p' "$tmp/out-$mode.txt")
	recorded=unknown
	if [ "$count" = yes ]; then
		recorded=$(lttng_count_events "$tmp/trace-$mode")
	fi
	check=n/a
	if [ "$mode" = discard ] && [ "$recorded" != unknown ] && [ -n "$discarded" ]; then
		if [ $((recorded + discarded)) -eq "$written" ]; then check=ok; else check=FAIL; fi
	fi
	echo "LTTNG_ACCOUNTING case=lttng-ust-$mode threads=$threads written=$written" \
		"recorded=$recorded discarded_events=${discarded:-n/a} lost_packets=${lostpk:-n/a}" \
		"check=$check stats: $stats"
	lttng_session_destroy
	rm -rf "$tmp/trace-$mode"
}

grb before >"$tmp/grb-before.txt"
cat "$tmp/grb-before.txt"
: >"$tmp/lttng.txt"
for m in $modes; do
	lttng_case "$m" | tee -a "$tmp/lttng.txt"
done
grb after >"$tmp/grb-after.txt"
cat "$tmp/grb-after.txt"
echo "run.sh: load average after: $(cat /proc/loadavg)"

# Instructions per event: callgrind at two event counts (no warm-up, one
# run), the difference in total Ir over the difference in events, as
# bench/RESULTS.md does for grb.  300,000 events fit in the 8 MiB ring.
if [ "$callgrind" = yes ]; then
	echo "=== callgrind: LTTng-UST discard, 1 thread, 100000 and 300000 events"
	for n in 100000 300000; do
		session=grb-bench-cg$n
		lttng_session_start "$session" "$tmp/trace-cg$n" discard grb_bench:write16
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$n.out" "$bench_lttng" \
			--case lttng-ust-cg --threads 1 --runs 1 --warmup 0 --events $n \
			>"$tmp/cg.$n.txt" 2>"$tmp/cg.$n.err" || { cat "$tmp/cg.$n.err" >&2; exit 3; }
		lttng_session_stop "$session" >/dev/null
		disc=$lttng_discarded
		lttng_session_destroy
		ir=$(sed -n 's/^summary: *//p' "$tmp/cg.$n.out")
		grep -h '^SUMMARY' "$tmp/cg.$n.txt"
		echo "CALLGRIND events=$n Ir=$ir discarded=$disc"
		eval "ir_$n=$ir"
		# which clock did lttng-ust read? (vDSO or the clock_gettime syscall stub)
		callgrind_annotate "$tmp/cg.$n.out" 2>/dev/null | grep -i 'clock_gettime\|vdso\|lttng_ust_trace_clock' | head -n 5 || true
	done
	echo "CALLGRIND lttng-ust-discard Ir_per_event=$(awk -v a="$ir_100000" -v b="$ir_300000" 'BEGIN { printf "%.1f", (b - a) / 200000 }')"
fi

# RATIO lines: grb median / LTTng-UST median, for every grb case of the same
# mode (and the floor), both grb runs.
echo "=== ratios grb / LTTng-UST (ns/event medians; < 1 means grb is faster)"
cat "$tmp/grb-before.txt" "$tmp/grb-after.txt" "$tmp/lttng.txt" | awk '
function kv(k,   i, n, a) { for (i = 1; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) return substr($i, n + 1) } return "" }
/^SUMMARY bench=lttng / { lt[kv("case")] = kv("ns_median") }
/^SUMMARY bench=write when=/ && kv("case") != "" && kv("ns_median") != "" { g[++ng] = $0 }
END {
	for (c in lt) for (i = 1; i <= ng; i++) {
		$0 = g[i]
		m = c; sub(/^lttng-ust-/, "", m)
		if (kv("case") != "floor" && kv("case") !~ ("-" m "$")) continue
		printf "RATIO lttng_case=%s grb_case=%s clock=%s when=%s threads=%s grb_ns=%s lttng_ns=%s grb_over_lttng=%.3f lttng_over_grb=%.2f\n", \
			c, kv("case"), kv("clock"), kv("when"), kv("threads"), kv("ns_median"), lt[c], kv("ns_median") / lt[c], lt[c] / kv("ns_median")
	}
}' | sort
