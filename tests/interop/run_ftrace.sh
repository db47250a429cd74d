#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run_ftrace.sh <writer> <grb> <check_ftrace.py> <scenario> <workdir>
#
# Writes <workdir>/trace.dat with the scenario's writer (ftrace_writer_test
# SCENARIO, or ftrace_func_test for the scenario "functions") and the
# events it wrote into <workdir>/expected.txt, prints the file with
# `trace-cmd report` and `grb ftrace show`, and has check_ftrace.py
# compare both with what was written.
#
# The scenarios "record" and "record-threads" record ftrace_record_prog
# (the writer here: an -finstrument-functions program without hooks of
# its own, alone or with 4 threads) from outside with `grb ftrace record
# --preload cyg-profile`; the program logs its calls into expected.txt.
# Besides the two graphs, check_ftrace.py checks the recorder's summary:
# exact, and written = in the file + overwritten + lost.  The scenario
# "pipe" records it with --pipe (4 threads, 100 rounds with a 2 ms pause
# each): the lines printed live must be those `grb ftrace show` prints of
# the file, each CPU's in the same order, and some printed before the
# program ended.
#
# trace-cmd (and python3) are installed with apt-get when missing and the
# script runs as root; otherwise it exits 77, which CTest reports as
# skipped, and says how to install them (cmake/test_tools.sh).
# The scenario "snapshot" records ftrace_snap_prog with --snapshot-on
# SIGUSR1 and signals grb twice (check_ftrace_snap.py says what is
# checked).
#
#   INTEROP_KEEP=1  keep <workdir> after a passing run (it is always kept
#                   after a failing one).
set -u
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"

[ $# -eq 5 ] || { echo "usage: $0 <writer> <grb> <check_ftrace.py> <scenario> <workdir>" >&2; exit 2; }
writer=$1 grb=$2 checker=$3 scenario=$4 work=$5

fail() {
	echo "run_ftrace.sh: FAIL: $*" >&2
	exit 1
}

grb_need trace-cmd python3
echo "$(trace-cmd --version 2>&1 | grep -m1 version)"
rm -rf "$work" && mkdir -p "$work" || fail "cannot create $work"
dat=$work/trace.dat
exp=$work/expected.txt

case $scenario in
snapshot)
	python3 "$(dirname "$checker")/check_ftrace_snap.py" "$grb" "$writer" "$work" ||
		fail "the flight recorder's snapshots are wrong"
	;;
functions | record* | pipe)
	case $scenario in
	functions) "$writer" "$dat" "$exp" || fail "$writer failed" ;;
	record) set -- 0 ;;
	record-threads) set -- 4 ;;
	pipe) set -- 4 100 2000 ;;
	*) fail "unknown scenario $scenario" ;;
	esac
	pipe=""
	[ "$scenario" = pipe ] && pipe=--pipe
	if [ "$scenario" != functions ]; then
		"$grb" ftrace record -o "$dat" --preload cyg-profile $pipe -- "$writer" "$exp" "$@" \
			>"$work/record.txt" 2>&1 || {
			cat "$work/record.txt"
			fail "grb ftrace record failed"
		}
		cat "$work/record.txt"
		python3 "$checker" summary "$exp" "$work/record.txt" ||
			fail "the recorder's summary is wrong"
	fi
	trace-cmd report "$dat" >"$work/report.txt" 2>"$work/report.err" ||
		fail "trace-cmd report failed: $(cat "$work/report.err")"
	"$grb" ftrace show --graph "$dat" >"$work/show.txt" || fail "grb ftrace show --graph failed"
	python3 "$checker" graph "$exp" "$work/report.txt" "$work/show.txt" || fail "the graphs differ"
	if [ -n "$pipe" ]; then
		"$grb" ftrace show "$dat" >"$work/show-lines.txt" || fail "grb ftrace show failed"
		python3 "$checker" pipe "$work/record.txt" "$work/show-lines.txt" ||
			fail "--pipe printed other lines than the file has"
	fi
	;;
*)
	"$writer" "$scenario" "$dat" "$exp" || fail "$writer $scenario failed"
	trace-cmd report -t "$dat" >"$work/report.txt" 2>"$work/report.err" ||
		fail "trace-cmd report failed: $(cat "$work/report.err")"
	"$grb" ftrace show -t "$dat" >"$work/show.txt" || fail "grb ftrace show failed"
	mode=events
	case $scenario in overwrite*) mode=overwrite ;; esac
	python3 "$checker" "$mode" "$exp" "$dat" "$work/report.txt" "$work/show.txt" ||
		fail "the reports differ from what was written"
	;;
esac
# trace-cmd's warnings (a format it could not parse, say) are failures.
if [ -s "$work/report.err" ]; then
	cat "$work/report.err"
	fail "trace-cmd report wrote to stderr"
fi
[ "${INTEROP_KEEP:-0}" = 1 ] || rm -rf "$work"
echo "run_ftrace.sh: $scenario: OK"
