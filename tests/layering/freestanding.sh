#!/bin/sh
# SPDX-License-Identifier: MIT
#
# freestanding.sh <cc> <source-dir> <generated-include-dir>
#
# Compiles every source of the core (src/core/*.c) freestanding: no system
# header at all (-nostdinc) but the compiler's own stddef.h, stdint.h and
# stdbool.h, and the environment stub tests/layering/env_stub.h in place of
# the user-space environment.  A core file that includes a libc header, or
# uses anything of its environment outside the interface, fails here.
# <generated-include-dir> holds the headers the build generates
# (<grb/version.h>).  The kernel module builds the same files (kernel/Kbuild):
# no core file may tell the builds apart by __KERNEL__; the environment
# does.
set -eu

cc=${1:?usage: freestanding.sh <cc> <source-dir> <generated-include-dir>}
top=${2:?usage: freestanding.sh <cc> <source-dir> <generated-include-dir>}
gen=${3:?usage: freestanding.sh <cc> <source-dir> <generated-include-dir>}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/grb-freestanding.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# The compiler's own headers: only the three the core may use, with the
# pieces they include themselves (gcc's stdint-gcc.h, clang's
# __stddef_*.h).
incdir=$("$cc" -print-file-name=include)
case $incdir in
/*) ;;
*) incdir=$("$cc" -print-resource-dir)/include ;;
esac
mkdir "$tmp/inc"
for h in stddef.h stdint.h stdbool.h stdint-gcc.h "$incdir"/__stddef_*.h; do
	h=${h##*/}
	if [ -f "$incdir/$h" ]; then
		cp "$incdir/$h" "$tmp/inc/"
	fi
done
for h in stddef.h stdint.h stdbool.h; do
	[ -f "$tmp/inc/$h" ] || { echo "freestanding: $cc has no $h in $incdir" >&2; exit 1; }
done

if grep -n '__KERNEL__' "$top"/src/core/*.c "$top"/src/core/*.h >&2; then
	echo "freestanding: FAIL: a core file names __KERNEL__: the environment layer" \
		"(GRB_ENV_HEADER, src/core/env.h) is what differs in the kernel" >&2
	exit 1
fi

nm=${NM:-nm}
command -v "$nm" >/dev/null || { echo "freestanding: $nm not found" >&2; exit 1; }
n=0
fail=0
for src in "$top"/src/core/*.c; do
	n=$((n + 1))
	if ! "$cc" -std=gnu11 -ffreestanding -nostdinc -isystem "$tmp/inc" \
		-I "$top/include" -I "$gen" -I "$top/src" -I "$top/tests/layering" \
		'-DGRB_ENV_HEADER="env_stub.h"' \
		-O2 -Wall -Wextra -Werror -c "$src" -o "$tmp/out.o"; then
		echo "freestanding: FAIL: $src needs more than its environment interface" >&2
		fail=$((fail + 1))
		continue
	fi
	# What the object needs from outside: the core's and the
	# environment's own functions (_grb_*), grb's API, the three functions
	# a compiler may call for its builtins, which every environment has,
	# and the linker's GOT (thread-local variables).  Anything else (an
	# __atomic_* library call, a libc function) would not link in a
	# kernel module.
	undef=$("$nm" -u "$tmp/out.o" | awk '{ print $NF }' |
		grep -Ev '^(_grb_[A-Za-z0-9_]+|grb_[A-Za-z0-9_]+|memcpy|memset|memmove|_GLOBAL_OFFSET_TABLE_)$' || true)
	if [ -n "$undef" ]; then
		echo "freestanding: FAIL: $src calls outside its environment:" $undef >&2
		fail=$((fail + 1))
	fi
done
if [ "$n" -eq 0 ]; then
	echo "freestanding: no core source in $top/src/core" >&2
	exit 1
fi
if [ "$fail" -ne 0 ]; then
	echo "freestanding: $fail of $n core files failed" >&2
	exit 1
fi
echo "freestanding: $n core files compile with only stddef.h, stdint.h, stdbool.h," \
	"call nothing outside grb and name no __KERNEL__"
