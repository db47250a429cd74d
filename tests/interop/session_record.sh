#!/bin/sh
# SPDX-License-Identifier: MIT
#
# session_record.sh GRB WORKDIR SCENARIO [PROGRAM] - `grb record -- PROGRAM`
# end to end with real processes (doc/session.md): the trace babeltrace2
# reads must hold every event the summary counts, each with its vpid and
# vtid, each process in stream files of its own, and the summary's
# accounting must be exact (check_session.py).  Scenarios:
#
#   threads    Debian's python3, preloaded with libc, allocating in 2 threads
#   nostream   the same with one stream a process: the workers' events
#              are counted lost (no_stream), with a hint
#   pipe       sh -c 'python3 | python3': every process's events
#   forkexec   python3 forks a child that allocates, then executes python3
#   sigkill    python3 allocates numbered sizes and kills itself (SIGKILL):
#              every allocation before the kill is in the trace
#   nosession  the program preloaded with libc (and pthread and cyg-profile)
#              without GRB_SESSION: runs, and makes
#              no socket, no memory file (strace); with a dead socket path:
#              runs, says so
#   strace     PROGRAM (alloc_loop) writes 2 million events under strace -f
#              with --wakeup none: its writer thread makes no system call
#              between its marks
#   wakes      the same with --wakeup writer (1 million events): between
#              its marks the writer thread makes only futex wakes, each
#              with its eventfd write, at least one and at most one per
#              sub-buffer it delivered (packets on disk less the last one
#              of each stream, read in place)
#   buffers    --buffers DIR: the streams are files of DIR while the
#              program runs and go at the end; a recorder killed with
#              SIGKILL leaves them
#   shrunk     --buffers DIR, and the stream files truncated while python3
#              writes: the recorder survives (no SIGBUS), says which files
#              shrank, exits 1, and babeltrace2 reads what it wrote
#   interrupt  SIGINT to grb while the program runs: a valid trace of what
#              was committed, the program reported still running
#   refuse     PROGRAM (session_bad) sends malformed and dishonest
#              registrations: each refused, with the right errno
#   app        PROGRAM (examples/session_app) registers its own events,
#              and the preload its allocations, into one trace
#   pthread_python  Debian's python3 preloaded with pthread alone, 4
#              threads contending for the interpreter's lock (a pthread
#              mutex, taken through the PLT) and one waiting for certain
#              (ctypes) on a mutex the main thread holds: every thread's
#              mutex events, that wait (>= 10 ms), the lock/unlock pairs
#   pthread_counts  PROGRAM (mutex_prog) preloaded with libc and pthread
#              uses mutexes of every kind a known number of times, and
#              forks: the counts and return values exactly
#   cyg_profile  PROGRAM (ftrace_record_prog, -finstrument-functions,
#              without hooks of its own) preloaded with cyg-profile, 4
#              threads and a forked child: each thread's entries and exits
#              are the call tree it logged
#   cyg_all    the same preloaded with libc, pthread and cyg-profile
#
# babeltrace2, python3 and strace: installed as root, else skipped (77).
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"
grb=$1 work=$2 scenario=$3 prog=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
grb_need babeltrace2
grb_need python3
grb_need strace
# Debian's own python3, not a wrapper that PATH may put first.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
rm -rf "$work"
mkdir -p "$work"
trace=$work/trace

record()
{
	set +e
	"$grb" record -o "$trace" "$@" >"$work/summary.txt" 2>"$work/stderr.txt"
	rc=$?
	set -e
	cat "$work/summary.txt"
	cat "$work/stderr.txt" >&2
}

check()
{
	babeltrace2 "$trace" >"$work/events.txt" 2>"$work/bt-warnings.txt" || {
		cat "$work/bt-warnings.txt"
		echo "session_record: babeltrace2 failed to read the trace"
		exit 1
	}
	"$py" "$here/check_session.py" "$work/summary.txt" "$work/events.txt" "$trace" "$@"
}

threads_prog='
import threading
def work():
    keep = []
    for i in range(3000):
        keep.append(bytearray(1000 + i))
        if len(keep) > 8:
            keep.pop(0)
ts = [threading.Thread(target=work) for _ in range(2)]
[t.start() for t in ts]
[t.join() for t in ts]
'

# The program of the scenarios that take grb away from under it: it
# allocates every 10 ms until its parent changes (grb gone), at most 6 s.
until_orphaned='
import os, time
parent = os.getppid()
for i in range(600):
    bytearray(3000 + i)
    time.sleep(0.01)
    if os.getppid() != parent:
        break
print("on", os.getpid())
'

# wait_for_stream DIR: until a libc_ file is in DIR, at most 60 s.
wait_for_stream()
{
	i=0
	while [ $i -lt 600 ] && ! ls "$1" 2>/dev/null | grep -q '^libc_'; do
		sleep 0.1
		i=$((i + 1))
	done
}

# writer_tid: tid, the thread of strace's log that makes the two getppid
# marks (alloc_loop's writer, around its writes).
writer_tid()
{
	tid=$(awk '$2 ~ /^getppid\(/ { print $1 }' "$work/strace.txt" | sort | uniq -c | awk '$1 == 2 { print $2 }')
	[ -n "$tid" ] || { echo "session_record: no writer thread with two marks in strace's log"; exit 1; }
}

case $scenario in
threads)
	record --preload libc -- "$py" -c "$threads_prog"
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	check threads 3000
	;;
nostream)
	record --preload libc --streams 1 -- "$py" -c "$threads_prog"
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	check nostream 3000
	;;
pipe)
	record --preload libc -- sh -c "$py -c 'print(\"x\" * 100000)' | $py -c 'import sys; print(len(sys.stdin.read()))'"
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	grep -q '^100001$' "$work/summary.txt" || { echo "session_record: the pipe's output is wrong"; exit 1; }
	check processes 3
	;;
forkexec)
	record --preload libc -- "$py" -c '
import ctypes, os
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
pid = os.fork()
if pid == 0:
    libc.malloc(777778)
    os._exit(0)
os.waitpid(pid, 0)
libc.malloc(777777)
os.execv("'"$py"'", ["python3", "-c", "import ctypes; ctypes.CDLL(None).malloc(888888)"])
'
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	check marker 777777 any
	check exec 888888
	;;
sigkill)
	record --preload libc -- "$py" -c '
import ctypes, os, signal
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
for i in range(5000):
    libc.free(libc.malloc(500000 + i))
os.kill(os.getpid(), signal.SIGKILL)
'
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	grep -q 'the program was killed by SIGKILL' "$work/summary.txt" ||
		{ echo "session_record: grb did not say the program was killed"; exit 1; }
	check last 500000 5000
	;;
nosession)
	dir=$(dirname "$grb")/../lib/grb
	lib=$dir/libgrb-preload-libc.so
	# With the pthread and cyg-profile preloads too, when built.
	for p in pthread cyg-profile; do
		[ ! -f "$dir/libgrb-preload-$p.so" ] || lib=$lib:$dir/libgrb-preload-$p.so
	done
	out=$(env -u GRB_SESSION LD_PRELOAD="$lib" strace -f -qq -o "$work/strace.txt" \
		-e trace=socket,connect,memfd_create "$py" -c 'print(sum(len(bytearray(i)) for i in range(2000)))')
	[ "$out" = 1999000 ] || { echo "session_record: without a session the program printed '$out'"; exit 1; }
	if grep -E 'socket\(AF_UNIX|memfd_create' "$work/strace.txt"; then
		echo "session_record: without a session the preload made a socket or a memory file"
		exit 1
	fi
	out=$(GRB_SESSION=$work/no-such-socket LD_PRELOAD="$lib" "$py" -c 'print(6 * 7)' 2>"$work/stderr.txt")
	cat "$work/stderr.txt"
	[ "$out" = 42 ] || { echo "session_record: with a dead session the program printed '$out'"; exit 1; }
	grep -q 'not recording' "$work/stderr.txt" ||
		{ echo "session_record: a dead session went unsaid"; exit 1; }
	[ ! -e "$trace" ] || { echo "session_record: a trace appeared"; exit 1; }
	echo "session_record: without a session: no socket, no memory file, the right output"
	;;
strace)
	n=1000000
	record --preload libc --wakeup none -- strace -f -qq -o "$work/strace.txt" "$prog" $n
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	writer_tid
	calls=$(awk -v t="$tid" '$1 == t { if ($2 ~ /^getppid\(/) { in_ = !in_; next } if (in_) n++ }
		END { print n + 0 }' "$work/strace.txt")
	echo "session_record: writer thread $tid: $calls system calls while writing $((2 * n)) events"
	[ "$calls" -eq 0 ] || {
		awk -v t="$tid" '$1 == t' "$work/strace.txt" | head -20
		exit 1
	}
	check processes 1
	;;
wakes)
	n=500000
	record --preload libc --wakeup writer -- strace -f -qq -o "$work/strace.txt" "$prog" $n
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	writer_tid
	awk -v t="$tid" '$1 == t { if ($2 ~ /^getppid\(/) { in_ = !in_; next } if (in_) print }' \
		"$work/strace.txt" >"$work/writer-calls.txt"
	wakes=$(grep -c -E '^[0-9]+ +futex\(.*FUTEX_WAKE' "$work/writer-calls.txt" || true)
	writes=$(grep -c -E '^[0-9]+ +write\(' "$work/writer-calls.txt" || true)
	# (A call strace shows in two lines ends in "<... futex resumed>".)
	others=$(grep -v -c -E '^[0-9]+ +(futex\(.*FUTEX_WAKE|write\(|<\.\.\. (futex|write) resumed>)' \
		"$work/writer-calls.txt" || true)
	# alloc_loop's lines (strace itself is preloaded too).
	proc=$(grep '^process [0-9]* alloc_loop (libc): ' "$work/summary.txt" || true)
	line=$(grep -A1 '^process [0-9]* alloc_loop (libc): ' "$work/summary.txt" | sed -n 2p)
	packets=$(echo "$line" | sed -n 's/^  wake-up writer: \([0-9]*\) packets on disk.*/\1/p')
	files=$(echo "$proc" | sed -n 's/.*; \([0-9]*\) of [0-9]* streams written;.*/\1/p')
	[ -n "$packets" ] && [ -n "$files" ] ||
		{ echo "session_record: no wake-up line or stream count in the summary"; exit 1; }
	delivered=$((packets - files))
	echo "session_record: writer thread $tid wrote $((2 * n)) events: $wakes futex wakes," \
		"$writes writes, $others other system calls; at least $delivered sub-buffers delivered"
	[ "$others" -eq 0 ] || { grep -v -E 'futex\(.*FUTEX_WAKE|write\(|resumed>' "$work/writer-calls.txt" | head; exit 1; }
	[ "$wakes" -ge 1 ] || { echo "session_record: the writer never woke the recorder"; exit 1; }
	[ "$wakes" -le "$delivered" ] ||
		{ echo "session_record: $wakes wakes for $delivered sub-buffers"; exit 1; }
	[ "$writes" -eq "$wakes" ] || { echo "session_record: $writes writes for $wakes wakes"; exit 1; }
	check processes 1
	;;
buffers)
	# --buffers DIR: while the program runs its streams are files of DIR
	# named after its pid; they go once the events are in the trace.
	bufs=$work/buffers
	record --preload libc --buffers "$bufs" -- "$py" -c '
import os
mine = [f for f in os.listdir("'"$bufs"'") if f.startswith("libc_%d_" % os.getpid())]
print("files", len(mine))
'
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	grep -q '^files 32$' "$work/summary.txt" ||
		{ echo "session_record: the program did not see its 32 stream files"; exit 1; }
	[ -z "$(ls -A "$bufs")" ] || { echo "session_record: files left:"; ls "$bufs"; exit 1; }
	check processes 1
	# The same in memory, on tmpfs (/dev/shm), whose files can never be
	# sealed: files as on a disk.
	shm=$(mktemp -d /dev/shm/grb-session-XXXXXX)
	rm -rf "$trace"
	record --preload libc --buffers "$shm" -- "$py" -c "$threads_prog"
	rmdir "$shm" || { echo "session_record: files left in $shm:"; ls "$shm"; exit 1; }
	[ "$rc" -eq 0 ] || { echo "session_record: grb record --buffers /dev/shm exited $rc"; exit 1; }
	check processes 1
	# A recorder killed (SIGKILL) leaves the files; the program runs on.
	rm -rf "$trace"
	"$grb" record -o "$trace" --preload libc --buffers "$bufs" -- "$py" -c "$until_orphaned" \
		>"$work/summary.txt" 2>"$work/stderr.txt" &
	gpid=$!
	# Killed once registered: a recorder killed before its answer makes
	# the registration fail, and the program removes its files.  The
	# description is written just before the answer; the answer, once
	# sent, reaches the program whatever becomes of the recorder.
	i=0
	while [ $i -lt 600 ] && ! ls "$bufs" 2>/dev/null | grep -q '^libc_.*\.chan$'; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 0.5
	kill -KILL $gpid
	wait $gpid || true
	# The program notices its new parent, prints, exits.
	i=0
	while [ $i -lt 600 ] && ! grep -q '^on ' "$work/summary.txt"; do
		sleep 0.1
		i=$((i + 1))
	done
	pid=$(sed -n 's/^on //p' "$work/summary.txt")
	[ -n "$pid" ] || { echo "session_record: the program did not run on"; exit 1; }
	n=$(ls "$bufs" | grep -c "^libc_${pid}_" || true)
	echo "session_record: the recorder killed, $n stream files of process $pid stay"
	[ "$n" -eq 32 ] || { ls "$bufs"; exit 1; }
	# Each a stream mapping: "GRBSHM01" first.
	for f in "$bufs"/libc_"$pid"_*; do
		[ "$(head -c 8 "$f")" = GRBSHM01 ] || { echo "session_record: $f is no stream"; exit 1; }
	done
	echo "session_record: buffers: ok"
	exit 0
	;;
shrunk)
	# Another process truncates every stream file under the recorder's
	# mapping: its next access faults, which the library turns into zeros.
	bufs=$work/buffers
	rm -rf "$bufs"
	set +e
	"$grb" record -o "$trace" --preload libc --buffers "$bufs" -- "$py" -c '
import time
t = time.time()
while time.time() - t < 30:
    keep = [bytearray(1000) for i in range(2000)]
' >"$work/summary.txt" 2>"$work/stderr.txt" &
	gpid=$!
	set -e
	wait_for_stream "$bufs"
	# Events on disk first: the first packets go at about 2 ms.
	sleep 0.5
	for f in "$bufs"/libc_*_[0-9]*; do
		truncate -s 4096 "$f"
	done
	set +e
	wait $gpid
	rc=$?
	set -e
	cat "$work/summary.txt"
	cat "$work/stderr.txt" >&2
	[ "$rc" -eq 1 ] || { echo "session_record: grb record exited $rc, not 1"; exit 1; }
	grep -q 'stream files shrank under the recorder' "$work/summary.txt" ||
		{ echo "session_record: the shrunk files were not reported"; exit 1; }
	grep -q '^the program was killed by SIGBUS' "$work/summary.txt" ||
		{ echo "session_record: the program was not killed by its own mapping"; exit 1; }
	babeltrace2 "$trace" >"$work/events.txt" 2>"$work/bt-warnings.txt" || {
		cat "$work/bt-warnings.txt"
		echo "session_record: babeltrace2 failed to read the trace"
		exit 1
	}
	n=$(grep -c ' libc:' "$work/events.txt" || true)
	disk=$(sed -n 's/^process [0-9]* python3 (libc): \([0-9]*\) on disk; written and lost unknown.*/\1/p' "$work/summary.txt")
	echo "session_record: shrunk: babeltrace2 reads $n events, the summary says ${disk:-?} on disk"
	[ "$n" -gt 0 ] && [ "$n" = "$disk" ] || exit 1
	echo "session_record: shrunk: ok"
	exit 0
	;;
interrupt)
	# SIGINT to grb alone: the program runs on; after the grace period the
	# trace holds what it committed so far.  The program ends when grb
	# has gone (its parent changes).
	"$grb" record -o "$trace" --preload libc -- "$py" -c "$until_orphaned" \
		>"$work/summary.txt" 2>"$work/stderr.txt" &
	gpid=$!
	# Once the program recorded something (a stream file).
	wait_for_stream "$trace"
	kill -INT $gpid
	set +e
	wait $gpid
	rc=$?
	set -e
	cat "$work/summary.txt"
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	grep -q '^interrupted$' "$work/summary.txt" || { echo "session_record: no 'interrupted'"; exit 1; }
	check interrupt
	;;
refuse)
	# PROGRAM (session_bad) lies in 10 ways, each refused as it should
	# be, then registers honestly: its 10 events are in the trace.
	record --streams 4 -- "$prog"
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	want=$(sed -n 's/^session_bad: \([0-9]*\) refusals, 0 failures$/\1/p' "$work/summary.txt")
	[ -n "$want" ] || { echo "session_record: session_bad did not get the answers it expects"; exit 1; }
	grep -q "^refused registrations: $want\$" "$work/summary.txt" ||
		{ echo "session_record: grb did not count $want refused registrations"; exit 1; }
	check app session_bad:ok 10
	;;
app)
	record --preload libc -- "$prog" 1000
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	check app session_app:tick 1000
	grep -q 'session_app (session_app)' "$work/summary.txt" ||
		{ echo "session_record: the program's own channel is not in the summary"; exit 1; }
	grep -q 'session_app (libc)' "$work/summary.txt" ||
		{ echo "session_record: the preload's channel is not in the summary"; exit 1; }
	;;
pthread_python)
	# A switch interval of 1 us: the threads hand the interpreter's lock
	# over all the time.  Whether two of them ever wait for its mutex at
	# once depends on two CPUs being free for them, so one more thread
	# waits for certain: it locks, through ctypes (the C library's
	# pthread_mutex_lock as the program's global scope finds it, the
	# preload's), a mutex the main thread holds until the kernel shows
	# that thread asleep in futex (system call 202 on x86-64) on it.
	record --preload pthread -- "$py" -c '
import ctypes, sys, threading, time
sys.setswitchinterval(1e-6)
def work():
    x = 0
    for i in range(3000):
        time.sleep(0)
        for j in range(50):
            x += j
libc = ctypes.CDLL(None)
m = ctypes.create_string_buffer(64)  # zeros: a default mutex
assert libc.pthread_mutex_lock(m) == 0
tid = []
def waiter():
    tid.append(threading.get_native_id())
    libc.pthread_mutex_lock(m)
    libc.pthread_mutex_unlock(m)
w = threading.Thread(target=waiter)
w.start()
while True:
    if tid:
        with open("/proc/self/task/%d/syscall" % tid[0]) as f:
            if f.read().split()[0] == "202":
                break
    time.sleep(0.001)
time.sleep(0.01)
assert libc.pthread_mutex_unlock(m) == 0
w.join()
ts = [threading.Thread(target=work) for _ in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
'
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	check pthread-python 5
	;;
pthread_counts)
	record --preload libc,pthread -- "$prog" "$work/expected.txt" 4 20000
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	grep -q '^mutex_prog: 4 threads x 20000 locks, as expected$' "$work/summary.txt" ||
		{ echo "session_record: mutex_prog failed"; exit 1; }
	check pthread-counts "$work/expected.txt"
	;;
cyg_profile | cyg_all)
	what=cyg-profile
	[ "$scenario" = cyg_profile ] || what=libc,pthread,cyg-profile
	grb_need binutils
	# 4 threads of 40 rounds, then a child of 5.
	record --preload $what -- "$prog" "$work/expected.txt" 4 40 0 5
	[ "$rc" -eq 0 ] || { echo "session_record: grb record exited $rc"; exit 1; }
	check cyg "$prog" "$work/expected.txt" "$work/expected.txt.child"
	;;
*)
	echo "session_record: unknown scenario $scenario"
	exit 2
	;;
esac
echo "session_record: $scenario: ok"
