#!/bin/sh
# SPDX-License-Identifier: MIT
#
# private_includes.sh <source-dir>
#
# No file outside src/ includes a private header: every #include "..." of a
# C or C++ file outside src/ must resolve, relative to the including file,
# to a file outside src/ (clients, tools, tests, benchmarks and examples
# reach the library through include/ only, as applications do).  The
# stub environment of the freestanding test is the one exception: it is a
# header that the core includes, not one that includes the core.
set -eu

top=${1:?usage: private_includes.sh <source-dir>}
cd "$top"
top=$(pwd -P)

bad=0
checked=0
for f in $(find . \( -path ./src -o -path './build*' -o -path ./.git \) -prune -o \
	-type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -print); do
	dir=$(dirname "$f")
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		checked=$((checked + 1))
		case $inc in
		*src/*) ;;
		*)
			[ -e "$dir/$inc" ] || continue # from -I include (checked by the build)
			res=$(cd "$(dirname "$dir/$inc")" && pwd -P)
			case $res/ in
			"$top"/src/*) ;;
			*) continue ;;
			esac
			;;
		esac
		echo "private_includes: $f includes \"$inc\", a private header of src/" >&2
		bad=$((bad + 1))
	done
done
if [ "$bad" -ne 0 ]; then
	echo "private_includes: $bad private include(s) outside src/" >&2
	exit 1
fi
echo "private_includes: $checked quoted includes outside src/, none private"
