#!/bin/sh
# SPDX-License-Identifier: MIT
#
# crash_session.sh GRB CRASH_WRITER WORKDIR RUNS KILLS SEED [OPTIONS...] -
# RUNS recordings `grb record -- crash_writer session --kills KILLS`: each
# kills KILLS writer processes with SIGKILL (at the test points, and at
# random moments), then check_crash.py checks the trace babeltrace2 reads
# against what the writers logged and grb record's summary.  OPTIONS go to
# crash_writer and check_crash.py (--strict, --nested: doc/testpoints.md).
#
# babeltrace2 and python3: installed as root, else skipped (77).
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"
grb=$1 writer=$2 work=$3 runs=$4 kills=$5 seed=$6
shift 6
here=$(cd "$(dirname "$0")" && pwd)
grb_need babeltrace2
grb_need python3
rm -rf "$work"
mkdir -p "$work"
fails=0
run=0
while [ "$run" -lt "$runs" ]; do
	d=$work/run$run
	mkdir -p "$d"
	set +e
	"$grb" record -o "$d/trace" --subbuf-size 4K --subbuf-count 4 --streams 4 -- \
		"$writer" session --kills "$kills" --seed $((seed + run)) --log "$d/log.txt" "$@" \
		>"$d/summary.txt" 2>"$d/stderr.txt"
	rc=$?
	set -e
	if ! babeltrace2 "$d/trace" >"$d/events.txt" 2>"$d/bt-warnings.txt"; then
		cat "$d/bt-warnings.txt"
		echo "crash_session: run $run: babeltrace2 failed to read the trace"
		fails=$((fails + 1))
	elif ! python3 "$here/check_crash.py" "$d/summary.txt" "$d/events.txt" "$d/log.txt" \
		"$rc" "$@"; then
		echo "crash_session: run $run failed (seed $((seed + run)), files in $d)"
		sed -n '1,5p' "$d/stderr.txt"
		fails=$((fails + 1))
	fi
	run=$((run + 1))
done
[ "$fails" -eq 0 ] || { echo "crash_session: $fails of $runs runs failed"; exit 1; }
echo "crash_session: $runs runs of $kills kills passed"
