#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/xproc.sh - tracing from outside the traced process, measured:
#
# 1. bench_xproc: per-thread writers (1 and 2 threads, memfd streams) drained
#    by a consumer thread of their process (inproc, take by swap) and by a
#    consumer process that attaches and takes by copy (xproc); events/s,
#    losses, the consumer's CPU time; medians of interleaved repetitions;
#    delivered + lost == written checked in every run.
# 2. A real allocation-heavy program from Debian's packages, untraced,
#    under `grb record --preload libc`, and under LTTng-UST's libc wrapper
#    (liblttng-ust-libc-wrapper.so, an `lttng` session with
#    'lttng_ust_libc:*' enabled): /usr/bin/python3 -c running 20 rounds that
#    each allocate 20,000 bytearrays of 1,000 bytes (each one a malloc and a
#    free of the C library: pymalloc hands requests over 512 bytes to it).
#    Wall time of each, interleaved (the order turns each repetition), and
#    ns per traced event = (traced - untraced) / events recorded, per
#    repetition, then the median, for two times: the whole command (grb:
#    `grb record` from its start to its end, the trace written; LTTng-UST:
#    the program with the wrapper preloaded in a started session, lttng
#    create/enable/start before and stop/destroy after not timed), and the
#    program alone (a bash around it reads EPOCHREALTIME before and after;
#    the same bash in every column).  Events: grb's summary (on
#    disk, with its exact accounting checked), babeltrace2 on LTTng's trace.
#
#	bench/xproc.sh               # about 2 minutes on 2 CPUs
#	bench/xproc.sh --smoke       # seconds: bench_xproc --smoke, 1 repetition,
#	                             # no LTTng-UST; checks only
#	make bench-xproc                # BENCH_ARGS=--smoke: the checks only
#
# As root, missing tools are installed with apt-get (lttng-tools,
# liblttng-ust1 and liblttng-ust-dev for the wrapper, babeltrace2, python3);
# --no-install disables that.  Without them the LTTng-UST column is "na".
# lttng-sessiond is started (--daemonize) if none runs, and then stopped by
# its PID at the end; one that already runs is used and left alone.
# Output (default build/bench-xproc/): summary.txt (the machine, the load
# average before, between and after, the tables, SUMMARY lines) and raw/.
# Exit status 1 if an accounting check failed or a program failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

runs=
events=
smoke=no
build=$root/build
out=
install=yes
do_lttng=yes
do_build=yes

usage() {
	sed -n '3,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'
	cat <<'EOF'
options:
  --runs R        repetitions of each part (default 7; smoke 1)
  --events N      bench_xproc events per writer thread (default 2,000,000)
  --smoke         bench_xproc --smoke and one untraced and one grb run of the
                  program: the checks only, no LTTng-UST
  --build-dir DIR CMake build directory (default build)
  --no-build      use what DIR has (bench/bench_xproc, tools/grb, lib/grb)
  --out DIR       output directory (default DIR/bench-xproc)
  --no-install    never call apt-get
  --no-lttng      leave LTTng-UST out
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=$2; shift 2 ;;
	--events) events=$2; shift 2 ;;
	--smoke) smoke=yes; shift ;;
	--build-dir) build=$2; shift 2 ;;
	--no-build) do_build=no; shift ;;
	--out) out=$2; shift 2 ;;
	--no-install) install=no; shift ;;
	--no-lttng) do_lttng=no; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "xproc.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
if [ "$smoke" = yes ]; then
	runs=${runs:-1}
	do_lttng=no
else
	runs=${runs:-7}
fi
events=${events:-2000000}
out=${out:-$build/bench-xproc}

log() { echo "xproc: $*"; }
failures=0
fail() {
	echo "xproc: FAIL: $*" >&2
	failures=$((failures + 1))
}

# ---------------------------------------------------------------------------
# Tools and build
# ---------------------------------------------------------------------------
py=/usr/bin/python3 # Debian's, whatever python3 comes first in PATH
# LTTng-UST's libc wrapper: the unversioned name, which liblttng-ust-dev
# brings (both checks below must ask the same question, or one installs
# too little for the other).
find_wrapper()
{
	ls /usr/lib/*/liblttng-ust-libc-wrapper.so /usr/lib/liblttng-ust-libc-wrapper.so \
		2>/dev/null | sed -n 1p || true
}
need=()
[ -x "$py" ] || need+=(python3)
if [ "$do_lttng" = yes ]; then
	command -v lttng-sessiond >/dev/null || need+=(lttng-tools)
	command -v babeltrace2 >/dev/null || need+=(babeltrace2)
	[ -n "$(find_wrapper)" ] || need+=(liblttng-ust1 liblttng-ust-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
	if [ "$install" = yes ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing ${need[*]}"
		apt-get update -qq >/dev/null 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${need[@]}" >/dev/null 2>&1 || log "apt-get install ${need[*]} failed"
	else
		log "missing: ${need[*]} (not root, or --no-install: not installed)"
	fi
fi
if [ ! -x "$py" ]; then
	py=$(command -v python3 || true)
	[ -n "$py" ] || { echo "xproc.sh: no python3" >&2; exit 3; }
	log "no /usr/bin/python3: using $py"
fi
if [ "$do_lttng" = yes ]; then
	wrapper=$(find_wrapper)
	if ! command -v lttng-sessiond >/dev/null || ! command -v babeltrace2 >/dev/null ||
		[ -z "$wrapper" ]; then
		log "LTTng-UST (lttng-tools, liblttng-ust1, babeltrace2) missing: column left out"
		do_lttng=no
	fi
fi

if [ "$do_build" = yes ]; then
	log "building into $build"
	mkdir -p "$build"
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${GRB_BUILD_TYPE:-RelWithDebInfo}" \
		-DGRB_BUILD_BENCH=ON -DGRB_SANITIZE= >"$build/xproc-cmake.log" 2>&1 &&
		cmake --build "$build" -j2 --target bench_bench_xproc grb_tool grb_preload_libc \
			>>"$build/xproc-cmake.log" 2>&1 ||
		{ cat "$build/xproc-cmake.log" >&2; exit 3; }
fi
bench_xproc=$build/bench/bench_xproc
grb=$build/tools/grb
for f in "$bench_xproc" "$grb" "$build/lib/grb/libgrb-preload-libc.so"; do
	[ -e "$f" ] || { echo "xproc.sh: $f missing (build it, or drop --no-build)" >&2; exit 3; }
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
raw=$out/raw
rm -rf "$raw"
mkdir -p "$raw"
summary=$out/summary.txt
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | sed -n 1p)
cpu_model=${cpu_model:-unknown}
say "cpu model: $cpu_model"
say "cpus: $(nproc); kernel $(uname -r); $(ldd --version 2>/dev/null | sed -n 1p)"
say "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
say "python: $py ($("$py" --version 2>&1))"
[ "$do_lttng" = yes ] && say "lttng: $(lttng --version | sed -n 1p), liblttng-ust" \
	"$(dpkg-query -W -f '${Version}' liblttng-ust1 2>/dev/null || echo '?')"
say "runs: $runs"
say "load average at start: $(cat /proc/loadavg)"

# ---------------------------------------------------------------------------
# 1. bench_xproc
# ---------------------------------------------------------------------------
if [ "$smoke" = yes ]; then
	xargs_=(--smoke)
else
	xargs_=(--runs "$runs" --events "$events")
fi
log "bench_xproc ${xargs_[*]}"
rc=0
"$bench_xproc" "${xargs_[@]}" >"$raw/bench_xproc.txt" 2>&1 || rc=$?
[ $rc -eq 0 ] || fail "bench_xproc: exit $rc ($(grep -m3 'FAIL\|bench_xproc:.*:' "$raw/bench_xproc.txt" | tr '\n' ' '))"
say ""
say "== writers and consumer: a thread (inproc) or a process (xproc), $cpu_model"
sed -n '/^consumer thr/,/^(medians/p' "$raw/bench_xproc.txt" | tee -a "$summary"
grep '^SUMMARY bench=xproc' "$raw/bench_xproc.txt" >>"$summary" || true
say "load average after bench_xproc: $(cat /proc/loadavg)"

# ---------------------------------------------------------------------------
# 2. A real program: untraced, grb record --preload libc, LTTng-UST
# ---------------------------------------------------------------------------
prog='import sys
for r in range(20):
    keep = [bytearray(1000) for i in range(20000)]
sys.stdout.write("%d\n" % len(keep))'
expect=20000

tmp=$(mktemp -d "${TMPDIR:-/tmp}/grb-xproc.XXXXXX")
trace_root=$tmp
if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt $((1024 * 1024)) ]; then
	trace_root=$(mktemp -d /dev/shm/grb-xproc-traces.XXXXXX)
fi
sessiond_pid=
lttng_session=
cleanup() {
	set +e
	[ -n "$lttng_session" ] && lttng destroy "$lttng_session" >/dev/null 2>&1
	if [ -n "$sessiond_pid" ]; then
		kill -TERM "$sessiond_pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$sessiond_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$sessiond_pid" 2>/dev/null
	fi
	[ "$trace_root" != "$tmp" ] && rm -rf "$trace_root"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$do_lttng" = yes ]; then
	if pgrep -x lttng-sessiond >/dev/null; then
		log "lttng-sessiond already runs: used, and left running"
	else
		pidfile=$tmp/sessiond.pid
		lttng-sessiond --daemonize --no-kernel --quiet >"$raw/sessiond.log" 2>&1 ||
			true
		# As root its run directory is /var/run/lttng; else ~/.lttng.
		for f in /var/run/lttng/lttng-sessiond.pid "$HOME/.lttng/lttng-sessiond.pid"; do
			if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
				sessiond_pid=$(cat "$f")
				break
			fi
		done
		if [ -n "$sessiond_pid" ]; then
			log "started lttng-sessiond PID $sessiond_pid (stopped at the end)"
		else
			log "cannot start lttng-sessiond: LTTng-UST left out"
			do_lttng=no
		fi
	fi
fi

now() { date +%s%N; }

# The program, timed from inside: a bash that reads the clock just before
# and after it (EPOCHREALTIME, microseconds), so that the program's own time
# is known without the recorder's start and end.  The same wrapper in
# every column (traced too: its own few allocations are in the counts).
timed=(bash -c 't0=$EPOCHREALTIME; "$0" -c "$1"; rc=$?; t1=$EPOCHREALTIME
echo "PROGRAM_TIME $t0 $t1" >&2; exit $rc' "$py" "$prog")
# prog_ns FILE: the program's time in ns, from its PROGRAM_TIME line
prog_ns() {
	awk '/^PROGRAM_TIME / { split($2, a, "."); split($3, b, ".");
		printf "%d\n", ((b[1] - a[1]) * 1000000 + (b[2] - a[2])) * 1000 }' "$1"
}

# Each sets t_ns, ev, and checks the program's output.
run_untraced() { # REP
	local f=$raw/untraced-$1.txt t0 rc=0
	t0=$(now)
	"${timed[@]}" >"$f" 2>&1 || rc=$?
	t_ns=$(($(now) - t0))
	p_ns=$(prog_ns "$f")
	ev=0
	[ $rc -eq 0 ] && grep -qx "$expect" "$f" || fail "untraced run $1: exit $rc, output $(head -c 200 "$f")"
}

run_grb() { # REP
	local f=$raw/grb-$1.txt trace=$trace_root/grb-$1 t0 rc=0 line
	t0=$(now)
	"$grb" record -o "$trace" --preload libc -- "${timed[@]}" >"$f" 2>&1 || rc=$?
	t_ns=$(($(now) - t0))
	p_ns=$(prog_ns "$f")
	line=$(grep '^total: ' "$f" || true)
	# total: 1 processes, W written = D on disk + L lost in S stream files: exact
	ev=$(echo "$line" | sed -n 's/.* written = \([0-9]*\) on disk + \([0-9]*\) lost.*/\1/p')
	grb_lost=$(echo "$line" | sed -n 's/.* on disk + \([0-9]*\) lost.*/\1/p')
	[ $rc -eq 0 ] && grep -qx "$expect" "$f" && [[ "$line" == *": exact" ]] && [ -n "$ev" ] &&
		[ "$ev" -gt 0 ] || fail "grb run $1: exit $rc, summary '$line'"
	ev=${ev:-0}
	rm -rf "$trace"
}

run_lttng() { # REP
	local f=$raw/lttng-$1.txt name=grb-xproc-$$-$1 trace=$trace_root/lttng-$1 t0 rc=0 list
	lttng create "$name" --output="$trace" >/dev/null
	lttng_session=$name
	# grb record's geometry: 8 sub-buffers of 256 KiB (per UID and CPU)
	lttng enable-channel --userspace --session="$name" --buffers-uid --discard \
		--subbuf-size=256K --num-subbuf=8 ch0 >/dev/null
	lttng enable-event --userspace --session="$name" --channel=ch0 'lttng_ust_libc:*' >/dev/null
	lttng start "$name" >/dev/null
	t0=$(now)
	LD_PRELOAD=$wrapper "${timed[@]}" >"$f" 2>&1 || rc=$?
	t_ns=$(($(now) - t0))
	p_ns=$(prog_ns "$f")
	lttng stop "$name" >/dev/null 2>&1
	list=$(lttng list "$name")
	lttng_discarded=$(echo "$list" | sed -n 's/^ *Discarded events: *//p' | sed -n 1p)
	lttng destroy "$name" >/dev/null 2>&1
	lttng_session=
	ev=$(babeltrace2 "$trace" --component=sink.utils.counter 2>/dev/null |
		awk '/Event messages/ { n = $1 } END { print n + 0 }')
	[ $rc -eq 0 ] && grep -qx "$expect" "$f" && [ "$ev" -gt 0 ] ||
		fail "LTTng-UST run $1: exit $rc, $ev events"
	rm -rf "$trace"
}

cols=(untraced grb)
[ "$do_lttng" = yes ] && cols+=(lttng)
log "the program: $py, 20 x 20,000 bytearrays of 1,000 bytes; ${cols[*]}; $runs repetitions"
res=$raw/program.tsv
echo -e "rep\ttracer\tns\tprog_ns\tevents\tlost" >"$res"
for rep in $(seq 1 "$runs"); do
	echo "LOAD rep=$rep $(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw/load.txt"
	n=${#cols[@]}
	for k in $(seq 0 $((n - 1))); do
		c=${cols[$(((k + rep - 1) % n))]}
		grb_lost=0
		lttng_discarded=0
		"run_$c" "$rep"
		case $c in
		grb) lost=$grb_lost ;;
		lttng) lost=${lttng_discarded:-0} ;;
		*) lost=0 ;;
		esac
		[ -n "$p_ns" ] || { fail "$c run $rep: no PROGRAM_TIME line"; p_ns=0; }
		echo -e "$rep\t$c\t$t_ns\t$p_ns\t$ev\t$lost" >>"$res"
	done
done

say ""
say "== /usr/bin/python3 -c (20 x 20,000 bytearrays of 1,000 bytes), $cpu_model"
"$py" - "$res" <<'EOF' | tee -a "$summary"
import statistics as st, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
by = {}
for rep, tr, ns, pns, ev, lost in rows:
    by.setdefault(tr, {})[int(rep)] = (int(ns), int(pns), int(ev), int(lost))
base = by["untraced"]
med = {}
for col, what in ((0, "command"), (1, "program")):
    print("%s time (%s):" % (what, "the whole command" if col == 0 else
          "the program alone, timed by a bash around it"))
    print("  %-9s %8s %17s %7s %9s %6s %9s %17s" % ("tracer", "ms", "[min - max]",
          "x untr", "events", "lost", "ns/event", "[min - max]"))
    bm = st.median([v[col] / 1e6 for v in base.values()])
    for tr in ("untraced", "grb", "lttng"):
        if tr not in by:
            continue
        r = by[tr]
        ms = [v[col] / 1e6 for v in r.values()]
        per = [(r[k][col] - base[k][col]) / r[k][2] for k in r if tr != "untraced" and r[k][2]]
        m = st.median(ms)
        pe = "%9s %17s" % ("-", "")
        if per:
            med[(tr, what)] = st.median(per)
            pe = "%9.1f %17s" % (st.median(per), "[%.1f - %.1f]" % (min(per), max(per)))
        print("  %-9s %8.1f %17s %7.2f %9d %6d %s" % (tr, m, "[%.1f - %.1f]" % (min(ms), max(ms)),
              m / bm, int(st.median([v[2] for v in r.values()])),
              max(v[3] for v in r.values()), pe))
print("(medians of %d interleaved repetitions; ns/event: (traced - untraced) / events"
      " recorded, per repetition, then the median; lost: the most in one run)" % len(base))
for (tr, what), v in med.items():
    print("SUMMARY bench=program tracer=%s time=%s ns_per_event=%.1f" % (tr, what, v))
for what in ("command", "program"):
    if ("grb", what) in med and ("lttng", what) in med:
        r = med[("grb", what)] / med[("lttng", what)]
        print("TARGET time=%s grb ns/event <= 0.5 x LTTng-UST's: %.2f x (%s)"
              % (what, r, "met" if r <= 0.5 else "NOT met"))
EOF
say "load average at end: $(cat /proc/loadavg)"
log "results in $summary"
if [ "$failures" -gt 0 ]; then
	echo "xproc: $failures FAILURE(S)" >&2
	exit 1
fi
exit 0
