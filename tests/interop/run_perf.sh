#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run_perf.sh <perf_test> <check_perf.py> <scenario> <workdir>
#
# Writes a perf.data file with one scenario of perf_test and has Debian's
# unmodified perf read it:
#   known  perf script must print exactly the samples perf_test wrote
#          (check_perf.py compares them sample by sample);
#   hot    perf report's top symbol of the program that sampled itself is
#          its hot function, and so is the top symbol of the same program
#          recorded by `perf record -e cpu-clock -g` (that comparison is
#          skipped, saying so, when perf_event_open is not permitted);
#   lost   the lost samples perf report counts are grb's counters.
# perf (linux-perf) and python3 are installed with apt-get when missing
# and the script runs as root; otherwise it exits 77 (skipped), saying how
# to install them (cmake/test_tools.sh).  The work directory is kept when
# a run fails.
set -u
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"

[ $# -eq 4 ] || { echo "usage: $0 <perf_test> <check_perf.py> <scenario> <workdir>" >&2; exit 2; }
prog=$1
checker=$2
scenario=$3
work=$4

fail() {
	echo "run_perf.sh: FAIL: $*" >&2
	exit 1
}

grb_need linux-perf python3
perf --version || fail "perf does not run"
rm -rf "$work"
mkdir -p "$work" || fail "cannot create $work"
cd "$work" || fail "cannot enter $work"
# perf reads and fills nothing of the user's: no ~/.perfconfig, a
# build-id cache of the work directory's own.
PERF_CONFIG=/dev/null
PERF_BUILDID_DIR=$work/buildid
export PERF_CONFIG PERF_BUILDID_DIR

# perf report's one top symbol by self overhead ("--sort sym").
top_symbol() {
	perf report --stdio --no-children --sort sym -i "$1" 2>"$1.report.err" >"$1.report" ||
		fail "perf report -i $1: $(cat "$1.report.err")"
	sed -n 's/^ *[0-9.]*% *\[\.\] \([^ ]*\).*/\1/p' "$1.report" | head -n 1
}

case $scenario in
known)
	"$prog" known grb.data expected.txt || fail "perf_test known"
	perf script -i grb.data --ns -F comm,tid,time,period,ip,sym,symoff >script.txt 2>script.err ||
		fail "perf script: $(cat script.err)"
	python3 "$checker" known expected.txt script.txt || fail "perf script differs"
	;;
hot)
	"$prog" hot grb.data grb.folded 2 || fail "perf_test hot"
	top=$(top_symbol grb.data)
	echo "perf report of grb's perf.data: top symbol '$top'"
	head -n 20 grb.data.report
	[ "$top" = hot_spin ] || fail "top symbol of grb's file is '$top', not hot_spin"
	python3 "$checker" folded grb.folded hot_spin || fail "folded stacks"
	echo "perf_event_paranoid: $(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo none)"
	if perf record -N -e cpu-clock -F 999 -g -o probe.data -- true >probe.log 2>&1; then
		perf record -N -e cpu-clock -F 999 -g -o perf.data -- \
			"$prog" hot grb2.data grb2.folded 2 >record.log 2>&1 ||
			fail "perf record of perf_test hot: $(cat record.log)"
		ptop=$(top_symbol perf.data)
		echo "perf report of perf record's perf.data: top symbol '$ptop'"
		head -n 20 perf.data.report
		[ "$ptop" = "$top" ] || fail "perf record's top symbol '$ptop' differs from grb's '$top'"
	else
		echo "run_perf.sh: SKIPPED the comparison with perf record:" \
			"perf_event_open is not permitted here: $(tail -n 3 probe.log)"
	fi
	;;
lost)
	"$prog" lost grb.data counts.txt || fail "perf_test lost"
	perf report --stdio -i grb.data >report.txt 2>report.err || fail "perf report: $(cat report.err)"
	perf report --stats -i grb.data >stats.txt 2>stats.err || fail "perf report --stats: $(cat stats.err)"
	python3 "$checker" lost counts.txt report.txt stats.txt || fail "lost samples differ"
	;;
*)
	fail "unknown scenario $scenario"
	;;
esac
cd / && rm -rf "$work"
echo "run_perf.sh: $scenario: OK"
