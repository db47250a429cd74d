# SPDX-License-Identifier: MIT
"""Check the traces of a recording whose recorders were killed and taken over.

usage: check_takeover.py MODE LOG SUMMARY RC TRACE_TXT...

MODE is discard or overwrite; LOG is takeover_writer's log (little-endian
64-bit words: pid, ready, threads, finished, then from word 8 each
thread's done and fails); SUMMARY what the last recorder printed (its
exit status RC): `grb record --attach`, or `grb recover`, or `grb record`
itself when it was not killed; TRACE_TXT babeltrace2's output of each
trace in the order they were made: the first recorder's, then each
take-over's or recovery's (all killed but the last).

Each thread's records 0..done-1 are committed, each of its calls
committed or counted lost; a program killed (not finished) may have had
one more call in flight a thread, committed, counted lost (refused, or
died) or neither.  Each record is in at most one trace, once, whole (its
check word), none beyond done (done itself, in flight, may be); a
thread's records come in order in each trace, and every trace's come
after the one before's.  The last summary's line is exact (RC 0): written
= on disk + taken before + lost; written is every call of the threads,
on disk the last trace's events, lost the refused calls (discard) or
those plus the records overwritten (overwrite); the records in no trace
are exactly those the killed recorders had claimed and not written
(taken before less the earlier traces' events) plus those overwritten.
In discard mode nothing is overwritten, and each thread's records in no
trace lie between the records of a killed recorder and those of the next
trace.
"""

import re
import struct
import sys

REC = re.compile(r" takeover:rec: .*\{ thread = (\d+), seq = (\d+), check = (\d+) \}$")
# A process's line: grb record's (no "taken before"), grb record --attach's
# or grb recover's ("recovered").
LINE = re.compile(
    r"^process (\d+) \S+ \(take\): (\d+) written = (\d+) (?:on disk|recovered)"
    r"(?: \+ (\d+) taken before)? \+ (\d+) lost(?: \(([^)]*)\))?(?: \+ (\d+) corrupt)?: (\w+);")
M64 = (1 << 64) - 1


def check_of(thread, seq):
    return ((seq * 0x9E3779B97F4A7C15) & M64) ^ (thread << 56)


def records(path, errors):
    """[(thread, seq)] of a trace's text, in its order."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = REC.search(line.rstrip("\n"))
            if not m:
                errors.append("%s: not a takeover:rec event: %s" % (path, line.strip()[:120]))
                continue
            t, s, c = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if c != check_of(t, s):
                errors.append("%s: thread %d record %d: bad check (torn)" % (path, t, s))
            out.append((t, s))
    return out


def main(argv):
    if len(argv) < 6:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    mode = argv[1]
    with open(argv[2], "rb") as f:
        d = f.read()
    pid, ready, nthreads, finished = struct.unpack("<qQQQ", d[:32])
    done, fails = [], []
    for i in range(nthreads):
        a, b = struct.unpack("<QQ", d[64 + 16 * i:80 + 16 * i])
        done.append(a)
        fails.append(b)
    summary = open(argv[3], encoding="utf-8").read()
    rc = int(argv[4])
    errors = []
    traces = [records(p, errors) for p in argv[5:]]
    if not ready:
        errors.append("the program never registered")
    # Killed: a call in flight a thread, its record possibly committed.
    inflight = 0 if finished else 1
    seen = {}
    for k, tr in enumerate(traces):
        last = {}
        for t, s in tr:
            if t >= nthreads or s >= done[t] + inflight:
                errors.append("trace %d: thread %d record %d was never committed" % (k, t, s))
                continue
            if (t, s) in seen:
                errors.append("thread %d record %d in trace %d and trace %d" %
                              (t, s, seen[(t, s)], k))
                continue
            seen[(t, s)] = k
            if t in last and s <= last[t]:
                errors.append("trace %d: thread %d record %d after %d" % (k, t, s, last[t]))
            last[t] = s
    # Every trace's records of a thread after the ones before's.
    for t in range(nthreads):
        hi = -1
        for k, tr in enumerate(traces):
            mine = [s for tt, s in tr if tt == t]
            if mine and min(mine) <= hi:
                errors.append("thread %d: trace %d has record %d, an earlier trace %d" %
                              (t, k, min(mine), hi))
            if mine:
                hi = max(hi, max(mine))
    lines = [m for m in (LINE.match(x) for x in summary.splitlines()) if m]
    if len(lines) != 1:
        errors.append("expected one process line in the last summary, got %d" % len(lines))
    else:
        m = lines[0]
        lpid, written, ondisk, taken, lost = (int(m.group(i) or 0) for i in range(1, 6))
        causes = dict((c.split()[0], int(c.split()[1]))
                      for c in (m.group(6) or "").split(", ") if c)
        corrupt = int(m.group(7) or 0)
        over = causes.get("overwritten", 0)
        committed, refused = sum(done), sum(fails)
        # What the streams say: committed (overwritten included), and
        # the calls refused or died.
        s_committed, s_refused = written - lost + over, lost - over
        earlier = sum(len(tr) for tr in traces[:-1])
        missing = s_committed - len(seen)
        claimed = taken - earlier
        if lpid != pid:
            errors.append("the summary's pid %d, the log's %d" % (lpid, pid))
        if m.group(8) != "exact" or rc != 0:
            errors.append("not exact (%s), exit status %d" % (m.group(8), rc))
        if corrupt:
            errors.append("%d corrupt records" % corrupt)
        if written != ondisk + taken + lost + corrupt:
            errors.append("%d written != %d + %d + %d + %d" %
                          (written, ondisk, taken, lost, corrupt))
        extra_c, extra_r = s_committed - committed, s_refused - refused
        if extra_c < 0 or extra_r < 0 or extra_c + extra_r > inflight * nthreads:
            errors.append("the streams say %d committed and %d refused or died (%d "
                          "overwritten); the threads logged %d and %d%s" %
                          (s_committed, s_refused, over, committed, refused,
                           ", killed" if inflight else ""))
        if mode == "discard" and over:
            errors.append("%d overwritten in discard mode" % over)
        if ondisk != len(traces[-1]):
            errors.append("%d on disk, the last trace has %d" % (ondisk, len(traces[-1])))
        if claimed < 0:
            errors.append("%d taken before, the earlier traces have %d" % (taken, earlier))
        elif missing != claimed + over:
            errors.append("%d committed records in no trace; the killed recorders claimed %d "
                          "they did not write, %d were overwritten" % (missing, claimed, over))
        if mode == "discard" and not errors:
            # What a killed recorder claimed and did not write comes after
            # what it wrote and before the next trace's, per thread.
            for t in range(nthreads):
                bounds = []
                for tr in traces:
                    mine = [s for tt, s in tr if tt == t]
                    bounds.append((min(mine), max(mine)) if mine else None)
                for s in range(done[t]):
                    if (t, s) in seen:
                        continue
                    ok = False
                    for k in range(len(traces) - 1):
                        lo = max([b[1] for b in bounds[:k + 1] if b] or [-1])
                        hi = min([b[0] for b in bounds[k + 1:] if b] or [done[t]])
                        if lo < s < hi:
                            ok = True
                    if not ok:
                        errors.append("thread %d record %d is in no trace, not between a "
                                      "killed recorder's and the next" % (t, s))
                        break
        print("check_takeover: %s, %d threads%s: %d committed, %d refused; traces %s; "
              "taken before %d (%d claimed, not written), overwritten %d, lost %d" %
              (mode, nthreads, " (killed)" if inflight else "", committed, refused,
               [len(tr) for tr in traces], taken, max(claimed, 0), over, lost))
    for e in errors[:10]:
        print("check_takeover: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
