#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/lttng/build.sh - build bench_lttng (the LTTng-UST peer of
# bench_write), latency_writer (bench_latency's writers traced with
# LTTng-UST, for bench/lttng/live_latency.py) and relay_writer (the
# workload of bench/relay.sh, bench/relay_writer.c with this provider)
# into build/bench/lttng/.
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
$cc $cflags -DRELAY_WRITER_LTTNG -c "$here/../relay_writer.c" -o "$out/relay_writer.o"
$cc -pthread -o "$out/relay_writer" "$out/relay_writer.o" "$out/tp.o" -llttng-ust -ldl
$cc $cflags -c "$here/bench_lttng.c" -o "$out/bench_lttng.o"
$cc -pthread -o "$out/bench_lttng" "$out/bench_lttng.o" "$out/tp.o" -llttng-ust -ldl
# The last line is bench_lttng's path (run.sh reads it); latency_writer and
# relay_writer are next to it.
echo "$out/bench_lttng"
