#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tool_record.sh GRB WORKDIR CLOCK MODE - the main job end to end: `grb record`
# writes a trace, babeltrace2 reads it; the count babeltrace2 prints must be
# the one the tool reports, the sum of its discarded-event warnings the
# tool's losses (but overwrite), and the first event's wall time within a
# minute of now (the clock's metadata places it on the Unix time line).
# Without babeltrace2: installed as root, else skipped (exit 77), by
# grb_need (cmake/test_tools.sh).
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"
grb=$1 work=$2 clock=$3 mode=$4
grb_need babeltrace2
rm -rf "$work"
mkdir -p "$work"
out=$("$grb" record -o "$work/trace" --duration 0.2 --threads 2 --clock "$clock" --mode "$mode")
echo "$out" | tail -4
want=$(echo "$out" | sed -n 's/^\([0-9,]*\) events recorded.*/\1/p' | tr -d ,)
lost=$(echo "$out" | sed -n 's/^total .*//p' >/dev/null; echo "$out" | awk '$1 == "total" { print $5 + $7 + $8 + $9 + $10 }')
babeltrace2 --clock-seconds "$work/trace" >"$work/events.txt" 2>"$work/warnings.txt"
got=$(wc -l <"$work/events.txt")
disc=$(sed -n 's/.*Tracer discarded \([0-9]*\) events\{0,1\}.*/\1/p' "$work/warnings.txt" | awk '{ s += $1 } END { print s + 0 }')
first=$(head -1 "$work/events.txt" | sed -n 's/^\[\([0-9]*\)\..*/\1/p')
now=$(date +%s)
echo "tool_record: clock=$clock mode=$mode tool=$want babeltrace2=$got lost=$lost discarded=$disc first=$first now=$now"
[ -n "$want" ] && [ "$want" -gt 0 ] || { echo "tool_record: the tool reported no event count"; exit 1; }
[ "$got" -eq "$want" ] || { echo "tool_record: babeltrace2 read $got events, the tool wrote $want"; exit 1; }
[ "$disc" -eq "$lost" ] || { echo "tool_record: babeltrace2 reports $disc discarded, the tool $lost"; exit 1; }
[ -n "$first" ] && [ $((now - first)) -lt 60 ] && [ $((first - now)) -lt 60 ] ||
	{ echo "tool_record: first event at $first s, now is $now s"; exit 1; }
echo "tool_record: ok"
