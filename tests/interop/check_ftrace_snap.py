#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_ftrace_snap.py GRB PROG WORKDIR: the flight recorder of
`grb ftrace record --snapshot-on SIGUSR1`.

Records PROG (ftrace_snap_prog: snap_step() calling snap_leaf(), over and
over, pausing 1 ms every 16 rounds, for 3 s) in flight-recorder mode, sends
grb SIGUSR1 at 1.5 s, and again as soon as the first snapshot is written,
and checks with `trace-cmd report -R -t`:

* each snapshot (trace.dat.1, .2) and the final trace.dat is readable and
  holds only whole records of the program: funcgraph entries and exits
  of snap_step (depth 0) and snap_leaf (depth 1); each CPU's in time
  order; and, from the point where every CPU's records are whole (after
  its start and its last "EVENTS DROPPED"), in the program's order
  (entry step, entry leaf, exit leaf, exit step, again);
* each snapshot ends near the program's progress at its signal: its
  newest record is at most 250 ms older than the signal and not newer
  than the moment the snapshot was written;
* the second holds the first's records that were not overwritten
  meanwhile: per CPU, the first's records from the second's oldest
  record (after its last "EVENTS DROPPED", if any) on are, in the same
  order, the second's records up to the first's newest; and if grb says
  no record was overwritten between the two, all of the first's are;
* the summary says exact.

Exit status 0, or 1 with the failures on stdout.
"""

import os
import re
import signal
import subprocess
import sys
import time

LINE = re.compile(r"^\s*(.+)-(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d{9}):\s+(\w+):\s+(.*?)\s*$")
DROPPED = re.compile(r"^CPU:(\d+) \[(\d+) EVENTS DROPPED\]$")
SNAP = re.compile(r"^snapshot (\d+): (\d+) records in (\d+) pages written to (\S+) "
                  r"\((\d+) records overwritten before\)$")
ORDER = [("funcgraph_entry", "snap_step", "0"), ("funcgraph_entry", "snap_leaf", "1"),
         ("funcgraph_exit", "snap_leaf", "1"), ("funcgraph_exit", "snap_step", "0")]
SLACK_NS = 250 * 10**6


def report(path, errors):
    """Events (cpu, ts, name, text) in file order, and per CPU the ts from
    which its records are whole (None: no DROPPED line)."""
    p = subprocess.run(["trace-cmd", "report", "-R", "-t", path], capture_output=True,
                       text=True, errors="replace")
    if p.returncode:
        errors.append("%s: trace-cmd report failed: %s" % (path, p.stderr.strip()))
        return [], {}
    if p.stderr.strip():
        errors.append("%s: trace-cmd report warned: %s" % (path, p.stderr.strip()))
    events, gap = [], {}
    for line in p.stdout.splitlines():
        if not line.strip() or line.startswith("cpus="):
            continue
        m = DROPPED.match(line)
        if m:
            gap[int(m.group(1))] = True
            continue
        m = LINE.match(line)
        if not m:
            errors.append("%s: not a whole record: %s" % (path, line))
            continue
        _, _, cpu, sec, ns, name, text = m.groups()
        ev = (int(cpu), int(sec) * 10**9 + int(ns), name, text)
        if gap.get(ev[0]) is True:
            gap[ev[0]] = ev[1]  # whole from here on
        events.append(ev)
    return events, gap


def kind(ev):
    f = dict(kv.split("=", 1) for kv in ev[3].split() if "=" in kv)
    return (ev[2], f.get("func"), f.get("depth"))


def check_file(path, errors):
    events, gap = report(path, errors)
    if not events:
        errors.append("%s: no record" % path)
        return events, gap
    last = {}
    for ev in events:
        if kind(ev) not in ORDER:
            errors.append("%s: not a record of the program: %s" % (path, ev))
        if ev[1] < last.get(ev[0], 0):
            errors.append("%s: CPU %d goes back in time at %d" % (path, ev[0], ev[1]))
        last[ev[0]] = ev[1]
    first = {}
    for ev in events:
        first.setdefault(ev[0], ev[1])
    whole = max(max(first.values()), max([g for g in gap.values() if g is not True] or [0]))
    seq = sorted((ev for ev in events if ev[1] >= whole), key=lambda e: e[1])
    checked = 0
    for a, b in zip(seq, seq[1:]):
        ka, kb = kind(a), kind(b)
        if ka in ORDER and kb != ORDER[(ORDER.index(ka) + 1) % 4]:
            errors.append("%s: %s then %s: not the program's order" % (path, a, b))
            break
        checked += 1
    if checked < 100:
        errors.append("%s: only %d records in order checked" % (path, checked))
    return events, gap


def by_cpu(events):
    out = {}
    for ev in events:
        out.setdefault(ev[0], []).append(ev)
    return out


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip())
        return 2
    grb, prog, work = argv[1:]
    dat = os.path.join(work, "trace.dat")
    out_path = os.path.join(work, "record.txt")
    errors = []
    with open(out_path, "w") as out:
        start = time.monotonic()
        p = subprocess.Popen([grb, "ftrace", "record", "-o", dat, "--snapshot-on", "SIGUSR1",
                              "--", prog, "3", "16"], stdout=out, stderr=subprocess.STDOUT)
        times = []
        for k in (1, 2):
            if k == 1:
                time.sleep(max(0.0, start + 1.5 - time.monotonic()))
            t_sig = time.monotonic_ns()
            os.kill(p.pid, signal.SIGUSR1)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with open(out_path) as f:
                    if any(line.startswith("snapshot %d:" % k) for line in f):
                        break
                time.sleep(0.002)
            times.append((t_sig, time.monotonic_ns()))
        try:
            rc = p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
    with open(out_path) as f:
        text = f.read()
    print(text, end="")
    if rc:
        errors.append("grb ftrace record exited with %d" % rc)
    if not re.search(r"records written = .*: exact$", text, re.M):
        errors.append("the summary is not exact")
    snaps = {}
    for line in text.splitlines():
        m = SNAP.match(line)
        if m:
            snaps[int(m.group(1))] = (m.group(4), int(m.group(5)))
    if sorted(snaps) != [1, 2]:
        errors.append("expected snapshots 1 and 2, grb wrote %s" % sorted(snaps))
        for e in errors:
            print(e)
        return 1
    files = {}
    for k in (1, 2):
        path, _ = snaps[k]
        if path != "%s.%d" % (dat, k):
            errors.append("snapshot %d written to %s" % (k, path))
        events, gap = check_file(path, errors)
        files[k] = (events, gap)
        if events:
            newest = max(ev[1] for ev in events)
            t_sig, t_done = times[k - 1]
            print("snapshot %d: %d records, newest %.3f ms after the signal, written %.3f ms "
                  "after it" % (k, len(events), (newest - t_sig) / 1e6, (t_done - t_sig) / 1e6))
            if newest < t_sig - SLACK_NS or newest > t_done:
                errors.append("snapshot %d: newest record at %d, signal at %d, written by %d"
                              % (k, newest, t_sig, t_done))
    check_file(dat, errors)
    same_overwritten = snaps[1][1] == snaps[2][1]
    c1, c2 = by_cpu(files[1][0]), by_cpu(files[2][0])
    compared = 0
    for cpu, evs1 in sorted(c1.items()):
        evs2 = c2.get(cpu, [])
        g2 = files[2][1].get(cpu)
        lo = evs2[0][1] if evs2 else None
        if isinstance(g2, int):
            lo = g2
        if same_overwritten:
            lo = evs1[0][1]
        hi = evs1[-1][1]
        a = [ev for ev in evs1 if lo is not None and ev[1] >= lo]
        b = [ev for ev in evs2 if lo is not None and lo <= ev[1] <= hi]
        compared += len(a)
        if a != b:
            errors.append("CPU %d: the first snapshot's %d records from %s on are not the "
                          "second's %d" % (cpu, len(a), lo, len(b)))
    print("the second snapshot holds the first's %d records not overwritten meanwhile%s"
          % (compared, " (none was)" if same_overwritten else ""))
    if not compared:
        errors.append("no record of the first snapshot was left to compare")
    for e in errors[:20]:
        print(e)
    print("check_ftrace_snap: %s" % ("FAILED" if errors else "OK"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
