# SPDX-License-Identifier: MIT
# shellcheck shell=sh disable=SC2034
#
# bench/lttng/session.sh - sourced (POSIX sh) by bench/lttng/run.sh and
# bench/suite.sh: a private lttng-sessiond and the LTTng-UST sessions of the
# benchmarks.
#
#	lttng_setup DIR          LTTNG_HOME=DIR/home, run directory, exports
#	sessiond_start           start lttng-sessiond, remember its PID
#	sessiond_stop            stop that PID only (TERM, then KILL after 5 s)
#	lttng_session_start NAME OUTPUT MODE EVENT...
#	                         create NAME writing to OUTPUT, one UST channel
#	                         ch0 of bench_write's geometry (per-UID buffers,
#	                         256 KiB x 32 sub-buffers) in MODE (discard or
#	                         overwrite), enable EVENT..., start tracing
#	lttng_session_stop NAME  stop NAME and set lttng_discarded and
#	                         lttng_lost_packets from `lttng list NAME`
#	lttng_session_destroy    destroy the current session, if any
#
# As root, the session daemon's run directory is always /var/run/lttng
# whatever LTTNG_HOME says, so sessiond_start refuses to run if a root
# session daemon is already running there: it never touches a daemon it did
# not start.  The caller must call sessiond_stop (and lttng_session_destroy)
# from its EXIT trap.

sessiond_pid=
lttng_session=
lttng_subbuf_size=${LTTNG_SUBBUF_SIZE:-256K}
lttng_num_subbuf=${LTTNG_NUM_SUBBUF:-32}

lttng_setup() {
	LTTNG_HOME=$1/home
	export LTTNG_HOME
	mkdir -p "$LTTNG_HOME"
	if [ "$(id -u)" = 0 ]; then
		lttng_rundir=/var/run/lttng
	else
		lttng_rundir=$LTTNG_HOME/.lttng
	fi
	lttng_logdir=$1
}

sessiond_start() {
	if [ -f "$lttng_rundir/lttng-sessiond.pid" ] &&
		kill -0 "$(cat "$lttng_rundir/lttng-sessiond.pid")" 2>/dev/null; then
		echo "lttng: a session daemon (PID $(cat "$lttng_rundir/lttng-sessiond.pid"))" \
			"already runs with run directory $lttng_rundir; not starting another one," \
			"not touching it" >&2
		return 2
	fi
	lttng-sessiond --background --no-kernel --quiet >"$lttng_logdir/sessiond.log" 2>&1
	sessiond_pid=$(cat "$lttng_rundir/lttng-sessiond.pid")
	echo "lttng: started lttng-sessiond PID $sessiond_pid (LTTNG_HOME=$LTTNG_HOME," \
		"run dir $lttng_rundir)"
}

sessiond_stop() {
	[ -n "$sessiond_pid" ] || return 0
	kill -TERM "$sessiond_pid" 2>/dev/null || true
	_i=0
	while kill -0 "$sessiond_pid" 2>/dev/null && [ $_i -lt 50 ]; do
		# a zombie (already exited, not yet reaped) is gone enough
		case "$(ps -o stat= -p "$sessiond_pid" 2>/dev/null)" in Z*) break ;; esac
		sleep 0.1
		_i=$((_i + 1))
	done
	if kill -0 "$sessiond_pid" 2>/dev/null &&
		! ps -o stat= -p "$sessiond_pid" | grep -q '^Z'; then
		echo "lttng: lttng-sessiond $sessiond_pid did not exit, sending SIGKILL" >&2
		kill -KILL "$sessiond_pid" 2>/dev/null || true
	fi
	sessiond_pid=
}

lttng_session_start() {
	_name=$1
	_out=$2
	_mode=$3
	shift 3
	lttng create "$_name" --output="$_out" >/dev/null
	lttng_session=$_name
	lttng enable-channel --userspace --session="$_name" --buffers-uid \
		--subbuf-size="$lttng_subbuf_size" --num-subbuf="$lttng_num_subbuf" \
		--"$_mode" ch0 >/dev/null
	for _ev in "$@"; do
		lttng enable-event --userspace --session="$_name" --channel=ch0 "$_ev" >/dev/null
	done
	lttng start "$_name" >/dev/null
}

lttng_session_stop() {
	lttng stop "$1" 2>&1 | grep -iv 'waiting for data\|tracing stopped' || true
	_list=$(lttng list "$1")
	lttng_discarded=$(printf '%s\n' "$_list" | sed -n 's/^ *Discarded events: *//p' | head -n 1)
	lttng_lost_packets=$(printf '%s\n' "$_list" | sed -n 's/^ *Lost packets: *//p' | head -n 1)
	lttng_stats=$(printf '%s\n' "$_list" | sed -n '/Statistics:/,/^$/p' |
		grep -v 'Statistics:' | sed 's/^ *//' | tr '\n' ' ')
}

lttng_session_destroy() {
	if [ -n "$lttng_session" ]; then
		lttng destroy "$lttng_session" >/dev/null 2>&1
		lttng_session=
	fi
}

# lttng_count_events TRACE_DIR: the number of event records babeltrace2
# reads (the counter prints a block every 10,000 messages; the last counts
# all), or "unknown".
lttng_count_events() {
	_n=$(babeltrace2 "$1" --component=sink.utils.counter 2>/dev/null |
		awk '/Event messages/ { n = $1 } END { print n }')
	echo "${_n:-unknown}"
}
