# SPDX-License-Identifier: MIT
"""Check the two traces of a recording taken over by `grb recover`.

usage: check_recover.py LOG SUMMARY RC FIRST_TXT RECOVERED_TXT

LOG is take_writer's log (pid, done, fails, ready: little-endian 64-bit
words), SUMMARY what `grb recover` printed (its exit status RC),
FIRST_TXT and RECOVERED_TXT babeltrace2's output of the killed
recorder's trace and of the recovered one.

Records 0..done-1 were committed; record `done` may have been (the kill
came inside its call).  Each trace holds each record at most once, none
in both, none beyond `done`.  The summary's line is exact (RC 0): written
= recovered + taken before + lost, its recovered count is the second
trace's events, its "taken before" at least the first trace's: the
difference is what the first recorder had claimed and not yet written
when it died, and exactly those committed records (all after the first
trace's and before the second's) are in neither.  Its written - lost
(the committed) and lost are done and fails, or one more of either.
"""

import re
import struct
import sys

SEQ = re.compile(r" take:rec: .*\{ seq = (\d+), check = (\d+) \}$")
LINE = re.compile(
    r"^process (\d+) \S+ \(take\): (\d+) written = (\d+) recovered \+ (\d+) taken before"
    r" \+ (\d+) lost(?: \([^)]*\))?(?: \+ (\d+) corrupt)?: (\w+);")
M64 = (1 << 64) - 1


def seqs(path, errors):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = SEQ.search(line.rstrip("\n"))
            if not m:
                errors.append("%s: not a take:rec event: %s" % (path, line.strip()[:120]))
                continue
            s, check = int(m.group(1)), int(m.group(2))
            if check != (s * 0x9E3779B97F4A7C15) & M64:
                errors.append("%s: record %d: bad check" % (path, s))
            out.append(s)
    return out


def main(argv):
    if len(argv) != 6:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        pid, done, fails, ready = struct.unpack("<qQQQ", f.read(32))
    summary = open(argv[2], encoding="utf-8").read()
    rc = int(argv[3])
    errors = []
    a = seqs(argv[4], errors)
    b = seqs(argv[5], errors)
    sa, sb = set(a), set(b)
    if len(sa) != len(a) or len(sb) != len(b):
        errors.append("a record twice in one trace")
    if sa & sb:
        errors.append("%d records in both traces (e.g. %d)" % (len(sa & sb), min(sa & sb)))
    if any(s > done for s in sa | sb):
        errors.append("a record beyond the last committed one (%d)" % done)
    lines = [LINE.match(line) for line in summary.splitlines()]
    lines = [m for m in lines if m]
    if not ready or len(lines) != 1:
        errors.append("expected one process line in the summary (ready %d)" % ready)
    else:
        m = lines[0]
        lpid, written, recovered, taken, lost = (int(m.group(i)) for i in range(1, 6))
        corrupt = int(m.group(6) or 0)
        if lpid != pid:
            errors.append("the summary's pid %d, the log's %d" % (lpid, pid))
        if m.group(7) != "exact" or rc != 0:
            errors.append("not exact (%s), exit status %d" % (m.group(7), rc))
        if written != recovered + taken + lost + corrupt:
            errors.append("%d written != %d + %d + %d + %d" %
                          (written, recovered, taken, lost, corrupt))
        if recovered != len(b):
            errors.append("%d recovered, the trace has %d" % (recovered, len(b)))
        committed = written - lost
        if committed < done or lost < fails or (committed - done) + (lost - fails) > 1:
            errors.append("committed %d and lost %d; the log says done %d, fails %d" %
                          (committed, lost, done, fails))
        missing = [s for s in range(done) if s not in sa and s not in sb]
        claimed = taken - len(a) if taken >= len(a) else -1
        if claimed < 0:
            errors.append("%d taken before, the first trace has %d" % (taken, len(a)))
        elif not len(missing) <= claimed <= len(missing) + 1:
            errors.append("%d committed records in neither trace (e.g. %s), the first "
                          "recorder claimed %d it did not write" %
                          (len(missing), missing[:3], claimed))
        elif missing and not (max(sa, default=-1) < min(missing) and
                              max(missing) < min(sb, default=done + 1)):
            errors.append("records in neither trace are not between the two: %s" %
                          missing[:5])
        print("check_recover: done %d, fails %d: first trace %d, recovered %d, taken before "
              "%d (%d not written), lost %d" %
              (done, fails, len(a), len(b), taken, max(claimed, 0), lost))
    for e in errors[:10]:
        print("check_recover: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
