#!/bin/bash
# SPDX-License-Identifier: MIT
#
# bench/kernel.sh - the cost per event of the kernel's write fast path,
# beside user space's in the same VM (doc/kernel.md, "Cost";
# bench/RESULTS.md, "The kernel fast path").
#
# It builds grb.ko and grb_bench.ko (kernel/Makefile, against Debian's
# headers) and bench_write (CMake), packs them into a busybox initramfs with
# tests/kernel/vm_lib.sh, and boots Debian's kernel of the headers' version
# under qemu with software emulation (TCG, 2 CPUs) BOOTS times.  In each
# boot /init loads grb.ko, then REPS times, for every case, runs the two
# sides back to back:
#
#   kernel  insmod grb_bench.ko (one run of EVENTS events: a writer kthread
#           bound to CPU 0, preemption disabled from reserve to commit, per-CPU
#           streams with the kernel's per-CPU sync, local atomics; a reader
#           kthread on CPU 1 draining the streams, or none), then rmmod
#   user    bench_write --case percpu-rseq-discard --threads 1 --runs 1 (the
#           same: one writer thread pinned to CPU 0, per-CPU streams with
#           the per-CPU sync, restartable sequences here; a consumer thread
#           pinned to CPU 1, or --no-consumer), the same payload, clock,
#           geometry (32 x 256 KiB sub-buffers a stream), warm-up (one
#           ring's worth) and event count
#
# A case is (sync, clock, reader, payload): the per-CPU sync (above) and the
# atomic sync (sync=atomic against percpu-atomic-discard: lock-prefixed
# atomics in both worlds, so that only the environment differs); the clocks
# tsc (rdtsc_ordered() in the kernel, lfence; rdtsc in user space) and mono
# (ktime_get_mono_fast_ns(), and CLOCK_MONOTONIC through the vDSO); with a
# concurrent reader and without.  Absolute figures under emulation mean
# little; the ratio kernel / user of the same boot is the result.
#
# Each side checks its accounting (delivered + lost == written, every failed
# reservation counted): the module prints no figure otherwise
# (KBENCH_FAIL), bench_write says accounting=FAIL; either fails the script.
# The table (bench/kernel_table.py): per case, the median kernel and user
# ns/event over every repetition of every boot, their ratio, the range of
# the per-boot ratios and the median of the pairs' ratios; then bench/insn_count.py's instructions per event of
# both loops, from grb_bench.ko's and bench_write's machine code.
#
#	bench/kernel.sh                  # 5 boots, about 6 minutes on 2 loaded CPUs
#	bench/kernel.sh --boots 1 --reps 1 --events 50000 --clocks tsc --readers 1
#	                                 # a minute: that it runs, not a measurement
#	make bench-kernel                # BENCH_ARGS='--boots 5'
#
# Options: --boots K (5), --reps R (5), --events N (1,000,000), --payloads
# "16" (any of 8 16 64 256), --clocks "tsc mono", --readers "1 0", --syncs
# "percpu atomic", --build-dir DIR (build), --out DIR (build/bench-kernel),
# --timeout S per boot (900), --no-build (take bench_write as it is),
# --clocksource tsc|default (the guest's: tsc, with tsc=reliable, by
# default; default leaves the kernel's choice, the HPET under TCG).
#
# Needs linux-headers-amd64 busybox-static qemu-system-x86 cpio python3 and
# binutils (installed as root when missing, as the kernel test does), and
# the kernel image of the headers' version, which vm_lib.sh downloads with
# `apt-get download` (root, once per output directory) and unpacks with dpkg
# -x, never installing it.  Nothing is loaded into the running kernel.
# Output: OUT/summary.txt (the machine, the table, the instruction counts),
# OUT/runs.tsv (every run of both sides), OUT/boot-K.log (each console),
# OUT/insn.txt.  Exit status 1 if a boot or an accounting check failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)

boots=5
reps=5
events=1000000
payloads="16"
clocks="tsc mono"
readers="1 0"
syncs="percpu atomic"
build_dir=build
out=
timeout_s=900
do_build=yes
clocksource=tsc

usage() {
	sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--boots) boots=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--events) events=$2; shift 2 ;;
	--payloads) payloads=$2; shift 2 ;;
	--clocks) clocks=$2; shift 2 ;;
	--readers) readers=$2; shift 2 ;;
	--syncs) syncs=$2; shift 2 ;;
	--build-dir) build_dir=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--no-build) do_build=no; shift ;;
	--clocksource) clocksource=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) echo "kernel.sh: unknown option '$1'" >&2; usage 2 >&2 ;;
	esac
done
for v in "$boots" "$reps" "$events" "$timeout_s"; do
	case $v in '' | *[!0-9]*) echo "kernel.sh: not a number: '$v'" >&2; exit 2 ;; esac
done
for p in $payloads; do
	case $p in 8 | 16 | 64 | 256) ;; *) echo "kernel.sh: payload $p: 8, 16, 64 or 256" >&2; exit 2 ;; esac
done
for c in $clocks; do
	case $c in tsc | mono) ;; *) echo "kernel.sh: clock $c: tsc or mono" >&2; exit 2 ;; esac
done
for r in $readers; do
	case $r in 0 | 1) ;; *) echo "kernel.sh: reader $r: 1 or 0" >&2; exit 2 ;; esac
done
case $clocksource in tsc | default) ;; *) echo "kernel.sh: --clocksource tsc or default" >&2; exit 2 ;; esac
for s in $syncs; do
	case $s in percpu | atomic) ;; *) echo "kernel.sh: sync $s: percpu or atomic" >&2; exit 2 ;; esac
done

cd "$src"
case $build_dir in /*) ;; *) build_dir=$src/$build_dir ;; esac
out=${out:-$build_dir/bench-kernel}
mkdir -p "$out"
out=$(cd "$out" && pwd)

[ "$(uname -m)" = x86_64 ] || { echo "kernel.sh: x86-64 only" >&2; exit 1; }
# shellcheck source=cmake/test_tools.sh
. "$src/cmake/test_tools.sh"
grb_need linux-headers-amd64 busybox-static qemu-system-x86 cpio python3 binutils

# bench_write, as the suite builds it.
if [ "$do_build" = yes ]; then
	[ -f "$build_dir/CMakeCache.txt" ] || cmake -S "$src" -B "$build_dir" >/dev/null
	cmake --build "$build_dir" -j"${JOBS:-2}" --target bench_bench_write >/dev/null
fi
bench_write=$build_dir/bench/bench_write
[ -x "$bench_write" ] || { echo "kernel.sh: no $bench_write (build it, or drop --no-build)" >&2; exit 1; }

# The kernel image, the modules and the initramfs (vm_lib.sh).
# shellcheck source=tests/kernel/vm_lib.sh
. "$src/tests/kernel/vm_lib.sh"
vm_name=kernel.sh vm_src=$src vm_work=$out/vm
mkdir -p "$vm_work"
vm_kernel
vm_modules
vm_root_init
cp "$vm_work/modules/grb.ko" "$vm_work/modules/grb_bench.ko" "$vm_root/"
vm_add_program "$bench_write"

# /init: each pair of runs, kernel then user, behind a marker line.
{
	cat <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "kbench-vm: booted, \$(grep -c ^processor /proc/cpuinfo) CPUs, kernel \$(uname -r)"
echo "kbench-vm: guest CPU: \$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
echo "kbench-vm: clocksource: \$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
insmod /grb.ko || echo "kbench-vm: FAIL: insmod grb"
EOF
	for rep in $(seq 1 "$reps"); do
		for sync in $syncs; do
			case $sync in
			percpu) ucase=percpu-rseq-discard ;;
			atomic) ucase=percpu-atomic-discard ;;
			esac
			for payload in $payloads; do
				for clock in $clocks; do
					for reader in $readers; do
						consumer=
						[ "$reader" = 1 ] || consumer=--no-consumer
						cat <<EOF
echo "kbench-pair: rep=$rep sync=$sync clock=$clock payload=$payload reader=$reader"
dmesg -c >/dev/null
insmod /grb_bench.ko events=$events runs=1 payload=$payload clock=$clock sync=$sync mode=discard reader=$reader
dmesg | sed -n 's/.*\(grb_bench: KBENCH\)/\1/p'
grep -q '^grb_bench ' /proc/modules && rmmod grb_bench
/bin/bench_write --case $ucase --clock $clock --payload $payload --threads 1 --runs 1 --events $events $consumer >/tmp/user.log 2>&1
echo "kbench-user: exit \$?"
grep -E '^(SUMMARY bench=write case|FALLBACK|HANG|ERROR)' /tmp/user.log
EOF
					done
				done
			done
		done
	done
	cat <<EOF
rmmod grb
dmesg | grep 'grb: unload'
echo "kbench-vm: done"
poweroff -f
EOF
} >"$vm_root/init"
vm_pack

# The guest's clocksource: the TSC, as on the host (and on most machines),
# so that both sides' mono clock reads the counter (user space through the
# vDSO); the emulated CPU has no invariant TSC, and left to itself the
# guest takes the HPET, whose every read is an emulated device access that
# user space makes through a system call.
if [ "$clocksource" = tsc ]; then
	VM_APPEND="${VM_APPEND:+$VM_APPEND }tsc=reliable clocksource=tsc"
fi
host_cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
qemu_version=$(qemu-system-x86_64 --version | head -n 1)
fail=0
logs=()
start=$(date +%s)
for b in $(seq 1 "$boots"); do
	log=$out/boot-$b.log
	t0=$(date +%s)
	vm_boot "$timeout_s" "$log"
	t1=$(date +%s)
	echo "kernel.sh: boot $b/$boots: $((t1 - t0)) s, qemu exit $vm_qrc"
	if [ "$vm_qrc" -ne 0 ] || ! grep -q 'kbench-vm: done' "$log.txt"; then
		echo "kernel.sh: FAIL: boot $b did not finish (qemu exit $vm_qrc; $log)"
		grep -E 'Kernel panic|BUG: |WARNING: |Oops' "$log.txt" | head -n 5 || true
		fail=1
	fi
	logs+=("$log.txt")
done
end=$(date +%s)

# Instructions per event, from the machine code of both loops.
: >"$out/insn.txt"
for sync in $syncs; do
	case $sync in
	percpu) kid=local ucase=percpu-rseq-discard ;;
	atomic) kid=atomic ucase=percpu-atomic-discard ;;
	esac
	for payload in $payloads; do
		for clock in $clocks; do
			{
				printf 'kernel sync=%s clock=%s payload=%s ' "$sync" "$clock" "$payload"
				python3 "$here/insn_count.py" "$vm_work/modules/grb_bench.ko" \
					--function "loop_${kid}_discard_${clock}_${payload}" 2>&1 | tr '\n' ' ' || true
				echo
				printf 'user sync=%s clock=%s payload=%s ' "$sync" "$clock" "$payload"
				python3 "$here/insn_count.py" "$bench_write" --case "$ucase" \
					--clock "$clock" --payload "$payload" 2>&1 | tr '\n' ' ' || true
				echo
			} >>"$out/insn.txt"
		done
	done
done

# pipefail: the table's exit status.
if ! {
	echo "kernel.sh: $(date -u +%Y-%m-%dT%H:%M:%SZ), grb $(git -C "$src" describe --always --dirty 2>/dev/null || echo '?')"
	echo "kernel.sh: host CPU $host_cpu, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "kernel.sh: $qemu_version, -accel tcg -smp 2 -m ${VM_MEM:-512}; guest kernel $vm_kver"
	echo "kernel.sh: $boots boots x $reps repetitions, $events events a run, $((end - start)) s of boots"
	python3 "$here/kernel_table.py" --tsv "$out/runs.tsv" --insn "$out/insn.txt" "${logs[@]}" 2>&1
} | tee "$out/summary.txt"; then
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	echo "kernel.sh: FAIL (consoles: $out/boot-*.log)"
	exit 1
fi
echo "kernel.sh: done: $out/summary.txt"
