# SPDX-License-Identifier: MIT
#
# test_tools.sh - the external tools the tests need, in one place.  Sourced
# (POSIX sh) by the test scripts that run a tool grb does not build, and by
# `make check` for its closing report; it only defines functions.
#
# grb_need PACKAGE...
#   Returns when every PACKAGE's tool is there (the table in _grb_has).
#   Otherwise:
#   * as root with apt-get: installs the missing packages (`apt-get update`
#     once per build directory, then `apt-get install -y
#     --no-install-recommends`), one test at a time: ctest runs tests in
#     parallel, so the install holds a lock (flock) and checks again once it
#     has it; exits 1 if a tool is still missing afterwards;
#   * otherwise (not root, or no apt-get): says what is missing and how to
#     install it, leaves a marker for grb_tools_report and exits 77, which
#     CTest reports as skipped (SKIP_RETURN_CODE 77), never as passed.
#
# grb_tools_report TOOLS_DIR
#   Prints the tools the last run's tests found missing, the tests they
#   skipped and the command that installs them; nothing if none was.
#
# Environment, set for each such test by grb_test_tools() in GrbTest.cmake:
#   GRB_TOOLS_DIR  the build directory's test-tools/: the lock, the stamp of
#                  the last `apt-get update` and the markers (missing/<test>,
#                  one package a line).  Default when a script runs by hand:
#                  ${TMPDIR:-/tmp}/grb-tools-<uid>.
#   GRB_TEST_NAME  the test's name: without it no marker is written.

# _grb_has PACKAGE: is the tool PACKAGE provides there?
_grb_has() {
	case $1 in
	spin) command -v spin ;;
	babeltrace2) command -v babeltrace2 ;;
	lttng-tools) command -v lttng-relayd ;;
	trace-cmd) command -v trace-cmd ;;
	linux-perf) command -v perf ;;
	# Debian's python3-bt2 is built for Debian's own python3 (which it
	# brings), whatever python3 comes first in PATH.
	python3-bt2) /usr/bin/python3 -c 'import bt2' ;;
	binutils) command -v objdump ;;
	pkg-config) command -v pkg-config ;;
	python3) command -v python3 ;;
	perl) command -v perl ;;
	g++) command -v g++ ;;
	valgrind) command -v valgrind ;;
	strace) command -v strace ;;
	zstd) command -v zstd ;;
	# The kernel test (tests/kernel/run_vm.sh): a kernel build tree for
	# modules, a static busybox for the VM's initramfs, qemu, cpio.
	linux-headers-amd64) dpkg-query -W -f='${Status}' linux-headers-amd64 | grep -q 'ok installed' ;;
	busybox-static) dpkg-query -W -f='${Status}' busybox-static | grep -q 'ok installed' ;;
	qemu-system-x86) command -v qemu-system-x86_64 ;;
	cpio) command -v cpio ;;
	*)
		echo "test_tools.sh: grb_need: unknown package '$1'" >&3
		exit 2
		;;
	esac 3>&2 >/dev/null 2>&1
}

# _grb_what PACKAGE: what a message calls the tool.
_grb_what() {
	case $1 in
	python3-bt2) echo "the bt2 module of /usr/bin/python3 (python3-bt2)" ;;
	binutils) echo "objdump (binutils)" ;;
	linux-perf) echo "perf (linux-perf)" ;;
	lttng-tools) echo "lttng-relayd (lttng-tools)" ;;
	linux-headers-amd64) echo "the kernel headers (linux-headers-amd64)" ;;
	busybox-static) echo "a static busybox (busybox-static)" ;;
	qemu-system-x86) echo "qemu-system-x86_64 (qemu-system-x86)" ;;
	*) echo "$1" ;;
	esac
}

_grb_tools_dir() {
	echo "${GRB_TOOLS_DIR:-${TMPDIR:-/tmp}/grb-tools-$(id -u)}"
}

# _grb_missing PACKAGE...: the packages whose tool is missing.
_grb_missing() {
	for _grb_p in "$@"; do
		_grb_has "$_grb_p" || printf '%s ' "$_grb_p"
	done
}

_grb_apt() {
	echo "+ apt-get $*"
	apt-get -o DPkg::Lock::Timeout=300 "$@"
}

# _grb_install PACKAGE...: as root, under the lock.
_grb_install() {
	_grb_dir=$(_grb_tools_dir)
	mkdir -p "$_grb_dir" || {
		echo "test_tools.sh: cannot create $_grb_dir" >&2
		exit 1
	}
	(
		if command -v flock >/dev/null 2>&1; then
			flock 9 || exit 1
		fi
		# Another test may have installed them while this one waited.
		# shellcheck disable=SC2046
		set -- $(_grb_missing "$@")
		[ $# -gt 0 ] || exit 0
		DEBIAN_FRONTEND=noninteractive
		export DEBIAN_FRONTEND
		updated=no
		if [ ! -e "$_grb_dir/apt-updated" ]; then
			_grb_apt update && : >"$_grb_dir/apt-updated" && updated=yes
		fi
		_grb_apt install -y --no-install-recommends "$@" && exit 0
		# The package lists may be older than the archive: update, retry.
		[ "$updated" = yes ] && exit 1
		_grb_apt update && : >"$_grb_dir/apt-updated" &&
			_grb_apt install -y --no-install-recommends "$@"
	) 9>"$_grb_dir/apt.lock"
}

grb_need() {
	_grb_need=$(_grb_missing "$@") || exit 2
	_grb_need=${_grb_need% }
	[ -n "$_grb_need" ] || return 0
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		# shellcheck disable=SC2086
		_grb_install $_grb_need ||
			echo "test_tools.sh: apt-get install $_grb_need failed" >&2
		for _grb_p in $_grb_need; do
			if ! _grb_has "$_grb_p"; then
				echo "test_tools.sh: FAIL: $(_grb_what "$_grb_p") is missing" \
					"and could not be installed" >&2
				exit 1
			fi
		done
		return 0
	fi
	for _grb_p in $_grb_need; do
		echo "test_tools.sh: SKIP: $(_grb_what "$_grb_p") is missing"
	done
	if [ "$(id -u)" -eq 0 ]; then
		echo "test_tools.sh: no apt-get to install it; the Debian packages:" \
			"$_grb_need"
	else
		echo "test_tools.sh: not root, so not installing it; install it with:" \
			"sudo apt-get install $_grb_need"
	fi
	if [ -n "${GRB_TEST_NAME-}" ]; then
		_grb_dir=$(_grb_tools_dir)/missing
		# shellcheck disable=SC2086
		mkdir -p "$_grb_dir" &&
			printf '%s\n' $_grb_need >"$_grb_dir/$GRB_TEST_NAME"
	fi
	exit 77
}

grb_tools_report() {
	_grb_dir=$1/missing
	set -- "$_grb_dir"/*
	[ -e "$1" ] || return 0
	_grb_pkgs=$(cat "$@" | sort -u | tr '\n' ' ')
	echo
	echo "$# $(_grb_tests $#) skipped because a tool is missing:"
	for _grb_p in $_grb_pkgs; do
		_grb_t=$(grep -lx -- "$_grb_p" "$@" | sed 's,.*/,,' | sort)
		_grb_n=$(echo "$_grb_t" | wc -l)
		echo "  $(_grb_what "$_grb_p"), for $_grb_n $(_grb_tests "$_grb_n"):"
		{ echo "$_grb_t" | tr '\n' ' ' && echo; } | fold -s -w 70 |
			sed 's/^/      /; s/ *$//'
	done
	echo "Install the missing tools with:"
	echo "  sudo apt-get install ${_grb_pkgs% }"
	echo "(run as root, the tests install what they need themselves)"
}

_grb_tests() {
	if [ "$1" -eq 1 ]; then echo test; else echo tests; fi
}
