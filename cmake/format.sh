#!/bin/sh
# SPDX-License-Identifier: MIT
#
# format.sh [--check]
#
# Formats every C and C++ file of the tree that git knows with the tree's
# .clang-format (clang-format 14, Debian 12's).  With --check, changes
# nothing and fails, naming the files, when one is not formatted.
set -eu

cd "$(dirname "$0")/.."
cf=${CLANG_FORMAT:-clang-format}
command -v "$cf" >/dev/null || {
	echo "format: $cf not found (Debian: apt-get install clang-format)" >&2
	exit 1
}
files=$(git ls-files '*.c' '*.h' '*.cpp')
if [ "${1:-}" = --check ]; then
	bad=""
	for f in $files; do
		if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
			bad="$bad $f"
		fi
	done
	if [ -n "$bad" ]; then
		echo "format: not formatted with .clang-format (run make format):" >&2
		for f in $bad; do
			echo "  $f" >&2
		done
		exit 1
	fi
	echo "format: $(echo "$files" | wc -w) files formatted"
else
	# shellcheck disable=SC2086
	"$cf" -i $files
fi
