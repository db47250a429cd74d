#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run_vm.sh SOURCE_DIR WORK_DIR KDEV_CHECK GRB - the kernel test (CTest
# label kernel): builds grb.ko, grb_sched.ko, grb_selftest.ko,
# grb_devtest.ko and grb_bench.ko against Debian's kernel headers, boots
# Debian's matching kernel under qemu with software emulation (TCG, 2
# CPUs) on a busybox initramfs whose /init loads them, runs KDEV_CHECK
# (kdev_check, built by CMake: /dev/grb read from user space) and `GRB
# record --kernel` (the grb tool: sched_switch into a CTF trace for 3 s,
# then into a trace.dat until SIGTERM, while shell loops keep both CPUs
# switching), and checks what they printed on the serial console
# (doc/kernel.md):
#
#   grb_selftest: discard: ...: PASS       exact accounting, discard mode
#   grb_selftest: overwrite: ...: PASS     the same, overwrite mode
#   grb_selftest: atomic: ...: PASS        discard mode, the atomic sync
#   grb_selftest: wake-up: ...: PASS       a delivery wakes a sleeping reader
#   grb_selftest: memory: ...: PASS        the test freed what it allocated
#   grb_selftest: result: PASS
#   grb_bench: KBENCH ... accounting=ok    the benchmark module, tiny runs
#                                          (both syncs, with and without a
#                                          reader): its line parses and its
#                                          accounting holds; no timing judged
#   kdev_check: PASS: ...                  the device: mappings, poll, a
#                                          consumer's records, the module
#                                          removed under its mappings
#   total: N written = N on disk + 0 lost ...: exact   grb record's summaries
#   total: N written = N in .../trace.dat + 0 overwritten ...: exact
#   grb: unload: ...: clean                rmmod grb: every allocation freed
#
# The trace leaves the guest as a tar archive written raw on a virtio disk
# (virtio_blk and what it needs, from the kernel package's modules); the
# host unpacks it and check_sched.py reads the CTF trace with babeltrace2
# and the trace.dat with trace-cmd report: sched_switch events from both
# CPUs, each CPU's chain of tasks unbroken (an event's next_tid is the
# following event's prev_tid), timestamps that never go back per stream,
# as many events as the summary says on disk, and the shell loops' tasks
# among them with the states they must have.
#
# Nothing is ever loaded into the running kernel.  A WARN, an oops or a
# panic in the guest ends qemu at once (panic_on_warn, oops=panic,
# panic=-1, -no-reboot); a hang ends at the timeout (GRB_VM_TIMEOUT
# seconds, default 240).
#
# Needs linux-headers-amd64, busybox-static, qemu-system-x86, cpio,
# babeltrace2 and python3 (installed as root by grb_need, else the test
# is skipped: exit 77) and
# the kernel image of the headers' version, which it downloads with
# `apt-get download` and unpacks with `dpkg -x` into WORK_DIR, never
# installing it.  x86-64 only.  The programs run in the guest go into the
# initramfs with the shared libraries ldd lists.  The image, the build,
# the initramfs and the boot are tests/kernel/vm_lib.sh's, which
# bench/kernel.sh shares.
#
# GRB_VM_RECORDS: records per writer kthread and mode (the module's
# default otherwise).  The serial console is kept in WORK_DIR/console.log.
set -eu
src=${1:?usage: run_vm.sh SOURCE_DIR WORK_DIR}
work=${2:?usage: run_vm.sh SOURCE_DIR WORK_DIR KDEV_CHECK GRB}
kdev_check=${3:?usage: run_vm.sh SOURCE_DIR WORK_DIR KDEV_CHECK GRB}
grb=${4:?usage: run_vm.sh SOURCE_DIR WORK_DIR KDEV_CHECK GRB}
# shellcheck source=cmake/test_tools.sh
. "$src/cmake/test_tools.sh"

[ "$(uname -m)" = x86_64 ] || { echo "kernel_vm: x86-64 only: skipped"; exit 77; }
grb_need linux-headers-amd64 busybox-static qemu-system-x86 cpio babeltrace2 python3 trace-cmd \
	lttng-tools

start=$(date +%s)
mkdir -p "$work"
work=$(cd "$work" && pwd)
# shellcheck source=tests/kernel/vm_lib.sh
. "$src/tests/kernel/vm_lib.sh"
vm_name=kernel_vm vm_src=$src vm_work=$work

# The headers and the kernel image of their version.
vm_kernel
kver=$vm_kver
ready=$(date +%s)

# The modules, in WORK_DIR/modules.
vm_modules
built=$(date +%s)

# The initramfs: a static busybox, the modules, the programs with their
# libraries, and /init.
vm_root_init
root=$vm_root
cp "$work/modules/grb.ko" "$work/modules/grb_selftest.ko" "$work/modules/grb_devtest.ko" \
	"$work/modules/grb_sched.ko" "$work/modules/grb_bench.ko" "$root/"
# The virtio disk the trace leaves on: its driver and what it needs, in
# the order they load.
vm_add_virtio
virtio_names=$vm_virtio_names
# The network the CTF recording streams to the host's relay on: qemu's
# user networking (the host's 127.0.0.1 is 10.0.2.2 to the guest) and the
# virtio network driver with what it needs, in the order they load.
net_names=
for m in net/core/failover drivers/net/net_failover drivers/net/virtio_net; do
	f=$work/image/lib/modules/$kver/kernel/$m.ko
	[ -f "$f" ] || vm_fail "no $m.ko in the kernel package"
	cp "$f" "$root/virtio/"
	net_names="$net_names${m##*/} "
done
vm_add_program "$kdev_check"
vm_add_program "$grb"
# Seconds of grb record --kernel.
rec_s=${GRB_VM_RECORD_S:-3}
# The relay the CTF recording streams to as host grbvm, on the host.
# shellcheck source=tests/interop/relayd.sh
. "$src/tests/interop/relayd.sh"
trap relayd_stop EXIT
relayd_start "$work" || vm_fail "no free ports for lttng-relayd"
echo "kernel_vm: lttng-relayd $relayd_pid on ports $cport $dport $lport"
params=""
if [ -n "${GRB_VM_RECORDS-}" ]; then
	params="records=$GRB_VM_RECORDS"
fi
cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "grb-vm: booted, \$(grep -c ^processor /proc/cpuinfo) CPUs, \$(uname -r)"
insmod /grb.ko
echo "grb-vm: insmod grb: \$?"
insmod /grb_selftest.ko $params
echo "grb-vm: insmod grb_selftest: \$?"
grep -q '^grb_selftest ' /proc/modules && rmmod grb_selftest
# The benchmark module on rings of 4 x 4 KiB that overflow: its lines and
# their accounting (bench/kernel.sh times it; nothing is timed here).
insmod /grb_bench.ko events=20000 subbuf_size=4096 subbuf_count=4 clock=tsc sync=percpu reader=1
echo "grb-vm: insmod grb_bench: \$?"
grep -q '^grb_bench ' /proc/modules && rmmod grb_bench
insmod /grb_bench.ko events=20000 subbuf_size=4096 subbuf_count=4 clock=mono sync=atomic reader=0
echo "grb-vm: insmod grb_bench: \$?"
grep -q '^grb_bench ' /proc/modules && rmmod grb_bench
insmod /grb_devtest.ko
echo "grb-vm: insmod grb_devtest: \$?"
/bin/kdev_check --unload grb_devtest
echo "grb-vm: kdev_check: \$?"
grep -q '^grb_devtest ' /proc/modules && rmmod grb_devtest
insmod /grb_sched.ko
echo "grb-vm: insmod grb_sched: \$?"
# Tasks that keep both CPUs switching: two that spin (preempted at each
# tick) and two that sleep 1 ms at a time.
tasks=
for i in 1 2; do (while :; do :; done) & tasks="\$tasks \$!"; done
for i in 1 2; do (while :; do usleep 1000; done) & tasks="\$tasks \$!"; done
echo "grb-vm: tasks:\$tasks"
for m in $virtio_names $net_names; do insmod /virtio/\$m.ko || echo "grb-vm: insmod \$m failed"; done
ip link set lo up
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
echo "grb-vm: network: \$?"
mkdir -p /tmp/ship
/bin/grb record --kernel -o /tmp/ship/ktrace --duration $rec_s \
	--relay net://10.0.2.2:$cport:$dport --hostname grbvm --live-timer 200 >/tmp/record.log 2>&1
echo "grb-vm: grb record: \$?"
sed 's/^/grb-rec: /' /tmp/record.log
# This one ends on SIGTERM, as a service manager would stop it.
/bin/grb record --kernel --format ftrace -o /tmp/ship/trace.dat >/tmp/ftrace.log 2>&1 &
rec=\$!
sleep $rec_s
kill -TERM \$rec
wait \$rec
echo "grb-vm: grb record ftrace: \$?"
sed 's/^/grb-ftr: /' /tmp/ftrace.log
kill \$tasks
rmmod grb_sched
echo "grb-vm: rmmod grb_sched: \$?"
i=0
while [ ! -b /dev/vda ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i + 1)); done
tar cf /dev/vda -C /tmp/ship ktrace trace.dat && sync
echo "grb-vm: trace shipped: \$?"
rmmod grb
echo "grb-vm: rmmod grb: \$?"
dmesg | grep -E 'grb(_selftest|_devtest|_sched|_bench)?: '
echo "grb-vm: done"
poweroff -f
EOF
vm_pack

# Boot.  The console goes to console.log.
timeout_s=${GRB_VM_TIMEOUT:-240}
log=$work/console.log
# The disk the guest writes the trace on, as a tar archive.
disk=$work/trace.img
rm -f "$disk"
dd if=/dev/zero of="$disk" bs=1M count=0 seek=64 2>/dev/null
booted=$(date +%s)
vm_boot "$timeout_s" "$log" -drive "file=$disk,format=raw,if=virtio" \
	-nic user,model=virtio-net-pci
qrc=$vm_qrc
end=$(date +%s)

# The checks.
fail=0
need() { # pattern what
	if ! grep -Eq -- "$1" "$log.txt"; then
		echo "kernel_vm: FAIL: $2"
		fail=1
	fi
}
echo "kernel_vm: the guest's lines:"
grep -E 'grb-vm: |grb-rec: |grb-ftr: |grb_selftest: |grb_devtest: |grb_sched: |grb_bench: |kdev_check: |grb: |Kernel panic|BUG: |WARNING: |Oops' "$log.txt" |
	sed 's/^\[ *[0-9.]*\] //; s/^.*\(grb-vm: \)/\1/' | awk '!seen[$0]++' | sed 's/^/  /'
if [ "$qrc" -eq 124 ]; then
	echo "kernel_vm: FAIL: the guest did not power off within ${timeout_s} s"
	fail=1
elif [ "$qrc" -ne 0 ]; then
	echo "kernel_vm: FAIL: qemu exited with $qrc"
	fail=1
fi
if grep -Eq 'Kernel panic|BUG: |WARNING: |Oops|FAIL|LEAK' "$log.txt"; then
	echo "kernel_vm: FAIL: a panic, warning, failure or leak in the guest (console.log)"
	fail=1
fi
need 'grb-vm: insmod grb: 0' "grb.ko did not load"
need 'grb_selftest: discard: .*: PASS' "no passing discard run"
need 'grb_selftest: overwrite: .*: PASS' "no passing overwrite run"
need 'grb_selftest: atomic: .*: PASS' "no passing run with the atomic sync"
need 'grb_selftest: wake-up: .*: PASS' "no passing wake-up check"
need 'grb_selftest: memory: .*: PASS' "no passing memory check"
need 'grb_selftest: result: PASS' "the self-test did not pass"
need 'grb-vm: insmod grb_selftest: 0' "grb_selftest.ko failed to load"
need 'grb_bench: KBENCH case=percpu-local-discard clock=tsc payload=16 reader=1 .* ns_per_event=[0-9]+\.[0-9]{2} written=[0-9]+ .*accounting=ok' \
	"no grb_bench.ko line of the per-CPU sync with a reader, accounting ok"
need 'grb_bench: KBENCH case=percpu-atomic-discard clock=mono payload=16 reader=0 .* ns_per_event=[0-9]+\.[0-9]{2} written=[0-9]+ .*lost=[1-9][0-9]* .*accounting=ok' \
	"no grb_bench.ko line of the atomic sync without a reader, losses counted, accounting ok"
need 'grb-vm: insmod grb_devtest: 0' "grb_devtest.ko failed to load"
need 'kdev_check: PASS' "the device's test did not pass"
need 'grb-vm: kdev_check: 0' "kdev_check failed"
need 'grb_devtest: unload: ' "grb_devtest.ko was not removed under its consumer"
need 'grb-vm: insmod grb_sched: 0' "grb_sched.ko failed to load"
need 'grb-vm: grb record: 0' "grb record --kernel failed"
need 'grb-rec: total: .* on disk .*: exact' "grb record's summary is not exact"
need 'grb-vm: network: 0' "the guest's network did not come up"
need 'grb-rec: relay net://10.0.2.2:[0-9:]* .*: complete' "the relay did not get every packet"
need 'grb-vm: grb record ftrace: 0' "grb record --kernel --format ftrace failed"
need 'grb-ftr: interrupted \(SIGTERM\)' "grb record --kernel did not stop on SIGTERM"
need 'grb-ftr: total: .* in /tmp/ship/trace.dat .*: exact' "grb record's ftrace summary is not exact"
need 'grb-vm: rmmod grb_sched: 0' "rmmod grb_sched failed"
need 'grb-vm: trace shipped: 0' "the trace did not leave the guest"
need 'grb-vm: rmmod grb: 0' "rmmod grb failed"
need 'grb: unload: .*: clean' "grb.ko did not free everything at unload"
need 'grb-vm: done' "/init did not finish"
# The trace, read by babeltrace2.
rm -rf "$work/trace"
mkdir -p "$work/trace"
if ! tar xf "$disk" -C "$work/trace" 2>"$work/tar.log" || [ ! -f "$work/trace/ktrace/metadata" ]; then
	cat "$work/tar.log"
	echo "kernel_vm: FAIL: no trace on the guest's disk"
	fail=1
elif ! python3 "$src/tests/kernel/check_sched.py" "$work/trace/ktrace" "$log.txt"; then
	echo "kernel_vm: FAIL: the sched_switch trace (check_sched.py)"
	fail=1
fi
# The relay's copy of the CTF trace: the same events.
relayd_stop
rtrace=$(find "$work/relay/grbvm" -name metadata 2>/dev/null | head -n 1)
if [ -z "$rtrace" ]; then
	echo "kernel_vm: FAIL: no trace of host grbvm in the relay's output ($work/relay)"
	fail=1
elif ! babeltrace2 "$work/trace/ktrace" >"$work/ktrace.txt" 2>"$work/bt.err" ||
	! babeltrace2 "$(dirname "$rtrace")" >"$work/relay.txt" 2>>"$work/bt.err"; then
	cat "$work/bt.err"
	echo "kernel_vm: FAIL: babeltrace2 cannot read the local trace or the relay's"
	fail=1
elif ! cmp -s "$work/ktrace.txt" "$work/relay.txt"; then
	diff "$work/ktrace.txt" "$work/relay.txt" | head
	echo "kernel_vm: FAIL: the relay's copy holds other events than the local trace"
	fail=1
else
	echo "kernel_vm: the relay's copy: $(grep -c sched_switch "$work/relay.txt") sched_switch" \
		"events, the same as the local trace's"
fi
if [ ! -f "$work/trace/trace.dat" ]; then
	echo "kernel_vm: FAIL: no trace.dat on the guest's disk"
	fail=1
elif ! python3 "$src/tests/kernel/check_sched.py" --ftrace "$work/trace/trace.dat" "$log.txt"; then
	echo "kernel_vm: FAIL: the sched_switch trace.dat (check_sched.py --ftrace)"
	fail=1
fi
echo "kernel_vm: image $((ready - start)) s, modules $((built - ready)) s," \
	"boot and test $((end - booted)) s (kernel $kver, qemu TCG, 2 CPUs)"
if [ "$fail" -ne 0 ]; then
	echo "kernel_vm: FAIL (console: $log)"
	exit 1
fi
echo "kernel_vm: PASS"
