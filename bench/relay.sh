#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/relay.sh - streaming to lttng-relayd, measured: grb record to its
# local disk, grb record --relay to an lttng-relayd without and with a live
# viewer attached, and LTTng-UST (to its local disk, and a live session to
# the same relay, without and with a viewer), on one workload
# (bench/relay_writer.c: grb_bench:write16 { a, b }, 16 bytes of payload,
# a the commit time; for LTTng-UST the provider of bench/lttng/tp.h, the
# vpid and vtid contexts added so that both carry the same fields):
#
#   flat  1 and 2 threads each writing --events events as fast as they can;
#   rate  1 thread writing --rate events a second, a live viewer
#         (babeltrace2 -i lttng-live on a terminal) printing every event and
#         bench/relay_bench.py timestamping each line as it arrives: the
#         live delay from each event's commit, at each --timers live timer
#         (default 1000 ms, LTTng's and grb's default, and 100 ms).
#
# Every repetition runs every column of every workload, the order turning by
# one column each time; the summary gives medians and, per repetition,
# ratios (grb relay / grb disk, grb relay / LTTng-UST relay, ...).  Every
# run checks the tool's accounting (grb's summary exact; LTTng's discarded
# events from lttng list) and that the trace decodes offline, with
# babeltrace2, to exactly the events written less those lost: the relay's
# copy for a relay column, the local trace for a disk one; a viewer of a
# flat run must have seen every one of them, and every measured event of a
# rate run must reach its viewer.  Geometry: grb record's default, 8 x 256
# KiB a stream (a thread's), and LTTng-UST per-UID buffers of 8 x 256 KiB a
# CPU, in discard mode.
#
#	bench/relay.sh               # about 5 minutes on 2 CPUs
#	bench/relay.sh --smoke       # seconds: grb only, small counts, one
#	                             # repetition; the checks only (the test
#	                             # bench_relay_smoke)
#	make bench-relay             # BENCH_ARGS=--smoke: the checks only
#
# The script starts its own lttng-relayd on free ports (its output in the
# work directory) and, for LTTng-UST, its own lttng-sessiond: as root in a
# mount namespace of its own (unshare -m) with a private /run/lttng and
# /dev/shm, so that it neither sees nor disturbs a session daemon of
# another user of the machine; otherwise with LTTNG_HOME in the work
# directory.  Both are stopped by their PID at the end.  As root, missing
# tools are installed with apt-get (lttng-tools, liblttng-ust-dev,
# babeltrace2, python3); --no-install disables that.  Without LTTng-UST the
# LTTng columns are left out.
# Output (default build/bench-relay/): summary.txt (the machine, the load
# average, the tables, SUMMARY and RATIO lines), runs.tsv (one row per run)
# and raw/ (each run's output).  Exit status 1 if a check failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

runs=
events=
threads="1 2"
rate=
window_ms=
timers=
smoke=no
build=$root/build
out=
install=yes
do_lttng=yes
do_build=yes
keep=no

usage() {
	sed -n '3,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'
	cat <<'EOF'
options:
  --runs R          repetitions (default 5; smoke 1)
  --events N        events a thread in the flat runs (default 2,000,000)
  --threads 'T...'  writer threads of the flat runs (default '1 2')
  --rate R          events a second of the rate runs (default 10,000)
  --window-ms M     measured time of a rate run (default 3000)
  --timers 'MS...'  live timers of the rate runs (default '1000 100')
  --smoke           grb only, 20,000 events a thread, a 300 ms rate run at
                    a 100 ms timer, one repetition: the checks only
  --build-dir DIR   CMake build directory (default build)
  --no-build        use what DIR has (tools/grb, bench/relay_writer,
                    bench/lttng/relay_writer)
  --out DIR         output directory (default DIR/bench-relay)
  --no-install      never call apt-get
  --no-lttng        leave LTTng-UST out
  --keep            keep the traces of every run (in OUT/work)
EOF
}

args=("$@")
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=$2; shift 2 ;;
	--events) events=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--window-ms) window_ms=$2; shift 2 ;;
	--timers) timers=$2; shift 2 ;;
	--smoke) smoke=yes; shift ;;
	--build-dir) build=$2; shift 2 ;;
	--no-build) do_build=no; shift ;;
	--out) out=$2; shift 2 ;;
	--no-install) install=no; shift ;;
	--no-lttng) do_lttng=no; shift ;;
	--keep) keep=yes; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "relay.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
if [ "$smoke" = yes ]; then
	runs=${runs:-1}
	events=${events:-20000}
	rate=${rate:-2000}
	window_ms=${window_ms:-300}
	timers=${timers:-100}
	do_lttng=no
fi
runs=${runs:-5}
events=${events:-2000000}
rate=${rate:-10000}
window_ms=${window_ms:-3000}
timers=${timers:-1000 100}
out=${out:-$build/bench-relay}
for v in "$runs" "$events" "$rate" "$window_ms" $threads $timers; do
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "relay.sh: bad number '$v'" >&2; exit 2; }
done

log() { echo "relay: $*"; }

# ---------------------------------------------------------------------------
# Tools and build (before the namespace: apt-get and the build need none)
# ---------------------------------------------------------------------------
if [ -z "${GRB_RELAY_BENCH_NS:-}" ]; then
	# shellcheck source=cmake/test_tools.sh
	. "$root/cmake/test_tools.sh"
	need=(lttng-tools babeltrace2 python3)
	if [ "$install" = yes ]; then
		grb_need "${need[@]}"
	else
		missing=$(_grb_missing "${need[@]}")
		[ -z "$missing" ] || { echo "relay.sh: missing: $missing(--no-install)" >&2; exit 77; }
	fi
	have_lttng_ust() {
		command -v lttng-sessiond >/dev/null &&
			echo '#include <lttng/tracepoint.h>' | gcc -E -x c - >/dev/null 2>&1
	}
	if [ "$do_lttng" = yes ] && ! have_lttng_ust; then
		if [ "$install" = yes ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
			log "installing liblttng-ust-dev"
			export DEBIAN_FRONTEND=noninteractive
			apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null 2>&1 ||
				log "apt-get update failed"
			apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
				liblttng-ust-dev >/dev/null 2>&1 || log "apt-get install liblttng-ust-dev failed"
		fi
		if ! have_lttng_ust; then
			log "LTTng-UST (lttng-sessiond, liblttng-ust-dev) missing: its columns are left out"
			do_lttng=no
		fi
	fi
	if [ "$do_build" = yes ]; then
		log "building into $build"
		mkdir -p "$build"
		cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${GRB_BUILD_TYPE:-RelWithDebInfo}" \
			-DGRB_BUILD_BENCH=ON -DGRB_SANITIZE= >"$build/relay-cmake.log" 2>&1 &&
			cmake --build "$build" -j2 --target grb_tool bench_relay_writer \
				>>"$build/relay-cmake.log" 2>&1 ||
			{ cat "$build/relay-cmake.log" >&2; exit 3; }
		if [ "$do_lttng" = yes ]; then
			BENCH_LTTNG_OUT=$build/bench/lttng "$here/lttng/build.sh" \
				>"$build/relay-lttng-build.log" 2>&1 ||
				{ cat "$build/relay-lttng-build.log" >&2; exit 3; }
		fi
	fi
	# As root, LTTng-UST's session daemon uses /run/lttng whatever
	# LTTNG_HOME says: give it a private one in a mount namespace.
	if [ "$do_lttng" = yes ] && [ "$(id -u)" = 0 ]; then
		if command -v unshare >/dev/null &&
			unshare -m --propagation private true 2>/dev/null; then
			nsargs=("${args[@]}")
			[ "$do_build" = no ] || nsargs+=(--no-build)
			GRB_RELAY_BENCH_NS=1 exec unshare -m --propagation private \
				bash "$0" "${nsargs[@]}" --no-install
		fi
		log "no mount namespace (unshare -m): LTTng-UST left out (a root session" \
			"daemon would share /run/lttng with any other)"
		do_lttng=no
	fi
else
	# In the namespace: the run directory and the shared memory of the
	# LTTng-UST daemons and programs are this run's own.
	mkdir -p /run/lttng
	mount -t tmpfs -o mode=0755 tmpfs /run/lttng
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm
fi
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)

grb=$build/tools/grb
grb_writer=$build/bench/relay_writer
lttng_writer=
[ "$do_lttng" = no ] || lttng_writer=$build/bench/lttng/relay_writer
for f in "$grb" "$grb_writer" $lttng_writer; do
	[ -x "$f" ] || { echo "relay.sh: $f missing (build it, or drop --no-build)" >&2; exit 3; }
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/raw" "$out/work"
mkdir -p "$out/raw" "$out/work"
summary=$out/summary.txt
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

relayd_pid=
sessiond_pid=
cleanup() {
	set +e
	if [ -n "$sessiond_pid" ]; then
		kill -TERM "$sessiond_pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$sessiond_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$sessiond_pid" 2>/dev/null
	fi
	if [ -n "$relayd_pid" ]; then
		kill -TERM "$relayd_pid" 2>/dev/null
		wait "$relayd_pid" 2>/dev/null
	fi
	[ "$keep" = yes ] || rm -rf "$out/work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# lttng-relayd on three free ports: cport, dport, lport.
export LTTNG_HOME=$out/work/lttng-home
mkdir -p "$LTTNG_HOME"
tries=0
while :; do
	tries=$((tries + 1))
	[ $tries -le 20 ] || { echo "relay.sh: no free ports for lttng-relayd" >&2; exit 3; }
	base=$(((RANDOM * 32768 + RANDOM) % 40000 + 20000))
	cport=$base dport=$((base + 1)) lport=$((base + 2))
	mkdir -p "$out/work/relay"
	lttng-relayd -C "tcp://127.0.0.1:$cport" -D "tcp://127.0.0.1:$dport" \
		-L "tcp://127.0.0.1:$lport" -o "$out/work/relay" >"$out/raw/relayd.log" 2>&1 &
	relayd_pid=$!
	up=no
	for _ in $(seq 100); do
		kill -0 "$relayd_pid" 2>/dev/null || break
		if babeltrace2 -i lttng-live "net://127.0.0.1:$lport" >/dev/null 2>&1 &&
			kill -0 "$relayd_pid" 2>/dev/null; then
			up=yes
			break
		fi
		sleep 0.1
	done
	[ "$up" = no ] || break
	kill "$relayd_pid" 2>/dev/null || true
	wait "$relayd_pid" 2>/dev/null || true
	relayd_pid=
done
log "lttng-relayd $relayd_pid on ports $cport $dport $lport"

if [ "$do_lttng" = yes ]; then
	if [ "$(id -u)" = 0 ]; then
		rundir=/run/lttng
	else
		rundir=$LTTNG_HOME/.lttng
	fi
	lttng-sessiond --daemonize --no-kernel --quiet >"$out/raw/sessiond.log" 2>&1 || true
	[ -f "$rundir/lttng-sessiond.pid" ] && sessiond_pid=$(cat "$rundir/lttng-sessiond.pid")
	if [ -z "$sessiond_pid" ] || ! kill -0 "$sessiond_pid" 2>/dev/null; then
		echo "relay.sh: lttng-sessiond did not start (see $out/raw/sessiond.log)" >&2
		exit 3
	fi
	log "lttng-sessiond $sessiond_pid (run directory $rundir)"
fi

cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | sed -n 1p)
say "cpu model: ${cpu_model:-unknown}"
say "cpus: $(nproc); kernel $(uname -r); $(ldd --version 2>/dev/null | sed -n 1p)"
say "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
	git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (modified)')"
say "lttng-relayd: $(lttng-relayd --version 2>&1 | sed -n 1p); babeltrace2:" \
	"$(babeltrace2 --version 2>&1 | sed -n 1p)"
[ "$do_lttng" = no ] || say "lttng-ust: $(dpkg-query -W -f '${Version}' liblttng-ust1 \
	2>/dev/null || echo '?')"
say "runs: $runs; flat: $events events a thread, threads '$threads'; rate: $rate events/s," \
	"$window_ms ms measured, live timers '$timers' ms"
say "load average at start: $(cat /proc/loadavg)"

rc=0
"$py" "$here/relay_bench.py" --grb "$grb" --grb-writer "$grb_writer" \
	--lttng-writer "$lttng_writer" --sessiond-pid "${sessiond_pid:-0}" \
	--relayd-pid "$relayd_pid" --ports "$cport,$dport,$lport" --relay-out "$out/work/relay" \
	--work "$out/work/runs" --out "$out" --runs "$runs" --events "$events" \
	--threads "$threads" --rate "$rate" --window-ms "$window_ms" --timers "$timers" \
	$([ "$smoke" = no ] || echo "--warmup-ms 200") $([ "$keep" = no ] || echo --keep) || rc=$?
say "load average at end: $(cat /proc/loadavg)"
exit $rc
