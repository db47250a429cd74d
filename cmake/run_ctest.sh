#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run_ctest.sh <build-dir> [ctest arguments...]
#
# Runs ctest on <build-dir> (what `make check`, `make asan` and `make tsan`
# do) and exits with ctest's status: a skipped test is not a failure.  Then,
# if tests were skipped because a tool was missing (cmake/test_tools.sh: a
# test not run as root does not install it), lists the tools, the tests
# they skipped and the command that installs them.
#
# With GRB_NO_SKIP=1 (as .ci/run runs it) a run in which any test was
# skipped, for whatever reason, fails too, naming the tests: ctest's
# JUnit report (<build-dir>/ctest-junit.xml) tells which did not run.
set -u

[ $# -ge 1 ] || {
	echo "usage: $0 <build-dir> [ctest arguments...]" >&2
	exit 2
}
build=$1
shift
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/test_tools.sh"

tools=$build/test-tools
junit=ctest-junit.xml # ctest writes it relative to --test-dir
rm -rf "${tools:?}/missing" "${build:?}/$junit"

rc=0
echo "+ ${CTEST:-ctest} --test-dir $build --output-junit $junit $*"
"${CTEST:-ctest}" --test-dir "$build" --output-junit "$junit" "$@" || rc=$?

grb_tools_report "$tools"

if [ "${GRB_NO_SKIP:-0}" = 1 ]; then
	if [ ! -r "$build/$junit" ]; then
		echo "run_ctest.sh: FAIL: ctest wrote no $build/$junit to tell skipped tests" >&2
		exit 1
	fi
	skipped=$(sed -n -e 's/.*<testcase name="\([^"]*\)".*status="notrun".*/\1/p' \
		-e 's/.*<testcase name="\([^"]*\)".*status="disabled".*/\1/p' "$build/$junit")
	if [ -n "$skipped" ]; then
		n=$(echo "$skipped" | wc -l)
		echo "run_ctest.sh: FAIL: $n $(_grb_tests "$n") did not run" \
			"(GRB_NO_SKIP=1: every test must run):" >&2
		echo "$skipped" | sed 's/^/    /' >&2
		[ "$rc" -ne 0 ] || rc=1
	fi
fi
exit "$rc"
