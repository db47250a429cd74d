#!/bin/sh
# SPDX-License-Identifier: MIT
#
# crash_recover.sh GRB TAKE_WRITER WORKDIR RUNS SEED - RUNS recordings
# `grb record --buffers` of take_writer, the recorder killed with SIGKILL
# at a random moment, then the program at another; `grb recover` then
# makes the trace of what the buffers hold, and check_recover.py checks
# both traces (read with babeltrace2) against what take_writer logged and
# the recovery's summary: every committed record in one of them, once, but
# those the first recorder had taken and not yet written; the accounting
# exact.  Each run is also recovered a second time, which must give the
# same (the buffers are never changed).
#
# babeltrace2 and python3: installed as root, else skipped (77).
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"
grb=$1 writer=$2 work=$3 runs=$4 seed=$5
here=$(cd "$(dirname "$0")" && pwd)
grb_need babeltrace2
grb_need python3
rm -rf "$work"
mkdir -p "$work"

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

# The pid take_writer logged (0 before it registered).
logged_pid() {
	python3 -c 'import struct,sys
try:
    d = open(sys.argv[1], "rb").read(32)
    pid, done, fails, ready = struct.unpack("<qQQQ", d)
    print(pid if ready else 0)
except Exception:
    print(0)' "$1"
}

fails=0
run=0
while [ "$run" -lt "$runs" ]; do
	d=$work/run$run
	mkdir -p "$d"
	if [ $((run % 2)) -eq 0 ]; then wake=writer; else wake=none; fi
	"$grb" record -o "$d/t1" --buffers "$d/buf" --subbuf-size 4K --subbuf-count 4 \
		--streams 2 --wakeup $wake -- "$writer" --log "$d/log" \
		>"$d/record.txt" 2>&1 &
	rec=$!
	# Registered, its description written: then the kills.
	i=0
	while [ "$i" -lt 500 ] && ! ls "$d/buf/"*.chan >/dev/null 2>&1; do
		msleep 10
		i=$((i + 1))
	done
	wpid=$(logged_pid "$d/log")
	msleep $((20 + $(rnd 300)))
	kill -9 "$rec"
	wait "$rec" 2>/dev/null || true
	msleep "$(rnd 60)"
	[ "$wpid" -gt 0 ] && kill -9 "$wpid" 2>/dev/null || true
	# Reaped by whoever adopted it: gone from /proc (or a zombie).
	i=0
	while [ "$i" -lt 500 ] && [ -d "/proc/$wpid" ] &&
		! grep -q '^State:.*Z' "/proc/$wpid/status" 2>/dev/null; do
		msleep 10
		i=$((i + 1))
	done
	set +e
	"$grb" recover "$d/buf" -o "$d/t2" >"$d/recover.txt" 2>&1
	rc=$?
	"$grb" recover "$d/buf" -o "$d/t3" >"$d/recover2.txt" 2>&1
	rc2=$?
	set -e
	ok=1
	for t in t1 t2; do
		if ls "$d/$t/"take_* >/dev/null 2>&1; then
			if ! babeltrace2 "$d/$t" >"$d/$t.txt" 2>"$d/$t-warnings.txt"; then
				sed -n '1,5p' "$d/$t-warnings.txt"
				echo "crash_recover: run $run: babeltrace2 failed to read $t"
				ok=0
			fi
		else
			: >"$d/$t.txt" # no stream file: no event
		fi
	done
	if [ "$ok" -eq 1 ] && ! python3 "$here/check_recover.py" "$d/log" "$d/recover.txt" \
		"$rc" "$d/t1.txt" "$d/t2.txt"; then
		ok=0
	fi
	# Again: the same summary (the trace directory aside).
	grep -v '^grb \|^Trace written' "$d/recover.txt" >"$d/r1.cmp" || true
	grep -v '^grb \|^Trace written' "$d/recover2.txt" >"$d/r2.cmp" || true
	if [ "$ok" -eq 1 ] && { [ "$rc2" -ne "$rc" ] || ! cmp -s "$d/r1.cmp" "$d/r2.cmp"; }; then
		echo "crash_recover: run $run: a second recovery differs"
		ok=0
	fi
	if [ "$ok" -eq 1 ] && [ "$run" -eq 0 ]; then
		# What cannot be recovered is said, and the rest recovered: a
		# stream file missing, a description that lies, and stream
		# files without one.
		b=$work/bad
		cp -r "$d/buf" "$b"
		set -- "$b"/*.chan
		chan=$1
		prefix=${chan%.chan}
		cp "$chan" "$b/other_1.chan"
		printf 'X' | dd of="$b/other_1.chan" bs=1 seek=0 conv=notrunc 2>/dev/null
		cp "${prefix}_0" "$b/lone_1_0"
		rm "${prefix}_1"
		set +e
		"$grb" recover "$b" -o "$work/bad-trace" >"$work/bad.txt" 2>&1
		brc=$?
		set -e
		if [ "$brc" -ne 3 ] || ! grep -q "_1: No such file" "$work/bad.txt" ||
			! grep -q "other_1.chan: not a channel description" "$work/bad.txt" ||
			! grep -q "lone_1_0: no description" "$work/bad.txt"; then
			cat "$work/bad.txt"
			echo "crash_recover: what cannot be recovered is not said so (exit $brc)"
			ok=0
		fi
	fi
	if [ "$ok" -eq 1 ]; then
		rm -rf "$d"
	else
		echo "crash_recover: run $run failed (seed $seed, files in $d)"
		sed -n '1,12p' "$d/recover.txt"
		fails=$((fails + 1))
	fi
	run=$((run + 1))
done
[ "$fails" -eq 0 ] || { echo "crash_recover: $fails of $runs runs failed"; exit 1; }
echo "crash_recover: $runs runs passed"
