#!/bin/sh
# SPDX-License-Identifier: MIT
#
# private_includes.sh <source-dir>
#
# No file outside src/ includes a private header: no #include "..." or
# <...> of a C or C++ file outside src/ may name a file of src/, whether it
# resolves next to the including file or through an include path (clients, tools, tests, benchmarks and examples
# reach the library through include/ only, as applications do).  The
# stub environment of the freestanding test is the one exception: it is a
# header that the core includes, not one that includes the core.
# Likewise no file outside clients/NAME includes a header of clients/NAME.
set -eu

top=${1:?usage: private_includes.sh <source-dir>}
cd "$top"
top=$(pwd -P)

bad=0
checked=0
for f in $(find . \( -path ./src -o -path './build*' -o -path ./.git \) -prune -o \
	-type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -print); do
	dir=$(dirname "$f")
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' "$f"); do
		checked=$((checked + 1))
		case $inc in
		*src/*) ;;
		*)
			if [ -e "$dir/$inc" ]; then
				# Resolved next to the including file: private if
				# that is under src/.
				res=$(cd "$(dirname "$dir/$inc")" && pwd -P)
				case $res/ in
				"$top"/src/*) ;;
				*) continue ;;
				esac
			elif [ -e "src/$inc" ] ||
				[ -n "$(find src -path "*/$inc" -print -quit)" ]; then
				# Found through an include path: a file of src/.
				:
			else
				continue # a system or an installed header
			fi
			;;
		esac
		echo "private_includes: $f includes \"$inc\", a private header of src/" >&2
		bad=$((bad + 1))
	done
done
# A client's own headers (clients/NAME/*.h, not installed) are its files'
# alone: a file outside clients/NAME, the tool's say, uses the public
# headers of include/ as an installed program would.
for f in $(find . \( -path './build*' -o -path ./.git \) -prune -o \
	-type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -print); do
	dir=$(dirname "$f")
	own=$(echo "$dir" | sed -n 's|^\./\(clients/[^/]*\).*|\1|p')
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' "$f"); do
		[ -e "$dir/$inc" ] || continue
		res=$(cd "$(dirname "$dir/$inc")" && pwd -P)
		case $res/ in
		"$top"/clients/*) ;;
		*) continue ;;
		esac
		case $res/ in
		"$top/$own"/*) [ -n "$own" ] && continue ;;
		esac
		echo "private_includes: $f includes \"$inc\", a private header of ${res#"$top"/}" >&2
		bad=$((bad + 1))
	done
done
if [ "$bad" -ne 0 ]; then
	echo "private_includes: $bad private include(s)" >&2
	exit 1
fi
echo "private_includes: $checked includes outside src/, none private"
