# SPDX-License-Identifier: MIT
"""Compare what trace-cmd report and grb ftrace show print of a trace.dat
with what the writer test wrote.

usage: check_ftrace.py events|overwrite EXPECTED TRACE_DAT REPORT [REPORT...]
       check_ftrace.py graph EXPECTED REPORT_TRACE_CMD REPORT_GRB
       check_ftrace.py summary EXPECTED RECORD_OUTPUT
       check_ftrace.py pipe RECORD_OUTPUT SHOW_OUTPUT

events, overwrite: each REPORT is the output of `trace-cmd report -t` or
`grb ftrace show -t`.  Every event line is split into comm, pid, cpu,
timestamp (ns), event name and its fields (name=value pairs, or the text
as a whole where it has none), and compared with EXPECTED
(ftrace_writer_test.c says its format) line by line: same order, same
values, exact timestamps.  "CPU:n [k EVENTS DROPPED]" lines must be where
the expected file puts them, with the same count.  The records of
TRACE_DAT's pages are counted by type: "R <tab> padding <tab> n" lines of
EXPECTED give the number of records discarded after reserve, "R <tab> kind
<tab> min" a least number of TIME_EXTEND ("extend") or type_len 0 ("long")
records.

graph: EXPECTED is ftrace_func_test's log of its hooks (pid, enter|exit,
function, depth).  The function graph of each report (trace-cmd's
funcgraph lines, and grb ftrace show --graph) is parsed back into calls
and returns with their depth (the indentation), per pid, and must be
that log; leaves ("f();") count as a call and its return.  The durations
the two print for the same line must be the same.

summary: RECORD_OUTPUT is what `grb ftrace record` printed of a program
whose calls EXPECTED logs (ftrace_record_prog).  One process, which
exited with status 0; its summary says exact; the records written are
the entries and exits EXPECTED has, and each of them is in the file,
overwritten or lost (written = in file + overwritten + lost), the
overwritten ones being the file's missed events.

pipe: RECORD_OUTPUT is what `grb ftrace record --pipe` printed (the
program's own output and the summary among the records), SHOW_OUTPUT
what `grb ftrace show` prints of the file it wrote.  The event and
"EVENTS DROPPED" lines of each CPU must be the same, in the same order:
none printed twice, none left out.  Some event line must come before the
program's own last line ("ftrace_record_prog: ..."): printed live.

Exit status 0, or 1 with the differences on stdout.
"""

import re
import struct
import sys

LINE = re.compile(r"^\s*(.+)-(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d{9}|\d{6}):\s+(\w+):\s?(.*)$")
DROPPED = re.compile(r"^CPU:(\d+) \[(\d+) EVENTS DROPPED\]$")


def fields(text):
    """name=value pairs in order, or the text as one item."""
    text = text.strip()
    if "=" not in text:
        return [text]
    out, key = [], None
    for tok in re.split(r" (?=\w+=)", text):
        if "=" in tok:
            key, val = tok.split("=", 1)
            out.append((key, val))
    return out


def parse_report(path):
    """Items: ("E", cpu, pid, comm, ts, name, fields) and ("D", cpu, count)."""
    items, bad = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("cpus=") or line.startswith("version ="):
                continue
            m = DROPPED.match(line)
            if m:
                items.append(("D", int(m.group(1)), int(m.group(2))))
                continue
            m = LINE.match(line)
            if not m:
                bad.append("%s:%d: unparsed: %s" % (path, no, line))
                continue
            comm, pid, cpu, sec, ns, name, text = m.groups()
            items.append(("E", int(cpu), int(pid), comm.strip(), int(sec) * 10**9 + int(ns),
                          name, fields(text)))
    return items, bad


def record_types(path):
    """Counts of the records of a little-endian trace.dat's pages by type:
    data, long (type_len 0), padding, extend, stamp."""
    with open(path, "rb") as f:
        d = f.read()
    at = d.index(b"flyrecord\0") + 10
    # The CPU count is the u32 right before "options  \0".
    cpus = struct.unpack("<I", d[d.index(b"options  \0") - 4:d.index(b"options  \0")])[0]
    counts = {"data": 0, "long": 0, "padding": 0, "extend": 0, "stamp": 0}
    page = struct.unpack("<I", d[14:18])[0]
    for k in range(cpus):
        off, size = struct.unpack("<QQ", d[at + 16 * k:at + 16 * k + 16])
        for p in range(off, off + size, page):
            commit = struct.unpack("<Q", d[p + 8:p + 16])[0] & ((1 << 27) - 1)
            data, o = d[p + 16:p + 16 + commit], 0
            while o < commit:
                w = struct.unpack("<I", data[o:o + 4])[0]
                t = w & 31
                if t in (30, 31):
                    counts["extend" if t == 30 else "stamp"] += 1
                    o += 8
                elif t == 29:
                    counts["padding"] += 1
                    o += 4 + struct.unpack("<I", data[o + 4:o + 8])[0]
                elif t == 0:
                    counts["long"] += 1
                    o += 8 + ((struct.unpack("<I", data[o + 4:o + 8])[0] - 4 + 3) & ~3)
                else:
                    counts["data"] += 1
                    o += 4 + 4 * t
    return counts


def check_records(expected_path, dat):
    counts, errors = record_types(dat), []
    with open(expected_path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] != "R":
                continue
            if p[1] == "padding" and counts["padding"] != int(p[2]):
                errors.append("%s: %d padding records, %s records were discarded"
                              % (dat, counts["padding"], p[2]))
            elif p[1] != "padding" and counts[p[1]] < int(p[2]):
                errors.append("%s: %d %s records, expected at least %s"
                              % (dat, counts[p[1]], p[1], p[2]))
    print("%s: records %s" % (dat, counts))
    return errors


def parse_expected(path):
    items = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] == "R":
                continue
            if p[0] == "D":
                items.append(("D", int(p[1]), int(p[2])))
            else:
                items.append((p[0], int(p[1]), int(p[2]), p[3], int(p[4]), p[5], fields(p[6])))
    return items


def show(item):
    if item[0] == "D":
        return "CPU:%d [%d EVENTS DROPPED]" % (item[1], item[2])
    return "%s-%d [%03d] %d %s: %s" % (item[3], item[2], item[1], item[4], item[5], item[6])


def check_events(expected, path):
    got, errors = parse_report(path)
    exp = []
    kept = [e for e in expected if e[0] == "O"]
    if kept:
        # A suffix of the O lines, after a D line with the count of the others.
        n_events = sum(1 for g in got if g[0] == "E")
        dropped = len(kept) - n_events
        if dropped <= 0:
            errors.append("%s: %d events for %d written: nothing was overwritten"
                          % (path, n_events, len(kept)))
        else:
            exp.append(("D", kept[0][1], dropped))
            exp.extend(("E",) + e[1:] for e in kept[dropped:])
    else:
        exp = expected
    for i in range(max(len(exp), len(got))):
        e = exp[i] if i < len(exp) else None
        g = got[i] if i < len(got) else None
        if e != g:
            errors.append("%s: line %d:\n  expected %s\n  got      %s"
                          % (path, i + 1, show(e) if e else "(end)", show(g) if g else "(end)"))
            if len(errors) > 20:
                break
    counts = {}
    for g in got:
        counts[g[0] if g[0] == "D" else g[5]] = counts.get(g[0] if g[0] == "D" else g[5], 0) + 1
    print("%s: %d lines %s" % (path, len(got), counts))
    return errors


GRAPH_TC = re.compile(r"funcgraph_(?:entry|exit):\s+(?:[ +!#$@*]\s*)?(?:([\d.]+) us\s+)?\|  (.*)$")
GRAPH_GRB = re.compile(r"^\s*\d+\)\s+\S+-(\d+) \|\s*[ +!#$@*]?\s*(?:([\d.]+) us)?\s*\|  (.*)$")


def graph_items(text):
    """depth, kind (enter, leaf, exit), name (None for a bare exit)."""
    indent = len(text) - len(text.lstrip(" "))
    body = text.strip()
    depth = indent // 2
    m = re.match(r"^(\S+)\(\) \{$", body)
    if m:
        return depth, "enter", m.group(1)
    m = re.match(r"^(\S+)\(\);$", body)
    if m:
        return depth, "leaf", m.group(1)
    m = re.match(r"^\}(?: /\* (\S+) \*/)?$", body)
    if m:
        return depth, "exit", m.group(1)
    return None


def parse_graph(path, grb):
    """{pid: [(enter|exit, name, depth)]}, [durations], errors."""
    calls, durations, errors = {}, [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if grb:
                if line.startswith("#"):
                    continue
                m = GRAPH_GRB.match(line)
                if not m:
                    errors.append("%s:%d: unparsed: %s" % (path, no, line))
                    continue
                pid, dur, text = int(m.group(1)), m.group(2), m.group(3)
                if text.strip().startswith("/*"):
                    continue  # another event, as a comment
            else:
                if "funcgraph_" not in line:
                    continue
                m = LINE.match(line)
                g = GRAPH_TC.search(line)
                if not m or not g:
                    errors.append("%s:%d: unparsed: %s" % (path, no, line))
                    continue
                pid, dur, text = int(m.group(2)), g.group(1), g.group(2)
            it = graph_items(text)
            if not it:
                errors.append("%s:%d: not a graph line: %s" % (path, no, text))
                continue
            depth, kind, name = it
            seq = calls.setdefault(pid, [])
            if kind in ("enter", "leaf"):
                seq.append(("enter", name, depth))
            if kind in ("exit", "leaf"):
                seq.append(("exit", name, depth))
            if kind != "enter":
                durations.append(dur)
    return calls, durations, errors


def check_graph(expected_path, tc_path, grb_path):
    expected = {}
    with open(expected_path, encoding="utf-8") as f:
        for line in f:
            pid, kind, name, depth = line.rstrip("\n").split("\t")
            expected.setdefault(int(pid), []).append((kind, name, int(depth)))
    errors = []
    durs = []
    for path, grb in ((tc_path, False), (grb_path, True)):
        calls, d, errs = parse_graph(path, grb)
        errors += errs
        durs.append(d)
        if sorted(calls) != sorted(expected):
            errors.append("%s: pids %s, expected %s" % (path, sorted(calls), sorted(expected)))
        for pid, exp in expected.items():
            got = calls.get(pid, [])
            # trace-cmd names no function at a return: compare the depth.
            for i in range(max(len(exp), len(got))):
                e = exp[i] if i < len(exp) else None
                g = got[i] if i < len(got) else None
                same = e and g and e[0] == g[0] and e[2] == g[2] and (g[1] is None or e[1] == g[1])
                if not same:
                    errors.append("%s: pid %d call %d: expected %s, got %s"
                                  % (path, pid, i, e, g))
                    break
        print("%s: %s" % (path, {pid: len(c) for pid, c in calls.items()}))
    if durs[0] != durs[1]:
        errors.append("durations differ: trace-cmd %s, grb %s" % (durs[0][:10], durs[1][:10]))
    return errors


SUMMARY = re.compile(r"^(\d+) processes: (\d+) records written = (\d+) in .* \+ (\d+) overwritten"
                     r" \((\d+)(\+\?)? missed events in the file\) \+ (\d+) lost \(.*\): (\w+)$")


def check_summary(expected_path, record_path):
    with open(expected_path, encoding="utf-8") as f:
        calls = sum(1 for line in f if line.strip())
    with open(record_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    lines = [m for m in map(SUMMARY.match, text.splitlines()) if m]
    if len(lines) != 1:
        return ["%s: %d summary lines" % (record_path, len(lines))]
    m = lines[0]
    procs, written, in_file, over, missed, lost = (int(m.group(i)) for i in (1, 2, 3, 4, 5, 7))
    errors = []
    if procs != 1:
        errors.append("%d processes, expected 1" % procs)
    if m.group(8) != "exact":
        errors.append("the summary says %s" % m.group(8))
    if m.group(6) or missed != over:
        errors.append("%d%s missed events in the file, %d overwritten"
                      % (missed, m.group(6) or "", over))
    if written != in_file + over + lost:
        errors.append("%d written != %d in the file + %d overwritten + %d lost"
                      % (written, in_file, over, lost))
    if written != calls:
        errors.append("%d records written, the program logged %d entries and exits"
                      % (written, calls))
    if "\nthe program exited with status 0\n" not in text:
        errors.append("the program did not exit with status 0")
    print("%s: %d written = %d in the file + %d overwritten + %d lost, %d logged"
          % (record_path, written, in_file, over, lost, calls))
    return errors


def pipe_lines(path):
    """{cpu: [line]} of the event and dropped lines, and the index (among
    all lines) of the first event line and of the program's line."""
    per_cpu, first_event, program = {}, None, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for no, line in enumerate(f):
            line = line.rstrip("\n")
            m, d = LINE.match(line), DROPPED.match(line)
            if m or d:
                cpu = int(m.group(3)) if m else int(d.group(1))
                per_cpu.setdefault(cpu, []).append(line.strip())
                if m and first_event is None:
                    first_event = no
            elif line.startswith("ftrace_record_prog:"):
                program = no
    return per_cpu, first_event, program


def check_pipe(record_path, show_path):
    got, first, program = pipe_lines(record_path)
    exp = pipe_lines(show_path)[0]
    errors = []
    for cpu in sorted(set(got) | set(exp)):
        g, e = got.get(cpu, []), exp.get(cpu, [])
        for i in range(max(len(g), len(e))):
            if i >= len(g) or i >= len(e) or g[i] != e[i]:
                errors.append("CPU %d line %d: the file has %s, --pipe printed %s"
                              % (cpu, i, e[i] if i < len(e) else "(end)",
                                 g[i] if i < len(g) else "(end)"))
                break
    if not exp:
        errors.append("%s: no event" % show_path)
    if first is None or program is None or first > program:
        errors.append("%s: no event printed before the program's last line" % record_path)
    print("%s: %s lines by CPU, the first event at line %s, the program's at %s"
          % (record_path, {c: len(v) for c, v in sorted(got.items())}, first, program))
    return errors


def main(argv):
    if len(argv) < 4:
        print(__doc__.strip())
        return 2
    mode = argv[1]
    if mode == "graph":
        errors = check_graph(argv[2], argv[3], argv[4])
    elif mode == "summary":
        errors = check_summary(argv[2], argv[3])
    elif mode == "pipe":
        errors = check_pipe(argv[2], argv[3])
    else:
        expected = parse_expected(argv[2])
        errors = check_records(argv[2], argv[3])
        for path in argv[4:]:
            errors += check_events(expected, path)
    for e in errors:
        print(e)
    print("check_ftrace: %s" % ("FAILED" if errors else "OK"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
