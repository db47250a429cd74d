# SPDX-License-Identifier: MIT
#
# relayd.sh - an lttng-relayd of a test's own, sourced by
# tests/interop/relay_record.sh and tests/kernel/run_vm.sh:
#
#   relayd_start DIR   starts lttng-relayd on three free ports of 127.0.0.1
#                      ($cport control, $dport data, $lport live), its
#                      output in DIR/relay (emptied first), its log DIR/relayd.log, its
#                      LTTNG_HOME DIR/lttng-home; once it lists sessions to
#                      a live viewer (babeltrace2), its pid in $relayd_pid.
#                      Returns 1 after 20 tries with ports others held.
#   relayd_stop        stops it (continued first, if a test stopped it).
#
# Needs lttng-relayd and babeltrace2.

relayd_pid=

relayd_start() { # dir
	_rd_tries=0
	while [ $_rd_tries -lt 20 ]; do
		_rd_tries=$((_rd_tries + 1))
		# A random base from the pid and the clock, 20000 to 59999.
		_rd_base=$((($$ * 7 + $(date +%N | sed 's/^0*//;s/^$/0/') / 1000) % 40000 + 20000))
		cport=$_rd_base dport=$((_rd_base + 1)) lport=$((_rd_base + 2))
		rm -rf "$1/relay"
		mkdir -p "$1/relay" "$1/lttng-home"
		LTTNG_HOME=$1/lttng-home lttng-relayd -C "tcp://127.0.0.1:$cport" \
			-D "tcp://127.0.0.1:$dport" -L "tcp://127.0.0.1:$lport" \
			-o "$1/relay" >"$1/relayd.log" 2>&1 &
		relayd_pid=$!
		# Up when it lists sessions (and is still ours: a port taken by
		# another makes it exit).
		_rd_i=0
		while [ $_rd_i -lt 100 ]; do
			kill -0 "$relayd_pid" 2>/dev/null || break
			if babeltrace2 -i lttng-live "net://127.0.0.1:$lport" >/dev/null 2>&1 &&
				kill -0 "$relayd_pid" 2>/dev/null; then
				return 0
			fi
			sleep 0.1
			_rd_i=$((_rd_i + 1))
		done
		relayd_stop
		cat "$1/relayd.log"
	done
	return 1
}

relayd_stop() {
	if [ -n "$relayd_pid" ]; then
		kill -CONT "$relayd_pid" 2>/dev/null || true
		kill "$relayd_pid" 2>/dev/null || true
		wait "$relayd_pid" 2>/dev/null || true
		relayd_pid=
	fi
}
