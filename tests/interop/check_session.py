# SPDX-License-Identifier: MIT
"""Check a trace of `grb record -- PROGRAM` against the tool's summary.

usage: check_session.py SUMMARY EVENTS_TXT TRACE_DIR CHECK [ARGS...]

SUMMARY is what grb record printed; EVENTS_TXT babeltrace2's default
output of TRACE_DIR.  Always checked: every summary line says "exact",
the total's on-disk count is the number of events babeltrace2 printed
(but grb:discarded fillers), every event shows its vpid and vtid, every
process's events are in its own stream files (libc_<pid>_*), and each
process of the summary has as many events in the trace as the summary
says.  Then CHECK:

  threads N            one process with at least N malloc events from
                       each of 3 threads (main and 2 workers)
  processes N          at least N processes, each with events
  marker SIZE PID|any  malloc events of size SIZE come from exactly one
                       process (the pid given, or any) and the size
                       SIZE+1 from another (the child)
  exec SIZE            the malloc of SIZE is in the streams of a program
                       that a process executed (libc_<pid>.1_*), with
                       that pid
  last SIZE N          ctypes mallocs SIZE..SIZE+N-1, each once, in order;
                       the summary names the process killed by SIGKILL
  app NAME N           N events NAME of the example program
  interrupt            one process still running at the stop, its line
                       partial (the others exact)
  nostream N           one process whose one stream went to the main
                       thread: every event is the main thread's, and the
                       2 workers' (at least N mallocs each) are counted
                       lost no_stream, with a hint naming --streams
  pthread-python N     one process, its main thread and N more with
                       pthread events, some lock that waited, the pairs
                       below
  pthread-counts FILE  the counts of FILE (mutex_prog.c) exactly, the
                       waits it gives, the pairs below
  cyg PROG FILE...     per thread, the cyg_profile entries and exits name
                       (nm PROG) exactly the calls the program logged in
                       FILEs (ftrace_record_prog.c), the call sites in
                       the callers, a forked child's in its own process

Pairs (pthread-*): per thread and mutex, in the thread's order, every
successful unlock undoes a successful lock, trylock or timedlock (or a
lock that returned EOWNERDEAD: it is acquired); a thread may end with
mutexes held only where the program says so (FILE's "held" lines), the
lock that is its last event (the process exited before it recorded the
unlock), or as many as the events of its process that were lost (an
unlock refused, say, for want of a stream).
"""

import os
import re
import subprocess
import sys

EVENT = re.compile(
    r"^\[[^\]]*\] \([^)]*\) \S+ (?P<name>[\w:]+): \{ cpu_id = \d+ \}, "
    r"\{ vpid = (?P<vpid>\d+), vtid = (?P<vtid>\d+) \}(?:, \{ (?P<fields>.*) \})?$"
)
PROC = re.compile(
    r"^process (?P<pid>\d+) (?P<prog>\S+) \((?P<chan>[^)]*)\): (?P<written>\d+) written = "
    r"(?P<disk>\d+) on disk \+ (?P<lost>\d+) lost.*: (?P<verdict>exact|MISMATCH|partial); "
    r"(?P<files>\d+) of (?P<streams>\d+) streams written; (?P<end>.*)$"
)
TOTAL = re.compile(r"^total: (\d+) processes, (\d+) written = (\d+) on disk \+ (\d+) lost.*: (\w+)$")

failures = []


def fail(msg):
    failures.append(msg)
    print("check_session: FAIL: " + msg)


def fields(text):
    out = {}
    for part in (text or "").split(", "):
        if " = " in part:
            k, v = part.split(" = ", 1)
            out[k] = v
    return out


def main():
    summary_path, events_path, trace, check = sys.argv[1:5]
    args = sys.argv[5:]
    procs, total, hints = [], None, []
    with open(summary_path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("hint: "):
                hints.append(line)
            m = PROC.match(line)
            if m:
                procs.append(dict(m.groupdict(), line=line))
            m = TOTAL.match(line)
            if m:
                total = m.groups()
    if not procs or total is None:
        fail("no per-process lines or no total in the summary")
        return
    for p in procs:
        if p["verdict"] != "exact" and not (check == "interrupt" and p["verdict"] == "partial"):
            fail("process %s: %s" % (p["pid"], p["verdict"]))
    if total[4] != "exact":
        fail("total: " + total[4])

    events = []
    with open(events_path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = EVENT.match(line)
            if not m:
                fail("line %d without vpid/vtid: %s" % (no, line[:160]))
                continue
            events.append(m.groupdict())
    real = [e for e in events if not e["name"].startswith("grb:")]
    if len(real) != int(total[2]):
        fail("babeltrace2 printed %d events, the summary says %s on disk" % (len(real), total[2]))
    by_pid = {}
    for e in real:
        by_pid.setdefault(e["vpid"], []).append(e)
    disk_by_pid = {}
    for p in procs:
        disk_by_pid[p["pid"]] = disk_by_pid.get(p["pid"], 0) + int(p["disk"])
    for pid, n in disk_by_pid.items():
        if len(by_pid.get(pid, [])) != n:
            fail("process %s: %d events in the trace, the summary says %d"
                 % (pid, len(by_pid.get(pid, [])), n))
    # Each process's streams are its own files.
    files = sorted(x for x in os.listdir(trace) if x not in ("metadata", "index"))
    pids_with_files = set()
    for x in files:
        m = re.match(r"^(.+)_(\d+)(\.\d+)?_(\d+)$", x)
        if not m:
            fail("unexpected file " + x)
            continue
        pids_with_files.add(m.group(2))
    for pid in by_pid:
        if pid not in pids_with_files:
            fail("process %s has events but no stream file of its own" % pid)
    print("check_session: %d processes, %d events, %d stream files"
          % (len(by_pid), len(real), len(files)))

    if check == "threads":
        need = int(args[0])
        if len(by_pid) != 1:
            fail("%d processes, expected 1" % len(by_pid))
        for pid, evs in by_pid.items():
            per = {}
            for e in evs:
                if e["name"] == "libc:malloc":
                    per[e["vtid"]] = per.get(e["vtid"], 0) + 1
            print("check_session: mallocs per thread:", per)
            if pid not in per:
                fail("no malloc from the main thread (tid = pid %s)" % pid)
            busy = [t for t, n in per.items() if n >= need]
            if len(busy) < 2 or len(per) < 3:
                fail("expected 2 workers with >= %d mallocs and 3 threads: %s" % (need, per))
    elif check == "processes":
        if len(by_pid) < int(args[0]):
            fail("%d processes with events, expected at least %s" % (len(by_pid), args[0]))
    elif check == "marker":
        size = args[0]
        who = {e["vpid"] for e in real
               if e["name"] == "libc:malloc" and fields(e["fields"]).get("size") == size}
        kid = {e["vpid"] for e in real
               if e["name"] == "libc:malloc" and fields(e["fields"]).get("size") == str(int(size) + 1)}
        print("check_session: size %s from %s, size %d from %s" % (size, who, int(size) + 1, kid))
        if len(who) != 1 or len(kid) != 1 or who == kid:
            fail("the parent's and the child's marks are not each in one process of their own")
        if args[1] != "any" and who != {args[1]}:
            fail("size %s from %s, expected %s" % (size, who, args[1]))
    elif check == "exec":
        size = args[0]
        hits = [e for e in real
                if e["name"] == "libc:malloc" and fields(e["fields"]).get("size") == size]
        execd = [x for x in files if re.match(r"^.+_\d+\.1_\d+$", x)]
        print("check_session: %d mallocs of %s; files of an exec'ed program: %s"
              % (len(hits), size, execd))
        if len(hits) != 1 or not execd:
            fail("expected one malloc of %s and the files of an exec'ed program" % size)
        elif not any(x.startswith("libc_%s.1_" % hits[0]["vpid"]) for x in execd):
            fail("the exec'ed program's malloc is not in libc_%s.1_*" % hits[0]["vpid"])
    elif check == "last":
        base, n = int(args[0]), int(args[1])
        sizes = [int(fields(e["fields"])["size"]) for e in real if e["name"] == "libc:malloc"
                 and base <= int(fields(e["fields"]).get("size", "0")) < base + n]
        print("check_session: %d of the %d marked mallocs, last %s"
              % (len(sizes), n, sizes[-1] if sizes else None))
        if sizes != list(range(base, base + n)):
            fail("the marked mallocs are not %d..%d once each, in order" % (base, base + n - 1))
        killed = [p for p in procs if p["end"].startswith("killed by SIGKILL")]
        if not killed:
            fail("the summary names no process killed by SIGKILL")
    elif check == "interrupt":
        running = [p for p in procs if p["verdict"] == "partial"
                   and p["end"].startswith("still running")]
        if len(running) != 1:
            fail("expected one process still running, partial: %s" % procs)
    elif check == "app":
        name, n = args[0], int(args[1])
        got = sum(1 for e in real if e["name"] == name)
        print("check_session: %d events %s" % (got, name))
        if got != n:
            fail("%d events %s, expected %d" % (got, name, n))
    elif check == "pthread-python":
        if len(by_pid) != 1:
            fail("%d processes, expected 1" % len(by_pid))
        pt = [e for e in real if e["name"].startswith("pthread:")]
        tids = {e["vtid"] for e in pt}
        waited = [e for e in pt if int(fields(e["fields"]).get("wait_ns", "0")) > 0]
        print("check_session: %d pthread events from %d threads, %d locks waited"
              % (len(pt), len(tids), len(waited)))
        if len(tids) != int(args[0]) + 1 or not all(e["vpid"] in tids for e in pt):
            fail("pthread events from threads %s, expected the main thread and %s more"
                 % (sorted(tids), args[0]))
        # The program's waiter thread is asleep in its lock for at least
        # the main thread's 10 ms before the unlock.
        if not any(int(fields(e["fields"]).get("wait_ns", "0")) >= 10000000 for e in waited):
            fail("no lock waited 10 ms or more (the waiter's)")
        check_pairs(pt, procs, set())
    elif check == "pthread-counts":
        pt = [e for e in real if e["name"].startswith("pthread:")]
        check_counts(pt, procs, args[0])
    elif check == "cyg":
        check_cyg(real, args[0], args[1:])
    elif check == "nostream":
        need = int(args[0])
        tids = {e["vtid"] for e in real}
        if len(procs) != 1 or tids != {procs[0]["pid"]}:
            fail("expected the main thread's events only: threads %s" % sorted(tids))
        m = re.search(r"no_stream (\d+)", procs[0]["line"]) if procs else None
        lost = int(m.group(1)) if m else 0
        print("check_session: %s lost no_stream; hints: %s" % (lost, hints))
        if lost < 2 * need or int(procs[0]["lost"]) != lost:
            fail("expected every loss no_stream, at least %d: %s" % (2 * need, procs[0]["line"]))
        if not any("raise --streams" in h and str(lost) in h for h in hints):
            fail("no hint naming --streams and the %d events" % lost)
    else:
        fail("unknown check " + check)


EOWNERDEAD = 130


def check_pairs(pt, procs, held):
    """The pairs of every (thread, mutex); held: the (tid, mutex) that may
    end held."""
    depth, last = {}, {}
    for e in pt:
        f = fields(e["fields"])
        key = (e["vtid"], f["mutex"])
        op, ret = e["name"].split(":")[1], int(f["ret"])
        last[e["vtid"]] = (key, op, ret)
        if op in ("mutex_lock", "mutex_trylock", "mutex_timedlock") and ret in (0, EOWNERDEAD):
            depth[key] = depth.get(key, 0) + 1
        elif op == "mutex_unlock" and ret == 0:
            depth[key] = depth.get(key, 0) - 1
            if depth[key] < 0:
                fail("thread %s unlocks mutex %s it did not lock" % key)
                depth[key] = 0
    # A thread's last event, a lock, may lack its unlock without a loss: a
    # thread that a join already let go (CPython signals its join before
    # its last release of the interpreter's lock) may be running still
    # when the process exits, and its last record, not committed, is in
    # no count (doc/session.md, "Limits").  One such lock a thread.
    cut = {k for k, op, ret in last.values()
           if op != "mutex_unlock" and ret in (0, EOWNERDEAD) and depth.get(k, 0) > 0}
    open_ = {k: d - (k in cut) for k, d in depth.items() if d - (k in cut) > 0 and k not in held}
    if cut:
        print("check_session: threads whose last event is a lock they still hold: %s"
              % sorted(cut))
    lost = {}
    for p in procs:
        if p["chan"] == "pthread":
            lost[p["pid"]] = lost.get(p["pid"], 0) + int(p["lost"])
    pid_of = {e["vtid"]: e["vpid"] for e in pt}
    per_pid = {}
    for (tid, _), d in open_.items():
        per_pid[pid_of[tid]] = per_pid.get(pid_of[tid], 0) + d
    print("check_session: %d (thread, mutex) pairs, held at the end: %s, lost: %s"
          % (len(depth), open_, lost))
    for pid, n in per_pid.items():
        if n > lost.get(pid, 0):
            fail("process %s: %d locks never unlocked, %d events lost"
                 % (pid, n, lost.get(pid, 0)))
    missing = [k for k in held if depth.get(k, 0) <= 0]
    if missing:
        fail("expected held at the end: %s" % missing)


def check_counts(pt, procs, path):
    want, minwait, held = {}, [], set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            w = line.rstrip("\n").split("\t")
            if w[0] == "count":
                key = (w[1], w[2], "pthread:" + w[3], int(w[4]))
                want[key] = want.get(key, 0) + int(w[5])
            elif w[0] == "minwait":
                minwait.append((w[1], w[2], "pthread:" + w[3], int(w[4])))
            elif w[0] == "held":
                held.add((w[1], w[2]))
    watched = {(k[0], k[1]) for k in want}
    got = {}
    for e in pt:
        f = fields(e["fields"])
        if (e["vtid"], f["mutex"]) in watched:
            key = (e["vtid"], f["mutex"], e["name"], int(f["ret"]))
            got[key] = got.get(key, 0) + 1
    for key in sorted(set(want) | set(got)):
        if want.get(key, 0) != got.get(key, 0):
            fail("thread %s mutex %s: %d %s ret %d, expected %d"
                 % (key[0], key[1], got.get(key, 0), key[2], key[3], want.get(key, 0)))
    print("check_session: %d expected counts over %d (thread, mutex), %d events"
          % (len(want), len(watched), sum(got.values())))
    for tid, mutex, name, ns in minwait:
        waits = [int(fields(e["fields"])["wait_ns"]) for e in pt if e["vtid"] == tid
                 and e["name"] == name and fields(e["fields"])["mutex"] == mutex]
        print("check_session: thread %s waited %s ns in %s" % (tid, waits, name))
        if not waits or min(waits) < ns:
            fail("thread %s: %s waited %s ns, expected at least %d" % (tid, name, waits, ns))
    # The child's events are its own process's.
    pids = {e["vpid"] for e in pt}
    for key in want:
        if key[0] not in {e["vtid"] for e in pt}:
            fail("no event of thread %s" % key[0])
    print("check_session: pthread events from processes %s" % sorted(pids))
    # The threads of the program: those of the expected counts.
    check_pairs([e for e in pt if (e["vtid"], fields(e["fields"])["mutex"]) in watched],
                procs, held)


def symbols(prog):
    """{address: (name, size)} of the program's functions (nm)."""
    out = subprocess.run(["nm", "-S", "--defined-only", prog], check=True,
                         capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        w = line.split()
        if len(w) == 4 and w[2] in "tTwW":
            syms[int(w[0], 16)] = (w[3], int(w[1], 16))
    return syms


def check_cyg(real, prog, paths):
    syms = symbols(prog)
    by_name = {n: (a, size) for a, (n, size) in syms.items()}
    calls = {}  # tid: [(enter|exit, function)]
    main_tid = None  # the first thread of the first log: main's
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                tid, kind, fn, _ = line.rstrip("\n").split("\t")
                calls.setdefault(tid, []).append((kind, fn))
                main_tid = main_tid or tid
    evs = [e for e in real if e["name"].startswith("cyg_profile:")]
    got = {}
    for e in evs:
        got.setdefault((e["vpid"], e["vtid"]), []).append(e)
    main_key = [k for k in got if k[1] == main_tid]
    if len(main_key) != 1 or "main" not in by_name:
        fail("no main thread's events, or no main in %s" % prog)
        return
    # The load bias: the main thread's first entry is main's.
    first = fields(got[main_key[0]][0]["fields"])
    bias = int(first["addr"]) - by_name["main"][0]
    if bias % 4096:
        fail("main's first entry at %s: not main" % first["addr"])
        return
    total = 0
    for (pid, tid), es in sorted(got.items()):
        tree, stack = [], []
        for e in es:
            f = fields(e["fields"])
            addr, site = int(f["addr"]) - bias, int(f["call_site"]) - bias
            name = syms.get(addr, ("?0x%x" % addr, 0))[0]
            kind = "enter" if e["name"].endswith("entry") else "exit"
            tree.append((kind, name))
            if kind == "enter":
                if stack:
                    caller = stack[-1][0]
                    start, size = by_name.get(caller, (0, 0))
                    if not start <= site < start + size:
                        fail("thread %s: %s called from 0x%x, outside %s"
                             % (tid, name, site, caller))
                stack.append((name, site))
            else:
                if not stack or stack[-1] != (name, site):
                    fail("thread %s: exit of %s (site 0x%x) does not close %s"
                         % (tid, name, site, stack[-1] if stack else None))
                    break
                stack.pop()
        total += len(tree)
        want = calls.get(tid)
        if want is None:
            fail("thread %s of process %s is in no log" % (tid, pid))
        elif tree != want:
            n = next((i for i, (a, b) in enumerate(zip(tree, want)) if a != b),
                     min(len(tree), len(want)))
            fail("thread %s: %d entries and exits, the log %d; first difference at %d: %s, "
                 "logged %s" % (tid, len(tree), len(want), n, tree[n:n + 1], want[n:n + 1]))
    missing = set(calls) - {tid for _, tid in got}
    if missing:
        fail("logged threads without events: %s" % sorted(missing))
    pids = {pid for pid, _ in got}
    if len(paths) > 1 and len(pids) != 2:
        fail("cyg_profile events from processes %s, expected the program and its child"
             % sorted(pids))
    print("check_session: %d cyg_profile events of %d threads in %d processes, %d logged"
          % (total, len(got), len(pids), sum(len(c) for c in calls.values())))


if __name__ == "__main__":
    main()
    if failures:
        print("check_session: %d failures" % len(failures))
        sys.exit(1)
    print("check_session: ok")
