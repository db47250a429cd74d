# SPDX-License-Identifier: MIT
"""bench/kernel_table.py - the table of bench/kernel.sh: the kernel's and
user space's ns per event from the consoles of its boots, and their ratio.

    python3 bench/kernel_table.py [--tsv FILE] [--insn FILE] BOOT.log.txt...

Each console holds, per repetition and case, a marker line

    kbench-pair: rep=R sync=S clock=C payload=P reader=0|1

then the module's line (grb_bench: KBENCH ... ns_per_event=X ...
accounting=ok, or grb_bench: KBENCH_FAIL ...) and bench_write's (SUMMARY
bench=write case=... ns_median=X ... accounting=ok).  A pair must have
both, each with its accounting exact and the parameters of its marker;
anything else is a failure (exit status 1, the reason on stderr), and the
pair's figures are left out.

Per case: the median kernel and user ns/event over every repetition of
every boot, with [min - max]; kernel / user, the ratio of those medians;
the range of the per-boot ratios (each boot's kernel median over its user
median), which says how far one boot can be trusted; and the median of
the pairs' ratios (each kernel run over the user run right after it,
seconds apart: what a slow phase of a shared host spoils least).  With --insn, the
instructions per event bench/kernel.sh counted with bench/insn_count.py.
Parseable lines: KTABLE (one per case) and KINSN (one per loop).
"""

import argparse
import re
import statistics
import sys

PAIR = re.compile(r"kbench-pair: (.*)$")
KLINE = re.compile(r"grb_bench: (KBENCH|KBENCH_FAIL) (.*)$")
ULINE = re.compile(r"^(SUMMARY bench=write case=.*)$")
INFO = re.compile(r"kbench-vm: (guest CPU|clocksource): (.*)$")


def fields(text):
    return dict(w.split("=", 1) for w in text.split() if "=" in w)


def fmt(v):
    return f"{v:.1f}" if v >= 100 else f"{v:.2f}"


def parse(paths, problems):
    """{case key: {boot: {"kernel": [...], "user": [...]}}}, the rows, the
    guests' descriptions."""
    data, rows, info = {}, [], {}
    for b, path in enumerate(paths, 1):
        try:
            lines = open(path, errors="replace").read().splitlines()
        except OSError as e:
            problems.append(f"{path}: {e}")
            continue
        pair = None

        def close(p):
            if p is None:
                return
            for side in ("kernel", "user"):
                if side not in p:
                    problems.append(f"boot {b}, {p['key']}: no {side} figure")
            if "kernel" in p and "user" in p:
                d = data.setdefault(p["key"], {}).setdefault(b, {"kernel": [], "user": [],
                                                                 "pair": []})
                for side in ("kernel", "user"):
                    d[side].append(p[side]["ns"])
                    rows.append((b, p["rep"], *p["key"], side, p[side]))
                d["pair"].append(p["kernel"]["ns"] / p["user"]["ns"])

        for line in lines:
            m = INFO.search(line)
            if m:
                info.setdefault(m.group(1), set()).add(m.group(2).strip())
                continue
            m = PAIR.search(line)
            if m:
                close(pair)
                f = fields(m.group(1))
                pair = {"rep": f["rep"],
                        "key": (f["sync"], f["clock"], int(f["payload"]), int(f["reader"]))}
                continue
            if pair is None:
                continue
            sync, clock, payload, reader = pair["key"]
            m = KLINE.search(line)
            if m:
                f = fields(m.group(2))
                if m.group(1) == "KBENCH_FAIL" or f.get("accounting") != "ok":
                    problems.append(f"boot {b}, {pair['key']}: the module: {m.group(2)}")
                elif (f.get("clock"), f.get("payload"), f.get("reader")) != \
                        (clock, str(payload), str(reader)):
                    problems.append(f"boot {b}: a KBENCH line of another case: {m.group(2)}")
                else:
                    pair["kernel"] = {"ns": float(f["ns_per_event"]),
                                      "written": int(f["written"]),
                                      "lost": int(f["lost"])}
                continue
            m = ULINE.search(line)
            if m:
                f = fields(m.group(1))
                want = "0" if reader == 0 else "1"
                if f.get("accounting") != "ok":
                    problems.append(f"boot {b}, {pair['key']}: bench_write: {m.group(1)}")
                elif (f.get("clock"), f.get("payload"), f.get("consumer")) != \
                        (clock, str(payload), want):
                    problems.append(f"boot {b}: a SUMMARY line of another case: {m.group(1)}")
                else:
                    pair["user"] = {"ns": float(f["ns_median"]), "written": int(f["written"]),
                                    "lost": int(f["lost"])}
                continue
            if re.search(r"^(FALLBACK|HANG|ERROR) ", line) or \
                    re.search(r"kbench-user: exit [1-9]", line):
                problems.append(f"boot {b}, {pair['key']}: bench_write: {line.strip()}")
        close(pair)
    return data, rows, info


def insn_table(path, problems):
    out = []
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        problems.append(f"{path}: {e}")
        return out
    for line in lines:
        w = line.split(None, 4)
        if len(w) < 4:
            continue
        side, f = w[0], fields(" ".join(w[1:4]))
        rest = w[4] if len(w) > 4 else ""
        m = re.search(r"\bINSN (.*?)(?= insn_count:|$)", rest)
        if m:
            g = fields(m.group(1))
            out.append((side, f, g))
        else:
            out.append((side, f, {"error": rest.strip() or "no output"}))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("logs", nargs="+", help="the boots' consoles (boot-K.log.txt)")
    ap.add_argument("--tsv", help="write every run here")
    ap.add_argument("--insn", help="bench/kernel.sh's insn.txt")
    args = ap.parse_args()
    problems = []
    data, rows, info = parse(args.logs, problems)

    for k in ("guest CPU", "clocksource"):
        if k in info:
            print(f"{k.replace('guest CPU', 'guest CPU model')}: {', '.join(sorted(info[k]))}")
    print()
    hdr = (f"{'sync':<7} {'clock':<5} {'P':>3} {'reader':<6} {'kernel ns/ev [min - max]':>28}"
           f" {'user ns/ev [min - max]':>28} {'kernel/user':>11} {'per boot':>15}"
           f" {'pairs':>6} {'runs':>5}")
    print(hdr)
    summary = []
    for key in sorted(data, key=lambda k: (k[0] != "percpu", k[0], k[2], k[1] != "tsc", -k[3])):
        sync, clock, payload, reader = key
        boots = data[key]
        kern = [v for d in boots.values() for v in d["kernel"]]
        user = [v for d in boots.values() for v in d["user"]]
        km, um = statistics.median(kern), statistics.median(user)
        per_boot = [statistics.median(d["kernel"]) / statistics.median(d["user"])
                    for d in boots.values() if d["user"]]
        ratio = km / um
        pairs = statistics.median(v for d in boots.values() for v in d["pair"])
        kr = f"{fmt(km)} [{fmt(min(kern))} - {fmt(max(kern))}]"
        ur = f"{fmt(um)} [{fmt(min(user))} - {fmt(max(user))}]"
        pb = f"[{min(per_boot):.2f} - {max(per_boot):.2f}]"
        print(f"{sync:<7} {clock:<5} {payload:>3} {'yes' if reader else 'no':<6} {kr:>28}"
              f" {ur:>28} {ratio:>11.2f} {pb:>15} {pairs:>6.2f} {len(kern):>5}")
        summary.append(f"KTABLE sync={sync} clock={clock} payload={payload} reader={reader} "
                       f"kernel_ns={km:.2f} user_ns={um:.2f} ratio={ratio:.3f} "
                       f"ratio_boot_min={min(per_boot):.3f} ratio_boot_max={max(per_boot):.3f} "
                       f"ratio_pairs={pairs:.3f} "
                       f"boots={len(boots)} runs={len(kern)}")
    print()
    print("(ns/ev: per event of the one writer, the median of every run of every boot, "
          "[min - max];\n kernel/user: the ratio of the medians; per boot: the range of "
          "each boot's ratio of medians;\n pairs: the median of the ratios of each kernel "
          "run to the user run right after it)")
    lost = {}
    for b, rep, sync, clock, payload, reader, side, r in rows:
        k = (sync, clock, payload, reader, side)
        w, lo = lost.get(k, (0, 0))
        lost[k] = (w + r["written"], lo + r["lost"])
    if lost:
        print("\nlost (discard mode, all runs): " + "; ".join(
            f"{s} {c} {p} reader={r} {side} {100.0 * lo / w:.2f}%"
            for (s, c, p, r, side), (w, lo) in sorted(lost.items()) if w))
    if args.insn:
        ins = insn_table(args.insn, problems)
        if ins:
            print("\ninstructions per event (bench/insn_count.py on the loops' machine code):")
            for side, f, g in ins:
                desc = f"{side:<6} sync={f.get('sync')} clock={f.get('clock')} " \
                       f"payload={f.get('payload')}"
                if "error" in g:
                    print(f"  {desc}: not counted: {g['error'][:300]}")
                    print(f"KINSN side={side} sync={f.get('sync')} clock={f.get('clock')} "
                          f"payload={f.get('payload')} insn=na")
                    continue
                extra = " ".join(f"{k}={g[k]}" for k in ("rep", "nops") if k in g)
                print(f"  {desc}: {g.get('insn')} instructions, function {g.get('function')}, "
                      f"external {g.get('external')}{' ' + extra if extra else ''}")
                print(f"KINSN side={side} sync={f.get('sync')} clock={f.get('clock')} "
                      f"payload={f.get('payload')} insn={g.get('insn')} "
                      f"external={g.get('external')}{' ' + extra if extra else ''}")
    print()
    for s in summary:
        print(s)
    if args.tsv:
        with open(args.tsv, "w") as t:
            t.write("boot\trep\tsync\tclock\tpayload\treader\tside\tns_per_event\twritten\tlost\n")
            for b, rep, sync, clock, payload, reader, side, r in rows:
                t.write(f"{b}\t{rep}\t{sync}\t{clock}\t{payload}\t{reader}\t{side}\t"
                        f"{r['ns']}\t{r['written']}\t{r['lost']}\n")
    if not data:
        problems.append("no pair with both figures")
    for p in problems:
        print(f"kernel_table: FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
