#!/bin/sh
# SPDX-License-Identifier: MIT
#
# abi_symbols.sh NM GCC INCLUDE_DIRS APP APP_SRC LIB MAP [LIB MAP]...
#
# Pins the ABI of the shared libraries:
#  1. each LIB exports exactly the symbols its version script MAP lists
#     (in both directions), each in the script's version node;
#  2. what the public headers need is exported, and nothing else is: every
#     function they declare (GCC's -aux-info over every <grb/*.h> found in
#     the colon-separated INCLUDE_DIRS), every thread-local they declare,
#     and every library symbol that APP, built from APP_SRC against the
#     shared libraries, refers to;
#  3. nothing escapes (2): APP_SRC uses every inline function of the public
#     headers, so that APP refers to what their bodies call, and APP refers
#     to every declared fast-path function (_grb_*), so none is dead.
# NM is GNU nm: without it, binutils is installed as root, else the test is
# skipped (exit 77), by grb_need (cmake/test_tools.sh).  GCC is a GNU C
# compiler for -aux-info, or "none": then the checks on declarations are
# skipped (exit 77 if all else passed).
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"
nm=$1 gcc=$2 incs=$3 app=$4 app_src=$5
shift 5
[ $# -ge 2 ] && [ $(($# % 2)) -eq 0 ] || { echo "usage: $0 NM GCC INCS APP APP_SRC LIB MAP..." >&2; exit 2; }

grb_need binutils
command -v "$nm" >/dev/null || { echo "abi_symbols: $nm (binutils) is missing"; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0

# The version node and the global symbols of a version script, one a line:
# "node NAME" then "sym NAME".  Comments are dropped; wildcards are refused.
map_parse()
{
	awk '{ buf = buf $0 "\n" }
	END {
		out = ""
		while ((i = index(buf, "/*")) > 0) {
			out = out substr(buf, 1, i - 1) " "
			buf = substr(buf, i + 2)
			j = index(buf, "*/")
			if (!j) { print "error unterminated comment"; exit }
			buf = substr(buf, j + 2)
		}
		out = out buf
		gsub(/[{};:]/, " & ", out)
		n = split(out, t, /[ \t\n]+/)
		mode = ""
		for (k = 1; k <= n; k++) {
			if (t[k] == "")
				continue
			if (t[k] == "{" && prev != "") {
				print "node " prev
			} else if (t[k] == ":" && (prev == "global" || prev == "local")) {
				mode = prev
			} else if (t[k] == ";" && mode == "global" && prev != ":") {
				if (prev ~ /[*?\[]/)
					print "error wildcard " prev
				else
					print "sym " prev
			}
			prev = t[k]
		}
	}' "$1"
}

# difference A B LABEL: the lines of sorted file A missing from sorted file B.
difference()
{
	comm -23 "$1" "$2" >"$dir/diff"
	if [ -s "$dir/diff" ]; then
		echo "abi_symbols: $3:"
		sed 's/^/	/' "$dir/diff"
		fail=1
	fi
}

: >"$dir/exported_all"
while [ $# -ge 2 ]; do
	lib=$1 map=$2
	shift 2
	name=$(basename "$lib")
	map_parse "$map" >"$dir/map"
	if grep '^error' "$dir/map"; then
		echo "abi_symbols: $map: not an explicit list"
		fail=1
	fi
	node=$(sed -n 's/^node //p' "$dir/map")
	if [ "$(printf '%s\n' "$node" | wc -l)" -ne 1 ] || [ -z "$node" ]; then
		echo "abi_symbols: $map: expected one version node, found: $node"
		fail=1
		continue
	fi
	sed -n 's/^sym //p' "$dir/map" | sort -u >"$dir/listed"
	# "addr T name@@NODE"; the node itself is an absolute symbol.
	"$nm" -D --defined-only "$lib" | awk -v node="$node" '
		$2 == "A" && $3 == node { next }
		{ print $3 }' | sort -u >"$dir/exported_v"
	sed 's/@.*//' "$dir/exported_v" | sort -u >"$dir/exported"
	grep -v "@@$node\$" "$dir/exported_v" >"$dir/wrong_node" || true
	if [ -s "$dir/wrong_node" ]; then
		echo "abi_symbols: $name exports symbols outside version $node:"
		sed 's/^/	/' "$dir/wrong_node"
		fail=1
	fi
	difference "$dir/exported" "$dir/listed" "$name exports symbols $(basename "$map") does not list"
	difference "$dir/listed" "$dir/exported" "$(basename "$map") lists symbols $name does not export"
	echo "abi_symbols: $name: $(wc -l <"$dir/exported") symbols in $node, $(wc -l <"$dir/listed") listed"
	cat "$dir/exported" >>"$dir/exported_all"
done
sort -u -o "$dir/exported_all" "$dir/exported_all"

# What APP refers to in the libraries ("U name@NODE").
"$nm" -D --undefined-only "$app" | awk '{ print $2 }' | sed 's/@.*//' |
	grep -E '^_?grb_' | sort -u >"$dir/referenced" || true
if [ ! -s "$dir/referenced" ]; then
	echo "abi_symbols: $app refers to no library symbol: is it linked with the shared libraries?"
	fail=1
fi
difference "$dir/referenced" "$dir/exported_all" "$(basename "$app") refers to symbols the libraries do not export"

skipped=0
if [ "$gcc" != none ]; then
	# Every public header, as an application would include it.
	: >"$dir/all.c"
	iflags=""
	old_ifs=$IFS
	IFS=:
	for inc in $incs; do
		iflags="$iflags -I$inc"
		for h in "$inc"/grb/*.h; do
			[ -e "$h" ] && echo "#include <grb/$(basename "$h")>" >>"$dir/all.c"
		done
	done
	IFS=$old_ifs
	# shellcheck disable=SC2086
	"$gcc" -fsyntax-only -std=gnu11 $iflags -aux-info "$dir/aux" "$dir/all.c"
	# "/* FILE:LINE:NC */ extern TYPE NAME (ARGS);", the headers' only.
	: >"$dir/decl_lines"
	IFS=:
	for inc in $incs; do
		grep -F "/* $inc/grb/" "$dir/aux" >>"$dir/decl_lines" || true
	done
	IFS=$old_ifs
	sed 's|^/\* [^ ]* \*/ ||' "$dir/decl_lines" >"$dir/decls"
	name_of() { sed 's/ (.*//; s/.*[ *]//' | grep -E '^_?grb_' | sort -u; }
	grep '^extern ' "$dir/decls" | name_of >"$dir/declared"
	grep '^static ' "$dir/decls" | name_of >"$dir/inline"
	if [ ! -s "$dir/declared" ]; then
		echo "abi_symbols: no function declaration found in the headers"
		fail=1
	fi
	difference "$dir/declared" "$dir/exported_all" "the headers declare functions the libraries do not export"
	# The thread-locals the headers declare ("extern __thread TYPE NAME
	# [N] __attribute__(...)", the inline fast path's state): exported,
	# whether or not this build's inline code uses each (the writer cache
	# is reached through the thread pointer where the compiler gives one,
	# through its symbol elsewhere).
	# shellcheck disable=SC2086
	"$gcc" -E -P -std=gnu11 $iflags "$dir/all.c" | tr '\n' ' ' | tr ';' '\n' |
		sed -n 's/.*extern __thread \([^;]*\)$/\1/p' |
		sed 's/__attribute__ *((.*))//; s/\[[^]]*\]//g; s/ *$//; s/.*[ *]//' |
		grep -E '^_?grb_' | sort -u >"$dir/declared_tls" || true
	if [ ! -s "$dir/declared_tls" ]; then
		echo "abi_symbols: no thread-local declaration found in the headers"
		fail=1
	fi
	difference "$dir/declared_tls" "$dir/exported_all" "the headers declare thread-locals the libraries do not export"
	sort -u "$dir/declared" "$dir/declared_tls" "$dir/referenced" >"$dir/needed"
	difference "$dir/exported_all" "$dir/needed" "the libraries export symbols no header declares or needs"
	grep '^_grb_' "$dir/declared" >"$dir/fastpath" || true
	difference "$dir/fastpath" "$dir/referenced" \
		"the headers declare fast-path functions $(basename "$app") never refers to (dead, or not exercised by $(basename "$app_src"))"
	grep '^grb_' "$dir/inline" | while read -r f; do
		grep -qw "$f" "$app_src" || echo "$f"
	done >"$dir/unused"
	if [ -s "$dir/unused" ]; then
		echo "abi_symbols: $(basename "$app_src") does not use these inline functions of the headers:"
		sed 's/^/	/' "$dir/unused"
		fail=1
	fi
	echo "abi_symbols: the headers declare $(wc -l <"$dir/declared") functions, $(wc -l <"$dir/declared_tls") thread-locals and $(wc -l <"$dir/inline") inline functions;" \
		"$(basename "$app") refers to $(wc -l <"$dir/referenced") library symbols"
else
	echo "abi_symbols: no GNU C compiler for -aux-info: the declarations are not checked"
	skipped=1
fi

if [ $fail -ne 0 ]; then
	echo "abi_symbols: FAILED"
	exit 1
fi
[ $skipped -eq 0 ] || exit 77
echo "abi_symbols: OK"
