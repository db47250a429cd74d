#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""live_delay.py - how late a live viewer shows relay_app's events.

usage: live_delay.py URL OUT N_MEASURED [TIMEOUT_S [N_FROM THREAD]]

Runs the viewer `babeltrace2 -i lttng-live --clock-cycles URL` on a
pseudo-terminal (its text then comes line by line, as on a console),
writes what it prints to OUT, and takes the time each line arrives
(CLOCK_MONOTONIC).  The trace's clock is CLOCK_MONOTONIC in ns, which
--clock-cycles prints as it is, so an event's delay is its arrival minus
its timestamp.  Prints, over the events of n < N_MEASURED of both
threads (of N_FROM <= n < N_MEASURED of thread THREAD if given):

    LIVE_DELAY events=E measured=M min_ms=.. p50_ms=.. max_ms=..

and exits with the viewer's status once it ends (its session ended), or
1 after TIMEOUT_S (default 60).
"""

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

EVENT = re.compile(rb"^\[(\d+)\] .*relay_app:tick: .*\{ n = (\d+), thread = (\d+),")


def main():
    if len(sys.argv) < 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    url, out, n_measured = sys.argv[1], sys.argv[2], int(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    n_from = int(sys.argv[5]) if len(sys.argv) > 6 else 0
    thread = int(sys.argv[6]) if len(sys.argv) > 6 else None
    master, slave = pty.openpty()
    viewer = subprocess.Popen(["babeltrace2", "-i", "lttng-live", "--clock-cycles",
                               "--color=never", url],
                              stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    delays, events, pending = [], 0, b""
    end = time.monotonic() + timeout
    with open(out, "wb") as f:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                if viewer.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # EIO: the viewer closed its terminal
                chunk = b""
            arrival = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            if not chunk:
                break
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                line = line.rstrip(b"\r")
                f.write(line + b"\n")
                m = EVENT.match(line)
                if not m:
                    continue
                events += 1
                if n_from <= int(m.group(2)) < n_measured and (
                        thread is None or int(m.group(3)) == thread):
                    delays.append(arrival - int(m.group(1)))
    try:
        # Its terminal closed: it ends (else the timeout).
        viewer.wait(max(1.0, end - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    if viewer.poll() is None:
        viewer.send_signal(signal.SIGTERM)
        try:
            viewer.wait(5)
        except subprocess.TimeoutExpired:
            viewer.kill()
            viewer.wait()
        print("live_delay: the viewer did not end within %g s" % timeout, file=sys.stderr)
        return 1
    sys.stderr.write(viewer.stderr.read().decode(errors="replace"))
    delays.sort()
    if delays:
        print("LIVE_DELAY events=%d measured=%d min_ms=%.1f p50_ms=%.1f max_ms=%.1f" % (
            events, len(delays), delays[0] / 1e6, delays[(len(delays) - 1) // 2] / 1e6,
            delays[-1] / 1e6))
    else:
        print("LIVE_DELAY events=%d measured=0" % events)
    return viewer.returncode


if __name__ == "__main__":
    sys.exit(main())
