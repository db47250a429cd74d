# SPDX-License-Identifier: MIT
"""Compare what perf printed with what libgrb-perf wrote.

usage:
  check_perf.py known EXPECTED SCRIPT_OUTPUT
      EXPECTED (perf_test known) against `perf script --ns -F
      comm,tid,time,period,ip,sym,symoff`: the same samples in the same
      order, each with its command, thread, time to the nanosecond,
      period, and every address of its call chain with its symbol+offset.
  check_perf.py folded FOLDED HOT
      the folded stacks: the heaviest leaf is HOT.
  check_perf.py lost COUNTS REPORT STATS
      perf report's "Total Lost Samples" and --stats' counts equal grb's.
"""

import re
import sys


def fail(msg):
    print("check_perf.py: FAIL: " + msg)
    sys.exit(1)


def blocks(lines):
    """Blank-line separated blocks of stripped, non-empty lines."""
    out, cur = [], []
    for line in lines:
        line = line.strip()
        if not line:
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(line)
    if cur:
        out.append(cur)
    return out


def parse_expected(path):
    samples = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "sample":
                samples.append({"comm": w[1], "tid": w[2], "time": w[3],
                                "period": w[4], "chain": []})
            else:
                samples[-1]["chain"].append((int(w[0], 16), w[1]))
    return samples


HEAD = re.compile(r"^(\S+)\s+(\d+)\s+(\d+\.\d{9}):\s+(\d+)\s*$")


def parse_script(path):
    samples = []
    with open(path, encoding="utf-8") as f:
        for b in blocks(f):
            m = HEAD.match(b[0])
            if not m:
                fail("unexpected perf script line: %r" % b[0])
            chain = []
            for line in b[1:]:
                w = line.split()
                if len(w) < 2:
                    fail("unexpected call chain line: %r" % line)
                chain.append((int(w[0], 16), w[1]))
            samples.append({"comm": m.group(1), "tid": m.group(2),
                            "time": m.group(3), "period": m.group(4),
                            "chain": chain})
    return samples


def check_known(expected_path, script_path):
    exp = parse_expected(expected_path)
    got = parse_script(script_path)
    if len(exp) != len(got):
        fail("%d samples expected, perf script printed %d" % (len(exp), len(got)))
    for i, (e, g) in enumerate(zip(exp, got)):
        for k in ("comm", "tid", "time", "period"):
            if e[k] != g[k]:
                fail("sample %d: %s %s expected, perf script printed %s"
                     % (i, k, e[k], g[k]))
        if e["chain"] != g["chain"]:
            fail("sample %d (time %s): chain %s expected, perf script printed %s"
                 % (i, e["time"], e["chain"], g["chain"]))
    depth = sum(len(e["chain"]) for e in exp)
    print("check_perf.py: %d samples and %d call chain entries identical"
          % (len(exp), depth))


def check_folded(path, hot):
    leaves = {}
    total = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                fail("bad folded line %r" % line)
            leaf = stack.split(";")[-1]
            leaves[leaf] = leaves.get(leaf, 0) + int(count)
            total += int(count)
    if not leaves:
        fail("no folded stacks")
    top = max(leaves, key=leaves.get)
    print("check_perf.py: folded: %d samples; leaves %s" % (total, sorted(
        leaves.items(), key=lambda kv: -kv[1])[:4]))
    if top != hot:
        fail("the heaviest leaf of the folded stacks is %s, not %s" % (top, hot))


def check_lost(counts_path, report_path, stats_path):
    counts = {}
    with open(counts_path, encoding="utf-8") as f:
        for line in f:
            k, v = line.split()
            counts[k] = int(v)
    with open(report_path, encoding="utf-8") as f:
        report = f.read()
    with open(stats_path, encoding="utf-8") as f:
        stats = f.read()
    m = re.search(r"^# Total Lost Samples: (\d+)$", report, re.M)
    if not m:
        fail("perf report printed no Total Lost Samples")
    total = int(m.group(1))
    # --stats: the aggregated record counts, then the event's, where
    # LOST_SAMPLES is the sum of the records' counts.
    agg = re.search(r"Aggregated stats:(.*?)(?:\n\S|\Z)", stats, re.S)
    ev = re.search(r"cpu-clock stats:(.*)", stats, re.S)
    if not agg or not ev:
        fail("perf report --stats printed no stats:\n" + stats)

    def count(text, name):
        m = re.search(r"^\s*%s events:\s+(\d+)" % name, text, re.M)
        return int(m.group(1)) if m else 0

    got = {
        "total_lost": total,
        "lost_records": count(agg.group(1), "LOST_SAMPLES"),
        "samples": count(agg.group(1), "SAMPLE"),
        "event_lost": count(ev.group(1), "LOST_SAMPLES"),
    }
    want = {
        "total_lost": counts["grb_lost"],
        "lost_records": counts["runs"] + (counts["trailing"] > 0),
        "samples": counts["committed"],
        "event_lost": counts["grb_lost"],
    }
    print("check_perf.py: grb: written %d committed %d lost %d; perf: %s"
          % (counts["written"], counts["committed"], counts["grb_lost"], got))
    if counts["written"] != counts["committed"] + counts["grb_lost"]:
        fail("written != committed + lost")
    if got != want:
        fail("perf counted %s, grb %s" % (got, want))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "known":
        check_known(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "folded":
        check_folded(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "lost":
        check_lost(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
