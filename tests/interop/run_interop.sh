#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run_interop.sh <ctf_writer_test> <check_trace.py> <scenario> <workdir>
#
# Records one scenario with ctf_writer_test into <workdir>/trace, the events
# it wrote into <workdir>/expected.jsonl (outside the trace: babeltrace2
# reads every file of a trace directory as a stream), then has
# check_trace.py compare them with what babeltrace2 reads.  The scenario
# bad-input only runs ctf_writer_test's own checks.
#
# babeltrace2 and python3-bt2 are installed with apt-get when missing and
# the script runs as root; otherwise the script exits 77, which CTest
# reports as skipped, and says how to install them (cmake/test_tools.sh).
#
# full-disk records into a 512 KiB tmpfs mounted on <workdir>/mnt and
# unmounted on exit; without the right to mount it (not root, or no
# CAP_SYS_ADMIN) the script exits 77 too.
#
# Environment:
#   INTEROP_EXPECT  a regular expression (grep -E) for a known grb bug: the
#                   script then exits 1 only when the run fails with a
#                   message matching it (CTest's WILL_FAIL turns that into a
#                   pass), 77 when the run was skipped, and 0 in every other
#                   case (the bug is fixed, or the run failed some other
#                   way), which WILL_FAIL reports as a failure.
#   INTEROP_KEEP=1  keep <workdir> after a passing run (it is always kept
#                   after a failing one).
set -u
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"

usage() {
	echo "usage: $0 <ctf_writer_test> <check_trace.py> <scenario> <workdir>" >&2
	exit 2
}

[ $# -eq 4 ] || usage
writer=$1
checker=$2
scenario=$3
work=$4
python=/usr/bin/python3 # python3-bt2 is built for Debian's own python3

fail() {
	echo "run_interop.sh: FAIL: $*" >&2
	exit 1
}

skip() {
	echo "run_interop.sh: SKIP: $*"
	exit 77
}

ensure_tools() {
	grb_need babeltrace2 python3-bt2
	echo "$(babeltrace2 --version | head -n 1); bt2 $("$python" -c 'import bt2; print(bt2.__version__)')"
}

# run() mounts in a subshell: unmount from here, whatever became of it.
cleanup() {
	if [ -d "$work/mnt" ] && grep -q " $work/mnt " /proc/self/mounts 2>/dev/null; then
		umount "$work/mnt" || umount -l "$work/mnt"
	fi
}

run() {
	[ -x "$writer" ] || fail "cannot run $writer"
	cleanup
	rm -rf "$work" && mkdir -p "$work" || fail "cannot create $work"
	if [ "$scenario" = bad-input ]; then
		"$writer" bad-input "$work"
		return
	fi
	if [ "$scenario" = full-disk ]; then
		[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"
	fi
	ensure_tools
	trace=$work/trace
	if [ "$scenario" = full-disk ]; then
		command -v mount >/dev/null 2>&1 || skip "no mount command"
		mkdir -p "$work/mnt" || fail "cannot create $work/mnt"
		if ! mount -t tmpfs -o size=512k tmpfs "$work/mnt"; then
			skip "mount -t tmpfs -o size=512k tmpfs $work/mnt is not permitted here"
		fi
		trace=$work/mnt/trace
	fi
	echo "+ $writer $scenario $trace $work/expected.jsonl"
	"$writer" "$scenario" "$trace" "$work/expected.jsonl" || return 1
	echo "+ $python $checker $trace $work/expected.jsonl"
	"$python" "$checker" "$trace" "$work/expected.jsonl" || return 1
	return 0
}

trap cleanup EXIT
trap 'cleanup; exit 129' HUP
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

expect=${INTEROP_EXPECT-}
if [ -z "$expect" ]; then
	(run)
	rc=$?
	cleanup
	if [ "$rc" -eq 0 ] && [ "${INTEROP_KEEP:-0}" != 1 ]; then
		rm -rf "$work"
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		echo "run_interop.sh: the files are kept in $work" >&2
	fi
	exit "$rc"
fi

# A known bug: it must be reproduced, by a failure with the expected message.
out=$( (run) 2>&1)
rc=$?
cleanup
printf '%s\n' "$out"
[ "$rc" -ne 77 ] || exit 77
if [ "$rc" -ne 0 ] && printf '%s\n' "$out" | grep -Eq -- "$expect"; then
	echo "run_interop.sh: known bug reproduced (output matches '$expect');" \
		"exit 1 so that WILL_FAIL reports this test as passed"
	[ "${INTEROP_KEEP:-0}" = 1 ] || rm -rf "$work"
	exit 1
fi
if [ "$rc" -eq 0 ]; then
	echo "run_interop.sh: the known bug ('$expect') no longer reproduces:" \
		"drop EXPECT from this test in tests/interop/CMakeLists.txt" >&2
else
	echo "run_interop.sh: failed (exit $rc) without the known bug's message ('$expect');" \
		"the files are kept in $work" >&2
fi
exit 0
