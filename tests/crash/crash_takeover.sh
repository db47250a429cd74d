#!/bin/sh
# SPDX-License-Identifier: MIT
#
# crash_takeover.sh GRB WRITER WORKDIR KIND MODE RUNS SEED - RUNS
# recordings `grb record --buffers` of takeover_writer (3 threads, per-thread
# streams, MODE discard, overwrite or both: the runs alternate), the
# recorder killed with SIGKILL at a random moment while the program writes
# on, then taken over with `grb record --attach`:
#
#   once     one take-over, started after a random gap, to the program's end
#            (the first run of each mode also records a program to its end
#            without a kill: the recorder's own summary must be exact);
#   twice    the take-over killed in its turn at a random moment, then a
#            second take-over to the end; the program closes its channel
#            (grb_session_close) and lives 2 s more, so that the take-over
#            ends as its channel does;
#   recover  the take-over killed in its turn, then the program (in discard
#            mode it would retry its refused records for ever), then `grb
#            recover` of what the buffers hold.
#
# check_takeover.py checks every trace (read with babeltrace2) against what
# the threads logged, and the last summary: every committed record in one
# trace, once, whole, in order; the accounting exact; the records in no
# trace exactly those the killed recorders had claimed and not written,
# and those overwritten.
#
# babeltrace2 and python3: installed as root, else skipped (77).
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"
grb=$1 writer=$2 work=$3 kind=$4 modes=$5 runs=$6 seed=$7
here=$(cd "$(dirname "$0")" && pwd)
grb_need babeltrace2
grb_need python3
rm -rf "$work"
mkdir -p "$work"
# The processes a run started: none may outlive the test (a writer in
# discard mode that nobody drains retries its refused records for ever).
pids=
# Each still running, and still ours (its command line names the program
# we started: a pid the kernel gave to another process is left alone),
# is killed.
stop_ours() {
	for p in $pids; do
		if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF -e "$writer" -e "$grb"; then
			kill -9 "$p" 2>/dev/null || true
		fi
	done
	pids=
}
trap stop_ours EXIT

# A pseudo-random number below $1 (a linear congruential generator, seeded).
state=$seed
rnd() {
	state=$(((state * 1103515245 + 12345) % 2147483648))
	echo $(((state / 65536) % $1))
}

# Sleep $1 milliseconds.
msleep() {
	sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

# Word $2 of takeover_writer's log $1 (0 before it is there).
logged() {
	python3 -c 'import struct,sys
try:
    d = open(sys.argv[1], "rb").read(64)
    print(struct.unpack("<8q", d)[int(sys.argv[2])])
except Exception:
    print(0)' "$1" "$2"
}

# Wait until process $1 is gone from /proc (or a zombie), at most 10 s.
gone() {
	i=0
	while [ "$i" -lt 1000 ] && [ -d "/proc/$1" ] &&
		! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; do
		msleep 10
		i=$((i + 1))
	done
}

# Start `grb record --buffers` of the writer in the background (its pid in
# rec): trace $1, buffers $2, log $3, output $4, wake-up $5, and the
# writer's further arguments; then wait until the writer has registered
# and its description is written.
# Return 1 if its registration failed: on a loaded machine a recorder may
# not answer within the 2 s a program waits (doc/session.md, "Without a
# recorder"); the program then records nothing, and the caller starts
# again (at most 3 times), since nothing was taken over yet.
record() {
	t=$1 b=$2 l=$3 o=$4 w=$5
	shift 5
	tries=0
	while [ "$tries" -lt 3 ]; do
		rm -rf "$t" "$b" "$l"
		"$grb" record -o "$t" --buffers "$b" --subbuf-size 4K --subbuf-count 4 \
			--streams 4 --wakeup "$w" -- "$writer" --log "$l" "$@" >"$o" 2>&1 &
		rec=$!
		pids="$pids $rec"
		i=0
		while [ "$i" -lt 2000 ]; do
			if [ "$(logged "$l" 1)" = 1 ] && ls "$b/"*.chan >/dev/null 2>&1; then
				return 0
			fi
			grep -q "no session" "$o" && break
			msleep 10
			i=$((i + 1))
		done
		echo "crash_takeover: the writer did not register: $(grep "no session" "$o")"
		kill -9 "$rec" 2>/dev/null
		wait "$rec" 2>/dev/null
		tries=$((tries + 1))
	done
	return 1
}

# babeltrace2's text of trace $1 into $1.txt (none: no event).
text() {
	if ls "$1/"take_* >/dev/null 2>&1; then
		if ! babeltrace2 "$1" >"$1.txt" 2>"$1-warnings.txt"; then
			sed -n '1,5p' "$1-warnings.txt"
			echo "crash_takeover: babeltrace2 failed to read $1"
			return 1
		fi
	else
		: >"$1.txt"
	fi
}

fails=0
run=0
while [ "$run" -lt "$runs" ]; do
	d=$work/run$run
	mkdir -p "$d"
	mode=$modes
	if [ "$modes" = both ]; then
		if [ $((run % 2)) -eq 0 ]; then mode=discard; else mode=overwrite; fi
	fi
	if [ $((run % 2)) -eq 0 ]; then wake=writer; else wake=none; fi
	ok=1
	if [ "$kind" = once ] && [ "$run" -lt 2 ]; then
		# The control: a recording to the end, not killed.
		record "$d/c" "$d/cbuf" "$d/clog" "$d/c-summary.txt" $wake \
			--threads 3 --records 60000 --mode "$mode" ||
			{ echo "crash_takeover: run $run: no registration"; exit 1; }
		pids="$pids $(logged "$d/clog" 0)"
		set +e
		wait "$rec"
		rc=$?
		set -e
		if ! text "$d/c" || ! python3 "$here/check_takeover.py" "$mode" "$d/clog" \
			"$d/c-summary.txt" "$rc" "$d/c.txt"; then
			echo "crash_takeover: run $run: the recording that was not killed fails"
			ok=0
		fi
	fi
	# Registered, its description written: then the kill.  The program
	# writes at least 20,000 records a thread, and on until the test
	# touches its stop file, once the last take-over started.
	close=
	[ "$kind" = twice ] && close="--close 2"
	# shellcheck disable=SC2086
	record "$d/t0" "$d/buf" "$d/log" "$d/record.txt" $wake \
		--threads 3 --records 20000 --mode "$mode" --stop "$d/stop" $close ||
		{ echo "crash_takeover: run $run: no registration"; exit 1; }
	wpid=$(logged "$d/log" 0)
	pids="$pids $wpid"
	msleep $((50 + $(rnd 400)))
	kill -9 "$rec" || { echo "crash_takeover: run $run: the recorder ended early"; exit 1; }
	wait "$rec" 2>/dev/null || true
	gone "$rec"
	# The gap: nobody drains, the rings fill.
	msleep "$(rnd 300)"
	traces="$d/t0"
	last=t1
	set +e
	if [ "$kind" = once ]; then
		"$grb" record --attach "$d/buf" -o "$d/t1" >"$d/t1-summary.txt" 2>&1 &
		tk=$!
		pids="$pids $tk"
		msleep $((100 + $(rnd 400)))
		: >"$d/stop"
		wait "$tk"
		rc=$?
		traces="$traces $d/t1"
	else
		"$grb" record --attach "$d/buf" -o "$d/t1" >"$d/t1-summary.txt" 2>&1 &
		tk=$!
		pids="$pids $tk"
		msleep $((100 + $(rnd 400)))
		kill -9 "$tk" 2>/dev/null
		wait "$tk"
		rc=$?
		gone "$tk"
		traces="$traces $d/t1"
		if [ "$rc" -ne 137 ]; then
			# The program runs until its stop file: the take-over
			# cannot have ended by itself.
			echo "crash_takeover: run $run: the take-over ended before its kill (exit $rc)"
			ok=0
		elif [ "$kind" = twice ]; then
			msleep "$(rnd 200)"
			"$grb" record --attach "$d/buf" -o "$d/t2" >"$d/t2-summary.txt" 2>&1 &
			tk=$!
			pids="$pids $tk"
			msleep $((100 + $(rnd 300)))
			: >"$d/stop"
			wait "$tk"
			rc=$?
			traces="$traces $d/t2"
			last=t2
		else
			msleep "$(rnd 100)"
			kill -9 "$wpid" 2>/dev/null
			gone "$wpid"
			"$grb" recover "$d/buf" -o "$d/t2" >"$d/t2-summary.txt" 2>&1
			rc=$?
			traces="$traces $d/t2"
			last=t2
		fi
	fi
	set -e
	# The program has ended (a take-over ends with it).
	gone "$wpid"
	txts=
	for t in $traces; do
		text "$t" || ok=0
		txts="$txts $t.txt"
	done
	# shellcheck disable=SC2086
	if [ "$ok" -eq 1 ] && ! python3 "$here/check_takeover.py" "$mode" "$d/log" \
		"$d/$last-summary.txt" "$rc" $txts; then
		ok=0
	fi
	left=$(find "$d/buf" -mindepth 1 2>/dev/null | head -3)
	if [ "$ok" -eq 1 ] && [ -n "$left" ] && [ "$kind" != recover ]; then
		echo "crash_takeover: run $run: files left in the buffers: $left"
		ok=0
	fi
	stop_ours
	if [ "$ok" -eq 1 ]; then
		rm -rf "$d"
	else
		echo "crash_takeover: run $run ($mode) failed (seed $seed, files in $d)"
		sed -n '1,12p' "$d/$last-summary.txt"
		fails=$((fails + 1))
	fi
	run=$((run + 1))
done
[ "$fails" -eq 0 ] || { echo "crash_takeover: $fails of $runs runs failed"; exit 1; }
echo "crash_takeover: $kind, $modes: $runs runs passed"
