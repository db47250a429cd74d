#!/bin/sh
# SPDX-License-Identifier: MIT
#
# headers.sh <cc> <source-dir> <generated-include-dir> [<c++ compiler>]
#
# Every public header compiles on its own, first in its translation unit,
# as C11 and (when a C++ compiler is given) as C++20: a header that relies
# on another being included first fails here.  The headers under static/,
# env/ and arch/ are not to be included directly and are left out.
set -eu

cc=${1:?usage: headers.sh <cc> <source-dir> <generated-include-dir> [<c++>]}
top=${2:?usage: headers.sh <cc> <source-dir> <generated-include-dir> [<c++>]}
gen=${3:?usage: headers.sh <cc> <source-dir> <generated-include-dir> [<c++>]}
cxx=${4:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/grb-headers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

n=0
fail=0
for h in "$top"/include/grb/*.h "$gen"/grb/*.h; do
	[ -f "$h" ] || continue
	name=grb/${h##*/}
	n=$((n + 1))
	printf '#include <%s>\nint grb_header_probe(void);\nint grb_header_probe(void) { return 0; }\n' \
		"$name" >"$tmp/t.c"
	if ! "$cc" -std=gnu11 -Wall -Wextra -Werror -I "$top/include" -I "$gen" \
		-c "$tmp/t.c" -o "$tmp/t.o"; then
		echo "headers: FAIL: <$name> does not compile alone as C" >&2
		fail=$((fail + 1))
	fi
	if [ -n "$cxx" ]; then
		cp "$tmp/t.c" "$tmp/t.cpp"
		if ! "$cxx" -std=c++20 -Wall -Wextra -Werror -I "$top/include" -I "$gen" \
			-c "$tmp/t.cpp" -o "$tmp/t.o"; then
			echo "headers: FAIL: <$name> does not compile alone as C++" >&2
			fail=$((fail + 1))
		fi
	fi
done
if [ "$n" -eq 0 ]; then
	echo "headers: no public header found" >&2
	exit 1
fi
if [ "$fail" -ne 0 ]; then
	echo "headers: $fail failure(s) over $n headers" >&2
	exit 1
fi
echo "headers: $n public headers compile alone${cxx:+, as C and as C++}"
