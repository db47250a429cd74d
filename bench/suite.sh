#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/suite.sh - the whole benchmark in one command: grb (every case of
# `bench_write --list`), the floor and LTTng-UST side by side, plus the cost
# of a disabled event site and instructions/event: from callgrind where
# valgrind runs the case, and counted in the disassembly of every case's
# loop (bench/insn_count.py: the per-CPU rseq cases, which valgrind cannot
# run, have only that count).
#
#	bench/suite.sh               # full: about 12 minutes on 2 CPUs
#	bench/suite.sh --quick       # under 2 minutes: 16-byte payload only
#	make bench / make bench-quick
#
# Matrix (full mode): payloads of 8, 16, 64 and 256 bytes; 1, 2 and 4
# writer threads (4 > the 2 CPUs of the reference machine: then nothing is
# pinned); discard and overwrite; with a consumer draining concurrently and
# without one (then discard mode mostly measures the drop path once the ring
# is full, and overwrite mode the overwriting of old sub-buffers); the mono
# (CLOCK_MONOTONIC, vDSO) and tsc (grb_clock_tsc: lfence; rdtsc) clocks, and
# on x86-64 the floor with a bare rdtsc (floor-bare-tsc, a reference that no
# ratio is taken against).  LTTng-UST 2.13 gets
# the same payload bytes, the same threads and the same geometry (256 KiB x
# 32 sub-buffers per-UID buffers); its consumer daemon always drains.
#
# Interleaving: every repetition runs, for each payload and thread count,
# bench_write --runs 1 (every grb case and the floor), LTTng-UST discard,
# LTTng-UST overwrite, then bench_write --no-consumer; so grb, the floor and
# LTTng-UST of one configuration are measured seconds apart and a slow phase
# of the shared machine hits all of them.  Medians and spreads are taken over
# the repetitions.  callgrind runs last (instruction counts do not depend on
# the load, so two run at once).
#
# Output (default build/bench-results/): table.txt, results.tsv (one row per
# case), summary.txt (SUMMARY and TARGET lines), ns_payload.png and
# scaling.png, raw/ (every program's output).  Each of them, and the header
# the suite prints first, names the CPU model (lscpu "Model name"): figures
# of one CPU say little about another.  The last lines are one
# SUMMARY line per case and a TARGETS block.  Exit status 1 if any
# accounting check failed (grb: delivered + lost == written; LTTng-UST
# discard: recorded + discarded == written) or a benchmark program failed.
#
# As root, missing tools are installed with apt-get (liblttng-ust-dev,
# lttng-tools, valgrind, gnuplot-nox, babeltrace2, binutils); --no-install
# disables that.  Without lttng-tools the LTTng-UST columns are "na"; without
# valgrind the callgrind instruction column is, and without objdump
# (binutils) the disassembly one.  lttng-sessiond is started privately and
# stopped by its PID (bench/lttng/session.sh, as bench/lttng/run.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

quick=no
runs=
events=
payloads=
threads=
consumers=
out=$root/build/bench-results
build=$root/build
install=yes
do_lttng=yes
do_callgrind=yes
do_plot=yes
cg_payloads=

usage() {
	# the header comment, from its third line to its end
	sed -n '3,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'
	cat <<'EOF'
options:
  --quick             16-byte payload, 1 and 2 threads, consumer only, 1,000,000
                      events, 5 repetitions, callgrind of the 1-thread cases
  --runs R            repetitions (default 5; at least 5 for a median and IQR)
  --events N          events per writer thread and run (default 2,000,000)
  --payloads 'P ...'  payload sizes (default '8 16 64 256'; quick '16')
  --threads 'T ...'   writer thread counts (default '1 2 4'; quick '1 2')
  --consumers 'C ...' yes and/or no (default 'yes no'; quick 'yes')
  --out DIR           output directory (default build/bench-results)
  --build-dir DIR     CMake build directory (default build)
  --no-install        never call apt-get
  --no-lttng          leave LTTng-UST out
  --no-callgrind      leave the instruction counts out
  --no-plot           no PNG
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=yes; shift ;;
	--runs) runs=$2; shift 2 ;;
	--events) events=$2; shift 2 ;;
	--payloads) payloads=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--consumers) consumers=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--build-dir) build=$2; shift 2 ;;
	--no-install) install=no; shift ;;
	--no-lttng) do_lttng=no; shift ;;
	--no-callgrind) do_callgrind=no; shift ;;
	--no-plot) do_plot=no; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "suite.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done

if [ "$quick" = yes ]; then
	runs=${runs:-5}
	events=${events:-1000000}
	payloads=${payloads:-16}
	threads=${threads:-1 2}
	consumers=${consumers:-yes}
	cg_payloads=16
	cg_events=20000 # callgrind: Ir(3N) - Ir(N) over 2N events
	disabled_events=20000000
else
	runs=${runs:-5}
	events=${events:-2000000}
	payloads=${payloads:-8 16 64 256}
	threads=${threads:-1 2 4}
	consumers=${consumers:-yes no}
	cg_payloads=$payloads
	cg_events=50000
	disabled_events=50000000
fi
lttng_threads=$threads
[ "$quick" = yes ] && lttng_threads=1

mkdir -p "$out"
out=$(cd "$out" && pwd)
raw=$out/raw
rm -rf "$raw"
mkdir -p "$raw"
runs_file=$raw/runs.txt
: >"$runs_file"
failures=0
t_start=$(date +%s)

log() { echo "suite: $*"; }

# The CPU model, as lscpu names it ("Model name"; /proc/cpuinfo without lscpu).
cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | sed -n 1p)
[ -n "$cpu_model" ] ||
	cpu_model=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | sed -n 1p)
cpu_model=${cpu_model:-unknown}
log "CPU model: $cpu_model"
echo "CPU model=$cpu_model" >>"$runs_file"
fail() {
	echo "suite: FAIL: $*" >&2
	echo "FAILURE $*" >>"$runs_file"
	failures=$((failures + 1))
}

# ---------------------------------------------------------------------------
# Setup: tools, build
# ---------------------------------------------------------------------------
need_pkgs=()
have_lttng_ust_h() {
	echo '#include <lttng/tracepoint.h>' | gcc -E -x c - >/dev/null 2>&1
}
want() { # want PACKAGE TEST-COMMAND...
	local pkg=$1
	shift
	"$@" >/dev/null 2>&1 || need_pkgs+=("$pkg")
}
want cmake command -v cmake
want gcc command -v gcc
want make command -v make
want python3 command -v python3
want binutils command -v objdump
if [ "$do_lttng" = yes ]; then
	want lttng-tools command -v lttng-sessiond
	want liblttng-ust-dev have_lttng_ust_h
	want babeltrace2 command -v babeltrace2
fi
[ "$do_callgrind" = yes ] && want valgrind command -v valgrind
[ "$do_plot" = yes ] && want gnuplot-nox command -v gnuplot
if [ ${#need_pkgs[@]} -gt 0 ]; then
	if [ "$install" = yes ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing ${need_pkgs[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >"$raw/apt.log" 2>&1 || log "apt-get update failed (see $raw/apt.log)"
		apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" \
			>>"$raw/apt.log" 2>&1 || log "apt-get install failed (see $raw/apt.log)"
	else
		log "missing: ${need_pkgs[*]} (not root or --no-install: not installing)"
	fi
fi
command -v python3 >/dev/null || { echo "suite: python3 is required" >&2; exit 2; }
if [ "$do_lttng" = yes ] && ! { command -v lttng-sessiond >/dev/null &&
	have_lttng_ust_h; }; then
	log "lttng-tools or liblttng-ust-dev missing: LTTng-UST left out"
	do_lttng=no
fi
if [ "$do_callgrind" = yes ] && ! command -v valgrind >/dev/null; then
	log "valgrind missing: no instruction counts"
	do_callgrind=no
fi
count_lttng=no
[ "$do_lttng" = yes ] && command -v babeltrace2 >/dev/null && count_lttng=yes

log "building into $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${GRB_BUILD_TYPE:-RelWithDebInfo}" \
	-DGRB_BUILD_BENCH=ON -DGRB_SANITIZE= >"$raw/cmake.log" 2>&1 ||
	{ cat "$raw/cmake.log" >&2; exit 3; }
cmake --build "$build" -j2 --target bench_bench_write >>"$raw/cmake.log" 2>&1 ||
	{ cat "$raw/cmake.log" >&2; exit 3; }
bench_write=$build/bench/bench_write
if [ "$do_lttng" = yes ]; then
	BENCH_LTTNG_OUT=$build/bench/lttng "$here/lttng/build.sh" >"$raw/build-lttng.log" 2>&1 ||
		{ cat "$raw/build-lttng.log" >&2; exit 3; }
	bench_lttng=$build/bench/lttng/bench_lttng
fi

# ---------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
		git -C "$root" diff --quiet HEAD -- include src 2>/dev/null || echo ' (include/ or src/ modified)')"
	echo "cpu model: $cpu_model"
	echo "cpus: $(nproc) CPUs," \
		"$(lscpu 2>/dev/null | sed -n 's/^Thread(s) per core: *//p') thread(s) per core"
	echo "kernel: $(uname -r)"
	echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
	echo "gcc: $(gcc --version | sed -n 1p)"
	echo "glibc: $(ldd --version 2>/dev/null | sed -n 1p)"
	if [ "$do_lttng" = yes ]; then
		echo "lttng: $(lttng --version | sed -n 1p), liblttng-ust" \
			"$(dpkg-query -W -f '${Version}' liblttng-ust1 2>/dev/null || echo '?')"
	fi
	[ "$do_callgrind" = yes ] && echo "valgrind: $(valgrind --version)"
	command -v objdump >/dev/null && echo "objdump: $(objdump --version | sed -n 1p)"
	echo "mode: $([ "$quick" = yes ] && echo quick || echo full), runs=$runs events=$events" \
		"payloads='$payloads' threads='$threads' consumers='$consumers'"
	echo "load average at start: $(cat /proc/loadavg)"
} | tee "$raw/machine.txt"

# ---------------------------------------------------------------------------
# Instructions per event in the disassembly: every loop of bench_write (no
# run needed, under a second)
# ---------------------------------------------------------------------------
if command -v objdump >/dev/null; then
	rc=0
	python3 "$here/insn_count.py" "$bench_write" >"$raw/insn_count.txt" \
		2>"$raw/insn_count.err" || rc=$?
	grep '^INSN ' "$raw/insn_count.txt" >>"$runs_file" || true
	while read -r l; do
		fail "$l"
	done <"$raw/insn_count.err"
	[ $rc -eq 0 ] || [ -s "$raw/insn_count.err" ] || fail "insn_count.py: exit $rc"
	log "disassembly: $(grep -c '^INSN ' "$raw/insn_count.txt") loops counted" \
		"(bench/insn_count.py; $raw/insn_count.txt)"
else
	log "objdump missing: no instruction counts from the disassembly"
fi

# ---------------------------------------------------------------------------
# LTTng-UST: a private session daemon, traces in memory when there is room
# ---------------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/grb-suite.XXXXXX")
trace_root=$tmp
if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt $((8 * 1024 * 1024)) ]; then
	trace_root=$(mktemp -d /dev/shm/grb-suite-traces.XXXXXX)
fi

. "$here/lttng/session.sh"
lttng_setup "$tmp"
cleanup() {
	set +e
	lttng_session_destroy
	sessiond_stop
	[ "$trace_root" != "$tmp" ] && rm -rf "$trace_root"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$do_lttng" = yes ]; then
	sessiond_start || { log "cannot start lttng-sessiond: LTTng-UST left out"; do_lttng=no; }
fi

# ---------------------------------------------------------------------------
# Timed runs
# ---------------------------------------------------------------------------
# grb_run REP PAYLOAD THREADS CONSUMER: one bench_write invocation, every grb
# case and (with a consumer) the floor, one run each.
grb_run() {
	local rep=$1 p=$2 t=$3 c=$4 f rc=0 extra=()
	f=$raw/grb-r$rep-p$p-t$t-c$c.txt
	# the floors have no consumer: measured once, in the consumer runs
	[ "$c" = no ] && extra=(--no-consumer --case "$write_cases")
	"$bench_write" --runs 1 --events "$events" --payload "$p" --threads "$t" \
		"${extra[@]}" >"$f" 2>"$f.err" || rc=$?
	if [ $rc -ne 0 ]; then
		fail "bench_write rep $rep payload $p threads $t consumer $c: exit $rc" \
			"($(grep -h 'FAIL\|HANG\|ERROR' "$f" "$f.err" | sed -n 1,3p | tr '\n' ' '))"
	fi
	sed -n "s/^SUMMARY bench=write case=/RUN src=grb rep=$rep consumer_run=$c case=/p" "$f" \
		>>"$runs_file"
	sed -n "s/^SKIP /SKIP rep=$rep consumer_run=$c /p" "$f" >>"$runs_file"
	return 0
}

# lttng_run REP PAYLOAD THREADS MODE: one LTTng-UST session, one run.
lttng_run() {
	local rep=$1 p=$2 t=$3 mode=$4 f name trace rc=0 recorded=unknown check=n/a written
	f=$raw/lttng-r$rep-p$p-t$t-$mode.txt
	name=grb-suite-$mode-$p-$t-$rep
	trace=$trace_root/$name
	lttng_session_start "$name" "$trace" "$mode" "grb_bench:write$p"
	"$bench_lttng" --case "lttng-ust-$mode" --payload "$p" --threads "$t" --runs 1 \
		--events "$events" >"$f" 2>"$f.err" || rc=$?
	lttng_session_stop "$name" >>"$f.err"
	if [ $rc -ne 0 ]; then
		fail "bench_lttng rep $rep payload $p threads $t $mode: exit $rc ($(head -n 3 "$f.err" | tr '\n' ' '))"
	fi
	written=$(sed -n 's/^SUMMARY bench=lttng .* written=\([0-9]*\).*/\1/p' "$f")
	# Count the recorded events of the first repetition (babeltrace2 reads
	# the whole trace: about 1 s per 2 million events).
	if [ "$count_lttng" = yes ] && [ "$rep" = 1 ] && [ "$mode" = discard ]; then
		recorded=$(lttng_count_events "$trace")
		if [ "$recorded" != unknown ] && [ -n "$lttng_discarded" ] && [ -n "$written" ]; then
			# lttng list of LTTng-tools 2.13 sometimes prints 2^63 + N
			# (19 digits) as the discarded count: not a count, no check
			if [ ${#lttng_discarded} -ge 19 ]; then
				check=unreliable-discarded-count
			elif [ $((recorded + lttng_discarded)) -eq "$written" ]; then
				check=ok
			else
				check=FAIL
			fi
		fi
	fi
	lttng_session_destroy
	rm -rf "$trace"
	echo "LTTNG_ACCOUNTING case=lttng-ust-$mode payload=$p threads=$t rep=$rep" \
		"written=${written:-?} recorded=$recorded discarded=${lttng_discarded:-?}" \
		"lost_packets=${lttng_lost_packets:-?} check=$check" >>"$f"
	[ "$check" = FAIL ] && fail "LTTng-UST accounting: $(tail -n 1 "$f")"
	sed -n "s/^SUMMARY bench=lttng case=/RUN src=lttng rep=$rep consumer_run=yes clock=mono discarded=${lttng_discarded:-0} lost_packets=${lttng_lost_packets:-0} case=/p" "$f" >>"$runs_file"
	return 0
}

# disabled_run REP: the disabled event site and the empty loop, 1 thread.
disabled_run() {
	local rep=$1 f rc=0
	f=$raw/disabled-r$rep.txt
	"$bench_write" --disabled --runs 1 --events "$disabled_events" --threads 1 \
		>"$f" 2>"$f.err" || rc=$?
	[ $rc -ne 0 ] && fail "bench_write --disabled rep $rep: exit $rc"
	sed -n "s/^SUMMARY bench=write case=/RUN src=grb rep=$rep consumer_run=yes case=/p" "$f" >>"$runs_file"
	return 0
}

write_cases=$("$bench_write" --list | grep -v '^floor$\|^floor-\|^empty-loop$\|^disabled-' |
	paste -sd, -)
for rep in $(seq 1 "$runs"); do
	log "repetition $rep/$runs ($(($(date +%s) - t_start)) s; load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo "LOAD rep=$rep $(cut -d' ' -f1-3 /proc/loadavg)" >>"$runs_file"
	for p in $payloads; do
		for t in $threads; do
			for c in $consumers; do
				[ "$c" = yes ] || continue
				grb_run "$rep" "$p" "$t" yes
			done
			if [ "$do_lttng" = yes ] && [[ " $lttng_threads " == *" $t "* ]]; then
				lttng_run "$rep" "$p" "$t" discard
				lttng_run "$rep" "$p" "$t" overwrite
			fi
			for c in $consumers; do
				[ "$c" = no ] || continue
				grb_run "$rep" "$p" "$t" no
			done
		done
	done
	disabled_run "$rep"
done
echo "LOAD rep=end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$runs_file"
log "timed runs done ($(($(date +%s) - t_start)) s; load $(cut -d' ' -f1-3 /proc/loadavg))"

# ---------------------------------------------------------------------------
# Instructions per event: callgrind, 1 thread, no consumer, no warm-up, at N
# and 3N events, a ring large enough for all of them; Ir difference / 2N.
# ---------------------------------------------------------------------------
if [ "$do_callgrind" = yes ]; then
	log "callgrind: payloads '$cg_payloads', $cg_events and $((3 * cg_events)) events"
	cgdir=$raw/callgrind
	mkdir -p "$cgdir"
	jobs_file=$cgdir/jobs.txt
	: >"$jobs_file"
	cases=$("$bench_write" --list)
	for p in $cg_payloads; do
		# 1 MiB sub-buffers, enough of them for 3N records of 8 + p bytes
		need=$(((3 * cg_events * (8 + p)) / 1048576 + 2))
		subbufs=2
		while [ $subbufs -lt "$need" ]; do subbufs=$((subbufs * 2)); done
		for k in $cases; do
			case "$k" in
			empty-loop | disabled-*) [ "$p" = 16 ] || continue; clocks=none ;;
			floor-bare-tsc) clocks=tsc ;;
			*) clocks="tsc mono" ;;
			esac
			for clk in $clocks; do
				copt=()
				[ "$clk" = none ] || copt=(--clock "$clk")
				# (no trailing blank: xargs -L would join the next line)
				echo "grb $k $clk $p $subbufs${copt[*]:+ ${copt[*]}}" >>"$jobs_file"
			done
		done
	done
	cg_one() { # cg_one CASE CLOCK PAYLOAD SUBBUFS [--clock C]: prints an INSTR line
		local k=$1 clk=$2 p=$3 sb=$4 n ir l lost=0 irs=()
		shift 4
		for n in $cg_events $((3 * cg_events)); do
			valgrind --tool=callgrind --callgrind-out-file="$cgdir/$k-$clk-$p.$n.out" \
				"$bench_write" --case "$k" "$@" --threads 1 --events "$n" --runs 1 \
				--no-consumer --warmup 0 --payload "$p" --subbuf-size 1048576 \
				--subbufs "$sb" >"$cgdir/$k-$clk-$p.$n.txt" 2>&1 || {
				echo "INSTR_FAIL case=$k clock=$clk payload=$p"
				return 0
			}
			# valgrind cannot run restartable sequences: the rseq
			# cases would count the atomic fallback, not themselves.
			if grep -q '^SKIP\|^FALLBACK' "$cgdir/$k-$clk-$p.$n.txt"; then
				echo "INSTR_SKIP case=$k clock=$clk payload=$p"
				return 0
			fi
			ir=$(sed -n 's/^summary: *//p' "$cgdir/$k-$clk-$p.$n.out")
			irs+=("$ir")
			l=$(sed -n "s/^SUMMARY bench=write case=$k .* lost=\([0-9]*\) .*/\1/p" \
				"$cgdir/$k-$clk-$p.$n.txt" | sed -n 1p)
			lost=$((lost + ${l:-0}))
		done
		echo "INSTR src=grb case=$k clock=$clk payload=$p ir_n=${irs[0]} ir_3n=${irs[1]}" \
			"n=$cg_events lost=$lost"
	}
	export -f cg_one
	export cgdir cg_events bench_write
	# LTTng-UST: one discard session for all its callgrind runs, run one
	# after the other (two processes would write into the same buffers).
	lttng_cg() {
		local p n ir irs
		lttng_session_start grb-suite-cg "$trace_root/cg" discard \
			$(for p in $cg_payloads; do echo "grb_bench:write$p"; done)
		for p in $cg_payloads; do
			irs=()
			for n in $cg_events $((3 * cg_events)); do
				valgrind --tool=callgrind --callgrind-out-file="$cgdir/lttng-$p.$n.out" \
					"$bench_lttng" --case lttng-ust-cg --payload "$p" --threads 1 \
					--runs 1 --warmup 0 --events "$n" >"$cgdir/lttng-$p.$n.txt" 2>&1 ||
					{ echo "INSTR_FAIL case=lttng-ust-discard payload=$p"; continue 2; }
				ir=$(sed -n 's/^summary: *//p' "$cgdir/lttng-$p.$n.out")
				irs+=("$ir")
			done
			echo "INSTR src=lttng case=lttng-ust-discard clock=mono payload=$p" \
				"ir_n=${irs[0]} ir_3n=${irs[1]} n=$cg_events lost=na"
		done
		lttng_session_stop grb-suite-cg >/dev/null
		echo "LTTNG_CG discarded=${lttng_discarded:-?}"
		lttng_session_destroy
		rm -rf "$trace_root/cg"
	}
	if [ "$do_lttng" = yes ]; then
		lttng_cg >"$cgdir/lttng.txt" 2>&1 &
		lttng_cg_pid=$!
	fi
	# The grb jobs, two at a time (beside the LTTng-UST runs: counts do not
	# depend on sharing the CPUs).
	xargs -P 2 -L 1 bash -c 'shift; cg_one "$@"' _ <"$jobs_file" >"$cgdir/grb.txt" 2>&1 ||
		fail "callgrind jobs failed (see $cgdir/grb.txt)"
	if [ "$do_lttng" = yes ]; then
		wait "$lttng_cg_pid" || fail "LTTng-UST callgrind failed (see $cgdir/lttng.txt)"
		cat "$cgdir/lttng.txt" >>"$cgdir/grb.txt"
	fi
	grep -h '^INSTR \|^LTTNG_CG' "$cgdir/grb.txt" >>"$runs_file" || true
	while read -r l; do
		fail "callgrind: $l"
	done < <(grep -h '^INSTR_FAIL' "$cgdir/grb.txt" || true)
	log "callgrind done ($(($(date +%s) - t_start)) s)"
fi

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
echo "WALL seconds=$(($(date +%s) - t_start))" >>"$runs_file"
echo "load average at end: $(cat /proc/loadavg)" >>"$raw/machine.txt"
# Timed rseq runs in the atomic fallback would be mislabelled: say so.
if grep -h '^FALLBACK' "$raw"/grb-*.txt 2>/dev/null | sort -u | grep .; then
	echo "suite: WARNING: the percpu-rseq cases above ran in the atomic fallback" >&2
fi
rc=0
python3 "$here/suite-report.py" --runs-file "$runs_file" --machine "$raw/machine.txt" \
	--out "$out" $([ "$do_plot" = yes ] && echo --plot) || rc=$?
[ $rc -eq 0 ] || fail "the report found a failed accounting check or failed runs (exit $rc)"
log "wall time $(($(date +%s) - t_start)) s; results in $out"
if [ "$failures" -gt 0 ]; then
	echo "suite: $failures FAILURE(S): see above and $runs_file" >&2
	exit 1
fi
exit 0
