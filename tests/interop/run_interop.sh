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
# the script runs as root; otherwise the test fails and says what to install.
#
# full-disk records into a 512 KiB tmpfs mounted on <workdir>/mnt and
# unmounted on exit; without the right to mount it (not root, or no
# CAP_SYS_ADMIN) the script exits 77, which CTest reports as skipped.
#
# Environment:
#   INTEROP_EXPECT  a regular expression (grep -E) for a known grb bug: the
#                   script then exits 1 only when the run fails with a
#                   message matching it (CTest's WILL_FAIL turns that into a
#                   pass), and 0 in every other case (the bug is fixed, or
#                   the run failed some other way), which WILL_FAIL reports
#                   as a failure.
#   INTEROP_KEEP=1  keep <workdir> after a passing run (it is always kept
#                   after a failing one).
set -u

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

# apt_install <what is missing> <package>
apt_install() {
	if [ "$(id -u)" -ne 0 ]; then
		fail "$1 is missing and this is not root: install it with 'apt-get install -y $2'"
	fi
	command -v apt-get >/dev/null 2>&1 || fail "$1 is missing and there is no apt-get"
	echo "+ apt-get install -y $2"
	DEBIAN_FRONTEND=noninteractive
	export DEBIAN_FRONTEND
	# Tests run in parallel: one apt-get at a time.
	if command -v flock >/dev/null 2>&1; then
		lock="flock ${TMPDIR:-/tmp}/grb-interop-apt.lock"
	else
		lock=""
	fi
	$lock apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$2" ||
		{ $lock apt-get -o DPkg::Lock::Timeout=300 update &&
			$lock apt-get -o DPkg::Lock::Timeout=300 install -y \
				--no-install-recommends "$2"; } ||
		fail "apt-get install -y $2 failed"
}

ensure_tools() {
	command -v babeltrace2 >/dev/null 2>&1 || apt_install babeltrace2 babeltrace2
	command -v babeltrace2 >/dev/null 2>&1 || fail "babeltrace2 is still missing"
	[ -x "$python" ] || fail "$python is missing (apt-get install -y python3)"
	"$python" -c 'import bt2' 2>/dev/null || apt_install "the bt2 module of $python" python3-bt2
	"$python" -c 'import bt2' || fail "$python cannot import bt2 (python3-bt2)"
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
	ensure_tools
	trace=$work/trace
	if [ "$scenario" = full-disk ]; then
		[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"
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
if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && printf '%s\n' "$out" | grep -Eq -- "$expect"; then
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
