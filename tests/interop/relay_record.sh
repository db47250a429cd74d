#!/bin/sh
# SPDX-License-Identifier: MIT
#
# relay_record.sh GRB APP WORKDIR SCENARIO - grb record --relay against an
# unmodified lttng-relayd (doc/relay.md), started here on 127.0.0.1 with
# ports of its own and stopped by its pid at the end.  APP is relay_app:
# two threads each write relay_app:tick { n, thread, square = n * n } for
# n = 0 .. N-1, paced, once the go file exists.  Scenarios:
#
#   live      two recorders (hostA, hostB) stream to the relay at once; a
#             babeltrace2 lttng-live viewer of each session attaches before
#             the programs write, and prints exactly the events of the local
#             trace of its run (2 x N, every n of each thread, read with
#             babeltrace2); the relay's files decode offline to the same
#   proto210  the same, one host, with --relay-protocol 2.10 (the fixed-size
#             messages, no trace chunk, for a relay older than 2.11)
#   burst     the same, one host, the program writing all its events at
#             once and ending: the session ends while the viewer has read
#             nothing yet, and it must still show every event (it learns of
#             the last packets, and of the end of the streams that never
#             got one, before the session ends)
#   kill      the relay killed (SIGKILL) while the program writes: the
#             recorder says so, counts what it could not send (sent + not
#             sent = written), exits 3; the local trace is whole; the
#             program is unharmed
#   stall     the relay stopped (SIGSTOP) while the program writes: the
#             local trace is whole and the recording ends (the relay is
#             given up after 10 s without progress), exit 3
#   beacons   one host, a live timer of 2 s, the program writing an event
#             every 10 ms from each thread: the viewer shows some of the
#             first 2 s of events less than 1.5 s after their commit.  The
#             30 streams that no thread owns get beacons of the time they
#             were looked at; if they got the previous look's (a period
#             late), no event could show before 2 s
#   idle      the same, a live timer of 500 ms, thread 1 writing 10 events
#             and then waiting 6 s with its packet open: the viewer shows
#             thread 0's events of that wait while it lasts (some less
#             than 2.5 s after their commit), its records read from the
#             open packet by a snapshot and written as a packet of their
#             own; they could not show before the wait ends otherwise
#   demo      grb record --relay without a PROGRAM: the built-in workload,
#             fed to the trace from memory files of its own process, streams
#             too; the relay's files decode to the same text as the local
#             trace, with as many events as the summary says are on disk
#   recover   grb recover --relay: the buffers that a grb record --buffers
#             killed with its program left, sent to the relay; its files
#             decode to the same text as the recovered trace (the records,
#             older than the recovery, come after each stream's empty first
#             packet), with every recovered event
#   errors    a relay out of reach at the start: a clear error, exit 1,
#             no trace, the program never runs; with --relay-fallback the
#             local trace alone, exit 3; a host name over the relay's limit
#             and a bad URL refused (exit 2)
#
# lttng-tools and babeltrace2: installed as root, else skipped (77).
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"
grb=$1 app=$2 work=$3 scenario=$4
grb_need lttng-tools babeltrace2
rm -rf "$work"
mkdir -p "$work"
N=1500 # events a thread
period=1000 # us between two events of a thread
stall=0 # ms thread 1 waits after its 10th event
# shellcheck source=tests/interop/relayd.sh
. "$(dirname "$0")/relayd.sh"

fail()
{
	echo "relay_record: $scenario: $*"
	exit 1
}

trap relayd_stop EXIT

# Start lttng-relayd on three free ports: $cport, $dport, $lport.
start_relayd()
{
	relayd_start "$work" || fail "no free ports for lttng-relayd"
	echo "relay_record: lttng-relayd $relayd_pid on ports $cport $dport $lport"
}

# record HOST NAME [options]: grb record in the background, the trace in
# $work/NAME, its output in $work/NAME.out and .err, its pid in rec_pid.
record()
{
	host=$1 name=$2
	shift 2
	(
		set +e
		"$grb" record -o "$work/$name" --relay "net://127.0.0.1:$cport:$dport" \
			--live-timer 200 --hostname "$host" "$@" -- "$app" $N $period "$work/go" $stall \
			>"$work/$name.out" 2>"$work/$name.err"
		echo $? >"$work/$name.rc"
	) &
	rec_pid=$!
}

# listing: the relay's sessions, as a viewer lists them.
listing()
{
	babeltrace2 -i lttng-live "net://127.0.0.1:$lport" 2>/dev/null || true
}

# wait_listed HOST NAME PATTERN: until the session's line matches, 30 s.
wait_listed()
{
	i=0
	until listing | grep "/host/$1/$2 " | grep -q "$3"; do
		i=$((i + 1))
		[ $i -le 300 ] || { listing; fail "session $1/$2 never showed '$3'"; }
		sleep 0.1
	done
}

# view HOST NAME: a live viewer of the session, output in $work/NAME.live.
view()
{
	(
		set +e
		timeout 60 babeltrace2 -i lttng-live \
			"net://127.0.0.1:$lport/host/$1/$2" >"$work/$2.live" 2>"$work/$2.live.err"
		echo $? >"$work/$2.live.rc"
	) &
}

# finish NAME RC: the recorder ended with RC.
finish()
{
	i=0
	while [ ! -e "$work/$1.rc" ]; do
		i=$((i + 1))
		[ $i -le 600 ] || fail "grb record $1 did not end in 60 s"
		sleep 0.1
	done
	cat "$work/$1.out"
	cat "$work/$1.err" >&2
	[ "$(cat "$work/$1.rc")" = "$2" ] || fail "grb record $1 exited $(cat "$work/$1.rc"), not $2"
	grep -q "relay_app: $((2 * N)) events written, 0 failed" "$work/$1.out" ||
		fail "$1: the program did not write all its events"
	grep -q 'the program exited with status 0' "$work/$1.out" ||
		fail "$1: the program did not exit 0"
}

# events FILE: babeltrace2's text of relay_app's events must be both
# threads' n = 0 .. N-1, each with its square, in each thread's order.
events()
{
	awk -v n=$N -v f="$1" '
	/relay_app:tick/ {
		if (!match($0, /n = [0-9]+, thread = [0-9]+, square = [0-9]+/)) {
			print f ": a malformed event: " $0; bad = 1; exit
		}
		split(substr($0, RSTART, RLENGTH), a, /[ ,=]+/)
		v = a[2]; t = a[4]; sq = a[6]
		if (t != 0 && t != 1) { print f ": thread " t; bad = 1; exit }
		if (v != next_n[t] + 0) { print f ": thread " t " event " v ", expected " next_n[t] + 0; bad = 1; exit }
		if (sq != v * v) { print f ": square " sq " of " v; bad = 1; exit }
		next_n[t] = v + 1; total++
		next
	}
	{ print f ": not an event of relay_app: " $0; bad = 1; exit }
	END {
		if (bad) exit 1
		if (next_n[0] != n || next_n[1] != n || total != 2 * n) {
			print f ": " total " events, threads to " next_n[0] + 0 " and " next_n[1] + 0 ", expected " n " each"
			exit 1
		}
	}' "$1" || fail "$1 is not relay_app's events"
}

# local NAME: the local trace as babeltrace2 prints it, checked.
local_trace()
{
	babeltrace2 "$work/$1" >"$work/$1.txt" 2>"$work/$1.bt.err" ||
		{ cat "$work/$1.bt.err"; fail "babeltrace2 cannot read the local trace $1"; }
	events "$work/$1.txt"
}

# live_run HOST... : a recorder and a viewer per host, the programs going
# once every viewer is attached; then every output compared.
live_run()
{
	opts=$1
	shift
	for h in "$@"; do
		# shellcheck disable=SC2086
		record "$h" "run_$h" $opts
	done
	for h in "$@"; do
		# Its channel is registered: the metadata and 32 streams.
		wait_listed "$h" "run_$h" '33 stream(s)'
		view "$h" "run_$h"
	done
	# The viewers see what is indexed after they attach: the programs
	# write only once both are.
	for h in "$@"; do
		wait_listed "$h" "run_$h" '1 client(s) connected'
	done
	: >"$work/go"
	for h in "$@"; do
		finish "run_$h" 0
		grep -q 'relay .*: complete$' "$work/run_$h.out" || fail "run_$h: the relay's copy is not complete"
	done
	for h in "$@"; do
		name=run_$h
		i=0
		while [ ! -e "$work/$name.live.rc" ]; do
			i=$((i + 1))
			[ $i -le 300 ] || fail "the viewer of $h did not end within 30 s of the recording"
			sleep 0.1
		done
		[ "$(cat "$work/$name.live.rc")" = 0 ] ||
			{ cat "$work/$name.live.err"; fail "the viewer of $h exited $(cat "$work/$name.live.rc")"; }
		local_trace "$name"
		events "$work/$name.live"
		cmp "$work/$name.txt" "$work/$name.live" ||
			{ diff "$work/$name.txt" "$work/$name.live" | head -20; fail "$h: the live viewer's events differ from the local trace's"; }
		# The relay's files, read offline.
		dir=$(find "$work/relay/$h" -mindepth 1 -maxdepth 1 -type d -name "$name-*")
		[ -n "$dir" ] && [ -f "$dir/grb/metadata" ] || fail "no session directory of $h on the relay"
		babeltrace2 "$dir" >"$work/$name.relay" 2>"$work/$name.relay.err" ||
			{ cat "$work/$name.relay.err"; fail "babeltrace2 cannot read the relay's copy of $h"; }
		cmp "$work/$name.txt" "$work/$name.relay" ||
			{ diff "$work/$name.txt" "$work/$name.relay" | head -20; fail "$h: the relay's files hold other events than the local trace"; }
		echo "relay_record: $h: $(wc -l <"$work/$name.txt") events, live = local = relay"
	done
}

# The relay's "X events" sent and "Y events" not sent add up to what the
# program wrote.
sent_plus_not_sent()
{
	line=$(grep '^relay ' "$work/$1.out")
	sent=$(echo "$line" | sed -n 's/.* (\([0-9]*\) events, [0-9]* bytes) sent.*/\1/p')
	unsent=$(echo "$line" | sed -n 's/.* packets (\([0-9]*\) events) not sent.*/\1/p')
	[ -n "$sent" ] && [ -n "$unsent" ] || fail "$1: no sent and not-sent counts in: $line"
	[ $((sent + unsent)) -eq $((2 * N)) ] ||
		fail "$1: $sent sent + $unsent not sent, not the $((2 * N)) written"
	echo "relay_record: $1: $sent events sent, $unsent not sent"
}

case $scenario in
live)
	start_relayd
	live_run "" hostA hostB
	;;
proto210)
	start_relayd
	live_run "--relay-protocol 2.10" hostP
	grep -q 'protocol 2.10' "$work/run_hostP.out" || fail "protocol 2.10 was not used"
	;;
burst)
	start_relayd
	N=20000
	period=0
	live_run "" hostB
	;;
kill | stall)
	start_relayd
	N=3000
	record hostK run_k
	wait_listed hostK run_k '33 stream(s)'
	: >"$work/go"
	sleep 1
	if [ "$scenario" = kill ]; then
		kill -KILL "$relayd_pid"
		wait "$relayd_pid" 2>/dev/null || true
		relayd_pid=
	else
		kill -STOP "$relayd_pid"
	fi
	finish run_k 3
	grep -q 'the relay .* is lost' "$work/run_k.err" || fail "the recorder did not say the relay was lost"
	grep -q 'relay .*INCOMPLETE$' "$work/run_k.out" || fail "the summary does not say the relay's copy is incomplete"
	if [ "$scenario" = stall ]; then
		grep -q 'nothing moved for 10 s' "$work/run_k.out" || fail "the summary does not say the relay stalled"
	fi
	grep -q "^total: 1 processes, $((2 * N)) written = $((2 * N)) on disk + 0 lost in 2 stream files: exact" \
		"$work/run_k.out" || fail "the local accounting is not exact"
	sent_plus_not_sent run_k
	local_trace run_k
	echo "relay_record: $scenario: the local trace holds all $((2 * N)) events"
	;;
beacons | idle)
	grb_need python3
	start_relayd
	N=500
	period=10000
	# The delays of n < to, from n = from of thread (both: -1)
	if [ "$scenario" = beacons ]; then
		timer=2000 from=0 to=200 thread=-1 limit=1500
	else
		N=700
		timer=500 stall=6000 from=100 to=300 thread=0 limit=2500
	fi
	record hostL run_hostL --live-timer $timer
	wait_listed hostL run_hostL '33 stream(s)'
	(
		set +e
		if [ "$thread" -ge 0 ]; then
			set -- 60 $from $thread
		else
			set -- 60
		fi
		python3 "$(dirname "$0")/live_delay.py" \
			"net://127.0.0.1:$lport/host/hostL/run_hostL" "$work/run_hostL.live" $to "$@" \
			>"$work/delay.txt" 2>"$work/delay.err"
		echo $? >"$work/delay.rc"
	) &
	wait_listed hostL run_hostL '1 client(s) connected'
	: >"$work/go"
	finish run_hostL 0
	i=0
	while [ ! -e "$work/delay.rc" ]; do
		i=$((i + 1))
		[ $i -le 300 ] || fail "the viewer did not end within 30 s of the recording"
		sleep 0.1
	done
	cat "$work/delay.txt"
	[ "$(cat "$work/delay.rc")" = 0 ] || { cat "$work/delay.err"; fail "the viewer failed"; }
	babeltrace2 --clock-cycles "$work/run_hostL" >"$work/run_hostL.txt" 2>/dev/null ||
		fail "babeltrace2 cannot read the local trace"
	events "$work/run_hostL.txt"
	cmp -s "$work/run_hostL.txt" "$work/run_hostL.live" ||
		fail "the live viewer's events differ from the local trace's"
	dir=$(find "$work/relay/hostL" -mindepth 1 -maxdepth 1 -type d -name 'run_hostL-*')
	babeltrace2 --clock-cycles "$dir" >"$work/run_hostL.relay" 2>"$work/run_hostL.relay.err" ||
		{ cat "$work/run_hostL.relay.err"; fail "babeltrace2 cannot read the relay's copy"; }
	cmp -s "$work/run_hostL.txt" "$work/run_hostL.relay" ||
		fail "the relay's files hold other events than the local trace"
	min=$(sed -n 's/^LIVE_DELAY .* min_ms=\([0-9]*\)\..*/\1/p' "$work/delay.txt")
	[ -n "$min" ] || fail "no delay measured"
	[ "$min" -lt $limit ] ||
		fail "no event measured showed within $limit ms of its commit (the soonest: $min ms)"
	echo "relay_record: $scenario: the soonest event measured showed $min ms after its commit"
	;;
demo)
	start_relayd
	"$grb" record -o "$work/demo" --relay "net://127.0.0.1:$cport:$dport" --hostname hostD \
		--duration 0.05 --threads 1 >"$work/demo.out" 2>"$work/demo.err" ||
		{ cat "$work/demo.out" "$work/demo.err"; fail "grb record exited $?"; }
	cat "$work/demo.out"
	ondisk=$(sed -n 's/^accounting: .* = \([0-9,]*\) on disk + .*: exact$/\1/p' "$work/demo.out" |
		tr -d ,)
	[ -n "$ondisk" ] && [ "$ondisk" -gt 0 ] || fail "the demo's accounting is not exact"
	grep -q "^relay .*: [0-9]* packets ($ondisk events, .*: complete$" "$work/demo.out" ||
		fail "the relay did not get the $ondisk events on disk"
	dir=$(find "$work/relay/hostD" -mindepth 1 -maxdepth 1 -type d -name 'demo-*')
	[ -n "$dir" ] || fail "no session directory of hostD on the relay"
	babeltrace2 "$work/demo" >"$work/demo.txt" 2>/dev/null || fail "babeltrace2 cannot read the local trace"
	babeltrace2 "$dir" >"$work/demo.relay" 2>/dev/null || fail "babeltrace2 cannot read the relay's copy"
	[ "$(wc -l <"$work/demo.txt")" -eq "$ondisk" ] || fail "the local trace has not $ondisk events"
	cmp -s "$work/demo.txt" "$work/demo.relay" || fail "the relay's copy holds other events than the local trace"
	echo "relay_record: demo: $ondisk events, local = relay"
	;;
recover)
	start_relayd
	N=100000
	"$grb" record -o "$work/killed" --buffers "$work/buf" -- "$app" $N 100 "$work/go" \
		>"$work/killed.out" 2>&1 &
	rec=$!
	i=0
	until ls "$work/buf/"*.chan >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 300 ] || fail "relay_app did not register"
		sleep 0.1
	done
	apid=$(ps -o pid= --ppid "$rec" | tr -d ' ')
	[ -n "$apid" ] || fail "no relay_app under grb record"
	: >"$work/go"
	sleep 0.5
	# Both ends die: the buffers stay.
	kill -KILL "$rec"
	wait "$rec" 2>/dev/null || true
	kill -KILL "$apid"
	i=0
	while [ -d "/proc/$apid" ] && ! grep -q '^State:.*Z' "/proc/$apid/status" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "relay_app $apid did not die"
		sleep 0.1
	done
	set +e
	"$grb" recover "$work/buf" -o "$work/rec" --relay "net://127.0.0.1:$cport:$dport" \
		--hostname hostR >"$work/rec.out" 2>"$work/rec.err"
	rc=$?
	set -e
	cat "$work/rec.out" "$work/rec.err"
	[ $rc -eq 0 ] || fail "grb recover exited $rc"
	got=$(sed -n 's/^total: 1 processes, [0-9]* written = \([0-9]*\) recovered + .*: exact$/\1/p' \
		"$work/rec.out")
	[ -n "$got" ] && [ "$got" -gt 0 ] || fail "the recovery is not exact, or recovered nothing"
	grep -q "^relay .*: [0-9]* packets ($got events, .*: complete$" "$work/rec.out" ||
		fail "the relay did not get the $got events recovered"
	dir=$(find "$work/relay/hostR" -mindepth 1 -maxdepth 1 -type d -name 'rec-*')
	[ -n "$dir" ] || fail "no session directory of hostR on the relay"
	babeltrace2 "$work/rec" >"$work/rec.txt" 2>/dev/null || fail "babeltrace2 cannot read the recovered trace"
	babeltrace2 "$dir" >"$work/rec.relay" 2>"$work/rec.relay.err" ||
		{ cat "$work/rec.relay.err"; fail "babeltrace2 cannot read the relay's copy"; }
	[ "$(grep -c relay_app:tick "$work/rec.txt")" -eq "$got" ] ||
		fail "the recovered trace has not $got events"
	cmp -s "$work/rec.txt" "$work/rec.relay" ||
		{ diff "$work/rec.txt" "$work/rec.relay" | head; fail "the relay's copy holds other events than the recovered trace"; }
	echo "relay_record: recover: $got events recovered, local = relay"
	;;
errors)
	# A port nobody listens on: the relay's, once it is stopped.
	start_relayd
	relayd_stop
	set +e
	"$grb" record -o "$work/t1" --relay "net://127.0.0.1:$cport:$dport" -- "$app" 10 0 \
		>"$work/t1.out" 2>"$work/t1.err"
	rc=$?
	set -e
	cat "$work/t1.out" "$work/t1.err"
	[ $rc -eq 1 ] || fail "an unreachable relay: exit $rc, not 1"
	grep -q "relay net://127.0.0.1:$cport:$dport: connecting to the control port .*refused" \
		"$work/t1.err" || fail "no clear error for an unreachable relay"
	[ ! -e "$work/t1" ] || fail "an unreachable relay left a trace"
	! grep -q relay_app "$work/t1.out" || fail "the program ran"
	set +e
	"$grb" record -o "$work/t2" --relay "net://127.0.0.1:$cport:$dport" --relay-fallback \
		-- "$app" 10 0 >"$work/t2.out" 2>"$work/t2.err"
	rc=$?
	set -e
	cat "$work/t2.out" "$work/t2.err"
	[ $rc -eq 3 ] || fail "--relay-fallback: exit $rc, not 3"
	grep -q 'recording into .*/t2 only' "$work/t2.err" || fail "--relay-fallback did not say so"
	grep -q 'out of reach at the start' "$work/t2.out" || fail "the summary does not name the relay"
	N=10
	local_trace t2
	long=$(printf 'h%.0s' $(seq 64))
	for bad in "--hostname $long" "--hostname a/b" "--relay tcp://127.0.0.1"; do
		set +e
		# shellcheck disable=SC2086
		"$grb" record -o "$work/t3" --relay "net://127.0.0.1:$cport" $bad -- "$app" 10 0 \
			>"$work/t3.out" 2>"$work/t3.err"
		rc=$?
		set -e
		cat "$work/t3.err"
		[ $rc -eq 2 ] || fail "$bad: exit $rc, not 2"
		[ ! -e "$work/t3" ] || fail "$bad: a trace"
	done
	grep -q 'expected net://' "$work/t3.err" || fail "a bad URL was not explained"
	echo "relay_record: errors: refused as expected"
	;;
*)
	fail "unknown scenario"
	;;
esac
echo "relay_record: $scenario: OK"
