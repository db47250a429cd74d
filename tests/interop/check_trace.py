# SPDX-License-Identifier: MIT
"""Compare what babeltrace2 reads from a grb CTF trace with what was written.

    check_trace.py TRACE_DIR EXPECTED_FILE

EXPECTED_FILE comes from ctf_writer_test (see the head of that file): one
JSON line per event whose write succeeded, then a summary line.  The trace
is read twice:

* by the babeltrace2 command line (`babeltrace2 --clock-cycles --no-delta`):
  it must exit 0, print one well-formed line per event, and the
  (timestamp, name, wid, seq) of those lines must be the expected ones; the
  "Tracer discarded N events" warnings on stderr must add up to grb's count;
* by the Python bindings (bt2), which give every field's exact value (the
  text output prints floating point numbers with %g): every event, its
  timestamp and every field value must be exactly the written one.

Checks, per the summary's "check":

* exact: the multiset of events read equals the multiset written; per
  stream, the discarded-event counts babeltrace2 reports equal grb's
  counters (all loss causes but overwrite); no packet is reported lost;
* subset (overwrite mode, full disk): every event read was written, intact;
  the number read equals the events grb says reached the disk.

Both: timestamps never go backwards within a stream; each writer's events
appear in the order it wrote them; the number of events read equals the
events in the packets grb wrote.  Exit status 0 or 1 (with the reasons).
"""
import collections
import json
import os
import re
import struct
import subprocess
import sys

try:
    import bt2
except ImportError as e:  # the caller installs python3-bt2 first
    sys.exit("FAIL: cannot import bt2 (python3-bt2) with %s: %s" % (sys.executable, e))

errors = []


def fail(msg):
    errors.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def from_json(v):
    """An expected value in the form the trace's values are turned into."""
    if isinstance(v, list):
        if len(v) == 2 and v[0] in ("f32", "f64"):
            return (v[0], v[1])
        if len(v) == 3 and v[0] == "enum":
            return ("enum", v[1], tuple(sorted(v[2])))
        return tuple(from_json(x) for x in v)
    return v


def from_field(f):
    """A bt2 field's exact value: integers as int, reals as their bits."""
    if isinstance(f, bt2._EnumerationFieldConst):
        return ("enum", int(f), tuple(sorted(f.labels)))
    if isinstance(f, bt2._IntegerFieldConst):
        return int(f)
    if isinstance(f, bt2._SinglePrecisionRealFieldConst):
        return ("f32", struct.unpack("<I", struct.pack("<f", float(f)))[0])
    if isinstance(f, bt2._DoublePrecisionRealFieldConst):
        return ("f64", struct.unpack("<Q", struct.pack("<d", float(f)))[0])
    if isinstance(f, bt2._StringFieldConst):
        # babeltrace2 2.0.4 decodes an empty string as length 0 but leaves
        # the field's buffer unterminated, so its value (and the text
        # output) shows the string a recycled event had there before.  The
        # decoded length is exact: use it (fixed in later babeltrace2).
        n = len(f)
        v = str(f)
        if n == 0:
            return ""
        if len(v.encode("utf-8")) != n:
            return ("bad string", v, n)
        return v
    if isinstance(f, bt2._ArrayFieldConst):
        return tuple(from_field(x) for x in f)
    if isinstance(f, bt2._StructureFieldConst):
        return tuple((k, from_field(v)) for k, v in f.items())
    raise TypeError("unexpected field type %s" % type(f).__name__)


def load_expected(path):
    events, summary = [], None
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            d = json.loads(line)
            if "summary" in d:
                summary = d["summary"]
                continue
            fields = tuple((k, from_json(v)) for k, v in d["f"])
            events.append(((d["name"], d["ts"], fields), d["w"], d["q"]))
    if summary is None:
        sys.exit("FAIL: %s has no summary line: the writer did not finish" % path)
    return events, summary


LINE_RE = re.compile(r"^\[(\d+)\] itest-host (\S+): \{ cpu_id = (\d+) \}(?:, \{ (.*) \})?$")
WQ_RE = re.compile(r"^(?:wid = (\d+), )?seq = (\d+)[,}]?")
DISCARDED_RE = re.compile(
    r"WARNING: Tracer discarded (\d+) events? between .*? in trace .*? "
    r"within stream .*?\"(?P<stream>[^\"]*)\"", re.S)


def run_cli(trace):
    """babeltrace2's text output: [(ts, name, wid, seq)], stderr."""
    p = subprocess.run(["babeltrace2", "--clock-cycles", "--no-delta", trace],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0:
        fail("babeltrace2 exited %d; stderr:\n%s" % (p.returncode, err[-4000:]))
    lines = []
    for line in out.splitlines():
        m = LINE_RE.match(line)
        if not m:
            fail("babeltrace2 printed an unexpected line: %r" % line[:300])
            continue
        w = q = None
        if m.group(4):
            m2 = WQ_RE.match(m.group(4))
            if m2:
                w = int(m2.group(1)) if m2.group(1) else None
                q = int(m2.group(2))
        lines.append((int(m.group(1)), m.group(2), w, q))
    return lines, err


def read_bt2(trace):
    """Events per stream file, discarded events and packets per stream file."""
    per_stream = collections.defaultdict(list)  # file -> [(ts, key)]
    disc_events = collections.Counter()
    disc_packets = collections.Counter()
    try:
        for msg in bt2.TraceCollectionMessageIterator(trace):
            if type(msg) is bt2._EventMessageConst:
                ev = msg.event
                key = (ev.name, msg.default_clock_snapshot.value,
                       from_field(ev.payload_field) if ev.payload_field is not None else ())
                per_stream[os.path.basename(ev.stream.name)].append(key)
            elif type(msg) is bt2._DiscardedEventsMessageConst:
                disc_events[os.path.basename(msg.stream.name)] += msg.count or 0
                if not msg.count:
                    fail("babeltrace2 reports discarded events without a count")
            elif type(msg) is bt2._DiscardedPacketsMessageConst:
                disc_packets[os.path.basename(msg.stream.name)] += msg.count or 0
    except bt2._Error as e:
        fail("bt2 failed to read the trace: %s" % e)
        return None
    return per_stream, disc_events, disc_packets


def show(key):
    s = repr(key)
    return s if len(s) < 600 else s[:600] + "..."


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_trace.py TRACE_DIR EXPECTED_FILE")
    trace, expected_path = sys.argv[1], sys.argv[2]
    expected, summary = load_expected(expected_path)
    if summary.get("refused"):
        # grb refused the events (ctf_writer_test checked its message):
        # nothing may be left for a reader to trip over.
        if os.path.exists(trace) and os.listdir(trace):
            fail("the events were refused, but %s holds %s" % (trace, os.listdir(trace)))
            return 1
        print("%s: grb refused the events; nothing to read" % summary["scenario"])
        return 0
    mode = summary["check"]
    streams = {s["file"]: s for s in summary["streams"]}
    disk_events = sum(s["events"] for s in summary["streams"])

    # Which writer and sequence number each expected event has.
    origin = collections.defaultdict(collections.deque)
    for key, w, q in expected:
        origin[key].append((w, q))
    want = collections.Counter(key for key, _, _ in expected)

    # --- babeltrace2, the command line --------------------------------------
    lines, err = run_cli(trace)
    cli = collections.Counter(lines)
    want_cli = collections.Counter()
    for (name, ts, fields), w, q in expected:
        d = dict(fields)
        want_cli[(ts, name, d.get("wid"), d.get("seq"))] += 1
    if mode == "exact":
        if cli != want_cli:
            missing = want_cli - cli
            extra = cli - want_cli
            fail("babeltrace2 printed %d events, %d written; %d missing (e.g. %s), "
                 "%d unexpected (e.g. %s)"
                 % (len(lines), len(expected), sum(missing.values()),
                    list(missing)[:3], sum(extra.values()), list(extra)[:3]))
    else:
        extra = cli - want_cli
        if extra:
            fail("babeltrace2 printed %d events never written, e.g. %s"
                 % (sum(extra.values()), list(extra)[:3]))
    if len(lines) != disk_events:
        fail("babeltrace2 printed %d events; grb wrote %d to the stream files"
             % (len(lines), disk_events))
    cli_discarded = collections.Counter()
    for m in DISCARDED_RE.finditer(err):
        cli_discarded[os.path.basename(m.group("stream"))] += int(m.group(1))
    if "discarded" in err and not cli_discarded and "packet" not in err:
        fail("cannot parse babeltrace2's warnings:\n%s" % err[:2000])

    # --- babeltrace2, the bindings: exact values ----------------------------
    read = read_bt2(trace)
    if read is None:
        print("%d check(s) failed" % len(errors), file=sys.stderr)
        return 1
    per_stream, disc_events, disc_packets = read
    got = collections.Counter()
    nr_read = 0
    for f, keys in per_stream.items():
        if f not in streams:
            fail("babeltrace2 reads a stream %s that grb does not have" % f)
        prev = None
        for i, key in enumerate(keys):
            got[key] += 1
            nr_read += 1
            if prev is not None and key[1] < prev:
                fail("stream %s: event %d at %d is earlier than the one before (%d)"
                     % (f, i, key[1], prev))
            prev = key[1]
    if nr_read != len(lines):
        fail("bt2 read %d events, the command line printed %d" % (nr_read, len(lines)))
    if nr_read != disk_events:
        fail("bt2 read %d events; grb wrote %d to the stream files" % (nr_read, disk_events))
    if mode == "exact":
        if got != want:
            missing = want - got
            extra = got - want
            fail("read %d events, %d written: %d missing, %d not written (or changed)"
                 % (nr_read, len(expected), sum(missing.values()), sum(extra.values())))
            for k in list(missing)[:3]:
                fail("  missing:     %s" % show(k))
            for k in list(extra)[:3]:
                fail("  not written: %s" % show(k))
    else:
        extra = got - want
        if extra:
            fail("%d events read were never written (or were changed), e.g.:"
                 % sum(extra.values()))
            for k in list(extra)[:3]:
                fail("  %s" % show(k))
        if nr_read == 0:
            fail("no event read at all")

    # Each writer's order: in every stream, and across streams by timestamp.
    by_writer = collections.defaultdict(list)  # w -> [(q, ts)]
    for f, keys in per_stream.items():
        last_q = {}
        for key in keys:
            if not origin.get(key):
                continue  # reported above
            w, q = origin[key].popleft()
            if w in last_q and q <= last_q[w]:
                fail("stream %s: writer %d's event %d comes after its event %d"
                     % (f, w, q, last_q[w]))
            last_q[w] = q
            by_writer[w].append((q, key[1]))
    for w, qs in by_writer.items():
        qs.sort()
        for (q0, t0), (q1, t1) in zip(qs, qs[1:]):
            if t1 < t0:
                fail("writer %d: event %d at %d is earlier than its event %d at %d"
                     % (w, q1, t1, q0, t0))
                break

    # Losses.
    total_lost = sum(s["lost_discarded"] for s in summary["streams"])
    if mode == "exact":
        for f, s in streams.items():
            if disc_events[f] != s["lost_discarded"]:
                fail("stream %s: babeltrace2 reports %d discarded events, grb counted %d "
                     "lost (%s)" % (f, disc_events[f], s["lost_discarded"], s["lost"]))
            if cli_discarded[f] != s["lost_discarded"]:
                fail("stream %s: babeltrace2's warnings say %d discarded events, grb "
                     "counted %d lost" % (f, cli_discarded[f], s["lost_discarded"]))
        if summary["attempts"] - total_lost != nr_read:
            fail("%d writes - %d lost = %d, but %d events read"
                 % (summary["attempts"], total_lost, summary["attempts"] - total_lost,
                    nr_read))
        if sum(disc_packets.values()):
            fail("babeltrace2 reports %d discarded packets (%s)"
                 % (sum(disc_packets.values()), dict(disc_packets)))
    if summary["expect_discarded_packets"]:
        if not sum(disc_packets.values()):
            fail("babeltrace2 reports no discarded packet")
        if "packets" not in err or "discarded" not in err:
            fail("babeltrace2's stderr does not warn about discarded packets:\n%s"
                 % err[:2000])

    print("%s: %d events written, %d read by bt2, %d printed by babeltrace2; "
          "discarded events reported %d (grb lost %d), discarded packets %d"
          % (summary["scenario"], len(expected), nr_read, len(lines),
             sum(disc_events.values()), total_lost, sum(disc_packets.values())))
    if errors:
        print("%d check(s) failed" % len(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
