#!/bin/sh
# SPDX-License-Identifier: MIT
#
# specialisation.sh CC INCLUDE_DIR [CFLAGS...] - compile fastpath_tu.c and
# check its machine code (x86-64): no instruction reads the configuration
# (its address may only be taken, with lea, to hand it to a slow path); no
# client callback is called (they are inlined), and no call goes through a
# pointer or to a function of the file; the only symbols referred
# to are the library's slow paths and thread-locals, the rseq area, the
# vDSO clock and local constants (so nothing allocates or locks); and no
# system call instruction.  The rseq site has no lock-prefixed instruction,
# and its abort handlers (out of line) are only the signature and a jump.
# Without objdump: binutils is installed as root, else the test is skipped
# (exit 77), by grb_need (cmake/test_tools.sh).
set -eu
# shellcheck source=cmake/test_tools.sh
. "$(dirname "$0")/../../cmake/test_tools.sh"
cc=$1 inc=$2
shift 2
[ "$(uname -m)" = x86_64 ] || { echo "specialisation: x86-64 only: skipped"; exit 77; }
grb_need binutils
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
src=$(dirname "$0")/fastpath_tu.c
"$cc" -O2 -fPIC -std=gnu11 -I"$inc" "$@" -c "$src" -o "$dir/tu.o"
objdump -dr --no-show-raw-insn "$dir/tu.o" >"$dir/tu.dis"
fail=0
# 1. References to the configuration objects (in .data.rel.ro under -fPIC).
awk '/^ *[0-9a-f]+:\t/ { insn = $0 } /R_X86_64/ && /data\.rel\.ro/ { print insn }' \
	"$dir/tu.dis" >"$dir/cfg_refs"
if grep -v '\blea ' "$dir/cfg_refs"; then
	echo "specialisation: the instructions above read the configuration at run time"
	fail=1
fi
# 2. Symbols referred to, but in the rseq abort stubs (checked by 6).
awk '/^Disassembly of section/ { abort = ($4 == "__grb_rseq_abort:") }
	/R_X86_64/ && !abort { print $3 }' "$dir/tu.dis" | sed 's/[-+]0x[0-9a-f]*$//' |
	sort -u >"$dir/syms"
if grep -Ev '^(\.LC[0-9]+|\.data\.rel\.ro(\.local)?|__rseq_offset|__rseq_size|__grb_rseq_cs|_grb_(reserve_slow|commit_rseq_slow|deliver|discard_slow|publish_behind|publish_again|nlog_done|env_getcpu_slow|tls_nesting|tls_prev|tls_writers|tls_rseq_area)|clock_gettime|strlen|memcpy)$' "$dir/syms"; then
	echo "specialisation: the symbols above are not expected in an inline fast path"
	fail=1
fi
# 3. No system call instruction.
if grep -E '\bsyscall\b|\bint +\$0x80\b' "$dir/tu.dis"; then
	echo "specialisation: a system call in the fast path"
	fail=1
fi
# 4. The rseq site reserves and commits without a lock prefix.
awk '/^[0-9a-f]+ <spec_percpu_rseq_tsc>:/ { f = 1; next } /^[0-9a-f]+ </ { f = 0 } f' \
	"$dir/tu.dis" >"$dir/rseq.dis"
if [ ! -s "$dir/rseq.dis" ] || grep -E '\block\b' "$dir/rseq.dis"; then
	echo "specialisation: the rseq site is missing or has a lock-prefixed instruction"
	fail=1
fi
# 5. Every call names its callee with a relocation that check 2 vetted.  An
# indirect call through a register-held pointer calls a callback read from
# the configuration (check 1 only sees reads addressed from the
# configuration's symbol, not those through a pointer to it); a call without
# a relocation goes to a function of this file that was not inlined.
awk '/^ *[0-9a-f]+:\t/ {
		if (call != "")
			print call
		call = ""
		if ($0 ~ /\tcall/ && !($0 ~ /\(%rip\)/))
			call = $0
		next
	}
	/R_X86_64/ { call = "" }
	END { if (call != "") print call }' "$dir/tu.dis" >"$dir/calls"
if grep '\*' "$dir/calls"; then
	echo "specialisation: the calls above go through a pointer: they read the configuration at run time"
	fail=1
fi
if grep -v '\*' "$dir/calls"; then
	echo "specialisation: the calls above go to a function of this file: a callback or fast path not inlined"
	fail=1
fi
# 6. The rseq abort handlers, out of line: each is the signature
# 0x53053053 then a jump back into the function (jmp rel32, relocated
# against .text), and nothing else.
readelf -rW "$dir/tu.o" |
	awk '/^Relocation section/ { abort = index($0, "rela__grb_rseq_abort") > 0; next }
		abort && /R_X86_64/ { print $3, $5 }' >"$dir/abort_relocs"
objdump -s -j __grb_rseq_abort "$dir/tu.o" 2>/dev/null |
	awk '/^ [0-9a-f]+ / { for (i = 2; i <= 5; i++) if ($i ~ /^[0-9a-f]+$/) printf "%s", $i }' |
	awk '{ n = length($0) / 18; bad = length($0) % 18 != 0
		for (i = 0; i < n; i++) if (substr($0, 18 * i + 1, 18) != "53300553e900000000") bad = 1
		print (bad ? -1 : n) }' >"$dir/stubs"
stubs=$(cat "$dir/stubs")
if [ "${stubs:-0}" -lt 2 ] || [ "$(grep -Ec '^R_X86_64_(PC32|PLT32) \.text$' "$dir/abort_relocs")" -ne "$stubs" ] ||
	[ "$(wc -l <"$dir/abort_relocs")" -ne "$stubs" ]; then
	echo "specialisation: the rseq abort section is not only signatures and jumps back (${stubs:-0} stubs)"
	fail=1
fi
funcs=$(grep -c '^[0-9a-f]* <spec_' "$dir/tu.dis")
[ "$funcs" -eq 5 ] || { echo "specialisation: expected 5 functions, found $funcs"; fail=1; }
[ $fail -eq 0 ] && echo "specialisation: 5 event sites specialised: no configuration read, callbacks inlined, $(wc -l <"$dir/syms") symbols referred to"
exit $fail
