#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/latency.sh - the wake-up latency benchmark: how long an event takes
# from its commit to a sleeping reader, for grb's wake-up policies
# (bench_latency), a perf ring buffer (bench_latency's perf cases) and
# LTTng-UST live (latency_writer, a live session, a relay daemon and the
# babeltrace2 live viewer, measured by bench/lttng/live_latency.py).
#
#	bench/latency.sh            # full: about 25 minutes on 2 CPUs
#	bench/latency.sh --quick    # about 5 minutes
#	make bench-latency / make bench-latency-quick
#
# Every repetition runs bench_latency --runs 1 (every grb and perf case,
# 1 and 4 writers, steady and burst loads), then every LTTng live
# configuration, so that a slow phase of the shared machine hits all of
# them; medians are taken over the repetitions.
#
# LTTng live: for each live timer (--live, in us; "default" is lttng's own,
# 1 s), a session `lttng create --live=US --set-url=net://127.0.0.1:C:D`
# with the event grb_bench:write16 in the default channel (per-UID
# buffers), started; then live_latency.py runs the viewer (babeltrace2
# with its lttng-live source, on net://127.0.0.1:L/host/HOSTNAME/SESSION)
# and the writer with bench_latency's rates, and prints the latency of the
# measured events at the viewer.  The viewer retries every 100 ms when it
# has nothing to print (babeltrace2's default --retry-duration); a second
# viewer setting (--fast-retry, 1 ms) runs with 1 writer.  The script
# starts its own lttng-sessiond (bench/lttng/session.sh: it refuses to run
# beside another root session daemon) and its own lttng-relayd on the ports
# C, D, L = --relayd-port, +1, +2 (default 15342), and stops both by their
# PIDs.
#
# perf: the syscalls:sys_enter_getpid tracepoint needs tracefs; as root the
# script mounts it on /sys/kernel/tracing when nothing is mounted there, and
# unmounts it at the end.
#
# Output (default build/bench-latency/): summary.txt (the CPU model, the
# machine, one SUMMARY line per grb, perf and LTTng configuration: medians
# over the repetitions), table.txt, raw/ (every program's output).  Exit
# status 1 if a check of a program failed (an event missing, duplicated or
# out of order, an accounting error), 3 if a program failed to run.  Not a
# test: neither `make check` nor CI runs it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

quick=no
runs=
out=$root/build/bench-latency
build=$root/build
install=yes
do_lttng=yes
do_perf=yes
lives=
fast_retry=1000
port=15342
lttng_channel=
lttng_threads=
grb_args=()

usage() {
	sed -n '3,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'
	cat <<'EOF'
options:
  --quick             3 repetitions, 300 ms windows, 1 writer for LTTng, live
                      timers 100 ms and 10 ms
  --runs R            repetitions (default 5)
  --live 'US ...'     LTTng live timers in us, "default" for lttng's own
                      (default 'default 100000 10000 1000')
  --fast-retry US     the second viewer's --retry-duration (default 1000; 0: none)
  --out DIR           output directory (default build/bench-latency)
  --build-dir DIR     CMake build directory (default build)
  --relayd-port P     lttng-relayd's control port; data P+1, live P+2
  --lttng-channel 'SIZE COUNT'
                      an LTTng channel of COUNT sub-buffers of SIZE bytes
                      (default: lttng's default channel)
  --lttng-threads 'T ...'  LTTng writer threads (default '1 4'; quick '1')
  --no-install        never call apt-get
  --no-lttng          leave LTTng out
  --no-perf           leave the perf cases out
  --grb-arg ARG       pass ARG to bench_latency (repeatable), e.g.
                      --grb-arg --case --grb-arg thread-records-1
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=yes; shift ;;
	--runs) runs=$2; shift 2 ;;
	--live) lives=$2; shift 2 ;;
	--fast-retry) fast_retry=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--build-dir) build=$2; shift 2 ;;
	--relayd-port) port=$2; shift 2 ;;
	--lttng-channel) lttng_channel=$2; shift 2 ;;
	--lttng-threads) lttng_threads=$2; shift 2 ;;
	--no-install) install=no; shift ;;
	--no-lttng) do_lttng=no; shift ;;
	--no-perf) do_perf=no; shift ;;
	--grb-arg) grb_args+=("$2"); shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "latency.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done

if [ "$quick" = yes ]; then
	runs=${runs:-3}
	lives=${lives:-100000 10000}
	window_ms=300
	lttng_threads=${lttng_threads:-1}
else
	runs=${runs:-5}
	lives=${lives:-default 100000 10000 1000}
	window_ms=1000
	lttng_threads=${lttng_threads:-1 4}
fi
loads="steady burst"
python=/usr/bin/python3 # python3-bt2 and babeltrace2 are Debian's

mkdir -p "$out"
out=$(cd "$out" && pwd)
raw=$out/raw
rm -rf "$raw"
mkdir -p "$raw"
log() { echo "latency: $*"; }
failures=0
fail() {
	echo "latency: FAIL: $*" >&2
	echo "FAILURE $*" >>"$raw/failures.txt"
	failures=$((failures + 1))
}

cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | sed -n 1p)
[ -n "$cpu_model" ] ||
	cpu_model=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | sed -n 1p)
cpu_model=${cpu_model:-unknown}

# ---------------------------------------------------------------------------
# Tools and build
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
if [ "$do_lttng" = yes ]; then
	want lttng-tools command -v lttng-relayd
	want liblttng-ust-dev have_lttng_ust_h
	want babeltrace2 command -v babeltrace2
	want python3 test -x "$python"
fi
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
if [ "$do_lttng" = yes ] && ! { command -v lttng-relayd >/dev/null && have_lttng_ust_h &&
	command -v babeltrace2 >/dev/null && [ -x "$python" ]; }; then
	log "lttng-tools, liblttng-ust-dev, babeltrace2 or $python missing: LTTng left out"
	do_lttng=no
fi

log "building into $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${GRB_BUILD_TYPE:-RelWithDebInfo}" \
	-DGRB_BUILD_BENCH=ON -DGRB_SANITIZE= >"$raw/cmake.log" 2>&1 ||
	{ cat "$raw/cmake.log" >&2; exit 3; }
cmake --build "$build" -j2 --target bench_bench_latency >>"$raw/cmake.log" 2>&1 ||
	{ cat "$raw/cmake.log" >&2; exit 3; }
bench_latency=$build/bench/bench_latency
if [ "$do_lttng" = yes ]; then
	BENCH_LTTNG_OUT=$build/bench/lttng "$here/lttng/build.sh" >"$raw/build-lttng.log" 2>&1 ||
		{ cat "$raw/build-lttng.log" >&2; exit 3; }
	latency_writer=$build/bench/lttng/latency_writer
fi

# ---------------------------------------------------------------------------
# Cleanup: only what this script started or mounted
# ---------------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/grb-latency.XXXXXX")
relayd_pid=
mounted_tracefs=no
cleanup() {
	set +e
	if [ "$do_lttng" = yes ]; then
		lttng_session_destroy
		if [ -n "$relayd_pid" ]; then
			kill -TERM "$relayd_pid" 2>/dev/null
			wait "$relayd_pid" 2>/dev/null
		fi
		sessiond_stop
	fi
	[ "$mounted_tracefs" = yes ] && umount /sys/kernel/tracing
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# perf: the tracepoint's id is in tracefs.
if [ "$do_perf" = yes ] && [ ! -e /sys/kernel/tracing/events/syscalls ] &&
	[ ! -e /sys/kernel/debug/tracing/events/syscalls ]; then
	if [ "$(id -u)" = 0 ] && ! mountpoint -q /sys/kernel/tracing &&
		mount -t tracefs nodev /sys/kernel/tracing 2>"$raw/tracefs.log"; then
		mounted_tracefs=yes
		log "mounted tracefs on /sys/kernel/tracing (unmounted at the end)"
	else
		log "no tracefs with syscall tracepoints: the perf cases will be SKIP lines"
	fi
fi
[ "$do_perf" = yes ] || grb_args+=(--case "$("$bench_latency" --list | grep -v '^perf-' | paste -sd,)")
[ "$quick" = yes ] && grb_args+=(--window-ms "$window_ms")

# ---------------------------------------------------------------------------
# LTTng: a session daemon and a relay daemon of our own
# ---------------------------------------------------------------------------
if [ "$do_lttng" = yes ]; then
	# shellcheck source=bench/lttng/session.sh
	. "$here/lttng/session.sh"
	lttng_setup "$tmp"
	sessiond_start || exit 3
	lttng-relayd -C "tcp://127.0.0.1:$port" -D "tcp://127.0.0.1:$((port + 1))" \
		-L "tcp://127.0.0.1:$((port + 2))" -o "$tmp/relayd" >"$raw/relayd.log" 2>&1 &
	relayd_pid=$!
	sleep 1
	kill -0 "$relayd_pid" 2>/dev/null || {
		cat "$raw/relayd.log" >&2
		echo "latency: lttng-relayd did not start (ports $port-$((port + 2)) taken?)" >&2
		relayd_pid=
		exit 3
	}
	log "started lttng-relayd PID $relayd_pid on ports $port-$((port + 2))"
	# The daemons' CPU time is reported: the session daemon, its children
	# (the consumer daemon) and the relay daemon.
	daemon_pids=$sessiond_pid,$relayd_pid
	for p in $(ps -o pid= --ppid "$sessiond_pid" 2>/dev/null); do
		daemon_pids=$daemon_pids,$p
	done
fi

{
	echo "cpu model: $cpu_model"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
		git -C "$root" diff --quiet HEAD -- include src bench 2>/dev/null ||
			echo ' (include/, src/ or bench/ modified)')"
	echo "cpus: $(nproc)"
	echo "kernel: $(uname -r)"
	echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
	if [ "$do_lttng" = yes ]; then
		echo "lttng: $(lttng --version | sed -n 1p), liblttng-ust" \
			"$(dpkg-query -W -f '${Version}' liblttng-ust1 2>/dev/null || echo '?');" \
			"$(babeltrace2 --version | sed -n 1p)"
	fi
	echo "mode: $([ "$quick" = yes ] && echo quick || echo full), runs=$runs," \
		"LTTng live timers '$lives', viewer retry 100000 us$(
			[ "$fast_retry" = 0 ] || echo " and $fast_retry us (1 writer)")," \
		"LTTng channel: ${lttng_channel:-the default}, LTTng writers '$lttng_threads'"
	echo "load average at start: $(cat /proc/loadavg)"
} | tee "$raw/machine.txt"

# One LTTng live measurement: live_run REP LIVE RETRY THREADS LOAD
session_no=0
live_run() {
	local rep=$1 live=$2 retry=$3 threads=$4 load=$5 live_us session opt line discarded
	session_no=$((session_no + 1))
	session=grb-latency-$$-$session_no
	if [ "$live" = default ]; then
		live_us=1000000 # lttng create --help: DELAYUS defaults to 1000000
		opt=--live
	else
		live_us=$live
		opt=--live=$live
	fi
	lttng create "$session" "$opt" --set-url="net://127.0.0.1:$port:$((port + 1))" \
		>>"$raw/lttng.log" 2>&1 || { fail "lttng create $opt"; return; }
	lttng_session=$session
	if [ -n "$lttng_channel" ]; then
		set -- $lttng_channel
		lttng enable-channel --userspace --session="$session" --subbuf-size="$1" \
			--num-subbuf="$2" ch0 >>"$raw/lttng.log" 2>&1 ||
			{ fail "lttng enable-channel $lttng_channel"; return; }
		lttng enable-event --userspace --session="$session" --channel=ch0 \
			grb_bench:write16 >>"$raw/lttng.log" 2>&1
	else
		lttng enable-event --userspace --session="$session" grb_bench:write16 \
			>>"$raw/lttng.log" 2>&1
	fi
	lttng start "$session" >>"$raw/lttng.log" 2>&1
	# Warm-up: the viewer attaches and finds the new streams.  Tail: the
	# last measured events are flushed as in a steady state.
	line=$("$python" "$here/lttng/live_latency.py" \
		--url "net://127.0.0.1:$((port + 2))/host/$(hostname)/$session" \
		--retry-us "$retry" --timeout $((live_us * 3 / 1000000 + 10)) \
		--cpu-pids "$daemon_pids" --viewer-log "$raw/viewer-$session_no.log" -- \
		"$latency_writer" --threads "$threads" --load "$load" \
		--warmup-ms $((1500 + 2 * live_us / 1000)) --window-ms "$window_ms" \
		--tail-ms $((500 + 2 * live_us / 1000)) 2>>"$raw/lttng.log") ||
		fail "live_latency.py: live=$live retry=$retry threads=$threads load=$load"
	lttng stop "$session" >>"$raw/lttng.log" 2>&1
	discarded=$(lttng list "$session" | sed -n 's/^ *Discarded events: *//p' | head -n 1)
	lttng_session_destroy
	echo "LIVE_RESULT rep=$rep live_us=$live_us retry_us=$retry threads=$threads load=$load" \
		"discarded=${discarded:-na} ${line#LIVE_RUN }" | tee -a "$raw/lttng.txt"
}

# ---------------------------------------------------------------------------
# The repetitions
# ---------------------------------------------------------------------------
for rep in $(seq 1 "$runs"); do
	log "repetition $rep/$runs: bench_latency (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	rc=0
	"$bench_latency" --runs 1 "${grb_args[@]}" >"$raw/grb-$rep.txt" 2>&1 || rc=$?
	grep '^SUMMARY bench=latency done' "$raw/grb-$rep.txt" || true
	case $rc in
	0) ;;
	1) fail "bench_latency repetition $rep: a check failed (see $raw/grb-$rep.txt)" ;;
	*) fail "bench_latency repetition $rep exited $rc"; exit 3 ;;
	esac
	if [ "$do_lttng" = yes ]; then
		log "repetition $rep/$runs: LTTng live (load average $(cut -d' ' -f1-3 /proc/loadavg))"
		for live in $lives; do
			for threads in $lttng_threads; do
				for load in $loads; do
					live_run "$rep" "$live" 100000 "$threads" "$load"
					if [ "$fast_retry" != 0 ] && [ "$threads" = 1 ]; then
						live_run "$rep" "$live" "$fast_retry" "$threads" "$load"
					fi
				done
			done
		done
	fi
done
echo "load average at end: $(cat /proc/loadavg)" | tee -a "$raw/machine.txt"

# ---------------------------------------------------------------------------
# Medians over the repetitions
# ---------------------------------------------------------------------------
"$python" - "$raw" "$runs" >"$out/summary.txt" <<'EOF'
import glob
import os
import re
import statistics
import sys

raw, runs = sys.argv[1], int(sys.argv[2])
KV = re.compile(r'(\w+)=("[^"]*"|\S+)')


def kv(line):
    return {k: v.strip('"') for k, v in KV.findall(line)}


def med(rows, key):
    vals = [float(r[key]) for r in rows if r.get(key, "na") not in ("na", "")]
    return statistics.median(vals) if vals else float("nan")


def total(rows, key):
    return sum(int(r[key]) for r in rows if r.get(key, "na").isdigit())


print("SPDX-License-Identifier: MIT")
with open(os.path.join(raw, "machine.txt")) as f:
    sys.stdout.write(f.read())
groups = {}
for path in sorted(glob.glob(os.path.join(raw, "grb-*.txt"))):
    with open(path) as f:
        for line in f:
            if line.startswith("SUMMARY bench=latency case="):
                r = kv(line)
                groups.setdefault((r["case"], r["threads"], r["load"]), []).append(r)
            elif line.startswith("SKIP "):
                print(line.strip())
print("# medians over repetitions; latencies in us; wakes per 1000 events")
for (case, threads, load), rows in groups.items():
    r0 = rows[0]
    checks = "ok" if all(r["check"] == "ok" for r in rows) else "FAIL"
    print("SUMMARY tracer=%s case=%s policy=%s threads=%s load=%s reps=%d p50_us=%.1f "
          "p99_us=%.1f max_us=%.1f ts_p50_us=%.1f wakes_per_1000=%.2f commit_ns_p50=%.0f "
          "commit_ns_p99=%.0f consumer_cpu_pct=%.2f rate_ev_s=%.0f lost=%d missing=%d "
          "check=%s" % ("perf" if r0["sync"] == "perf" else "grb-" + r0["sync"], case,
                        r0["policy"], threads, load, len(rows), med(rows, "p50_us"),
                        med(rows, "p99_us"), med(rows, "max_us"), med(rows, "ts_p50_us"),
                        med(rows, "wakes_per_1000"), med(rows, "commit_ns_p50"),
                        med(rows, "commit_ns_p99"), med(rows, "consumer_cpu_pct"),
                        med(rows, "rate_ev_s"), total(rows, "lost"), total(rows, "missing"),
                        checks))
live = {}
path = os.path.join(raw, "lttng.txt")
if os.path.exists(path):
    with open(path) as f:
        for line in f:
            r = kv(line)
            live.setdefault((int(r["live_us"]), int(r["retry_us"]), r["threads"], r["load"]),
                            []).append(r)


def discarded(r):
    """LTTng's count of discarded events, None when unreadable: lttng list
    was seen to print 2^63 + N for a session of per-UID buffers."""
    v = r.get("discarded", "na")
    return int(v) if v.isdigit() and int(v) < 1 << 63 else None


def live_check(rows):
    """ok: every measured event seen once, after its commit; lost: some
    never came, and LTTng counted discarded events in those runs; FAIL:
    else."""
    if any(r.get("errors") != "0" for r in rows):
        return "FAIL"
    if all(r.get("missing") == "0" for r in rows):
        return "ok"
    for r in rows:
        if r.get("missing") != "0" and not r.get("discarded", "0").isdigit():
            return "FAIL"
        if r.get("missing") != "0" and int(r["discarded"]) == 0:
            return "FAIL"
    return "lost"


for (live_us, retry_us, threads, load), rows in sorted(live.items(), reverse=True):
    disc = [discarded(r) for r in rows]
    print("SUMMARY tracer=lttng-live case=lttng-live-%dus-retry-%dus live_us=%d retry_us=%d "
          "threads=%s load=%s reps=%d p50_us=%.1f p99_us=%.1f max_us=%.1f "
          "commit_ns_p50=%.0f commit_ns_p99=%.0f daemons_cpu_pct=%.1f "
          "viewer_cpu_pct=%.1f reader_cpu_pct=%.1f parser_cpu_pct=%.1f rate_ev_s=%.0f "
          "discarded=%d "
          "discarded_unreadable=%d missing=%d check=%s"
          % (live_us, retry_us, live_us, retry_us, threads, load, len(rows),
             med(rows, "p50_us"), med(rows, "p99_us"), med(rows, "max_us"),
             med(rows, "commit_ns_p50"),
             med(rows, "commit_ns_p99"), med(rows, "daemons_cpu_pct"),
             med(rows, "viewer_cpu_pct"),
             statistics.median(float(r["daemons_cpu_pct"]) + float(r["viewer_cpu_pct"])
                               for r in rows),
             med(rows, "parser_cpu_pct"), med(rows, "rate_ev_s"), sum(d for d in disc if d is not None),
             sum(d is None for d in disc), total(rows, "missing"), live_check(rows)))
EOF
awk '/^SUMMARY tracer=/ {
	for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
	lttng = v["tracer"] == "lttng-live"
	printf "%-34s %3s %-6s %10s %10s %10s %9s %7s %s\n", v["case"], v["threads"], v["load"],
		v["p50_us"], v["p99_us"], v["max_us"], lttng ? "-" : v["wakes_per_1000"],
		lttng ? v["reader_cpu_pct"] : v["consumer_cpu_pct"], v["check"]
	delete v
}' "$out/summary.txt" >"$tmp/rows.txt"
{
	echo "SPDX-License-Identifier: MIT"
	echo "CPU: $cpu_model.  Medians over $runs repetitions; latencies in us."
	echo "wakes/1k: the reader's wake-ups per 1000 events.  cpu%: the reader's CPU time"
	echo "(grb, perf: the consumer thread; LTTng: the daemons and the viewer), % of a CPU."
	printf "%-34s %3s %-6s %10s %10s %10s %9s %7s %s\n" case thr load p50 p99 max wakes/1k \
		cpu% check
	cat "$tmp/rows.txt"
} >"$out/table.txt"
cat "$out/table.txt"
grep -q 'check=FAIL' "$out/summary.txt" && fail "a SUMMARY line says check=FAIL"
log "summary: $out/summary.txt, table: $out/table.txt, raw output: $raw"
[ "$failures" = 0 ] || exit 1
