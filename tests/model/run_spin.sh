#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run_spin.sh <model.pml> [spin options, e.g. -DOVERWRITE -DNREC=2]
#
# Verifies a Promela model exhaustively: spin -a generates the verifier (pan)
# in a temporary directory, cc compiles it (safety properties: assertions and
# invalid end states; lossless state compression), and pan searches the whole
# state space.  The run passes only if pan reports "errors: 0" for a search
# it completed (not cut short by the depth bound or the memory limit).
#
# Environment:
#   SPIN_EXPECT  a regular expression (grep -E) for a model that must FAIL:
#                the script then exits 1 when pan found an error whose report
#                matches it (CTest's WILL_FAIL turns that into a pass), and 0
#                in every other case, including a tool that is broken (so
#                that WILL_FAIL reports the test as failed).
#   SPIN_KEEP=1  keep the temporary directory (pan, the trail) and print it.
#   CC           the C compiler for pan (default: cc).
#   PAN_MEMLIM   pan's memory limit in MB (default 2048).
#
# On an error, the counterexample's events are printed from the trail
# (the model's "MSC:" printf lines).
#
# spin is installed with apt-get when it is missing and the script runs as
# root; otherwise the script exits 77 (CTest: skipped, with or without
# SPIN_EXPECT) and says how to install it (cmake/test_tools.sh).
set -u
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"

usage() {
	echo "usage: $0 <model.pml> [spin -D options...]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
model=$1
shift
expect=${SPIN_EXPECT-}

# Exit status for a run that could not be carried out: a failure either way.
infra_fail() {
	echo "run_spin.sh: ERROR: $*" >&2
	if [ -n "$expect" ]; then
		echo "run_spin.sh: (exit 0 so that WILL_FAIL reports this test as FAILED)" >&2
		exit 0
	fi
	exit 1
}

grb_need spin
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
	infra_fail "C compiler '$cc' not found (set CC)"
fi
[ -r "$model" ] || infra_fail "cannot read model '$model'"
for opt in "$@"; do
	case $opt in
	-D*) ;;
	*) infra_fail "unexpected argument '$opt' (only -D options are passed to spin)" ;;
	esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/grb-spin.XXXXXX") || infra_fail "mktemp failed"
if [ "${SPIN_KEEP:-0}" = 1 ]; then
	echo "run_spin.sh: keeping $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
	trap 'rm -rf "$tmp"; exit 129' HUP
	trap 'rm -rf "$tmp"; exit 130' INT
	trap 'rm -rf "$tmp"; exit 143' TERM
fi

name=$(basename "$model")
cp "$model" "$tmp/$name" || infra_fail "cannot copy $model"
cd "$tmp" || infra_fail "cannot enter $tmp"

echo "+ spin $* -a $name  ($(spin -V 2>&1 | head -n 1))"
if ! spin "$@" -a "$name" >spin.log 2>&1; then
	cat spin.log
	infra_fail "spin -a failed"
fi
# -w: the generated pan.c trips some GCC diagnostics (stringop-overflow).
memlim=${PAN_MEMLIM:-2048}
echo "+ $cc -O2 -w -DSAFETY -DCOLLAPSE -DMEMLIM=$memlim -o pan pan.c"
if ! "$cc" -O2 -w -DSAFETY -DCOLLAPSE -DMEMLIM="$memlim" -o pan pan.c >cc.log 2>&1; then
	cat cc.log
	infra_fail "compiling pan failed"
fi
echo "+ ./pan -m20000 -w24"
start=$(date +%s)
./pan -m20000 -w24 >pan.log 2>&1
rc=$?
dur=$(($(date +%s) - start))
# The report without the progress lines and the list of unreached
# statements (printed below for a run without errors).
awk '/^Depth=/ { next }
	/^unreached in/ { skip = 1 }
	/^pan: elapsed/ { skip = 0 }
	!skip' pan.log
echo "pan: exit status $rc, ${dur}s wall"

errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.log | tail -n 1)
incomplete=""
for msg in "max search depth too small" "out of memory" "MEMLIM" "Search not completed"; do
	if grep -q "$msg" pan.log; then
		incomplete="$incomplete [$msg]"
	fi
done
[ -n "$errors" ] || infra_fail "no 'errors:' line in pan's report (pan crashed?)"

if [ "$errors" != 0 ]; then
	if [ -f "$name.trail" ]; then
		echo "--- counterexample (spin -t $* $name | grep MSC:)"
		spin -t "$@" "$name" 2>&1 | grep -E 'MSC:|assertion|violated|invalid end' |
			sed 's/^ *//'
		echo "---"
	fi
	if [ -n "$expect" ]; then
		if grep -Eq -- "$expect" pan.log; then
			echo "run_spin.sh: the expected error was found (/$expect/): exit 1 for WILL_FAIL"
			exit 1
		fi
		echo "run_spin.sh: pan found an error, but not the expected one (/$expect/):" \
			"exit 0 so that WILL_FAIL reports this test as FAILED"
		exit 0
	fi
	echo "run_spin.sh: FAILED: pan found $errors error(s)"
	exit 1
fi

if [ -n "$incomplete" ]; then
	infra_fail "the search did not complete:$incomplete"
fi
echo "--- statements never reached"
sed -n '/^unreached in/,/^pan: elapsed/p' pan.log | grep -v 'printf(' | grep -v '^pan: elapsed'
echo "---"
if [ -n "$expect" ]; then
	echo "run_spin.sh: FAILED: the model was expected to fail (/$expect/) but pan found no error:" \
		"exit 0 so that WILL_FAIL reports this test as FAILED"
	exit 0
fi
echo "run_spin.sh: OK: errors: 0, exhaustive search completed"
exit 0
