# SPDX-License-Identifier: MIT
"""bench/suite-report.py - the report of bench/suite.sh.

Reads the RUN / SKIP / INSTR / INSN lines that suite.sh collected (one RUN
line per program run and case; INSTR: callgrind's counts; INSN: the counts of
bench/insn_count.py in the disassembly), takes the median and the spread of
every case over the repetitions, joins each grb case with the floor and
LTTng-UST of the same configuration, and writes table.txt, results.tsv,
summary.txt and the plots into the output directory.  Prints the table, one SUMMARY line per case and
the TARGETS block.  Every output names the CPU model of the run (the
"CPU model=" line of suite.sh, lscpu's "Model name").  Exit status 1 if a
grb accounting check failed.
Standard library only; plots with gnuplot, or matplotlib if gnuplot is
missing.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys

GRB_ORDER = [
    "global-atomic",
    "percpu-atomic",
    "percpu-rseq",
    "perthread-single",
]
CLOCK_ORDER = {"tsc": 0, "mono": 1, "none": 2}
# gnuplot styles of the references: the floor and LTTng-UST, dashed
STYLE = {None: "dt 2 lc rgb 'black'", "lttng": "dt 2 lc rgb 'red'"}


def parse_kv(line):
    """key=value words of a line; a 'reason=' value runs to the end."""
    out = {}
    words = line.split()
    for i, w in enumerate(words):
        if "=" not in w:
            continue
        k, v = w.split("=", 1)
        if k == "reason":
            out[k] = " ".join([v] + words[i + 1:])
            break
        out[k] = v
    return out


def fnum(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(v, nd=2):
    if v is None:
        return "na"
    return f"{v:.{nd}f}"


class Case:
    """Every run of one case in one configuration."""

    def __init__(self, kind, name, clock, payload, threads, consumer):
        self.kind = kind  # grb, floor, floor-bare, lttng, disabled, empty
        self.name = name
        self.clock = clock
        self.payload = payload
        self.threads = threads
        self.consumer = consumer
        self.ns = []
        self.mev = []
        self.lost = 0
        self.written = 0
        self.acct = set()
        self.detail = set()
        self.lost_packets = 0
        self.bad_discarded = 0  # runs whose discarded count was >= 2^63

    @property
    def mode(self):
        if self.name.endswith("-discard"):
            return "discard"
        if self.name.endswith("-overwrite"):
            return "overwrite"
        return ""

    @property
    def family(self):
        for f in GRB_ORDER:
            if self.name.startswith(f + "-"):
                return f
        return self.name

    def stat(self):
        v = sorted(self.ns)
        n = len(v)
        if not n:
            return None
        med = statistics.median(v)
        if n >= 2:
            q = statistics.quantiles(v, n=4, method="inclusive")
            q1, q3 = q[0], q[2]
        else:
            q1 = q3 = v[0]
        return {"median": med, "min": v[0], "max": v[-1], "q1": q1, "q3": q3,
                "n": n, "mev": statistics.median(self.mev) if self.mev else None}

    def accounting(self):
        if "FAIL" in self.acct:
            return "FAIL"
        if "ok" in self.acct:
            return "ok"
        return "n/a"


def load(path):
    cases = {}
    skips = {}
    instr = {}
    disasm = {}
    loads = []
    wall = None
    failures = []
    lttng_cg = None
    cpu_model = "unknown"
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            tag = line.split(" ", 1)[0]
            kv = parse_kv(line)
            if tag == "RUN":
                name = kv["case"]
                if kv["src"] == "lttng":
                    kind, consumer = "lttng", "yes"
                elif name == "floor":
                    kind, consumer = "floor", "n/a"
                elif name.startswith("floor-"):
                    # floor-bare-tsc: the floor with a bare rdtsc, shown
                    # against the floor, never a reference itself
                    kind, consumer = "floor-bare", "n/a"
                elif name == "empty-loop":
                    kind, consumer = "empty", "n/a"
                elif name.startswith("disabled-"):
                    kind, consumer = "disabled", "n/a"
                else:
                    kind, consumer = "grb", kv["consumer_run"]
                key = (kind, name, kv["clock"], int(kv["payload"]), int(kv["threads"]),
                       consumer)
                c = cases.get(key)
                if c is None:
                    c = cases[key] = Case(*key)
                c.ns.append(float(kv["ns_median"]))
                if fnum(kv.get("mevents_s")) is not None:
                    c.mev.append(float(kv["mevents_s"]))
                if kind == "lttng":
                    d = int(kv.get("discarded") or 0)
                    # `lttng list` of LTTng-tools 2.13 sometimes prints
                    # 2^63 + N: not a count; such runs are left out of
                    # lost % and flagged.
                    if d >= 1 << 63:
                        c.bad_discarded += 1
                        d = 0
                    c.lost += d
                    c.lost_packets += int(kv.get("lost_packets") or 0)
                    c.written += int(kv.get("written") or 0)
                else:
                    c.lost += int(kv.get("lost") or 0)
                    c.written += int(kv.get("written") or 0)
                    if kv.get("accounting") in ("ok", "FAIL"):
                        c.acct.add(kv["accounting"])
                    if kv.get("lost_detail") not in (None, "none"):
                        c.detail.add(kv["lost_detail"])
            elif tag == "SKIP":
                key = (kv["case"], kv["clock"], int(kv["payload"]), int(kv["threads"]),
                       kv["consumer_run"])
                skips[key] = kv.get("reason", "")
            elif tag == "INSTR":
                n = int(kv["n"])
                ir = (int(kv["ir_3n"]) - int(kv["ir_n"])) / (2.0 * n)
                instr[(kv["case"], kv["clock"], int(kv["payload"]))] = (ir, kv.get("lost"))
            elif tag == "INSN":
                disasm[(kv["case"], kv["clock"], int(kv["payload"]))] = (
                    int(kv["insn"]), kv.get("external", "-"))
            elif tag == "LTTNG_CG":
                lttng_cg = kv.get("discarded")
            elif tag == "LOAD":
                loads.append(line)
            elif tag == "WALL":
                wall = int(kv["seconds"])
            elif tag == "FAILURE":
                failures.append(line)
            elif tag == "CPU" and line.startswith("CPU model="):
                cpu_model = line[len("CPU model="):].strip() or "unknown"
    return cases, skips, instr, disasm, loads, wall, failures, lttng_cg, cpu_model


def sort_key(c):
    kind_rank = {"floor": 0, "grb": 1, "floor-bare": 2, "lttng": 3, "empty": 4,
                 "disabled": 5}[c.kind]
    fam = GRB_ORDER.index(c.family) if c.family in GRB_ORDER else 9
    return (c.kind in ("empty", "disabled"), c.payload, c.threads,
            {"yes": 0, "n/a": 0, "no": 1}[c.consumer], CLOCK_ORDER.get(c.clock, 3),
            kind_rank, fam, c.mode, c.name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs-file", required=True)
    ap.add_argument("--machine")
    ap.add_argument("--out", required=True)
    ap.add_argument("--plot", action="store_true")
    args = ap.parse_args()

    cases, skips, instr, disasm, loads, wall, failures, lttng_cg, cpu_model = \
        load(args.runs_file)
    by = {}
    for c in cases.values():
        by[(c.kind, c.name, c.clock, c.payload, c.threads, c.consumer)] = c

    def find(kind, name, clock, payload, threads, consumer):
        c = by.get((kind, name, clock, payload, threads, consumer))
        return c.stat() if c else None

    def instr_of(name, clock, payload):
        v = instr.get((name, clock, payload))
        return v[0] if v else None

    def disasm_of(name, clock, payload):
        """(count, external calls left out) in the disassembly, or None."""
        return disasm.get((name, clock, payload))

    def fmt_dis(v, wide=False):
        """A disassembly count; '*' (or the names, wide) when it leaves out
        an external call's instructions (clock_gettime)."""
        if v is None:
            return "na"
        if v[1] in ("-", ""):
            return str(v[0])
        return f"{v[0]}+{v[1]}" if wide else f"{v[0]}*"

    rows = []
    for c in sorted(cases.values(), key=sort_key):
        st = c.stat()
        row = {"c": c, "st": st, "floor": None, "lttng": None, "instr": None,
               "floor_instr": None, "lttng_instr": None, "ref": None, "ref_instr": None,
               "dis": disasm_of(c.name, c.clock, c.payload),
               "floor_dis": disasm_of("floor", c.clock, c.payload)
               if c.kind in ("grb", "floor", "floor-bare") else None}
        if c.kind in ("grb", "floor-bare"):
            fl = find("floor", "floor", c.clock, c.payload, c.threads, "n/a")
            row["floor"] = fl["median"] if fl else None
            if c.consumer == "yes":
                lt = find("lttng", "lttng-ust-" + c.mode, "mono", c.payload, c.threads, "yes")
                row["lttng"] = lt["median"] if lt else None
        if c.kind == "disabled":
            e = find("empty", "empty-loop", "none", c.payload, c.threads, "n/a")
            row["ref"] = e["median"] if e else None
        if c.threads == 1 and c.consumer in ("yes", "n/a"):
            row["instr"] = instr_of(c.name, c.clock, c.payload)
            if c.kind in ("grb", "floor", "floor-bare", "lttng"):
                row["floor_instr"] = instr_of("floor", c.clock, c.payload)
                row["lttng_instr"] = instr_of("lttng-ust-discard", "mono", c.payload)
            if c.kind == "disabled":
                row["ref_instr"] = instr_of("empty-loop", "none", c.payload)
        rows.append(row)

    lines = [f"CPU model: {cpu_model}", ""]
    hdr = (f"{'case':<27} {'clock':<5} {'P':>3} {'thr':>3} {'cons':<4} {'ns/ev':>8} "
           f"{'[min - max]':>17} {'IQR':>6} {'Mev/s':>8} {'cg-ins':>7} {'dis-ins':>7} "
           f"{'xfloor':>6} "
           f"{'xLTTng':>6} {'lost %':>8}  acct")
    lines.append(hdr)
    prev = None
    for r in rows:
        c, st = r["c"], r["st"]
        group = (c.kind in ("empty", "disabled"), c.payload, c.threads, c.consumer == "no")
        if prev is not None and group != prev:
            lines.append("")
        prev = group
        ratio_floor = st["median"] / r["floor"] if r["floor"] else None
        if c.kind == "disabled" and r["ref"]:
            ratio_floor = st["median"] / r["ref"]
        ratio_lttng = st["median"] / r["lttng"] if r["lttng"] else None
        lost_pct = 100.0 * c.lost / c.written if c.written else None
        if c.bad_discarded:
            lost_pct = None
        lines.append(
            f"{c.name:<27} {c.clock:<5} {c.payload:>3} {c.threads:>3} {c.consumer:<4} "
            f"{st['median']:>8.2f} {'[' + fmt(st['min']) + ' - ' + fmt(st['max']) + ']':>17} "
            f"{st['q3'] - st['q1']:>6.2f} {fmt(st['mev'], 1):>8} {fmt(r['instr'], 1):>7} "
            f"{fmt_dis(r['dis']):>7} "
            f"{fmt(ratio_floor):>6} {fmt(ratio_lttng):>6} "
            f"{fmt(lost_pct, 3) if not c.bad_discarded else '?(' + str(c.bad_discarded) + ')':>8}  "
            f"{c.accounting() if c.kind in ('grb', 'disabled') else '-'}")
        r["ratio_floor"] = ratio_floor
        r["ratio_lttng"] = ratio_lttng
        r["lost_pct"] = lost_pct
    for (name, clock, payload, threads, cons), reason in sorted(skips.items()):
        lines.append(f"SKIP {name} clock={clock} payload={payload} threads={threads} "
                     f"consumer={cons}: {reason}")
    lines.append("")
    lines.append("ns/ev: median over the repetitions, per writer thread (with more threads "
                 "than CPUs the threads share CPUs);")
    lines.append("[min - max] and IQR over the repetitions; Mev/s: all writers together; "
                 "cg-ins: instructions/event (callgrind)")
    lines.append("(1 thread, no consumer, no warm-up; na where valgrind cannot run the case: "
                 "rseq); dis-ins: instructions/event")
    lines.append("(disassembly): bench/insn_count.py's count of the loop's common path, the "
                 "same for every thread count; *: without")
    lines.append("the instructions of clock_gettime (the vDSO's read), which are not in the "
                 "program; na for a disabled site, whose")
    lines.append("common path, the refusal, the code's layout does not tell.  xfloor: ns/ev "
                 "over the floor of the")
    lines.append("same clock, payload and threads (over the empty loop for a disabled site); "
                 "xLTTng: over LTTng-UST in the same mode,")
    lines.append("payload and threads (LTTng-UST reads CLOCK_MONOTONIC).  cons=no: nothing "
                 "drains during the run, so discard mode drops once")
    lines.append("the ring is full (lost %) and overwrite mode overwrites.  Under callgrind "
                 "the mono clock is the system-call")
    lines.append("stub (the kernel's instructions are not counted) and per-CPU streams use "
                 "sched_getcpu() (no rseq under valgrind).")
    lines.append("LTTng-UST lost %: events it discarded (lttng list); ?(k): in k runs lttng list "
                 "printed a discarded count >= 2^63,")
    lines.append("which is not a count: lost % unknown.")
    lines.append("The tsc clock is grb_clock_tsc() (lfence; rdtsc), the product's read. "
                 "floor-bare-tsc is the tsc floor with a bare")
    lines.append("rdtsc, which doc/ordering.md forbids for a tracer: its xfloor says what "
                 "the ordered read costs; no ratio is taken")
    lines.append("against it.")

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "table.txt"), "w") as f:
        # (the licence line lets the file be committed as it is)
        f.write("SPDX-License-Identifier: MIT\n")
        if args.machine and os.path.exists(args.machine):
            f.write(open(args.machine).read())
        for l in loads:
            f.write(l + "\n")
        f.write("\n".join(lines) + "\n")
    print()
    print("\n".join(lines))

    # results.tsv: one row per case
    cols = ["kind", "case", "mode", "clock", "payload", "threads", "consumer", "runs",
            "ns_median", "ns_min", "ns_max", "ns_q1", "ns_q3", "mevents_s", "instr",
            "floor_ns", "lttng_ns", "ref_ns", "floor_instr", "lttng_instr", "ratio_floor",
            "ratio_lttng", "lost", "written", "lost_pct", "accounting", "cpu_model",
            "instr_disasm", "floor_instr_disasm"]
    with open(os.path.join(args.out, "results.tsv"), "w") as f:
        # (the licence line lets the file be committed as it is)
        f.write("# SPDX-License-Identifier: MIT\n")
        f.write("# bench/suite.sh results: one row per case; see bench/RESULTS.md\n")
        f.write(f"# CPU model: {cpu_model}\n")
        f.write("\t".join(cols) + "\n")
        for r in rows:
            c, st = r["c"], r["st"]
            vals = [c.kind, c.name, c.mode or "-", c.clock, c.payload, c.threads, c.consumer,
                    st["n"], fmt(st["median"], 3), fmt(st["min"], 3), fmt(st["max"], 3),
                    fmt(st["q1"], 3), fmt(st["q3"], 3), fmt(st["mev"], 3), fmt(r["instr"], 1),
                    fmt(r["floor"], 3), fmt(r["lttng"], 3), fmt(r["ref"], 3),
                    fmt(r["floor_instr"], 1), fmt(r["lttng_instr"], 1),
                    fmt(r["ratio_floor"], 3), fmt(r["ratio_lttng"], 3), c.lost, c.written,
                    fmt(r["lost_pct"], 4), c.accounting(), cpu_model,
                    fmt_dis(r["dis"], True), fmt_dis(r["floor_dis"], True)]
            f.write("\t".join(str(v) for v in vals) + "\n")

    # SUMMARY lines
    summary = []
    for r in rows:
        c, st = r["c"], r["st"]
        spread = f"{fmt(st['min'])}..{fmt(st['max'])}"
        own = {"ns": fmt(st["median"]), "spread": spread, "iqr": fmt(st["q3"] - st["q1"])}
        grb = c.kind == "grb"
        if grb or c.kind == "floor-bare":
            floor_ns = r["floor"]
        else:
            floor_ns = st["median"] if c.kind == "floor" else None
        s = (f"SUMMARY case={c.name} kind={c.kind} payload={c.payload} threads={c.threads} "
             f"clock={c.clock} consumer={c.consumer} runs={st['n']} ns={own['ns']} "
             f"spread={own['spread']} iqr={own['iqr']} "
             f"grb_ns={own['ns'] if grb else 'na'} grb_spread={spread if grb else 'na'} "
             f"floor_ns={fmt(floor_ns)} "
             f"lttng_ns={fmt(r['lttng'] if grb else (st['median'] if c.kind == 'lttng' else None))} "
             f"grb_instr={fmt(r['instr'] if grb or c.kind == 'disabled' else None, 1)} "
             f"floor_instr={fmt(r['floor_instr'], 1)} lttng_instr={fmt(r['lttng_instr'], 1)} "
             f"grb_instr_disasm={fmt_dis(r['dis'] if grb else None, True)} "
             f"floor_instr_disasm={fmt_dis(r['floor_dis'], True)} "
             f"ratio_floor={fmt(r['ratio_floor'], 3)} ratio_lttng={fmt(r['ratio_lttng'], 3)} "
             f"mevents_s={fmt(st['mev'])} lost_pct={fmt(r['lost_pct'], 4)} "
             f"accounting={c.accounting() if c.kind in ('grb', 'disabled') else 'n/a'}")
        if c.kind == "disabled":
            extra = st["median"] - r["ref"] if r["ref"] else None
            s += f" empty_ns={fmt(r['ref'], 3)} extra_ns={fmt(extra, 3)}"
            s += f" empty_instr={fmt(r['ref_instr'], 1)}"
        summary.append(s)
    for (name, clock, payload, threads, cons), reason in sorted(skips.items()):
        summary.append(f"SUMMARY case={name} kind=grb payload={payload} threads={threads} "
                       f"clock={clock} consumer={cons} skipped=yes reason={reason}")

    # Disabled event site
    dis = []
    e = find("empty", "empty-loop", "none", 16, 1, "n/a")
    ei = instr_of("empty-loop", "none", 16)
    for name in ("disabled-reserve", "disabled-write-record"):
        d = find("disabled", name, "none", 16, 1, "n/a")
        if not d:
            continue
        di = instr_of(name, "none", 16)
        dis.append(f"DISABLED case={name} ns={fmt(d['median'], 3)} "
                   f"spread={fmt(d['min'], 3)}..{fmt(d['max'], 3)} "
                   f"empty_ns={fmt(e['median'] if e else None, 3)} "
                   f"extra_ns={fmt(d['median'] - e['median'] if e else None, 3)} "
                   f"instr={fmt(di, 1)} empty_instr={fmt(ei, 1)} "
                   f"extra_instr={fmt(di - ei if di is not None and ei is not None else None, 1)}")

    # Targets: 16-byte payload, 1 thread, consumer draining
    targets = []

    def target(name, case, value, limit, ok, note=""):
        res = "SKIP" if value is None else ("PASS" if ok(value) else "FAIL")
        targets.append(f"TARGET name={name} case={case} value={fmt(value, 3)} limit={limit} "
                       f"result={res}{' ' + note if note else ''}")

    fams = [f for f in GRB_ORDER
            if any(c.kind == "grb" and c.family == f for c in cases.values())
            or any(k[0].startswith(f + "-") for k in skips)]
    fl_tsc = find("floor", "floor", "tsc", 16, 1, "n/a")
    fl_mono = find("floor", "floor", "mono", 16, 1, "n/a")
    lt = find("lttng", "lttng-ust-discard", "mono", 16, 1, "yes")
    for f in fams:
        d_tsc = find("grb", f + "-discard", "tsc", 16, 1, "yes")
        d_mono = find("grb", f + "-discard", "mono", 16, 1, "yes")
        d2 = find("grb", f + "-discard", "tsc", 16, 2, "yes")
        for clk, d in (("tsc", d_tsc), ("mono", d_mono)):
            fl = fl_tsc if clk == "tsc" else fl_mono
            lim = 1.5 if clk == "tsc" else 1.3
            target(f"{clk}_over_floor", f + "-discard", d["median"] / fl["median"]
                   if d and fl else None, f"<={lim}", lambda v, lim=lim: v <= lim)
        target("lttng_over_grb_tsc", f + "-discard", lt["median"] / d_tsc["median"]
               if lt and d_tsc else None, ">=7", lambda v: v >= 7.0,
               "(LTTng-UST ns over grb tsc ns)")
        target("scaling_2_threads", f + "-discard",
               d2["mev"] / d_tsc["mev"] if d2 and d_tsc and d2["mev"] and d_tsc["mev"]
               else None, ">=1.8", lambda v: v >= 1.8,
               "(aggregate events/s, 2 threads over 1, tsc)")
        for clk in ("tsc", "mono"):
            d = find("grb", f + "-discard", clk, 16, 1, "yes")
            o = find("grb", f + "-overwrite", clk, 16, 1, "yes")
            target(f"overwrite_vs_discard_{clk}", f + "-overwrite",
                   o["median"] / d["median"] if o and d else None, "0.90..1.10",
                   lambda v: 0.9 <= v <= 1.1, "(overwrite ns over discard ns)")

    # Instructions per event, 16-byte payload: callgrind and the disassembly
    ins = []
    for clock in ("tsc", "mono"):
        for name in ["floor"] + [f + m for f in GRB_ORDER for m in ("-discard", "-overwrite")]:
            cg, dv = instr_of(name, clock, 16), disasm_of(name, clock, 16)
            if cg is None and dv is None:
                continue
            ins.append(f"INSTRUCTIONS case={name} clock={clock} payload=16 callgrind={fmt(cg, 1)} "
                       f"disassembly={fmt_dis(dv, True)} "
                       f"callgrind_minus_disassembly="
                       f"{fmt(cg - dv[0] if cg is not None and dv else None, 1)}")

    out_lines = []
    out_lines.append("")
    out_lines.append(f"CPU model: {cpu_model}")
    if ins:
        out_lines.append("Instructions per event, 16-byte payload (callgrind: where valgrind runs "
                         "the case, per-CPU streams through")
        out_lines.append("sched_getcpu(), mono with glibc's system-call stub; disassembly: "
                         "bench/insn_count.py, the native path,")
        out_lines.append("+clock_gettime: without that call's own instructions):")
        out_lines.extend(ins)
        out_lines.append("")
    if dis:
        out_lines.append("Disabled event site (grb_channel_disable), 16-byte payload, 1 thread:")
        out_lines.extend(dis)
        out_lines.append("")
    if lttng_cg not in (None, "0"):
        out_lines.append(f"NOTE: LTTng-UST discarded {lttng_cg} events under callgrind")
    bad = [c for c in cases.values() if c.accounting() == "FAIL"]
    for c in bad:
        out_lines.append(f"ACCOUNTING FAIL case={c.name} clock={c.clock} payload={c.payload} "
                         f"threads={c.threads} consumer={c.consumer}")
    for l in failures:
        out_lines.append(l)
    if wall is not None:
        out_lines.append(f"wall time of the runs: {wall} s")
    out_lines.extend(summary)
    out_lines.append(f"TARGETS ({cpu_model}; 16-byte payload, 1 writer thread unless said, "
                     "consumer draining; measured, not tuned):")
    out_lines.extend(targets)
    print("\n".join(out_lines))
    with open(os.path.join(args.out, "summary.txt"), "w") as f:
        f.write("\n".join(out_lines).lstrip("\n") + "\n")

    if args.plot:
        plot(args.out, rows, find, cpu_model)
    return 1 if bad else 0


def plot(out, rows, find, cpu_model):
    """ns/event against payload (1 thread, consumer) for each clock, and
    aggregate events/s against threads (16 bytes, tsc, discard); the titles
    name the CPU model."""
    # a title is a double-quoted gnuplot string
    cpu_gp = cpu_model.replace("\\", "\\\\").replace('"', '\\"')
    payloads = sorted({r["c"].payload for r in rows if r["c"].kind in ("grb", "floor")})
    threads = sorted({r["c"].threads for r in rows if r["c"].kind in ("grb", "floor")})
    fams = [f for f in GRB_ORDER if any(r["c"].kind == "grb" and r["c"].family == f
                                        for r in rows)]
    series = [("floor", "floor", None)] + [(f, f + "-discard", "grb") for f in fams] + \
        [("LTTng-UST", "lttng-ust-discard", "lttng")]
    if not payloads:
        return

    def stat_of(kind, name, clock, p, t):
        if kind is None:
            return find("floor", "floor", clock, p, t, "n/a")
        if kind == "lttng":
            return find("lttng", name, "mono", p, t, "yes")
        return find("grb", name, clock, p, t, "yes")

    for clock in ("tsc", "mono"):
        with open(os.path.join(out, f"plot_payload_{clock}.dat"), "w") as f:
            f.write("# payload " + " ".join(f"{s[0]}_med {s[0]}_q1 {s[0]}_q3"
                                            for s in series) + "\n")
            for p in payloads:
                vals = []
                for label, name, kind in series:
                    st = stat_of(kind, name, clock, p, 1)
                    vals += [fmt(st["median"]), fmt(st["q1"]), fmt(st["q3"])] if st \
                        else ["?", "?", "?"]
                f.write(f"{p} " + " ".join(vals) + "\n")
    with open(os.path.join(out, "plot_scaling.dat"), "w") as f:
        f.write("# threads " + " ".join(s[0] for s in series) + "\n")
        for t in threads:
            vals = []
            for label, name, kind in series:
                st = stat_of(kind, name, "tsc", 16, t)
                vals.append(fmt(st["mev"]) if st and st["mev"] else "?")
            f.write(f"{t} " + " ".join(vals) + "\n")

    if shutil.which("gnuplot"):
        n = len(series)
        gp = [
            'set terminal pngcairo size 1400,560 font ",10"' if has_pngcairo()
            else "set terminal png size 1400,560",
            f"set output '{os.path.join(out, 'ns_payload.png')}'",
            "set datafile missing '?'",
            "set multiplot layout 1,2",
            "set logscale x 2", "set xtics (8, 16, 64, 256)", "set xrange [6:340]",
            "set xlabel 'payload bytes'",
            "set ylabel 'ns/event (median; bars: interquartile range)'",
            "set yrange [0:*]", "set key top left", "set grid",
        ]
        for clock in ("tsc", "mono"):
            gp.append(f'set title "grb and floor: {clock} clock; LTTng-UST: CLOCK_MONOTONIC\\n'
                      f'discard, 1 writer, consumer draining; {cpu_gp}" noenhanced')
            parts = []
            for i, (label, name, kind) in enumerate(series):
                col = 2 + 3 * i
                dt = STYLE.get(kind, "dt 1")
                parts.append(f"'{os.path.join(out, f'plot_payload_{clock}.dat')}' using 1:"
                             f"{col}:{col + 1}:{col + 2} with yerrorlines {dt} lw 2 "
                             f"title '{label}'")
            gp.append("plot " + ", ".join(parts))
        gp.append("unset multiplot")
        gp += [
            'set terminal pngcairo size 800,520 font ",10"' if has_pngcairo()
            else "set terminal png size 800,520",
            f"set output '{os.path.join(out, 'scaling.png')}'",
            "unset logscale x", "set xtics 1", "set xrange [0.5:*]",
            "set xlabel 'writer threads (2 CPUs)'",
            "set ylabel 'million events/s, all writers'", "set yrange [0:*]",
            f'set title "aggregate throughput, 16-byte payload, discard, tsc clock, consumer '
            f'draining\\n{cpu_gp}" noenhanced',
        ]
        parts = []
        for i, (label, name, kind) in enumerate(series):
            dt = STYLE.get(kind, "dt 1")
            parts.append(f"'{os.path.join(out, 'plot_scaling.dat')}' using 1:{2 + i} with "
                         f"linespoints {dt} lw 2 title '{label}'")
        gp.append("plot " + ", ".join(parts))
        r = subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True,
                           capture_output=True)
        if r.returncode:
            print("suite-report: gnuplot failed:\n" + r.stderr, file=sys.stderr)
        else:
            print(f"plots: {os.path.join(out, 'ns_payload.png')} "
                  f"{os.path.join(out, 'scaling.png')}")
        return
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("suite-report: neither gnuplot nor matplotlib: no plot", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.6))
    for ax, clock in zip(axes, ("tsc", "mono")):
        for label, name, kind in series:
            xs, ys, lo, hi = [], [], [], []
            for p in payloads:
                st = stat_of(kind, name, clock, p, 1)
                if st:
                    xs.append(p)
                    ys.append(st["median"])
                    lo.append(st["median"] - st["q1"])
                    hi.append(st["q3"] - st["median"])
            if xs:
                ax.errorbar(xs, ys, yerr=[lo, hi], label=label, capsize=3,
                            linestyle="--" if kind in (None, "lttng") else "-")
        ax.set_xscale("log", base=2)
        ax.set_xticks(payloads, [str(p) for p in payloads])
        ax.set_ylim(bottom=0)
        ax.set_xlabel("payload bytes")
        ax.set_ylabel("ns/event (median; bars: interquartile range)")
        ax.set_title(f"1 writer, consumer draining, {clock} clock; {cpu_model}")
        ax.grid(True)
        ax.legend()
    fig.savefig(os.path.join(out, "ns_payload.png"), dpi=100)
    fig, ax = plt.subplots(figsize=(8, 5.2))
    for label, name, kind in series:
        xs, ys = [], []
        for t in threads:
            st = stat_of(kind, name, "tsc", 16, t)
            if st and st["mev"]:
                xs.append(t)
                ys.append(st["mev"])
        if xs:
            ax.plot(xs, ys, marker="o", label=label,
                    linestyle="--" if kind in (None, "lttng") else "-")
    ax.set_xlabel("writer threads (2 CPUs)")
    ax.set_ylabel("million events/s, all writers")
    ax.set_ylim(bottom=0)
    ax.set_title("aggregate throughput, 16-byte payload, discard, tsc, consumer draining\n"
                 + cpu_model)
    ax.grid(True)
    ax.legend()
    fig.savefig(os.path.join(out, "scaling.png"), dpi=100)
    print(f"plots: {os.path.join(out, 'ns_payload.png')} {os.path.join(out, 'scaling.png')}")


def has_pngcairo():
    r = subprocess.run(["gnuplot", "-e", "set terminal"], text=True, capture_output=True)
    return "pngcairo" in (r.stdout + r.stderr)


if __name__ == "__main__":
    sys.exit(main())
