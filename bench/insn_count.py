# SPDX-License-Identifier: MIT
"""bench/insn_count.py - instructions per event of a bench_write loop,
counted in its disassembly.

    python3 bench/insn_count.py BENCH_WRITE [--case NAME] [--clock C] [--payload P] [--path]
    python3 bench/insn_count.py FILE --function SYMBOL [--path]
    python3 bench/insn_count.py grb_bench.ko --function loop_local_discard_tsc_16

Valgrind cannot run restartable sequences, so callgrind gives no instruction
count for the per-CPU rseq cases of bench_write.  This script counts, for
every case, the instructions that one event executes on the common path of
the case's loop, from the machine code alone: a change of the fast path
shows in the count whatever the compiler made of it.  It needs objdump and
nm (binutils) and reads x86-64 code.

The loop.  `bench_write --list-loops` names the function of each case, clock
and payload (--function names one in any ELF file).  The script disassembles
the function, and its `.cold` part if the compiler split one off, builds the
control-flow graph of its instructions from the entry, and takes the event
loop: the natural loop (the instructions that reach a back edge, an edge to
an instruction that dominates its source) with the most instructions.  Any
loop outside it must be less than half its size: two loops of similar size
(a loop the compiler duplicated) leave the event loop undecided.

The common path.  From the loop head the script follows the code to the
first return to the loop head, and counts every instruction on the way, the
head and the back edge included.  Unconditional direct jumps are followed.
At a conditional branch it decides by these rules, in order:

 1. A branch out of the loop is not taken: the loop runs for N events.
 2. A branch into code from which every way back to the loop head calls a
    slow path is not taken.  Slow paths are the library's out-of-line
    functions (every function whose name starts with `_grb_`: the
    reservation's and the commit's slow paths, the delivery of a full
    sub-buffer, the loss counters, the wake-ups; see
    include/grb/static/writer.h) and the functions that do not return.
 3. The path runs through no instruction twice: a branch back into the part
    of the loop already counted is a retry (a compare-and-swap that failed,
    a restartable sequence that must run again) and is not taken.
 4. Otherwise the fall-through is taken: gcc and clang lay the likely
    successor of a branch out as its fall-through and move unlikely code
    out of line (the fast path marks its unlikely branches with
    __builtin_expect) -- with one exception: a "second check" is not
    entered when the path can go around it.  `if (!(A || B)) slow();`
    compiles to A's test, then B's, run only when A fails; A, tested first,
    is the common case, but the compilers put either test in line (clang
    jumps over B's test; gcc keeps B's test in line and moves the rest of
    A's out).  A second check is code that only tests (no store, no call),
    whose every exit is a slow path but one, the join, where the other side
    of the branch arrives too.  If the side chosen cannot get back to the
    loop head under rules 1-3, the other is taken.

A relocatable file -- a kernel module such as grb_bench.ko, whose loops
bench/kernel.sh counts -- has no addresses yet: each code section gets a
base of its own, and the branches its relocations fill (every call, a jump
to another section) go where the relocation says (objdump -r): a function
or a place of the file, or a symbol outside it.  A call outside the file
(the kernel's functions, grb.ko's exports) is counted as one instruction
and named in `external=`, as a shared library's call is; grb.ko's
out-of-line functions are slow paths by their `_grb_` names, and so is the
scheduler's entry from preempt_enable() (`__SCT__preempt_schedule`: taken
only when a reschedule is due).  A jump to the kernel's return thunk
(`__x86_return_thunk`) is a return; an indirect call through a retpoline
thunk an indirect call (a slow path, as in user space); any other jump out
of the file on the path fails the count.  The file holds the code as it
was compiled, before the kernel patches it at load: the one-byte `nop`s of
an alternative's padding are counted and their number given as `nops=`
(rdtsc_ordered() is `rdtsc` and three of them in the file, `lfence; rdtsc`
or `rdtscp` and a nop once loaded).

The rseq abort handlers are entered by the kernel, never by a jump, so the
path does not reach them (the script fails if it runs into an rseq
signature).  A call to a function of the file that is not a slow path is
followed into the callee (its path to `ret`, by the same rules) and counted.
A call to a shared library through the PLT (clock_gettime, with the mono
clock) counts the call and the PLT's jump; the callee is named in
`external=`: its instructions (the vDSO's clock read) are not in the file,
and the count leaves them out.

The script fails -- exit status 1, an INSN_FAIL line and a message on
stderr, no count -- when it cannot find or follow the loop: no such
function, no loop or two candidate loops, an indirect jump, an undecodable
instruction on the path, a rep-prefixed one whose count is not a constant
the path loads into %rcx before it (such a one, a fixed-size object zeroed
or copied, counts as one instruction, its iterations given as `rep=`), no
path back to the loop head, a
path through an inner loop that is not a retry (its iteration count is not
in the code), or, for a bench_write write or floor case, a path that does
not read the clock exactly once.  The common path of a disabled event site
is its refusal, which no layout rule tells: those cases are reported as
INSN_SKIP lines.

Output, one line per loop:

    INSN case=... kind=... clock=... payload=... function=... insn=N external=NAMES

(external=- when the path calls nothing outside the file; rep= and nops= as
above, when there are any and for a relocatable file).  --path prints
the path, one instruction a line, with the rule that decided each branch.
"""

import argparse
import bisect
import os
import re
import subprocess
import sys

NORETURN = {"abort", "__stack_chk_fail", "__assert_fail", "exit", "_exit", "_Exit",
            "__fortify_fail", "__chk_fail", "pthread_exit", "longjmp", "siglongjmp",
            "__longjmp_chk", "err", "errx", "verr", "verrx"}
PREFIXES = {"lock", "rep", "repz", "repnz", "repe", "repne", "bnd", "notrack", "cs", "ds",
            "es", "ss", "fs", "gs", "data16", "data32", "addr32", "xacquire", "xrelease"}
# The four bytes before every rseq abort handler (GRB_RSEQ_SIG, glibc's).
RSEQ_SIG = bytes.fromhex("53300553")
LINE = re.compile(r"^\s*([0-9a-f]+):\t([0-9a-f ]+)\t(.*)$")
TARGET = re.compile(r"^([0-9a-f]+)(?:\s+<([^>]*)>)?$")
COMMENT_ADDR = re.compile(r"#\s*([0-9a-f]+)")
# objdump -r -w: a relocation at the end of its instruction's line.
RELOC = re.compile(r"\t([0-9a-f]+): (R_X86_64_\w+)\t(\S+)\s*$")
# objdump -t -w: value, flags, section, size, name.
SYMLINE = re.compile(r"^([0-9a-f]+) (.{7}) (\S+)\t([0-9a-f]+) +(.*)$")
# The kernel's: the return thunk a function returns through (ret at run
# time on a CPU that needs none), the retpolines of indirect calls, and the
# scheduler's entry from preempt_enable() when a reschedule is due (a slow
# path: taken only then).
RETURN_THUNKS = {"__x86_return_thunk"}
INDIRECT_THUNK = "__x86_indirect_thunk_"
KERNEL_SLOW = ("__SCT__preempt_schedule", "preempt_schedule", "__preempt_schedule")


class CountError(Exception):
    pass


class Insn:
    """One instruction as objdump decodes it."""

    __slots__ = ("addr", "size", "raw", "text", "mnem", "ops", "rep", "kind", "target", "ext")

    def __init__(self, addr, raw, text, base=0):
        self.addr = addr
        self.raw = raw
        self.size = len(raw)
        self.text = " ".join(text.split())
        words = self.text.split("#")[0].split(" ", 1)
        mnem, ops = words[0], (words[1].strip() if len(words) > 1 else "")
        self.rep = False
        while mnem in PREFIXES and ops:
            self.rep = self.rep or mnem.startswith("rep")
            w = ops.split(" ", 1)
            mnem, ops = w[0], (w[1].strip() if len(w) > 1 else "")
        self.mnem = mnem
        self.ops = ops
        self.target = None
        self.ext = None  # the symbol outside the file a relocated branch goes to
        m = TARGET.match(ops)
        if mnem == "jmp":
            self.kind = "jmp" if m else "ijmp"
        elif mnem.startswith("j") or mnem.startswith("loop"):
            self.kind = "jcc" if m else "ijmp"
        elif mnem == "call":
            self.kind = "call" if m else "icall"
        elif mnem in ("ret", "iret", "iretq", "sysret", "sysretq"):
            self.kind = "ret"
        elif mnem in ("ud2", "hlt", "(bad)", "int3"):
            self.kind = "stop"
        else:
            self.kind = "insn"
        if m and self.kind in ("jmp", "jcc", "call"):
            self.target = base + int(m.group(1), 16)

    def __str__(self):
        return f"{self.addr:x}: {self.text}"


def pure(i):
    """An instruction that writes no memory and has no other effect than on
    registers and flags: a test, or a computation into a register."""
    if i.mnem.startswith(("cmp", "test", "bt", "ucomis", "comis")) and \
            not i.mnem.startswith("cmpxchg"):
        return True
    if i.rep or i.text.startswith("lock ") or i.mnem.startswith(
            ("push", "pop", "stos", "movs", "xchg", "cmpxchg", "xadd", "lfence", "mfence",
             "sfence", "rdtsc", "syscall", "call", "wrfs", "wrgs")):
        return False
    return "(" not in i.ops.rsplit(",", 1)[-1]


class Binary:
    """An ELF file's symbols, sections and instructions (decoded on demand).

    A relocatable file (a kernel module, an object file) has no addresses:
    each of its code sections is given a base of its own (section k at
    (k + 1) << 32), its symbols and instructions the base plus their offset,
    and the branches that relocations resolve (calls, jumps to another
    section) the target the relocation names: a function of the file, a
    place in one of its sections, or a symbol outside the file (ext)."""

    def __init__(self, path):
        self.path = path
        self.insns = {}
        self.syms = {}  # function name -> (address, size)
        self.by_addr = []  # sorted (address, size, name)
        self.plt = []  # [start, end) of the PLT sections
        self.rseq = []  # [start, end) of sections named like __grb_rseq_cs
        self.sections = {}  # relocatable: code section -> (base, size)
        try:
            with open(path, "rb") as f:
                head = f.read(18)
        except OSError as e:
            raise CountError(f"{path}: {e}")
        if head[:4] != b"\x7fELF":
            raise CountError(f"{path}: not an ELF file")
        self.relocatable = int.from_bytes(head[16:18], "little") == 1  # ET_REL
        if self.relocatable:
            self._read_relocatable()
            return
        try:
            nm = subprocess.run(["nm", "-S", "--defined-only", path], capture_output=True,
                                text=True, check=True).stdout
            hdr = subprocess.run(["objdump", "-h", "-w", path], capture_output=True,
                                 text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            raise CountError(f"{path}: {e}")
        for line in nm.splitlines():
            w = line.split()
            if len(w) == 4 and w[2] in "tTwW":
                addr, size = int(w[0], 16), int(w[1], 16)
                self.syms.setdefault(w[3], (addr, size))
                self.by_addr.append((addr, size, w[3]))
        self.by_addr.sort()
        for line in hdr.splitlines():
            w = line.split()
            if len(w) >= 4 and w[0].isdigit():
                name, size, vma = w[1], int(w[2], 16), int(w[3], 16)
                if name.startswith(".plt"):
                    self.plt.append((vma, vma + size))
                if "rseq" in name:
                    self.rseq.append((vma, vma + size))

    def _read_relocatable(self):
        try:
            hdr = subprocess.run(["objdump", "-h", "-w", self.path], capture_output=True,
                                 text=True, check=True).stdout
            tab = subprocess.run(["objdump", "-t", "-w", self.path], capture_output=True,
                                 text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            raise CountError(f"{self.path}: {e}")
        for line in hdr.splitlines():
            w = line.split()
            if len(w) >= 4 and w[0].isdigit() and "CODE" in line:
                self.sections[w[1]] = ((len(self.sections) + 1) << 32, int(w[2], 16))
        for line in tab.splitlines():
            m = SYMLINE.match(line)
            if not m or "F" not in m.group(2) or m.group(3) not in self.sections:
                continue
            name = m.group(5).split()[-1]
            addr = self.sections[m.group(3)][0] + int(m.group(1), 16)
            size = int(m.group(4), 16)
            self.syms.setdefault(name, (addr, size))
            self.by_addr.append((addr, size, name))
        self.by_addr.sort()

    def _section_of(self, addr):
        for name, (base, size) in self.sections.items():
            if base <= addr < base + size:
                return name, base
        raise CountError(f"{self.path}: no code section holds {addr:#x}")

    def _resolve(self, i, sym):
        """The target of a branch whose displacement a relocation fills:
        S + A + 4 (a 32-bit PC-relative displacement ends the instruction)."""
        m = re.match(r"^(.*?)([+-]0x[0-9a-f]+)?$", sym)
        name, addend = m.group(1), int(m.group(2) or "0", 16)
        if name in self.sections:
            i.target = self.sections[name][0] + addend + 4
        elif name in self.syms:
            i.target = self.syms[name][0] + addend + 4
        else:
            i.target, i.ext = None, name
            if i.kind == "jmp" and name in RETURN_THUNKS:
                i.kind = "ret"  # the return, through the kernel's return thunk
            elif i.kind == "jmp":
                i.kind = "tailcall"
            elif i.kind == "call" and name.startswith(INDIRECT_THUNK):
                i.kind = "icall"  # an indirect call through a retpoline

    def symbol_at(self, addr):
        """The function that holds addr, and its start."""
        k = bisect.bisect_right(self.by_addr, (addr, 1 << 64, "")) - 1
        if k >= 0:
            a, size, name = self.by_addr[k]
            if a <= addr < a + max(size, 1):
                return name, a
        return None, None

    def in_plt(self, addr):
        return any(a <= addr < b for a, b in self.plt)

    def refers_to_rseq_cs(self, i):
        """Whether the instruction takes the address of an rseq critical-section
        descriptor (objdump's comment gives a RIP-relative operand's address)."""
        m = COMMENT_ADDR.search(i.text)
        return bool(m) and "(%rip)" in i.ops and \
            any(a <= int(m.group(1), 16) < b for a, b in self.rseq)

    def decode(self, start, stop):
        """Decode [start, stop) linearly; an address decoded before keeps its
        instruction."""
        base, cmd = 0, ["objdump", "-d", "-w", "--insn-width=16"]
        if self.relocatable:
            sec, base = self._section_of(start)
            cmd += ["-r", "-j", sec]
        cmd += [f"--start-address={start - base:#x}", f"--stop-address={stop - base:#x}",
                self.path]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            raise CountError(f"objdump {self.path}: {out.stderr.strip()}")
        for line in out.stdout.splitlines():
            m = LINE.match(line)
            if not m:
                continue
            addr = base + int(m.group(1), 16)
            raw = bytes.fromhex(m.group(2).replace(" ", ""))
            text, sym = m.group(3), None
            r = RELOC.search(text)
            if r:
                text = text[:r.start()]
                off = base + int(r.group(1), 16)
                if addr <= off < addr + len(raw) and r.group(2) in ("R_X86_64_PLT32",
                                                                     "R_X86_64_PC32"):
                    sym = r.group(3)
            if raw and addr + len(raw) <= stop and addr not in self.insns:
                i = Insn(addr, raw, text, base)
                if sym is not None and i.kind in ("jmp", "jcc", "call"):
                    self._resolve(i, sym)
                self.insns[addr] = i

    def insn(self, addr, limit):
        """The instruction at addr.  A linear decode can run off the
        instruction boundaries (it does over an rseq signature and its abort
        handler); then the code is decoded again from addr."""
        i = self.insns.get(addr)
        if i is None:
            self.decode(addr, min(limit, addr + 64))
            i = self.insns.get(addr)
        if i is None:
            raise CountError(f"cannot decode an instruction at {addr:#x}")
        return i


class Function:
    """A function's instructions reachable from its entry, and their graph."""

    def __init__(self, binary, name):
        self.bin = binary
        if name not in binary.syms:
            # gcc's clones (.constprop.0, .isra.0) keep the name as a prefix
            cands = [n for n in binary.syms
                     if n.startswith(name + ".") and ".cold" not in n]
            if len(cands) != 1:
                raise CountError(f"{binary.path}: no function {name}" if not cands else
                                 f"{binary.path}: {name} is ambiguous: {', '.join(cands)}")
            name = cands[0]
        self.name = name
        self.entry, size = binary.syms[name]
        if size == 0:
            raise CountError(f"{name}: the symbol has no size")
        # the function, and the parts the compiler split off (name.cold)
        self.ranges = [(self.entry, self.entry + size)]
        for n, (a, s) in binary.syms.items():
            if s and (n == name + ".cold" or n.startswith(name + ".cold.")):
                self.ranges.append((a, a + s))
        for a, b in self.ranges:
            binary.decode(a, b)
        self.succ = {}  # address -> successors in the function
        self.calls = {}  # address of a call -> callee name ("*" when indirect)
        self._explore()

    def inside(self, addr):
        return any(a <= addr < b for a, b in self.ranges)

    def limit(self, addr):
        for a, b in self.ranges:
            if a <= addr < b:
                return b
        return addr

    def _explore(self):
        todo = [self.entry]
        while todo:
            a = todo.pop()
            if a in self.succ:
                continue
            i = self.bin.insn(a, self.limit(a))
            nxt = a + i.size
            if i.kind == "insn":
                s = [nxt]
            elif i.kind == "jcc":
                s = [nxt, i.target]  # the fall-through first
            elif i.kind == "jmp":
                s = [i.target]
            elif i.kind in ("call", "icall"):
                name = self.callee_name(i) if i.kind == "call" else "*"
                self.calls[a] = name
                s = [] if name.split("@")[0] in NORETURN else [nxt]
            elif i.kind == "jcc" and i.target is None:
                s = [nxt]  # a conditional tail call: its other side leaves
            else:  # ijmp, ret, stop, tailcall
                s = []
            # a jump out of the function (a tail call) has no successor here
            self.succ[a] = [t for t in s if self.inside(t)]
            todo.extend(self.succ[a])

    def callee_name(self, i):
        if i.ext is not None:
            return i.ext
        name, _ = self.bin.symbol_at(i.target)
        if name is None:
            m = re.search(r"<([^>+]*)", i.ops)
            name = m.group(1) if m else f"{i.target:#x}"
        return name

    def preds(self, nodes):
        p = {a: [] for a in nodes}
        for a in nodes:
            for t in self.succ[a]:
                if t in p:
                    p[t].append(a)
        return p

    def dominators(self):
        """Immediate dominators (Cooper, Harvey and Kennedy)."""
        order, seen = [], {self.entry}
        stack = [(self.entry, iter(self.succ[self.entry]))]
        while stack:
            node, it = stack[-1]
            for t in it:
                if t not in seen:
                    seen.add(t)
                    stack.append((t, iter(self.succ[t])))
                    break
            else:
                order.append(node)
                stack.pop()
        order.reverse()
        rpo = {a: k for k, a in enumerate(order)}
        preds = self.preds(self.succ)
        idom = {self.entry: self.entry}
        changed = True
        while changed:
            changed = False
            for b in order[1:]:
                new = None
                for p in preds[b]:
                    if p not in idom:
                        continue
                    if new is None:
                        new = p
                        continue
                    x, y = p, new
                    while x != y:
                        while rpo[x] > rpo[y]:
                            x = idom[x]
                        while rpo[y] > rpo[x]:
                            y = idom[y]
                    new = x
                if idom.get(b) != new:
                    idom[b] = new
                    changed = True
        return idom

    def loops(self):
        """The natural loops: loop head -> the set of its instructions."""
        idom = self.dominators()

        def dominates(h, n):
            while n != h:
                if n == self.entry:
                    return False
                n = idom[n]
            return True

        preds = self.preds(self.succ)
        loops = {}
        for a, ss in self.succ.items():
            for h in ss:
                if dominates(h, a):
                    body = loops.setdefault(h, {h})
                    work = [a]
                    while work:
                        n = work.pop()
                        if n not in body:
                            body.add(n)
                            work.extend(preds[n])
        return loops


def slow_call(name):
    base = name.split("@")[0]
    return name == "*" or base.startswith("_grb_") or base in NORETURN or \
        base.startswith(KERNEL_SLOW)


def writes_rcx(i):
    """Whether an instruction may change %rcx (the count of a rep prefix)."""
    if i.kind in ("call", "icall") or i.rep or i.mnem.startswith(("rdtscp", "cpuid", "loop",
                                                                 "xchg", "cmpxchg", "xadd")):
        return True
    if i.mnem.startswith(("cmp", "test", "bt", "push")):
        return False
    last = i.ops.rsplit(",", 1)[-1].strip()
    return last in ("%rcx", "%ecx", "%cx", "%cl", "%ch")


IMM_RCX = re.compile(r"^mov[lq]?$")


class Walker:
    """The common path through a loop, or through a called function."""

    def __init__(self, binary, depth=0):
        self.bin = binary
        self.depth = depth
        self.external = []  # shared-library functions the path calls
        self.rep_iterations = 0  # of the rep-prefixed instructions on the path

    def rep_count(self, fn, path, i):
        """The iteration count of the rep-prefixed instruction i at the end of
        path: the constant the path last loaded into %rcx, or an error."""
        for a in reversed(path[:-1]):
            x = self.bin.insns[a]
            if not writes_rcx(x):
                continue
            ops = [o.strip() for o in x.ops.split(",")]
            if IMM_RCX.match(x.mnem) and len(ops) == 2 and ops[0].startswith("$") and \
                    ops[1] in ("%rcx", "%ecx"):
                return int(ops[0][1:], 0)
            break
        raise CountError(f"{fn.name}: '{i}' on the path: its iteration count is not a "
                         "constant loaded on the path")

    def count(self, fn, start, body, loop):
        """The instructions from start back to start (loop) or to a `ret`
        (not loop), inside body, by the rules of the module's docstring.
        Returns (count, [(address, note)])."""
        if loop:
            def is_end(a):
                return a == start
        else:
            def is_end(a):
                return self.bin.insns[a].kind == "ret"
        # good: an end is reachable from here without a slow call (rule 2)
        preds = fn.preds(body)
        good = set()
        work = [a for a in body if is_end(a)]
        while work:
            n = work.pop()
            if n not in good and not (n in fn.calls and slow_call(fn.calls[n])):
                good.add(n)
                work.extend(preds[n])
        if start not in good:
            raise CountError(f"{fn.name}: no way from {start:#x} back to the loop head "
                             "without a slow path")

        def candidates(a):
            succ = [t for t in fn.succ[a] if t in body and t in good]  # rules 1, 2
            if len(succ) == 2 and self.second_check(fn, succ[0], succ[1], body, good, start) \
                    and not self.second_check(fn, succ[1], succ[0], body, good, start):
                succ.reverse()
            return iter(succ)

        # depth first, in the order of candidates(); rule 3: no instruction twice
        stack = [(start, candidates(start))]
        on_path = {start}
        choice = {}
        while True:
            if not stack:
                raise CountError(f"{fn.name}: no path from {start:#x} back to the loop head "
                                 "that runs through no instruction twice")
            a, it = stack[-1]
            i = self.bin.insns[a]
            if i.raw.startswith(RSEQ_SIG):
                raise CountError(f"{fn.name}: the path runs into an rseq signature at {a:#x}")
            if i.kind in ("ijmp", "stop"):
                raise CountError(f"{fn.name}: '{i}' on the path")
            if i.kind == "tailcall":
                raise CountError(f"{fn.name}: '{i}' on the path: a jump out of the file")
            if i.rep:
                self.rep_count(fn, [x for x, _ in stack], i)
            if not loop and is_end(a):
                break
            nxt = next((t for t in it if (loop and t == start) or t not in on_path), None)
            if nxt is None:
                stack.pop()
                on_path.discard(a)
                continue
            choice[a] = nxt
            if loop and nxt == start:
                break
            stack.append((nxt, candidates(nxt)))
            on_path.add(nxt)

        path = [a for a, _ in stack]
        index = {a: k for k, a in enumerate(path)}
        total, notes = 0, []
        for a in path:
            i = self.bin.insns[a]
            total += 1
            note = ""
            if i.kind == "jcc":
                c = choice[a]
                o = i.target if c != i.target else a + i.size
                if o not in body:
                    why = "1: the other side leaves the loop"
                elif o not in good:
                    why = "2: the other side calls a slow path"
                elif o in index and index[o] <= index[a]:
                    why = "3: the other side runs the path again"
                elif self.second_check(fn, o, c, body, good, start):
                    why = "4: the other side is a second check"
                elif c == a + i.size:
                    why = "4: fall-through"
                else:
                    why = "4: the fall-through does not get back"
                note = ("taken" if c == i.target else "not taken") + f" (rule {why})"
            elif a in fn.calls:
                n, ext = self.callee(fn, a, fn.calls[a])
                total += n
                note = f"call: +{n} in {fn.calls[a]}" + (f", and {ext}" if ext else "")
            if i.rep:
                k = self.rep_count(fn, path[:index[a] + 1], i)
                self.rep_iterations += k
                note = f"rep: {k} iterations, counted as one instruction"
            notes.append((a, note))
        return total, notes

    def second_check(self, fn, entry, other, body, good, start):
        """Whether entry begins a second check that the path can go around
        from other: code that only tests, run only on the way from entry,
        whose every exit is a slow path but one, the join, which the way
        from other reaches too (rule 4)."""
        around, work = set(), [other]
        while work:
            n = work.pop()
            if n in around or n == entry or n == start or n not in good:
                continue
            around.add(n)
            work.extend(t for t in fn.succ[n] if t in body)
        region, work, joins, slow_exit = set(), [entry], set(), False
        while work:
            n = work.pop()
            if n in region:
                continue
            if n not in good or n not in body:
                slow_exit = True
                continue
            if n in around:
                joins.add(n)
                continue
            x = self.bin.insns[n]
            if n == start or x.kind not in ("insn", "jcc") or not pure(x) or len(region) >= 16:
                return False
            region.add(n)
            work.extend(fn.succ[n])
        return slow_exit and len(joins) == 1

    def callee(self, fn, a, name):
        """The instructions a call on the path runs: the PLT's jump for a
        shared library's function (named in external=), the callee's common
        path for a function of the file."""
        i = self.bin.insns[a]
        if i.ext is not None:
            # Outside the file (the kernel's, another module's): the call
            # alone, as a shared library's through the PLT.
            self.external.append(i.ext)
            return 0, i.ext
        if self.bin.in_plt(i.target):
            n, x = 0, self.bin.insn(i.target, i.target + 32)
            while x.kind == "insn" and n < 3:  # endbr64 before the jump
                n += 1
                x = self.bin.insn(x.addr + x.size, i.target + 32)
            if x.kind != "ijmp":
                raise CountError(f"{fn.name}: unexpected PLT entry at {i.target:#x}: {x}")
            self.external.append(name.split("@")[0])
            return n + 1, name.split("@")[0]
        if self.depth >= 4:
            raise CountError(f"{fn.name}: calls nested too deep at {a:#x}")
        sym, start = self.bin.symbol_at(i.target)
        if sym is None or start != i.target:
            raise CountError(f"{fn.name}: the call at {a:#x} goes to {i.target:#x}, "
                             "not to a function's start")
        callee = Function(self.bin, sym)
        sub = Walker(self.bin, self.depth + 1)
        n, _ = sub.count(callee, callee.entry, set(callee.succ), False)
        self.external.extend(sub.external)
        self.rep_iterations += sub.rep_iterations
        return n, None


def count_loop(binary, name):
    """(function, loop head, count, notes, external names) of a function's
    event loop."""
    fn = Function(binary, name)
    loops = fn.loops()
    if not loops:
        raise CountError(f"{fn.name}: no loop")
    ranked = sorted(loops.items(), key=lambda kv: len(kv[1]), reverse=True)
    head, body = ranked[0]
    for h, b in ranked[1:]:
        if h not in body and len(b) * 2 > len(body):
            raise CountError(f"{fn.name}: two candidate loops, at {head:#x} ({len(body)} "
                             f"instructions) and {h:#x} ({len(b)})")
    w = Walker(binary)
    total, notes = w.count(fn, head, body, True)
    # An inner loop the path enters must be a retry, which the common path
    # runs once: it holds a compare-and-swap or a restartable sequence.
    on = {a for a, _ in notes}
    for h, b in loops.items():
        if h != head and h in body and b & on and not any(
                binary.insns[a].mnem.startswith("cmpxchg") or
                binary.refers_to_rseq_cs(binary.insns[a]) for a in b):
            raise CountError(f"{fn.name}: the path runs through an inner loop at {h:#x} "
                             "that is not a retry: its iteration count is not in the code")
    return fn, head, total, notes, w.external, w.rep_iterations


def clock_reads(binary, notes, external):
    """The clock reads on a path: rdtsc instructions and clock_gettime calls
    (the kernel's ktime_get_mono_fast_ns)."""
    n = sum(1 for a, _ in notes if binary.insns[a].mnem.startswith("rdtsc"))
    return n + sum(1 for e in external if "clock_gettime" in e or e == "ktime_get_mono_fast_ns")


def list_loops(path):
    try:
        out = subprocess.run([path, "--list-loops"], capture_output=True, text=True,
                             timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        raise CountError(f"{path} --list-loops: {e}")
    loops = [dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
             for line in out.stdout.splitlines() if line.startswith("LOOP ")]
    if out.returncode or not loops:
        raise CountError(f"{path} --list-loops: exit status {out.returncode}, "
                         f"{len(loops)} LOOP lines {out.stderr.strip()[:200]}")
    return loops


def main():
    ap = argparse.ArgumentParser(
        description="Instructions per event of a bench_write loop, counted in its "
        "disassembly (the rules are in the script's header).")
    ap.add_argument("binary", help="bench_write, or with --function any ELF file")
    ap.add_argument("--function", help="count the event loop of this function")
    ap.add_argument("--case", action="append", default=[],
                    help="a bench_write case (repeatable; default: every case)")
    ap.add_argument("--clock", action="append", default=[], help="mono or tsc (repeatable)")
    ap.add_argument("--payload", action="append", default=[],
                    help="payload bytes (repeatable)")
    ap.add_argument("--path", action="store_true", help="print the path of each count")
    args = ap.parse_args()

    if not os.path.isfile(args.binary):
        print(f"insn_count: {args.binary}: no such file", file=sys.stderr)
        return 2
    try:
        binary = Binary(args.binary)
        if args.function:
            jobs = [{"function": args.function}]
        else:
            jobs = [j for j in list_loops(args.binary)
                    if (not args.case or j.get("case") in args.case) and
                    (not args.clock or j.get("clock") in args.clock) and
                    (not args.payload or j.get("payload") in args.payload)]
            if not jobs:
                raise CountError(f"{args.binary}: no loop of that case, clock and payload")
    except CountError as e:
        print(f"insn_count: {e}", file=sys.stderr)
        return 1
    failed = 0
    for j in jobs:
        label = "".join(f"{k}={j[k]} " for k in ("case", "kind", "clock", "payload") if k in j)
        label += f"function={j['function']}"
        if j.get("kind") == "disabled":
            print(f"INSN_SKIP {label} reason=the common path of a disabled site is its "
                  "refusal, which the code's layout does not tell")
            continue
        try:
            fn, head, total, notes, ext, reps = count_loop(binary, j["function"])
            want = {"write": 1, "floor": 1, "floor-bare": 1, "empty": 0}.get(j.get("kind"))
            got = clock_reads(binary, notes, ext)
            if want is not None and got != want:
                raise CountError(f"the path reads the clock {got} times, not {want}: it is "
                                 "not one event's")
        except (CountError, subprocess.SubprocessError) as e:
            print(f"INSN_FAIL {label}")
            print(f"insn_count: {j['function']}: {e}", file=sys.stderr)
            failed = 1
            continue
        extra = f" rep={reps}" if reps else ""
        if binary.relocatable:
            # One-byte nops: the padding of the kernel's alternatives
            # (rdtsc_ordered()'s rdtsc becomes lfence; rdtsc or rdtscp at
            # load), which the file holds as they were compiled.
            extra += f" nops={sum(1 for a, _ in notes if binary.insns[a].mnem == 'nop')}"
        print(f"INSN {label} insn={total} external={','.join(sorted(set(ext))) or '-'}{extra}")
        if args.path:
            for a, note in notes:
                i = binary.insns[a]
                print(f"    {a:8x}:  {i.text:<60} {note}{'  <- loop head' if a == head else ''}")
    return failed


if __name__ == "__main__":
    sys.exit(main())
