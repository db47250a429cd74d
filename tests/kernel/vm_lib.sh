# SPDX-License-Identifier: MIT
#
# vm_lib.sh - the pieces that boot grb's kernel modules under qemu, sourced
# by tests/kernel/run_vm.sh (the test kernel_vm) and bench/kernel.sh (the
# kernel fast path's benchmark):
#
#   vm_kernel              the newest /usr/src/linux-headers-*-amd64 (vm_kdir,
#                          vm_kver) and the kernel image of that version,
#                          downloaded with `apt-get download` and unpacked
#                          with `dpkg -x` into $vm_work/image (vm_vmlinuz),
#                          never installed
#   vm_modules             the modules of kernel/Makefile, built against it
#                          into $vm_work/modules (log: $vm_work/build.log)
#   vm_root_init           $vm_root ($vm_work/initramfs): a static busybox
#                          and the directories /init needs
#   vm_add_program PATH    a program into $vm_root/bin with the shared
#                          libraries ldd lists (the loader too)
#   vm_add_virtio          virtio_blk and the modules it needs, from the
#                          kernel package, into $vm_root/virtio; their names,
#                          in the order they load, in vm_virtio_names
#   vm_pack                $vm_root into $vm_work/initramfs.cpio.gz, with
#                          /dev/console
#   vm_boot SECONDS LOG [QEMU ARGS...]
#                          boots it under qemu-system-x86_64 -accel tcg
#                          -smp 2 (software emulation), the serial console
#                          into LOG (and LOG.txt without the carriage
#                          returns), under timeout; qemu's exit status in
#                          vm_qrc (124: the guest did not power off in time)
#
# The caller sets vm_name (the word its messages start with), vm_src (the
# source tree) and vm_work (an existing directory, absolute), and runs
# under `set -eu`.  A failure
# prints "$vm_name: FAIL: ..." and exits 1; what cannot be done without
# root exits 77 (skipped).  Nothing is ever loaded into the running kernel.

vm_fail() {
	echo "$vm_name: FAIL: $*"
	exit 1
}

vm_kernel() {
	# The headers the metapackage points to (the newest, when several).
	vm_kdir=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)
	[ -n "$vm_kdir" ] && [ -f "$vm_kdir/Makefile" ] ||
		vm_fail "no /usr/src/linux-headers-*-amd64"
	vm_kver=${vm_kdir#/usr/src/linux-headers-}
	# The kernel image of that version: downloaded and unpacked once per
	# work directory.
	vm_vmlinuz=$vm_work/image/boot/vmlinuz-$vm_kver
	[ ! -f "$vm_vmlinuz" ] || return 0
	rm -rf "$vm_work/image" "$vm_work/deb"
	mkdir -p "$vm_work/deb"
	# The headers' own version, else (the archive moved on) the one apt
	# has: both are the same kernel ABI, which the name says.
	_vm_hver=$(dpkg-query -W -f='${Version}' "linux-headers-$vm_kver" 2>/dev/null || true)
	if ! (cd "$vm_work/deb" && { { [ -n "$_vm_hver" ] &&
		apt-get download "linux-image-$vm_kver=$_vm_hver"; } ||
		apt-get download "linux-image-$vm_kver"; }); then
		if [ "$(id -u)" -ne 0 ]; then
			echo "$vm_name: SKIP: cannot download linux-image-$vm_kver (not root)"
			exit 77
		fi
		vm_fail "apt-get download linux-image-$vm_kver failed"
	fi
	dpkg -x "$vm_work"/deb/linux-image-"$vm_kver"_*.deb "$vm_work/image"
	rm -rf "$vm_work/deb"
	[ -f "$vm_vmlinuz" ] || vm_fail "no $vm_vmlinuz in the package"
}

vm_modules() {
	make -s -C "$vm_src/kernel" KDIR="$vm_kdir" OUT="$vm_work/modules" \
		>"$vm_work/build.log" 2>&1 || {
		cat "$vm_work/build.log"
		vm_fail "the modules did not build against $vm_kdir"
	}
}

vm_root_init() {
	vm_root=$vm_work/initramfs
	rm -rf "$vm_root"
	mkdir -p "$vm_root/bin" "$vm_root/dev" "$vm_root/proc" "$vm_root/sys" "$vm_root/tmp"
	cp /bin/busybox "$vm_root/bin/busybox"
}

vm_add_program() { # path
	cp "$1" "$vm_root/bin/"
	ldd "$1" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p' |
		while read -r lib; do
			mkdir -p "$vm_root$(dirname "$lib")"
			cp -L "$lib" "$vm_root$lib"
		done
}

vm_add_virtio() {
	_vm_mods=$vm_work/image/lib/modules/$vm_kver/kernel/drivers
	_vm_virtio="virtio/virtio_ring virtio/virtio virtio/virtio_pci_modern_dev
		virtio/virtio_pci_legacy_dev virtio/virtio_pci block/virtio_blk"
	mkdir -p "$vm_root/virtio"
	vm_virtio_names=
	for _vm_m in $_vm_virtio; do
		[ -f "$_vm_mods/$_vm_m.ko" ] || vm_fail "no $_vm_m.ko in the kernel package"
		cp "$_vm_mods/$_vm_m.ko" "$vm_root/virtio/"
		vm_virtio_names="$vm_virtio_names${_vm_m##*/} "
	done
}

# /dev/console must be in the archive (/init has no console otherwise): a
# character device 5:1, written as an archive of its own in cpio's "newc"
# format (the kernel unpacks archives one after the other), so that no
# mknod -- root -- is needed.
_vm_newc() { # name mode rdevmajor rdevminor
	_vm_n=$((${#1} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
		1 "$2" 0 0 1 0 0 0 0 "$3" "$4" "$_vm_n" 0 "$1"
	# The header (110 bytes) and the name, padded to 4 bytes.
	_vm_pad=$(((4 - (110 + _vm_n) % 4) % 4))
	[ "$_vm_pad" -eq 0 ] || head -c "$_vm_pad" /dev/zero
}

vm_pack() {
	chmod 755 "$vm_root/init"
	(
		cd "$vm_root"
		find . | sort | cpio -o -H newc --owner=0:0 --quiet
		_vm_newc dev/console $((0020600)) 5 1
		_vm_newc TRAILER!!! 0 0 0
	) | gzip -1 >"$vm_work/initramfs.cpio.gz"
}

# no_timer_check: on a loaded host, emulated time can lag enough for the
# kernel's early test of the timer interrupt to fail, and it panics
# ("IO-APIC + timer doesn't work"); that test is about real hardware.  A
# WARN, an oops or a panic ends qemu at once.  VM_APPEND adds to the
# kernel's command line.
vm_boot() { # seconds log [qemu args...]
	_vm_timeout=$1 _vm_log=$2
	shift 2
	set +e
	timeout "$_vm_timeout" qemu-system-x86_64 -accel tcg -m "${VM_MEM:-512}" -smp 2 \
		-kernel "$vm_vmlinuz" -initrd "$vm_work/initramfs.cpio.gz" "$@" \
		-append "console=ttyS0 quiet panic=-1 oops=panic panic_on_warn=1 no_timer_check${VM_APPEND:+ $VM_APPEND}" \
		-nographic -no-reboot </dev/null >"$_vm_log" 2>&1
	vm_qrc=$?
	set -e
	tr -d '\r' <"$_vm_log" >"$_vm_log.txt"
}
