#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/lttng/build.sh - build bench_lttng (the LTTng-UST peer of
# bench_write) and latency_writer (bench_latency's writers traced with
# LTTng-UST, for bench/lttng/live_latency.py) into build/bench/lttng/.
# Needs liblttng-ust-dev; kept out of the CMake build so that CI and the
# library never depend on lttng-ust.
# The tracepoint provider (tp.c) is linked statically into the program, as
# the lttng-ust documentation describes.  Same flags as the CMake bench
# targets: -O2 -g.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${BENCH_LTTNG_OUT:-$root/build/bench/lttng}
cc=${CC:-gcc}
cflags="-std=gnu11 -O2 -g -Wall -Wextra -pthread -I$here"

mkdir -p "$out"
$cc $cflags -c "$here/tp.c" -o "$out/tp.o"
$cc $cflags -c "$here/latency_writer.c" -o "$out/latency_writer.o"
$cc -pthread -o "$out/latency_writer" "$out/latency_writer.o" "$out/tp.o" -llttng-ust -ldl
$cc $cflags -c "$here/bench_lttng.c" -o "$out/bench_lttng.o"
$cc -pthread -o "$out/bench_lttng" "$out/bench_lttng.o" "$out/tp.o" -llttng-ust -ldl
# The last line is bench_lttng's path (run.sh reads it); latency_writer is
# next to it.
echo "$out/bench_lttng"
