#!/bin/sh
# SPDX-License-Identifier: MIT
#
# header_cxx.sh INCLUDE_DIR GENERATED_INCLUDE_DIR LIBGRB_CTF LIBGRB - the
# header_cxx test of a build configured without a C++ compiler: compiles
# header_cxx.cpp (the public headers, stand-alone, as C++20: the
# configuration macros use designated initializers) with g++, links it
# with the shared libraries and runs it.  Without g++: installed as root,
# else the test is skipped (exit 77), by grb_need.
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"
inc=$1 gen=$2 ctf=$3 grb=$4
grb_need g++
dir=$(mktemp -d "${TMPDIR:-/tmp}/grb-header-cxx.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "+ g++ -std=c++20 -Wall -Wextra -Wshadow -Wpedantic -I$inc -I$gen header_cxx.cpp $ctf $grb"
g++ -std=c++20 -Wall -Wextra -Wshadow -Wpedantic -I"$inc" -I"$gen" -o "$dir/header_cxx" \
	"$(dirname "$0")/header_cxx.cpp" "$ctf" "$grb" \
	-Wl,-rpath,"$(dirname "$ctf")" -Wl,-rpath,"$(dirname "$grb")"
"$dir/header_cxx"
echo "header_cxx: the public headers compile as C++20"
