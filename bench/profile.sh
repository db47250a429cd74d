#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/profile.sh - what sampling an unmodified program costs it: `grb
# profile -F HZ` against `perf record -e cpu-clock -F HZ -g`, at two
# frequencies (default 99 and 999 Hz), on CPU-bound programs from Debian's
# packages:
#   perl   /usr/bin/perl -e reversing a 1,000,000-byte string 8,000 times
#          (one thread; the program of the test interop_profile_hot);
#   zstd   /usr/bin/zstd -T2 -13 -B1MiB compressing 6 MiB of generated text
#          (two worker threads; input and output in /dev/shm when it has
#          room), its output decompressed and compared after each run.
# Each program runs untraced, under grb profile and under perf record at
# each frequency; every repetition runs all columns, the order turning by
# one column each time.  Per run: the whole command's wall time and CPU
# time (bash's `time`: user + system of the command and all its children,
# the profiler's own process included), and the program's alone (a bash
# around it reads EPOCHREALTIME and `times` before it ends: the same bash
# in every column); the samples each profiler recorded: grb profile's
# summary (its accounting must say exact, and perf report --stats of its
# perf.data must count as many samples), perf report --stats of perf
# record's file; the lost ones.  Overhead = (traced - untraced) / untraced
# and (traced - untraced) / samples, per repetition against that
# repetition's untraced run, then the median.
#
# grb's sampler uses a per-thread CPU-time timer, which the kernel checks at
# its tick: at most HZ_kernel (250 here) samples per CPU-second whatever -F
# asks (each sample's period says how many timer periods it stands for).
# perf's cpu-clock is an hrtimer and reaches 999/s.  So compare the cost
# per sample as well as the overhead.
#
#	bench/profile.sh             # about 5 minutes on 2 loaded CPUs
#	bench/profile.sh --smoke     # seconds: short programs, 1 repetition;
#	                             # the checks only (test bench_profile_smoke)
#	make bench-profile           # BENCH_ARGS=--smoke: the checks only
#
# perf (linux-perf), perl, zstd and python3 are installed with apt-get as
# root when missing (cmake/test_tools.sh, as the interop tests do); else the
# script exits 77 saying what is missing.  Where perf_event_open is not
# permitted the perf columns are left out, saying so.
# Output (default build/bench-profile/): summary.txt (the machine, the load
# average before, during and after, the tables, SUMMARY lines),
# results.tsv (one row per run) and raw/.  Exit status 1 if a check failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

runs=
smoke=no
build=$root/build
out=
install=yes
do_build=yes
freqs="99 999"
programs="perl zstd"

usage() {
	sed -n '3,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'
	cat <<'EOF'
options:
  --runs R        repetitions (default 7; smoke 1)
  --freqs "F..."  sampling frequencies in Hz (default "99 999")
  --programs "P..."  perl, zstd or both (default both)
  --smoke         short programs (about 0.2 s of CPU each), 1 repetition
  --build-dir DIR CMake build directory (default build)
  --no-build      use what DIR has (tools/grb, lib/grb)
  --out DIR       output directory (default DIR/bench-profile)
  --no-install    never call apt-get (exit 77 if a tool is missing)
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=$2; shift 2 ;;
	--freqs) freqs=$2; shift 2 ;;
	--programs) programs=$2; shift 2 ;;
	--smoke) smoke=yes; shift ;;
	--build-dir) build=$2; shift 2 ;;
	--no-build) do_build=no; shift ;;
	--out) out=$2; shift 2 ;;
	--no-install) install=no; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "profile.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
if [ "$smoke" = yes ]; then
	runs=${runs:-1}
else
	runs=${runs:-7}
fi
out=${out:-$build/bench-profile}
for p in $programs; do
	case $p in
	perl | zstd) ;;
	*) echo "profile.sh: unknown program '$p'" >&2; exit 2 ;;
	esac
done
for hz in $freqs; do
	[[ "$hz" =~ ^[1-9][0-9]*$ ]] || { echo "profile.sh: bad frequency '$hz'" >&2; exit 2; }
done

log() { echo "profile: $*"; }
failures=0
fail() {
	echo "profile: FAIL: $*" >&2
	failures=$((failures + 1))
}

# ---------------------------------------------------------------------------
# Tools and build
# ---------------------------------------------------------------------------
# shellcheck source=cmake/test_tools.sh
. "$root/cmake/test_tools.sh"
need=(linux-perf perl python3)
case " $programs " in *" zstd "*) need+=(zstd) ;; esac
if [ "$install" = yes ]; then
	grb_need "${need[@]}"
else
	missing=$(_grb_missing "${need[@]}")
	[ -z "$missing" ] || { echo "profile.sh: missing: $missing(--no-install)" >&2; exit 77; }
fi
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)

if [ "$do_build" = yes ]; then
	log "building into $build"
	mkdir -p "$build"
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${GRB_BUILD_TYPE:-RelWithDebInfo}" \
		-DGRB_SANITIZE= >"$build/profile-cmake.log" 2>&1 &&
		cmake --build "$build" -j2 --target grb_tool grb_preload_profile \
			>>"$build/profile-cmake.log" 2>&1 ||
		{ cat "$build/profile-cmake.log" >&2; exit 3; }
fi
grb=$build/tools/grb
for f in "$grb" "$build/lib/grb/libgrb-preload-profile.so"; do
	[ -e "$f" ] || { echo "profile.sh: $f missing (build it, or drop --no-build)" >&2; exit 3; }
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
raw=$out/raw
rm -rf "$raw"
mkdir -p "$raw"
summary=$out/summary.txt
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/grb-profbench.XXXXXX")
data_root=$tmp
if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt $((256 * 1024)) ]; then
	data_root=$(mktemp -d /dev/shm/grb-profbench.XXXXXX)
fi
cleanup() {
	set +e
	[ "$data_root" != "$tmp" ] && rm -rf "$data_root"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PERF_CONFIG=/dev/null PERF_BUILDID_DIR=$tmp/buildid

do_perf=yes
if ! perf record -N -e cpu-clock -F 99 -g -o "$tmp/probe.data" -- true >"$tmp/probe.log" 2>&1; then
	log "perf record cannot run here (perf_event_open not permitted?):" \
		"$(tail -n 2 "$tmp/probe.log" | tr '\n' ' '); perf columns left out"
	do_perf=no
fi

cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | sed -n 1p)
cpu_model=${cpu_model:-unknown}
say "cpu model: $cpu_model"
say "cpus: $(nproc); kernel $(uname -r); $(ldd --version 2>/dev/null | sed -n 1p)"
say "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
say "perf: $(perf --version 2>&1); perl $(perl -e 'print $^V');" \
	"zstd $(zstd --version 2>/dev/null | sed -n 's/.* v\([0-9.]*\).*/\1/p' || echo -)"
say "runs: $runs; frequencies: $freqs Hz; programs: $programs"
say "load average at start: $(cat /proc/loadavg)"

# ---------------------------------------------------------------------------
# The programs
# ---------------------------------------------------------------------------
if [ "$smoke" = yes ]; then
	perl_iter=1200
	zstd_mib=2
	zstd_level=12
else
	perl_iter=8000
	zstd_mib=6
	zstd_level=13
fi
perl_prog="my \$x = 'ab' x 500000; my \$n = 0;
for (1 .. $perl_iter) { my \$y = reverse \$x; \$n += length(\$y) == 1000000 }
print \"\$n\\n\""
zin=$data_root/in.txt
zout=$data_root/out.zst
if [[ " $programs " == *" zstd "* ]]; then
	# Words of 1 to 9 letters from a fixed vocabulary of 5,000, drawn by
	# perl's seeded generator: compressible text, the same in every run.
	perl -e 'srand(1); my @w = map { join "", map { chr(97 + int rand 26) } 1 .. 1 + int rand 9 }
		1 .. 5000; my $o = ""; my $n = $ARGV[0] << 20;
		while (length $o < $n) { $o .= $w[rand @w] . " " } print substr($o, 0, $n)' \
		"$zstd_mib" >"$zin"
fi

# The program, inside a bash that reads the clock before and after it and
# prints the CPU time of its children: the program's own times, without
# the profiler's start and end.
wrap='t0=$EPOCHREALTIME; "$@"; rc=$?; t1=$EPOCHREALTIME
echo "PROGRAM_TIME $t0 $t1" >&2; echo PROGRAM_CPU >&2; times >&2; exit $rc'
prog_cmd() { # PROGRAM
	case $1 in
	perl) cmd=(bash -c "$wrap" wrap perl -e "$perl_prog") ;;
	zstd) cmd=(bash -c "$wrap" wrap zstd -q -T2 -B1048576 -f "-$zstd_level" "$zin" -o "$zout") ;;
	esac
}
prog_check() { # PROGRAM OUTPUT-FILE
	case $1 in
	perl) grep -qx "$perl_iter" "$2" ;;
	zstd) zstd -q -d -c "$zout" | cmp -s - "$zin" ;;
	esac
}

# "0m1.234s 0m0.056s" -> microseconds of user + system
cpu_us() {
	echo "$1" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m");
		sub("s", "", a[2]); t += a[1] * 60 + a[2] } printf "%d\n", t * 1000000 + 0.5 }'
}

# perf report --stats FILE: sets st_samples and st_lost
perf_stats() {
	local s
	s=$(perf report --stats -i "$1" 2>"$1.stats.err") ||
		{ fail "perf report --stats -i $1: $(head -c 300 "$1.stats.err")"; st_samples=; st_lost=; return; }
	st_samples=$(echo "$s" | sed -n '/^Aggregated stats/,/stats:$/s/^ *SAMPLE events: *\([0-9]*\).*/\1/p' | sed -n 1p)
	st_lost=$(echo "$s" | sed -n '/^Aggregated stats/,/stats:$/s/^ *LOST\(_SAMPLES\)\{0,1\} events: *\([0-9]*\).*/\2/p' |
		awk '{ n += $1 } END { print n + 0 }')
	st_samples=${st_samples:-0}
}

# run_one PROGRAM COLUMN REP: appends a row to results.tsv
TIMEFORMAT='CMD_TIME %3R %3U %3S'
run_one() {
	local p=$1 col=$2 rep=$3 f data rc=0 hz tool samples=0 lost=0 line
	f=$raw/$p-$col-$rep.txt
	data=$data_root/$p-$col-$rep.data
	prog_cmd "$p"
	case $col in
	untraced) tool=untraced hz=0 ;;
	grb-*) tool=grb hz=${col#grb-}; cmd=("$grb" profile -F "$hz" -o "$data" -- "${cmd[@]}") ;;
	perf-*) tool=perf hz=${col#perf-}
		cmd=(perf record -N -e cpu-clock -F "$hz" -g -o "$data" -- "${cmd[@]}") ;;
	esac
	rm -f "$zout"
	{ time "${cmd[@]}" >"$f" 2>&1; } 2>"$f.time" || rc=$?
	local ct pt pc
	ct=$(sed -n 's/^CMD_TIME //p' "$f.time")
	pt=$(awk '/^PROGRAM_TIME / { split($2, a, "."); split($3, b, ".");
		printf "%d\n", (b[1] - a[1]) * 1000000 + (b[2] - a[2]) }' "$f")
	# the line after PROGRAM_CPU is bash's own times, the next its children's
	pc=$(awk '/^PROGRAM_CPU$/ { getline; getline; print; exit }' "$f")
	if [ $rc -ne 0 ] || [ -z "$ct" ] || [ -z "$pt" ] || [ -z "$pc" ] || ! prog_check "$p" "$f"; then
		fail "$p $col run $rep: exit $rc, output $(grep -v '^PROGRAM_\|^[0-9]*m[0-9.]*s ' "$f" | head -c 300)"
		return
	fi
	local cw cc
	cw=$(echo "$ct" | awk '{ printf "%d\n", $1 * 1000000 + 0.5 }')
	cc=$(echo "$ct" | awk '{ printf "%d\n", ($2 + $3) * 1000000 + 0.5 }')
	pc=$(cpu_us "$pc")
	case $tool in
	grb)
		line=$(grep '^total: ' "$f" || true)
		# total: P processes, W samples written = S in perf.data + L lost: exact
		samples=$(echo "$line" | sed -n 's/.* = \([0-9]*\) in perf.data + \([0-9]*\) lost.*/\1/p')
		lost=$(echo "$line" | sed -n 's/.* = \([0-9]*\) in perf.data + \([0-9]*\) lost.*/\2/p')
		if [[ "$line" != *": exact" ]] || [ -z "$samples" ] || [ "$samples" -eq 0 ]; then
			fail "$p $col run $rep: grb profile's summary '$line'"
			samples=${samples:-0} lost=${lost:-0}
		fi
		perf_stats "$data"
		[ "$st_samples" = "$samples" ] && [ "$st_lost" = "$lost" ] ||
			fail "$p $col run $rep: perf report counts $st_samples samples, $st_lost lost;" \
				"grb profile $samples, $lost"
		;;
	perf)
		perf_stats "$data"
		samples=${st_samples:-0} lost=${st_lost:-0}
		[ "$samples" -gt 0 ] || fail "$p $col run $rep: perf report counts no sample"
		;;
	esac
	rm -f "$data" "$data.stats.err" "$data.old"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$p" "$tool" "$hz" \
		"$cw" "$cc" "$pt" "$pc" "$samples" "$lost" "$(cut -d' ' -f1 /proc/loadavg)" >>"$res"
}

cols=(untraced)
for hz in $freqs; do
	cols+=("grb-$hz")
	[ "$do_perf" = yes ] && cols+=("perf-$hz")
done
res=$out/results.tsv
{
	echo "# cpu_model: $cpu_model"
	printf 'rep\tprogram\ttool\thz\tcmd_wall_us\tcmd_cpu_us\tprog_wall_us\tprog_cpu_us\tsamples\tlost\tload1\n'
} >"$res"
n=${#cols[@]}
for rep in $(seq 1 "$runs"); do
	log "repetition $rep of $runs (load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo "LOAD rep=$rep $(cat /proc/loadavg)" >>"$raw/load.txt"
	for p in $programs; do
		for k in $(seq 0 $((n - 1))); do
			run_one "$p" "${cols[$(((k + rep - 1) % n))]}" "$rep"
		done
	done
done

say ""
"$py" - "$res" "$cpu_model" <<'EOF' | tee -a "$summary"
import statistics as st, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if not l.startswith("#")][1:]
cpu = sys.argv[2]
runs = {}
for r in rows:
    rep, prog, tool, hz = int(r[0]), r[1], r[2], int(r[3])
    v = [int(x) for x in r[4:10]]
    runs.setdefault((prog, tool, hz), {})[rep] = v
W, C, PW, PC, S, L = range(6)
sums = []
def med(xs):
    return st.median(xs) if xs else float("nan")
def rng(xs):
    return "[%s–%s]" % (fmt(min(xs)), fmt(max(xs))) if xs else ""
def fmt(x):
    return "%.3f" % x
for prog in sorted({k[0] for k in runs}, key=lambda p: ["perl", "zstd"].index(p)):
    base = runs.get((prog, "untraced", 0), {})
    print("== %s, %s: medians of %d repetitions [min–max]" % (prog, cpu, len(base)))
    print("| | samples | samples per CPU-s | command CPU s | Δ CPU | µs CPU per sample "
          "| program CPU s | Δ | µs per sample | command wall s | Δ wall | µs wall per sample | lost |")
    print("|---" * 13 + "|")
    keys = sorted((k for k in runs if k[0] == prog), key=lambda k: (k[2], k[1] != "grb"))
    for k in keys:
        by = runs[k]
        name = "untraced" if k[1] == "untraced" else "%s %d Hz" % ("grb profile" if k[1] == "grb" else "perf record", k[2])
        cells = [name]
        samples = [v[S] for v in by.values()]
        cells.append("–" if k[1] == "untraced" else "%d" % med(samples))
        cells.append("–" if k[1] == "untraced" else "%.0f" % med([v[S] / (v[PC] / 1e6) for v in by.values()]))
        line = {}
        for col in (C, PC, W):
            secs = [v[col] / 1e6 for v in by.values()]
            cells.append("%s %s" % (fmt(med(secs)), rng(secs)))
            if k[1] == "untraced":
                cells += ["–", "–"]
                continue
            pair = [(v[col], base[rep][col], v[S]) for rep, v in by.items() if rep in base]
            over = [(t - u) / u * 100 for t, u, s in pair]
            per = [(t - u) / s for t, u, s in pair if s > 0]
            cells.append("%+.1f %%" % med(over))
            cells.append("%.1f [%.1f–%.1f]" % (med(per), min(per), max(per)) if per else "–")
            line[col] = (med(over), med(per) if per else float("nan"))
        cells.append("–" if k[1] == "untraced" else "%d" % max(v[L] for v in by.values()))
        print("| " + " | ".join(cells) + " |")
        if k[1] != "untraced":
            sums.append("SUMMARY bench=profile program=%s tool=%s hz=%d runs=%d samples=%d "
                  "cpu_over_pct=%.2f cpu_us_per_sample=%.2f prog_cpu_over_pct=%.2f "
                  "prog_cpu_us_per_sample=%.2f wall_over_pct=%.2f wall_us_per_sample=%.2f "
                  "lost_max=%d cpu_model=%s" % (prog, k[1], k[2], len(by), med(samples),
                  line[C][0], line[C][1], line[PC][0], line[PC][1], line[W][0], line[W][1],
                  max(v[L] for v in by.values()), cpu.replace(" ", "_")))
    print()
print("\n".join(sums))
EOF
say "load average at end: $(cat /proc/loadavg)"
log "results in $summary"
if [ "$failures" -gt 0 ]; then
	echo "profile: $failures FAILURE(S)" >&2
	exit 1
fi
exit 0
