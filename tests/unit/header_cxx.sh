#!/bin/sh
# SPDX-License-Identifier: MIT
#
# header_cxx.sh INCLUDE_DIR - the header_cxx test of a build configured
# without a C++ compiler: compiles header_cxx.cpp (the public header,
# stand-alone, as C++17) with g++ and runs it.  Without g++: installed as
# root, else the test is skipped (exit 77), by grb_need.
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"
inc=$1
grb_need g++
dir=$(mktemp -d "${TMPDIR:-/tmp}/grb-header-cxx.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "+ g++ -std=c++17 -Wall -Wextra -Wshadow -I$inc header_cxx.cpp"
g++ -std=c++17 -Wall -Wextra -Wshadow -I"$inc" -o "$dir/header_cxx" \
	"$(dirname "$0")/header_cxx.cpp"
"$dir/header_cxx"
echo "header_cxx: the public header compiles as C++17"
