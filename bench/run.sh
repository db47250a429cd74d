#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/run.sh - configure and build the benchmarks (optimised, into build/),
# then run bench_write with the given arguments, e.g.
#
#	bench/run.sh                 # full run (2,000,000 events x 5 runs per case)
#	bench/run.sh --quick         # 300,000 events per case
#	bench/run.sh --case global-atomic-discard --clock tsc --threads 1
#
# GRB_BUILD_TYPE selects Release or RelWithDebInfo (the default; the bench
# executables are always compiled with -O2, this applies to the library).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build_type=${GRB_BUILD_TYPE:-RelWithDebInfo}

case "$build_type" in
Release | RelWithDebInfo) ;;
*)
	echo "run.sh: GRB_BUILD_TYPE must be Release or RelWithDebInfo" >&2
	exit 2
	;;
esac

cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE="$build_type" \
	-DGRB_BUILD_BENCH=ON -DGRB_SANITIZE= >/dev/null
cmake --build "$root/build" -j2 --target bench_bench_write >/dev/null
exec "$root/build/bench/bench_write" "$@"
