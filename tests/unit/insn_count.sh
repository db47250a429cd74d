#!/bin/sh
# SPDX-License-Identifier: MIT
#
# insn_count.sh SCRIPT BENCH_WRITE - check bench/insn_count.py on the built
# bench_write (x86-64):
#
# 1. it counts every write and floor case of `bench_write --list-loops`
#    (every sync, both clocks, every payload, the per-CPU rseq cases
#    included) and fails on none;
# 2. its count agrees with callgrind, for the cases valgrind can run (no
#    rseq): per-thread single writer and global atomic, tsc clock, 16-byte
#    payload.  Instruction by instruction: the instructions of the loop's
#    function that callgrind saw run for at least half of the events are the
#    instructions of the script's path, no more, no fewer.  In total: the
#    script's count is within 0.5 of callgrind's Ir(3N) - Ir(N) over 2N
#    events.  Callgrind's figure also carries, amortized, the paths the
#    script leaves out: a packet switch every 43,690 events (1 MiB
#    sub-buffers of 24-byte records) adds 0.02 per event, and the program's
#    own waiting loops vary by a few thousand instructions between two runs
#    (0.03 per event); a branch the script decided wrong changes the count by
#    at least one whole instruction per event, and the instruction check
#    catches it even when the two ways are as long.
#
# valgrind and objdump: installed as root, else the test is skipped (exit
# 77) by grb_need.  Valgrind 3.19 cannot read clang 14's DWARF 5, so it
# runs a copy of bench_write without its debugging information.
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"
script=$1 bench=$2
[ "$(uname -m)" = x86_64 ] || { echo "insn_count: x86-64 only: skipped"; exit 77; }
grb_need binutils python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# 1. Every case.
python3 "$script" "$bench" >"$dir/all.txt" || {
	cat "$dir/all.txt"
	echo "insn_count: FAIL: the script failed on some case (INSN_FAIL above)"
	exit 1
}
want=$("$bench" --list-loops | grep -c 'kind=\(write\|floor\|floor-bare\|empty\) ')
got=$(grep -c '^INSN ' "$dir/all.txt")
rseq=$(grep -c '^INSN case=percpu-rseq-.* insn=[1-9]' "$dir/all.txt" || true)
if [ "$got" -ne "$want" ] || [ "$rseq" -eq 0 ]; then
	cat "$dir/all.txt"
	echo "insn_count: FAIL: $got counts for $want loops, $rseq of them per-CPU rseq"
	exit 1
fi
echo "insn_count: $got loops counted, $rseq per-CPU rseq; e.g."
grep '^INSN case=percpu-rseq-discard .*clock=tsc payload=16 ' "$dir/all.txt"

# 2. Against callgrind.
grb_need valgrind
objcopy --strip-debug "$bench" "$dir/bench_write"
n=20000
fail=0
for case in perthread-single-discard global-atomic-discard; do
	python3 "$script" "$dir/bench_write" --case $case --clock tsc --payload 16 --path \
		>"$dir/path.txt"
	for m in $n $((3 * n)); do
		valgrind --tool=callgrind --dump-instr=yes --dump-line=no --compress-strings=no \
			--compress-pos=no --callgrind-out-file="$dir/cg.$m" \
			"$dir/bench_write" --case $case --clock tsc --payload 16 --threads 1 \
			--events "$m" --runs 1 --no-consumer --warmup 0 --subbuf-size 1048576 \
			--subbufs 4 >"$dir/run.$m" 2>&1 || {
			cat "$dir/run.$m"
			echo "insn_count: FAIL: bench_write under callgrind"
			exit 1
		}
		if ! grep -q 'accounting=ok' "$dir/run.$m" || ! grep -q ' lost=0 ' "$dir/run.$m"; then
			cat "$dir/run.$m"
			echo "insn_count: FAIL: events lost under callgrind: not the common path"
			exit 1
		fi
	done
	python3 - "$dir/path.txt" "$dir/cg.$n" "$dir/cg.$((3 * n))" $n "$dir/bench_write" <<'EOF' ||
import re
import subprocess
import sys

path_file, out_n, out_3n, n, bench = sys.argv[1:6]
n = int(n)
lines = open(path_file).read().splitlines()
head = dict(w.split("=", 1) for w in lines[0].split()[1:] if "=" in w)
fn, insn = head["function"], int(head["insn"])
path = {int(m.group(1), 16) for m in (re.match(r"^\s+([0-9a-f]+):", l) for l in lines[1:])
        if m}
entry = [int(l.split()[0], 16) for l in
         subprocess.run(["nm", bench], capture_output=True, text=True).stdout.splitlines()
         if l.split()[-1:] == [fn]][0]


def load(out):
    """callgrind's total Ir, and fn's Ir per instruction (from fn's entry)."""
    per, cur, after_call, total = {}, None, False, None
    for l in open(out):
        l = l.rstrip("\n")
        if l.startswith("fn="):
            cur = l[3:]
        elif l.startswith("calls="):
            after_call = True  # the next cost line is the call's inclusive cost
        elif l.startswith("summary:"):
            total = int(l.split()[1])
        elif l.startswith("0x"):
            if after_call:
                after_call = False
            elif cur == fn:
                a, c = l.split()
                per[int(a, 16)] = per.get(int(a, 16), 0) + int(c)
    base = min(per) if per else 0  # the entry runs once: the lowest address
    return total, {a - base + entry: c for a, c in per.items()}


ir_n, _ = load(out_n)
ir_3n, per = load(out_3n)
cg = (ir_3n - ir_n) / (2.0 * n)
print(f"insn_count: {fn}: script {insn} instructions/event, callgrind {cg:.2f} "
      f"(Ir {ir_3n} - {ir_n} over {2 * n} events)")
hot = {a for a, c in per.items() if c >= 1.5 * n}
ok = True
if hot != path:
    print(f"insn_count: FAIL: {fn}: only in callgrind's hot instructions: "
          f"{sorted(hex(a) for a in hot - path)}; only on the script's path: "
          f"{sorted(hex(a) for a in path - hot)}")
    ok = False
else:
    print(f"insn_count: {fn}: the {len(hot)} instructions callgrind ran for every event "
          "are the script's path")
if abs(cg - insn) > 0.5:
    print(f"insn_count: FAIL: {fn}: the counts differ by {cg - insn:+.2f}")
    ok = False
sys.exit(0 if ok else 1)
EOF
		fail=1
done
exit $fail
