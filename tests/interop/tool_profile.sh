#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tool_profile.sh GRB CHECK_PERF WORKDIR SCENARIO - `grb profile` of an
# unmodified program from Debian's packages (perl, whose interpreter
# functions perf and grb's folded stacks resolve from its symbol table),
# read back by Debian's perf:
#   hot      one thread reversing a long string: perf report's top symbol
#            is Perl_pp_reverse, as it is for `perf record -e cpu-clock -F
#            999 -g` of the same program (that comparison is skipped,
#            saying so, when perf_event_open is not permitted); the folded
#            stacks' heaviest leaf is the same;
#   threads  perl's ithreads, 3 threads busy: each one has samples in
#            perf script, as many threads as the tool reports.
# In both, the samples and the lost samples perf report counts are the
# tool's, its accounting says exact, and perf script prints every sample.
# perf (linux-perf) and python3 are installed as root when missing, else
# the test is skipped (exit 77; cmake/test_tools.sh).
set -u
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"

[ $# -eq 4 ] || { echo "usage: $0 <grb> <check_perf.py> <workdir> <scenario>" >&2; exit 2; }
grb=$1 checker=$2 work=$3 scenario=$4

fail() {
	echo "tool_profile.sh: FAIL: $*" >&2
	exit 1
}

grb_need linux-perf python3 perl
rm -rf "$work"
mkdir -p "$work" || fail "cannot create $work"
cd "$work" || fail "cannot enter $work"
PERF_CONFIG=/dev/null
PERF_BUILDID_DIR=$work/buildid
export PERF_CONFIG PERF_BUILDID_DIR

top_symbol() {
	perf report --stdio --no-children --sort sym -i "$1" 2>"$1.report.err" >"$1.report" ||
		fail "perf report -i $1: $(cat "$1.report.err")"
	sed -n 's/^ *[0-9.]*% *\[\.\] \([^ ]*\).*/\1/p' "$1.report" | head -n 1
}

hot='my $x = "ab" x 500000; for (1 .. 8000) { my $y = reverse $x }'
threads='use threads; my @t = map { threads->create(sub { my $x = "ab" x 500000;
	for (1 .. 3000) { my $y = reverse $x } }) } 1 .. 3; $_->join for @t'
case $scenario in
hot) prog=$hot ;;
threads) prog=$threads ;;
*) fail "unknown scenario $scenario" ;;
esac

"$grb" profile -F 999 -o grb.data --folded grb.folded -- perl -e "$prog" >summary.txt 2>&1 ||
	fail "grb profile: $(cat summary.txt)"
cat summary.txt
total=$(grep '^total: ' summary.txt) || fail "no total line"
echo "$total" | grep -q ': exact$' || fail "the accounting is not exact: $total"
samples=$(echo "$total" | sed -n 's/.* = \([0-9]*\) in perf.data + \([0-9]*\) lost.*/\1/p')
lost=$(echo "$total" | sed -n 's/.* = \([0-9]*\) in perf.data + \([0-9]*\) lost.*/\2/p')
[ -n "$samples" ] && [ "$samples" -ge 100 ] || fail "too few samples: '$samples'"

# perf's own counts of the file are the tool's.
perf report --stdio -i grb.data >report.txt 2>report.err || fail "perf report: $(cat report.err)"
psamples=$(sed -n 's/^# Samples: \([0-9]*\) .*of event .cpu-clock.*/\1/p' report.txt)
plost=$(sed -n 's/^# Total Lost Samples: \([0-9]*\).*/\1/p' report.txt)
echo "perf report: $psamples samples, $plost lost; grb profile: $samples samples, $lost lost"
[ "$psamples" = "$samples" ] || fail "perf report counts $psamples samples, grb profile $samples"
[ "$plost" = "$lost" ] || fail "perf report counts $plost lost, grb profile $lost"
perf script -i grb.data -F tid,ip,sym >script.txt 2>script.err || fail "perf script: $(cat script.err)"
nscript=$(grep -c '^ *[0-9][0-9]* *$' script.txt)
[ "$nscript" = "$samples" ] || fail "perf script prints $nscript samples, grb profile wrote $samples"

case $scenario in
hot)
	top=$(top_symbol grb.data)
	echo "perf report of grb profile's perf.data: top symbol '$top'"
	head -n 16 grb.data.report
	[ "$top" = Perl_pp_reverse ] || fail "top symbol '$top', not Perl_pp_reverse"
	python3 "$checker" folded grb.folded Perl_pp_reverse || fail "folded stacks"
	if perf record -N -e cpu-clock -F 999 -g -o probe.data -- true >probe.log 2>&1; then
		perf record -N -e cpu-clock -F 999 -g -o perf.data -- perl -e "$prog" >record.log 2>&1 ||
			fail "perf record: $(cat record.log)"
		ptop=$(top_symbol perf.data)
		echo "perf report of perf record's perf.data: top symbol '$ptop'"
		[ "$ptop" = "$top" ] || fail "perf record's top symbol '$ptop' differs from grb's '$top'"
	else
		echo "tool_profile.sh: SKIPPED the comparison with perf record:" \
			"perf_event_open is not permitted here: $(tail -n 3 probe.log)"
	fi
	;;
threads)
	nthreads=$(sed -n 's/^process [0-9]* perl: .*; \([0-9]*\) threads sampled.*/\1/p' summary.txt)
	# The thread ids of the samples, the worker threads' among them.
	tids=$(sed -n 's/^ *\([0-9][0-9]*\) *$/\1/p' script.txt | sort -u)
	ntids=$(echo "$tids" | grep -c .)
	pid=$(sed -n 's/^process \([0-9]*\) perl: .*/\1/p' summary.txt)
	nworkers=$(echo "$tids" | grep -vcx "$pid")
	echo "threads: $ntids with samples in perf script ($nworkers besides the main one);" \
		"grb profile: $nthreads"
	[ "$ntids" = "$nthreads" ] || fail "perf script shows $ntids threads, grb profile $nthreads"
	[ "$nworkers" -ge 3 ] || fail "$nworkers worker threads have samples, not 3"
	for t in $(echo "$tids" | grep -vx "$pid"); do
		n=$(grep -c "^ *$t *\$" script.txt)
		[ "$n" -ge 20 ] || fail "thread $t has $n samples"
	done
	;;
esac
cd / && rm -rf "$work"
echo "tool_profile.sh: $scenario: OK"
