#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""live_latency.py - the live delay of LTTng-UST events at a live viewer.

usage: live_latency.py --url net://HOST:PORT/host/HOSTNAME/SESSION
                       [--retry-us US] [--timeout S] -- WRITER [ARGS...]

Runs one measurement of bench/latency.sh.  The LTTng live session must
exist and be started.  The script starts the viewer, the babeltrace2
command line with its lttng-live source:

    babeltrace2 convert --color=never [--retry-duration=US] URL

on a pseudo-terminal, so that its text output comes line by line as it
does on a console (into a pipe it would come in 4 KiB blocks).  One second
later it starts WRITER (bench/lttng/latency_writer), which writes
grb_bench:write16 events whose field a is the commit time (CLOCK_MONOTONIC
read right before tracepoint()) and b the tag (writer << 48 | sequence).
It reads the viewer's output as it streams: an event's arrival time is
CLOCK_MONOTONIC when the read that returned its line returned, and its
latency the arrival time minus a.  The writer's first line says which
sequence numbers are measured (after its warm-up, during which the viewer
attaches to the new streams).  The viewer is stopped (by its PID) when
every measured event arrived, or TIMEOUT seconds after the writer exited.

Prints one line:

    LIVE_RUN events=N measured=M missing=K warm_seen=W p50_us=.. p99_us=..
    max_us=.. commit_ns_p50=.. commit_ns_p99=.. rate_ev_s=..
    daemons_cpu_pct=.. viewer_cpu_pct=.. parser_cpu_pct=.. written=.. errors=E

missing: measured events written and never seen; errors: a measured event
seen twice, or seen before its commit time (both are bugs of the
measurement).  daemons_cpu_pct and viewer_cpu_pct: the CPU time of the
--cpu-pids processes (the session, consumer and relay daemons) and of the
viewer while the writer ran, in % of one CPU; parser_cpu_pct: this
script's own (reading and parsing the viewer's output), to show that the
measurement keeps up.  commit_ns and rate_ev_s:
the writer's (the tracepoint() call's cost; the events per second it
achieved).  Exit status 1 if the writer or the viewer failed.
"""

import argparse
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

EVENT = re.compile(rb"grb_bench:write16: .*\{ a = (\d+), b = (\d+) \}")
DONE = re.compile(rb"LATENCY_WRITER_DONE written=(\d+) measured_written=(\d+)"
                  rb"(?: commit_ns_p50=(\d+) commit_ns_p99=(\d+) rate_ev_s=(\d+))?")
SEQ_BITS = 48


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def quantile(sorted_values, q):
    """Nearest rank, as bench_latency.c."""
    n = len(sorted_values)
    if not n:
        return 0
    k = min(n, max(1, -(-int(q * n * 1000000) // 1000000)))
    return sorted_values[k - 1]


def cpu_ticks(pids):
    """utime + stime of processes (every thread), in clock ticks."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--retry-us", type=int, default=0,
                    help="the viewer's --retry-duration (0: its default, 100000)")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--viewer-log", default=os.devnull)
    ap.add_argument("--cpu-pids", default="",
                    help="comma-separated PIDs (the LTTng daemons) whose CPU time to report")
    ap.add_argument("writer", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    writer_cmd = a.writer[1:] if a.writer[:1] == ["--"] else a.writer
    if not writer_cmd:
        ap.error("no writer command")

    viewer_cmd = ["babeltrace2", "convert", "--color=never"]
    if a.retry_us:
        viewer_cmd.append("--retry-duration=%d" % a.retry_us)
    viewer_cmd.append(a.url)
    master, slave = pty.openpty()
    with open(a.viewer_log, "wb") as log:
        viewer = subprocess.Popen(viewer_cmd, stdin=subprocess.DEVNULL, stdout=slave,
                                  stderr=log, close_fds=True)
    os.close(slave)

    arrivals = {}  # tag -> latency ns
    errors = 0
    warm_seen = 0
    pending = b""
    warm = measured = threads = None
    writer = None
    writer_out = b""
    writer_done_at = None
    cpu0 = cpu1 = None
    target = None  # the measured events the writer wrote
    result = 0
    try:
        time.sleep(1.0)
        if viewer.poll() is not None:
            print("live_latency: the viewer exited at once (status %d)" % viewer.returncode,
                  file=sys.stderr)
            return 1
        daemons = [int(x) for x in a.cpu_pids.split(",") if x]
        cpu0 = (cpu_ticks(daemons), cpu_ticks([viewer.pid]), now_ns(), time.process_time())
        writer = subprocess.Popen(writer_cmd, stdout=subprocess.PIPE)
        fds = [master, writer.stdout.fileno()]
        while True:
            if writer_done_at is not None:
                if target is not None and len(arrivals) >= target:
                    break
                if now_ns() - writer_done_at > a.timeout * 1e9:
                    break
            ready, _, _ = select.select(fds, [], [], 0.2)
            if master in ready:
                try:
                    chunk = os.read(master, 1 << 16)
                except OSError:  # EIO: the viewer closed its terminal
                    chunk = b""
                arr = now_ns()
                if not chunk:
                    fds.remove(master)
                    if writer_done_at is None and writer.poll() is None:
                        continue
                    break
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    m = EVENT.search(line)
                    if not m:
                        continue
                    commit, tag = int(m.group(1)), int(m.group(2))
                    if warm is None:
                        continue  # before the writer said what it measures
                    seq = tag & ((1 << SEQ_BITS) - 1)
                    if seq < warm:
                        warm_seen += 1
                        continue
                    if seq - warm >= measured:
                        continue
                    if tag in arrivals or arr < commit:
                        errors += 1
                        continue
                    arrivals[tag] = arr - commit
            if writer.stdout.fileno() in ready:
                data = os.read(writer.stdout.fileno(), 4096)
                if data:
                    writer_out += data
                    m = re.search(rb"LATENCY_WRITER threads=(\d+) warm=(\d+) measured=(\d+)",
                                  writer_out)
                    if m and warm is None:
                        threads, warm, measured = (int(x) for x in m.groups())
                else:
                    fds.remove(writer.stdout.fileno())
                    writer.wait()
                    writer_done_at = now_ns()
                    cpu1 = (cpu_ticks(daemons), cpu_ticks([viewer.pid]), writer_done_at,
                            time.process_time())
                    m = DONE.search(writer_out)
                    if m:
                        target = int(m.group(2))
                    if writer.returncode != 0:
                        print("live_latency: the writer failed (status %d)" % writer.returncode,
                              file=sys.stderr)
                        result = 1
    finally:
        stop(viewer)
        if writer is not None:
            stop(writer)
        os.close(master)

    done = DONE.search(writer_out)
    if not done or measured is None:
        print("live_latency: the writer did not report (output: %r)" % writer_out,
              file=sys.stderr)
        return 1
    written, measured_written = int(done.group(1)), int(done.group(2))
    # CPU time while the writer ran, in % of one CPU.
    hz = os.sysconf("SC_CLK_TCK")
    wall = (cpu1[2] - cpu0[2]) / 1e9
    daemons_pct = (cpu1[0] - cpu0[0]) / hz / wall * 100
    viewer_pct = (cpu1[1] - cpu0[1]) / hz / wall * 100
    parser_pct = (cpu1[3] - cpu0[3]) / wall * 100
    lat = sorted(arrivals.values())
    n = len(lat)
    fields = [
        ("events", "%d" % n),
        ("measured", "%d" % measured_written),
        ("missing", "%d" % (measured_written - n)),
        ("warm_seen", "%d" % warm_seen),
        ("p50_us", "%.1f" % (quantile(lat, 0.5) / 1e3)),
        ("p99_us", "%.1f" % (quantile(lat, 0.99) / 1e3)),
        ("max_us", "%.1f" % (quantile(lat, 1.0) / 1e3)),
        ("commit_ns_p50", (done.group(3) or b"na").decode()),
        ("commit_ns_p99", (done.group(4) or b"na").decode()),
        ("rate_ev_s", (done.group(5) or b"na").decode()),
        ("daemons_cpu_pct", "%.1f" % daemons_pct),
        ("viewer_cpu_pct", "%.1f" % viewer_pct),
        ("parser_cpu_pct", "%.1f" % parser_pct),
        ("written", "%d" % written),
        ("errors", "%d" % errors),
    ]
    print("LIVE_RUN " + " ".join("%s=%s" % kv for kv in fields))
    return result


if __name__ == "__main__":
    sys.exit(main())
