#!/bin/sh
# SPDX-License-Identifier: MIT
#
# install_smoke.sh <build-dir> [<libdir>]
#
# Installs <build-dir> into a temporary prefix and builds + runs a tiny
# consumer of grb_version() against it twice: with a CMake project using
# find_package(grb) and with pkg-config. <libdir> is CMAKE_INSTALL_LIBDIR
# (default: lib). Honours $CC, $CMAKE and $GRB_SMOKE_FLAGS (extra compile and
# link flags, e.g. the sanitizer flags of a sanitizer build).
#
# Without pkg-config (not in a minimal Debian): installed as root, else the
# test is skipped (exit 77) after the find_package half, by grb_need
# (test_tools.sh beside this file).
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/test_tools.sh"

build=${1:?usage: install_smoke.sh <build-dir> [<libdir>]}
libdir=${2:-lib}
cc=${CC:-cc}
cmake=${CMAKE:-cmake}
flags=${GRB_SMOKE_FLAGS:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/grb-install-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix

echo "== cmake --install $build --prefix $prefix"
"$cmake" --install "$build" --prefix "$prefix"

cat >"$tmp/smoke.c" <<'EOC'
#include <grb/grb.h>
#include <stdio.h>

int main(void)
{
	const char *v = grb_version();

	if (!v || !*v)
		return 1;
	printf("grb_version() = %s\n", v);
	return 0;
}
EOC

echo "== find_package(grb)"
mkdir -p "$tmp/cmk"
cat >"$tmp/cmk/CMakeLists.txt" <<'EOC'
cmake_minimum_required(VERSION 3.16)
project(grb_install_smoke LANGUAGES C)
find_package(grb 0.1 REQUIRED)
add_executable(smoke_shared smoke.c)
target_link_libraries(smoke_shared PRIVATE grb::grb)
add_executable(smoke_static smoke.c)
target_link_libraries(smoke_static PRIVATE grb::grb_static)
EOC
cp "$tmp/smoke.c" "$tmp/cmk/smoke.c"
"$cmake" -S "$tmp/cmk" -B "$tmp/cmk/build" \
	-DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
	-DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_C_FLAGS="$flags" \
	-DCMAKE_EXE_LINKER_FLAGS="$flags" >"$tmp/cmk.log" 2>&1 ||
	{ cat "$tmp/cmk.log"; exit 1; }
"$cmake" --build "$tmp/cmk/build" >>"$tmp/cmk.log" 2>&1 ||
	{ cat "$tmp/cmk.log"; exit 1; }
"$tmp/cmk/build/smoke_shared"
"$tmp/cmk/build/smoke_static"

echo "== pkg-config"
grb_need pkg-config
PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
export PKG_CONFIG_PATH
pkg-config --exists --print-errors grb
echo "grb.pc version: $(pkg-config --modversion grb)"
pc_flags=$(pkg-config --cflags --libs grb)
pc_libdir=$(pkg-config --variable=libdir grb)
echo "pkg-config --cflags --libs grb: $pc_flags"
# shellcheck disable=SC2086
"$cc" $flags -o "$tmp/smoke_pc" "$tmp/smoke.c" $pc_flags -Wl,-rpath,"$pc_libdir"
"$tmp/smoke_pc"

echo "install_smoke: OK"
