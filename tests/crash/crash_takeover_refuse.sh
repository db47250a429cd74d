#!/bin/sh
# SPDX-License-Identifier: MIT
#
# crash_takeover_refuse.sh GRB WRITER WORKDIR - what `grb record --attach`
# refuses, and says why, while a program writes into `grb record --buffers`
# files:
#
#  1. the directory while its recorder runs (exit 2, no trace made);
#  2. the recorder killed, a process whose streams a live reader consumes
#     (takeover_writer --hold: it attached them and holds a consuming
#     reader on each) (exit 2);
#  3. the reader killed: the take-over takes the process over, and names a
#     description that fails its checks and stream files with none
#     (exit 3 once the program has ended, its line exact); while it runs,
#     a second take-over (exit 2) and `grb recover` (exit 3: the
#     description names the running take-over) are refused.  The program
#     then executes another (sleep): the take-over must see that the
#     channel has no writer any more (the process no longer maps its
#     streams) and end while the process still runs.
#
# The two traces are then checked as crash_takeover.sh checks them.
#
# babeltrace2 and python3: installed as root, else skipped (77).
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"
grb=$1 writer=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
grb_need babeltrace2
grb_need python3
rm -rf "$work"
mkdir -p "$work"
cd "$work"
# The processes it started: none may outlive the test.
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

msleep() {
	sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

fail() {
	echo "crash_takeover_refuse: $*"
	exit 1
}

# expect RC FILE PATTERN: the last command exited RC and FILE holds PATTERN.
expect() {
	if [ "$rc" -ne "$1" ] || ! grep -q "$3" "$2"; then
		cat "$2"
		fail "exit $rc (expected $1), or no \"$3\" in $2"
	fi
}

# Word $1 of takeover_writer's log (0 before it is there).
logged() {
	python3 -c 'import struct,sys
try:
    print(struct.unpack("<8q", open("log", "rb").read(64))[int(sys.argv[1])])
except Exception:
    print(0)' "$1"
}

# One thread writing slowly (a pause every record), on until the test
# touches its stop file.  A
# registration that timed out (a recorder that did not answer within 2 s
# on a loaded machine: the program records nothing) is tried again, at
# most 3 times.
tries=0
while :; do
	rm -rf t0 buf log
	"$grb" record -o t0 --buffers buf --subbuf-size 4K --subbuf-count 4 --streams 2 -- \
		"$writer" --log log --threads 1 --records 2000 --pace 1 --stop stop --exec 10 \
		>record.txt 2>&1 &
	rec=$!
	pids="$pids $rec"
	i=0
	while [ "$i" -lt 2000 ] && ! { [ "$(logged 1)" = 1 ] && ls buf/*.chan >/dev/null 2>&1; }; do
		grep -q "no session" record.txt && break
		msleep 10
		i=$((i + 1))
	done
	[ "$(logged 1)" = 1 ] && ls buf/*.chan >/dev/null 2>&1 && break
	kill -9 "$rec" 2>/dev/null
	wait "$rec" 2>/dev/null || true
	tries=$((tries + 1))
	[ "$tries" -lt 3 ] || fail "the writer did not register: $(cat record.txt)"
done
chan=$(ls buf/*.chan)
pids="$pids $(logged 0)"
prefix=$(basename "${chan%.chan}")

set +e
# 1. Its recorder runs.
"$grb" record --attach buf -o x1 >x1.txt 2>&1
rc=$?
expect 2 x1.txt "its recorder (pid $rec) still runs"
[ ! -e x1 ] || fail "a trace was made for a refused take-over"

# The recorder drains a little, then dies.
msleep 300
kill -9 "$rec"
wait "$rec" 2>/dev/null

# 2. A live reader consumes its streams.
"$writer" --hold buf "$prefix" 2 discard >hold.txt 2>&1 &
hold=$!
pids="$pids $hold"
i=0
while [ "$i" -lt 500 ] && ! grep -q holding hold.txt; do
	msleep 10
	i=$((i + 1))
done
grep -q holding hold.txt || fail "the reader did not attach: $(cat hold.txt)"
"$grb" record --attach buf -o x2 >x2.txt 2>&1
rc=$?
expect 2 x2.txt "a live reader (pid $hold) consumes its streams"
kill -9 "$hold"
wait "$hold" 2>/dev/null

# 3. A description that lies, stream files with none; the take-over.
cp "$chan" buf/other_1.chan
printf 'X' | dd of=buf/other_1.chan bs=1 seek=0 conv=notrunc 2>/dev/null
cp "buf/${prefix}_0" buf/lone_1_0
"$grb" record --attach buf -o t1 >t1.txt 2>&1 &
tk=$!
pids="$pids $tk"
i=0
while [ "$i" -lt 500 ] && ! grep -q "taken over from recorder $rec, running" t1.txt; do
	msleep 10
	i=$((i + 1))
done
grep -q "taken over from recorder $rec, running" t1.txt || fail "no take-over: $(cat t1.txt)"
"$grb" record --attach buf -o x3 >x3.txt 2>&1
rc=$?
expect 2 x3.txt "another take-over (pid $tk) drains"
"$grb" recover buf -o x4 >x4.txt 2>&1
rc=$?
expect 3 x4.txt "its recorder (pid $tk) still runs"
: >stop
wait "$tk"
rc=$?
wpid=$(logged 0)
if [ ! -d "/proc/$wpid" ] || grep -q '^State:.*Z' "/proc/$wpid/status" 2>/dev/null; then
	fail "the take-over ended only when the program did, not at its exec"
fi
grep -q "; ended$" t1.txt || fail "the process did not end at its exec: $(cat t1.txt)"
expect 3 t1.txt "other_1.chan: not a channel description"
grep -q "lone_1_0: no description" t1.txt || fail "lone_1_0 not named: $(cat t1.txt)"
set -e

babeltrace2 t0 >t0.txt 2>/dev/null || fail "babeltrace2 cannot read t0"
babeltrace2 t1 >t1-trace.txt 2>/dev/null || fail "babeltrace2 cannot read t1"
# Exit status 3 is for the two files checked above; the process's own
# accounting must be exact.
python3 "$here/check_takeover.py" discard log t1.txt 0 t0.txt t1-trace.txt ||
	fail "the take-over's traces"
echo "crash_takeover_refuse: every refusal said, the take-over exact"
cd / && rm -rf "$work"
