#!/bin/sh
# SPDX-License-Identifier: MIT
#
# format.sh [--check]
#
# Formats every C and C++ file of the tree (the ones git knows, or without
# git every one outside build directories) with the tree's .clang-format
# (clang-format 14, Debian 12's).  With --check, changes
# nothing and fails, naming the files, when one is not formatted.
set -eu

cd "$(dirname "$0")/.."
cf=${CLANG_FORMAT:-clang-format}
command -v "$cf" >/dev/null || {
	echo "format: $cf not found (Debian: apt-get install clang-format)" >&2
	exit 1
}
if command -v git >/dev/null && [ -e .git ]; then
	# safe.directory: CI may run as root in a clone another user owns.
	files=$(git -c safe.directory="$(pwd)" ls-files '*.c' '*.h' '*.cpp')
else
	files=$(find . \( -path './build*' -o -path './.*' \) -prune -o -type f \
		\( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -print | sort)
fi
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
