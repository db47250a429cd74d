#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""relay_bench.py - the runs of bench/relay.sh and their summary.

bench/relay.sh prepares everything (the build, an lttng-relayd on ports of
its own, for LTTng-UST a session daemon of its own) and calls this script,
which runs every measurement, interleaved, and summarises them.  It is not
meant to be run by hand: see bench/relay.sh --help.

Columns (a run's `col`):
  grb-disk        grb record -o DIR -- relay_writer
  grb-relay       grb record -o DIR --relay net://127.0.0.1:C:D -- relay_writer
  grb-view        the same, with a live viewer attached before the writing
  lttng-disk      an LTTng-UST session writing to a local directory
  lttng-relay     an LTTng-UST live session (lttng create --live
                  --set-url=net://127.0.0.1:C:D) to the same relay
  lttng-view      the same, with a live viewer attached before the writing

Workloads: `flat` (each thread writes --events events as fast as it can;
1 and 2 threads) and `rate` (one thread, --rate events a second, the live
delay measured at the viewer, for each live timer).  Every run checks the
tool's accounting and that the trace (the relay's copy for a relay column)
decodes offline, with babeltrace2, to exactly the events delivered
(written - lost); a viewer of a flat run must have seen them all too.
"""

import argparse
import glob
import os
import pty
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

SEQ_BITS = 48
EVENT = re.compile(rb"grb_bench:write16: .*\{ a = (\d+), b = (\d+) \}")
KV = re.compile(r"(\w+)=(\S+)")
COLS_GRB = ["grb-disk", "grb-relay", "grb-view"]
COLS_LTTNG = ["lttng-disk", "lttng-relay", "lttng-view"]


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def quantile(values, q):
    """Nearest rank, as bench_latency.c and live_latency.py."""
    s = sorted(values)
    n = len(s)
    if not n:
        return float("nan")
    k = min(n, max(1, -(-int(q * n * 1000000) // 1000000)))
    return s[k - 1]


def ticks(pids):
    """utime + stime of processes (all their threads), in clock ticks."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def children_of(pid):
    """The processes whose parent is pid (lttng-sessiond's consumer daemons)."""
    out = []
    for d in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(d.split("/")[2]))
        except (OSError, IndexError, ValueError):
            pass
    return out


def wait_rusage(proc):
    """Reap proc; its exit status and CPU ns (its reaped descendants included)."""
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, int((ru.ru_utime + ru.ru_stime) * 1e9)


def kv_line(text, prefix):
    for line in text.splitlines():
        if line.startswith(prefix + " "):
            return dict(KV.findall(line))
    return None


class Bench:
    def __init__(self, a):
        self.a = a
        self.failures = 0
        self.host = os.uname().nodename
        self.hz = os.sysconf("SC_CLK_TCK")
        self.rows = []
        self.seq = 0
        self.tsv = open(os.path.join(a.out, "runs.tsv"), "w")
        self.fields = ["rep", "wl", "threads", "timer_ms", "col", "written", "lost", "delivered",
                       "counted", "viewed", "bytes", "write_ns", "pipe_ns", "end_ns", "tool_cpu_ns",
                       "relayd_cpu_ns", "viewer_cpu_ns", "writer_cpu_ns", "p50_us", "p99_us",
                       "max_us", "seen", "missing", "flag", "load1"]
        self.tsv.write("\t".join(self.fields) + "\n")

    def log(self, *msg):
        print("relay:", *msg, flush=True)

    def fail(self, what):
        print("relay: FAIL: " + what, file=sys.stderr, flush=True)
        self.failures += 1

    # -------------------------------------------------------------- the relay
    def listing(self):
        try:
            return subprocess.run(
                ["babeltrace2", "-i", "lttng-live", "net://127.0.0.1:%d" % self.a.lport],
                capture_output=True, timeout=20).stdout.decode(errors="replace")
        except subprocess.TimeoutExpired:
            return ""

    def wait_listed(self, session, streams, clients, deadline_s=30):
        """Until the relay lists the session with at least `streams` streams
        and `clients` viewers; True, or False at the deadline."""
        pat = re.compile(r"/host/%s/%s \(.*?(\d+) stream\(s\), (\d+) client\(s\)"
                         % (re.escape(self.host), re.escape(session)))
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            m = pat.search(self.listing())
            if m and int(m.group(1)) >= streams and int(m.group(2)) >= clients:
                return True
            time.sleep(0.05)
        return False

    def relay_dir(self, session):
        d = glob.glob(os.path.join(self.a.relay_out, self.host, session + "-*"))
        return d[0] if len(d) == 1 else None

    def viewer_url(self, session):
        return "net://127.0.0.1:%d/host/%s/%s" % (self.a.lport, self.host, session)

    # ---------------------------------------------------------- the checks
    def bt_count(self, path):
        """Events babeltrace2 decodes in a trace, or -1."""
        r = subprocess.run(["babeltrace2", path, "-c", "sink.utils.counter", "-p", "step=+0"],
                           capture_output=True)
        m = re.search(rb"(\d+) Event messages", r.stdout)
        if r.returncode or not m:
            self.fail("babeltrace2 cannot read %s: %s" % (path, r.stderr.decode()[-300:]))
            return -1
        return int(m.group(1))

    @staticmethod
    def last_write(path):
        """CLOCK_MONOTONIC ns of the last write into a trace's stream files
        (their latest mtime, a CLOCK_REALTIME of the kernel's tick), or 0."""
        last = 0
        for d, dirs, files in os.walk(path):
            if "index" in dirs:
                dirs.remove("index")
            for f in files:
                if f != "metadata":
                    last = max(last, os.stat(os.path.join(d, f)).st_mtime_ns)
        if not last:
            return 0
        return last - (time.clock_gettime_ns(time.CLOCK_REALTIME) - now_ns())

    @staticmethod
    def data_bytes(path):
        """Bytes of a trace's stream files (not the metadata, not index/)."""
        total = 0
        for d, dirs, files in os.walk(path):
            if "index" in dirs:
                dirs.remove("index")
            total += sum(os.path.getsize(os.path.join(d, f)) for f in files if f != "metadata")
        return total

    # ---------------------------------------------------------- the viewers
    def start_viewer(self, session, log, text):
        """A babeltrace2 lttng-live viewer of the session: counting (flat
        runs), or printing every event on a terminal, each line timestamped
        as it arrives (rate runs)."""
        cmd = ["babeltrace2", "-i", "lttng-live", self.viewer_url(session)]
        v = {"arrivals": [], "log": log}
        if not text:
            cmd += ["-c", "sink.utils.counter", "-p", "step=+0"]
            v["out"] = open(log + ".out", "wb")
            v["proc"] = subprocess.Popen(cmd, stdout=v["out"], stderr=open(log, "wb"),
                                         stdin=subprocess.DEVNULL)
            return v
        # A terminal: babeltrace2's text comes line by line, as on a console.
        master, slave = pty.openpty()
        v["proc"] = subprocess.Popen(cmd + ["--color=never"], stdout=slave,
                                     stderr=open(log, "wb"), stdin=subprocess.DEVNULL)
        os.close(slave)

        def reader():
            pending = b""
            while True:
                try:
                    chunk = os.read(master, 1 << 16)
                except OSError:  # EIO: the viewer closed its terminal
                    chunk = b""
                arr = now_ns()
                if not chunk:
                    break
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    m = EVENT.search(line)
                    if m:
                        v["arrivals"].append((int(m.group(2)), int(m.group(1)), arr))
            os.close(master)

        v["thread"] = threading.Thread(target=reader, daemon=True)
        v["thread"].start()
        return v

    def end_viewer(self, v, timeout_s):
        """Wait for the viewer to end (its session ended), at most timeout_s;
        return its CPU ns and, for a counting viewer, the events it saw."""
        p = v["proc"]
        end = time.monotonic() + timeout_s
        cpu = None
        while cpu is None:
            # Reaped here, not by Popen, for its CPU time.
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                cpu = int((ru.ru_utime + ru.ru_stime) * 1e9)
            elif time.monotonic() > end:
                p.send_signal(signal.SIGTERM if "killed" not in v else signal.SIGKILL)
                v["killed"] = True
                end = time.monotonic() + 2
            else:
                time.sleep(0.02)
        if "thread" in v:
            v["thread"].join(5)
            return cpu, None
        v["out"].close()
        with open(v["log"] + ".out", "rb") as f:
            m = re.search(rb"(\d+) Event messages", f.read())
        return cpu, int(m.group(1)) if m else 0

    # ------------------------------------------------------------- a writer
    def writer_args(self, wl, threads, timer_ms, go, report):
        a = self.a
        args = ["--threads", str(threads), "--go", go, "--report", report]
        if wl == "flat":
            return args + ["--events", str(a.events)]
        return args + ["--rate", str(a.rate), "--warmup-ms", str(a.warmup_ms),
                       "--window-ms", str(a.window_ms),
                       "--tail-ms", str(500 + 2 * timer_ms)]

    def wait_report(self, report, procs, timeout_s=30):
        """The writer's first line (it registered with its tracer)."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            try:
                with open(report) as f:
                    r = kv_line(f.read(), "RELAY_WRITER")
                if r:
                    return r
            except OSError:
                pass
            if any(p.poll() is not None for p in procs):
                return None
            time.sleep(0.01)
        return None

    # -------------------------------------------------------------- the runs
    def run(self, rep, wl, threads, timer_ms, col):
        self.seq += 1
        name = "r%d_%s%d_%s_%d" % (rep, wl, threads, col.replace("-", ""), self.seq)
        raw = os.path.join(self.a.raw, name)
        work = os.path.join(self.a.work, name)
        os.makedirs(work)
        go, report = os.path.join(work, "go"), os.path.join(work, "report")
        row = {k: "" for k in self.fields}
        row.update(rep=rep, wl=wl, threads=threads, timer_ms=timer_ms, col=col,
                   load1=open("/proc/loadavg").read().split()[0])
        view = col.endswith("-view")
        relay = col.endswith("-relay") or view
        wargs = self.writer_args(wl, threads, timer_ms, go, report)
        relayd0 = ticks([self.a.relayd_pid])
        viewer = None
        ok = True
        if col.startswith("grb"):
            trace = os.path.join(work, name)
            cmd = [self.a.grb, "record", "-o", trace]
            if relay:
                cmd += ["--relay", "net://127.0.0.1:%d:%d" % (self.a.cport, self.a.dport),
                        "--live-timer", str(timer_ms)]
            cmd += ["--", self.a.grb_writer] + wargs
            out = open(raw + ".out", "wb")
            tool = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
            procs = [tool]
        else:
            trace = os.path.join(work, "lttng")
            lt = ["lttng", "create", name]
            lt += (["--live=%d" % (timer_ms * 1000),
                    "--set-url=net://127.0.0.1:%d:%d" % (self.a.cport, self.a.dport)]
                   if relay else ["--output=" + trace])
            llog = open(raw + ".lttng", "wb")
            for c in (lt,
                      ["lttng", "enable-channel", "--userspace", "--session=" + name,
                       "--buffers-uid", "--discard", "--subbuf-size=%s" % self.a.subbuf_size,
                       "--num-subbuf=%d" % self.a.subbuf_count, "ch0"],
                      ["lttng", "add-context", "--userspace", "--session=" + name,
                       "--channel=ch0", "-t", "vpid", "-t", "vtid"],
                      ["lttng", "enable-event", "--userspace", "--session=" + name,
                       "--channel=ch0", "grb_bench:write16"],
                      ["lttng", "start", name]):
                if subprocess.run(c, stdout=llog, stderr=subprocess.STDOUT).returncode:
                    self.fail("%s: %s failed (%s.lttng)" % (name, " ".join(c[:2]), raw))
                    subprocess.run(["lttng", "destroy", name], stdout=llog,
                                   stderr=subprocess.STDOUT)
                    return
            daemons = [self.a.sessiond_pid] + children_of(self.a.sessiond_pid)
            daemons0 = ticks(daemons)
            out = open(raw + ".out", "wb")
            tool = subprocess.Popen([self.a.lttng_writer] + wargs, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            procs = [tool]
        first = self.wait_report(report, procs)
        if not first:
            self.fail("%s: the writer never started (%s.out)" % (name, raw))
            ok = False
        elif view:
            # grb: the metadata and the 32 streams of the writer's process;
            # LTTng: the metadata and a stream per CPU.
            streams = 33 if col.startswith("grb") else 2
            if not self.wait_listed(name, streams, 0):
                self.fail("%s: the relay never listed the session's streams" % name)
                ok = False
            else:
                viewer = self.start_viewer(name, raw + ".viewer", wl == "rate")
                if not self.wait_listed(name, streams, 1):
                    self.fail("%s: the viewer never attached" % name)
                    ok = False
        open(go, "w").close()
        if col.startswith("grb"):
            rc, tool_cpu = wait_rusage(tool)
            t_end = now_ns()
            if rc not in (0,):
                self.fail("%s: grb record exited %d (%s.out)" % (name, rc, raw))
                ok = False
        else:
            rc, _ = wait_rusage(tool)
            if rc:
                self.fail("%s: the writer exited %d (%s.out)" % (name, rc, raw))
                ok = False
            # lttng stop waits until the relay has every packet; destroy
            # ends the session (a viewer then reads to its end and exits).
            r = subprocess.run(["lttng", "stop", name], stdout=llog, stderr=subprocess.STDOUT)
            lst = subprocess.run(["lttng", "list", name], capture_output=True).stdout.decode()
            llog.write(lst.encode())
            subprocess.run(["lttng", "destroy", name], stdout=llog, stderr=subprocess.STDOUT)
            t_end = now_ns()
            tool_cpu = (ticks(daemons) - daemons0) * 1000000000 // self.hz
            disc = re.search(r"Discarded events: *(\d+)", lst)
            lp = re.search(r"Lost packets: *(\d+)", lst)
            if r.returncode or not disc:
                self.fail("%s: lttng stop / list: no discarded count (%s.lttng)" % (name, raw))
                ok = False
        with open(report) as f:
            done = kv_line(f.read(), "RELAY_WRITER_DONE")
        if not done:
            self.fail("%s: the writer did not report (%s.out)" % (name, raw))
            self.finish_viewer(viewer, row, 1)
            return
        written = int(done["written"]) + int(done["failed"])
        row.update(written=written, write_ns=int(done["end_ns"]) - int(done["start_ns"]),
                   end_ns=t_end - int(done["end_ns"]), tool_cpu_ns=tool_cpu,
                   writer_cpu_ns=done["cpu_ns"],
                   relayd_cpu_ns=(ticks([self.a.relayd_pid]) - relayd0) * 1000000000 // self.hz
                   if relay else "")
        text = open(raw + ".out", "rb").read().decode(errors="replace")
        if col.startswith("grb"):
            # total: 1 processes, W written = D on disk + L lost in S stream files: exact
            m = re.search(r"^total: \d+ processes, (\d+) written = (\d+) on disk \+ (\d+) lost"
                          r".*: exact$", text, re.M)
            if not m or int(m.group(1)) != written:
                self.fail("%s: grb's accounting is not exact, or not of the %d written"
                          % (name, written))
                ok = False
                lost = delivered = 0
            else:
                delivered, lost = int(m.group(2)), int(m.group(3))
            if relay:
                m = re.search(r"^relay .*: (\d+) packets \((\d+) events, (\d+) bytes\) sent, "
                              r"(\d+) beacons: complete$", text, re.M)
                if not m or int(m.group(2)) != delivered:
                    self.fail("%s: the relay's copy is not complete (%s.out)" % (name, raw))
                    ok = False
        else:
            lost = int(disc.group(1)) if disc else 0
            if lost >= 1 << 63:
                # lttng list sometimes prints 2^63 + N (bench/RESULTS.md):
                # N, checked against babeltrace2's count below.
                lost -= 1 << 63
                row["flag"] = "2^63+N"
            if lp and int(lp.group(1)):
                self.fail("%s: LTTng lost %s packets" % (name, lp.group(1)))
            delivered = written - lost
        path = self.relay_dir(name) if relay else trace
        if not path:
            self.fail("%s: no session directory on the relay" % name)
            counted = -1
        else:
            counted = self.bt_count(path)
            row["bytes"] = self.data_bytes(path)
            row["pipe_ns"] = self.last_write(path) - int(done["start_ns"])
        if counted != delivered:
            self.fail("%s: %d events written, %d lost, but %s decodes %d"
                      % (name, written, lost, path, counted))
            ok = False
        row.update(lost=lost, delivered=delivered, counted=counted)
        self.finish_viewer(viewer, row, delivered, first)
        self.log("%-34s written %9d lost %8d decoded %9d %s%s" % (
            name, written, lost, counted,
            "viewer %s" % row["viewed"] if viewer and wl == "flat" else "",
            "p50 %.1f ms p99 %.1f ms" % (row["p50_us"] / 1e3, row["p99_us"] / 1e3)
            if viewer and wl == "rate" and row["p50_us"] != "" else ""))
        self.rows.append(row)
        self.tsv.write("\t".join(str(row[k]) for k in self.fields) + "\n")
        self.tsv.flush()
        if ok and not self.a.keep:
            shutil.rmtree(work, ignore_errors=True)
            if path and relay:
                shutil.rmtree(path, ignore_errors=True)

    def finish_viewer(self, viewer, row, delivered, first=None):
        if not viewer:
            return
        # The session ended: the viewer reads to its end and exits.
        cpu, seen = self.end_viewer(viewer, 60 if row["wl"] == "flat" else 15)
        row["viewer_cpu_ns"] = cpu
        if viewer.get("killed"):
            self.fail("%s rep %s: the viewer did not end with its session"
                      % (row["col"], row["rep"]))
        if seen is not None:
            row["viewed"] = seen
            if seen != delivered:
                self.fail("%s %s%s rep %s: the live viewer saw %d of the %d events"
                          % (row["col"], row["wl"], row["threads"], row["rep"], seen, delivered))
            return
        warm, measured = int(first["warm"]), int(first["measured"])
        lat, seen_tags, errors = [], set(), 0
        for tag, commit, arr in viewer["arrivals"]:
            seq = tag & ((1 << SEQ_BITS) - 1)
            if seq < warm or seq - warm >= measured:
                continue
            if tag in seen_tags or arr < commit:
                errors += 1
                continue
            seen_tags.add(tag)
            lat.append(arr - commit)
        expect = measured * int(row["threads"])
        if errors:
            self.fail("%s rep %s: %d events seen twice or before their commit"
                      % (row["col"], row["rep"], errors))
        if len(lat) != expect:
            self.fail("%s rep %s timer %s: %d of the %d measured events reached the viewer"
                      % (row["col"], row["rep"], row["timer_ms"], len(lat), expect))
        row.update(seen=len(lat), missing=expect - len(lat),
                   p50_us=round(quantile(lat, 0.5) / 1e3, 1) if lat else "",
                   p99_us=round(quantile(lat, 0.99) / 1e3, 1) if lat else "",
                   max_us=round(max(lat) / 1e3, 1) if lat else "")


def summarise(b):
    """The medians per column, the ratios, SUMMARY lines."""
    a = b.a
    out = []
    say = out.append
    rows = b.rows

    def med(vals):
        vals = [float(v) for v in vals if v != ""]
        return statistics.median(vals) if vals else float("nan")

    def sel(**k):
        return [r for r in rows if all(str(r[x]) == str(v) for x, v in k.items())]

    cols = [c for c in COLS_GRB + COLS_LTTNG if sel(col=c)]
    for threads in a.threads:
        say("")
        say("== flat: %d thread(s) x %d events of 16 bytes (grb_bench:write16), as fast as "
            "they can; medians of %d interleaved repetitions" % (threads, a.events, a.runs))
        say("%-12s %10s %10s %7s %9s %6s %8s %7s %8s %7s %7s %7s" % (
            "column", "write ev/s", "deliv ev/s", "MB/s", "lost", "lost%", "last ms", "end ms",
            "tool cpu", "relayd", "viewer", "B/ev"))
        for c in cols:
            rs = sel(wl="flat", threads=threads, col=c)
            if not rs:
                continue
            wr = med([r["written"] / (r["write_ns"] / 1e9) for r in rs])
            dv = med([r["delivered"] / (r["pipe_ns"] / 1e9) for r in rs])
            mb = med([r["bytes"] / (r["pipe_ns"] / 1e9) / 1e6 for r in rs if r["bytes"] != ""])
            lost = med([r["lost"] for r in rs])
            lpct = med([100.0 * r["lost"] / r["written"] for r in rs])
            pipe = med([r["pipe_ns"] / 1e6 for r in rs])
            end = med([r["end_ns"] / 1e6 for r in rs])
            tc = med([r["tool_cpu_ns"] / 1e6 - (int(r["writer_cpu_ns"]) / 1e6
                      if c.startswith("grb") else 0) for r in rs])
            rc = med([int(r["relayd_cpu_ns"]) / 1e6 for r in rs if r["relayd_cpu_ns"] != ""])
            vc = med([int(r["viewer_cpu_ns"]) / 1e6 for r in rs if r["viewer_cpu_ns"] != ""])
            bpe = med([r["bytes"] / r["delivered"] for r in rs if r["delivered"]])
            say("%-12s %10.0f %10.0f %7.1f %9.0f %6.2f %8.1f %7.0f %8.0f %7.0f %7.0f %7.1f" % (
                c, wr, dv, mb, lost, lpct, pipe, end, tc, rc, vc, bpe))
            say("SUMMARY bench=relay wl=flat threads=%d col=%s write_ev_s=%.0f "
                "delivered_ev_s=%.0f mb_s=%.1f lost=%.0f lost_max=%d last_ms=%.1f end_ms=%.0f "
                "tool_cpu_ms=%.0f relayd_cpu_ms=%.0f viewer_cpu_ms=%.0f" % (
                    threads, c, wr, dv, mb, lost, max(r["lost"] for r in rs), pipe, end, tc,
                    rc, vc))
        # Ratios per repetition (the two runs of one repetition), then the median.
        for x, y in (("grb-relay", "grb-disk"), ("grb-view", "grb-relay"),
                     ("grb-relay", "lttng-relay"), ("grb-view", "lttng-view"),
                     ("grb-disk", "lttng-disk"), ("lttng-relay", "lttng-disk")):
            for what, f in (("delivered_ev_s", lambda r: r["delivered"] / r["pipe_ns"]),
                            ("last_ms", lambda r: r["pipe_ns"])):
                rr = []
                for rep in range(1, a.runs + 1):
                    p, q = sel(wl="flat", threads=threads, col=x, rep=rep), \
                        sel(wl="flat", threads=threads, col=y, rep=rep)
                    if p and q and f(q[0]):
                        rr.append(f(p[0]) / f(q[0]))
                if rr:
                    say("RATIO wl=flat threads=%d %s %s/%s=%.3f [%.3f - %.3f]" % (
                        threads, what, x, y, statistics.median(rr), min(rr), max(rr)))
    for timer in a.timers:
        say("")
        say("== rate: 1 thread, %d events/s, live timer %d ms: the delay from each event's "
            "commit to its line at the viewer (%d measured events a run); medians of %d "
            "repetitions" % (a.rate, timer, a.rate * a.window_ms // 1000, a.runs))
        say("%-12s %10s %10s %10s %8s %8s %9s %9s %8s" % (
            "column", "p50 ms", "p99 ms", "max ms", "missing", "lost", "tool cpu", "relayd",
            "viewer"))
        for c in cols:
            rs = sel(wl="rate", timer_ms=timer, col=c)
            if not rs:
                continue
            p50 = med([r["p50_us"] for r in rs]) / 1e3
            p99 = med([r["p99_us"] for r in rs]) / 1e3
            mx = med([r["max_us"] for r in rs]) / 1e3
            miss = sum(int(r["missing"]) for r in rs if r["missing"] != "")
            lost = sum(r["lost"] for r in rs)
            tc = med([r["tool_cpu_ns"] / 1e6 - (int(r["writer_cpu_ns"]) / 1e6
                      if c.startswith("grb") else 0) for r in rs])
            rc = med([int(r["relayd_cpu_ns"]) / 1e6 for r in rs if r["relayd_cpu_ns"] != ""])
            vc = med([int(r["viewer_cpu_ns"]) / 1e6 for r in rs if r["viewer_cpu_ns"] != ""])
            say("%-12s %10.1f %10.1f %10.1f %8d %8d %9.0f %9.0f %8.0f" % (
                c, p50, p99, mx, miss, lost, tc, rc, vc))
            say("SUMMARY bench=relay wl=rate timer_ms=%d col=%s p50_ms=%.1f p99_ms=%.1f "
                "max_ms=%.1f missing=%d lost=%d" % (timer, c, p50, p99, mx, miss, lost))
        rr = []
        for rep in range(1, a.runs + 1):
            p, q = sel(wl="rate", timer_ms=timer, col="grb-view", rep=rep), \
                sel(wl="rate", timer_ms=timer, col="lttng-view", rep=rep)
            if p and q and p[0]["p50_us"] != "" and q[0]["p50_us"] != "":
                rr.append(float(p[0]["p50_us"]) / float(q[0]["p50_us"]))
        if rr:
            say("RATIO wl=rate timer_ms=%d p50 grb-view/lttng-view=%.3f [%.3f - %.3f]"
                % (timer, statistics.median(rr), min(rr), max(rr)))
    flagged = [r for r in rows if r["flag"]]
    if flagged:
        say("")
        say("%d LTTng-UST run(s): lttng list printed the discarded events as 2^63 + N; N was "
            "taken (babeltrace2's count of the trace agreed with it, else the run failed)"
            % len(flagged))
    say("")
    say("(write ev/s: events written / the writers' time; last ms: from the first event "
        "to the last write into the trace's stream files at their destination (the relay's "
        "or the local disk: the files' latest mtime, a kernel tick's precision); deliv ev/s "
        "and MB/s: the events in the trace and its stream files' bytes / last ms; end ms: "
        "from the last event to the session's end (grb record's exit; lttng destroy's "
        "return); lost: the tool's count (grb's summary, lttng list's discarded events), "
        "checked against babeltrace2's count of the trace; cpu in ms a run: the recorder's "
        "own (grb record, the writer's CPU taken out) or LTTng's session and consumer "
        "daemons', lttng-relayd's, the viewer's)")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grb", required=True)
    ap.add_argument("--grb-writer", required=True)
    ap.add_argument("--lttng-writer", default="")
    ap.add_argument("--sessiond-pid", type=int, default=0)
    ap.add_argument("--relayd-pid", type=int, required=True)
    ap.add_argument("--ports", required=True, help="C,D,L")
    ap.add_argument("--relay-out", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--events", type=int, default=2000000)
    ap.add_argument("--threads", default="1 2")
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--warmup-ms", type=int, default=500)
    ap.add_argument("--window-ms", type=int, default=3000)
    ap.add_argument("--timers", default="1000 100")
    ap.add_argument("--subbuf-size", default="256K")
    ap.add_argument("--subbuf-count", type=int, default=8)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    a.cport, a.dport, a.lport = (int(x) for x in a.ports.split(","))
    a.threads = [int(x) for x in a.threads.split()]
    a.timers = [int(x) for x in a.timers.split()]
    a.raw = os.path.join(a.out, "raw")
    os.makedirs(a.raw, exist_ok=True)
    os.makedirs(a.work, exist_ok=True)
    b = Bench(a)
    cols = COLS_GRB + (COLS_LTTNG if a.lttng_writer else [])
    rate_cols = [c for c in cols if c.endswith("-view")]
    for rep in range(1, a.runs + 1):
        b.log("repetition %d/%d (load average %s)" % (
            rep, a.runs, " ".join(open("/proc/loadavg").read().split()[:3])))
        for threads in a.threads:
            for k in range(len(cols)):
                b.run(rep, "flat", threads, 1000, cols[(k + rep - 1) % len(cols)])
        for timer in a.timers:
            for k in range(len(rate_cols)):
                b.run(rep, "rate", 1, timer, rate_cols[(k + rep - 1) % len(rate_cols)])
    b.tsv.close()
    text = summarise(b)
    print(text)
    with open(os.path.join(a.out, "summary.txt"), "a") as f:
        f.write(text + "\n")
    if b.failures:
        print("relay: %d check(s) failed" % b.failures, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
