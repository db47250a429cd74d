# SPDX-License-Identifier: MIT
"""Check the sched_switch trace `grb record --kernel` wrote in the VM.

usage: check_sched.py TRACE_DIR CONSOLE_LOG

TRACE_DIR is the CTF trace the guest shipped; CONSOLE_LOG the guest's
serial console (tests/kernel/run_vm.sh), which holds grb record's summary
("grb-rec: total: N written = D on disk + L lost ...") and the ids of the
tasks /init started ("grb-vm: tasks: T1 T2 T3 T4": two that spin, two
that sleep 1 ms at a time).  babeltrace2 reads the trace; the checks:

* every event is a sched_switch, with all seven fields;
* both CPUs have events (at least MIN_PER_CPU each);
* on each CPU the chain of tasks is unbroken: an event's next_tid is the
  following event's prev_tid (a break is a lost switch: at most as many
  as the summary's losses, none when it has none);
* timestamps never go back on a CPU (its stream);
* babeltrace2 prints exactly the summary's D events, and reports no
  discarded events unless the summary counted losses;
* each task /init started appears, with prio 120 (nice 0); a spinning
  task was switched out runnable (prev_state 0: it is rescheduled on its
  way back to user space, not preempted in the kernel, which would be
  TASK_REPORT_MAX), a sleeping one asleep (prev_state 1,
  TASK_INTERRUPTIBLE), and neither the other way round.

Prints what it found; exit status 1 on a failed check.
"""

import re
import subprocess
import sys
from collections import defaultdict

MIN_PER_CPU = 20
RUNNING = 0  # TASK_RUNNING
SLEEPING = 1  # TASK_INTERRUPTIBLE

EVENT = re.compile(r"^\[(\d+)\] \([^)]*\) .* (\S+): \{ cpu_id = (\d+) \}, \{ (.*) \}$")
STR = r'"((?:[^"\\]|\\.)*)"'
INT = r"(-?\d+)"
FIELDS = re.compile(
    r"^prev_comm = " + STR + r", prev_tid = " + INT + r", prev_prio = " + INT
    + r", prev_state = " + INT + r", next_comm = " + STR + r", next_tid = " + INT
    + r", next_prio = " + INT + r"$")
TOTAL = re.compile(r"grb-rec: total: (\d+) written = (\d+) on disk \+ (\d+) lost")
TASKS = re.compile(r"grb-vm: tasks:((?: \d+)+)")


def main():
    trace, console = sys.argv[1], sys.argv[2]
    fails = []
    with open(console, encoding="utf-8", errors="replace") as f:
        text = f.read()
    m = TOTAL.search(text)
    if not m:
        print("check_sched: FAIL: no summary of grb record in the console")
        return 1
    written, on_disk, lost = (int(x) for x in m.groups())
    m = TASKS.search(text)
    tasks = [int(x) for x in m.group(1).split()] if m else []
    if len(tasks) != 4:
        fails.append("the console does not name the 4 tasks /init started")

    p = subprocess.run(["babeltrace2", "--clock-cycles", trace], capture_output=True,
                       text=True, errors="replace", check=False)
    if p.returncode != 0:
        print(p.stderr)
        print("check_sched: FAIL: babeltrace2 exited with %d" % p.returncode)
        return 1
    per_cpu = defaultdict(list)
    bad = 0
    for line in p.stdout.splitlines():
        e = EVENT.match(line)
        f = FIELDS.match(e.group(4)) if e and e.group(2) == "sched_switch" else None
        if not f:
            if bad < 3:
                print("check_sched: not a sched_switch event: " + line)
            bad += 1
            continue
        per_cpu[int(e.group(3))].append(
            (int(e.group(1)), f.group(1), int(f.group(2)), int(f.group(3)), int(f.group(4)),
             f.group(5), int(f.group(6)), int(f.group(7))))
    total = sum(len(v) for v in per_cpu.values())
    if bad:
        fails.append("%d lines that are not whole sched_switch events" % bad)
    if total != on_disk:
        fails.append("babeltrace2 printed %d events, the summary says %d on disk"
                     % (total, on_disk))
    discarded = [ln for ln in (p.stdout + p.stderr).splitlines() if "discarded" in ln.lower()]
    if discarded and not lost:
        fails.append("babeltrace2 reports discarded events, the summary no loss: "
                     + discarded[0])

    breaks = back = 0
    for cpu in (0, 1):
        if len(per_cpu.get(cpu, [])) < MIN_PER_CPU:
            fails.append("CPU %d: %d events, fewer than %d"
                         % (cpu, len(per_cpu.get(cpu, [])), MIN_PER_CPU))
    for cpu, evs in sorted(per_cpu.items()):
        for a, b in zip(evs, evs[1:]):
            if a[6] != b[2]:
                if breaks < 3:
                    print("check_sched: CPU %d: next_tid %d (%s) then prev_tid %d (%s)"
                          % (cpu, a[6], a[5], b[2], b[1]))
                breaks += 1
            if b[0] < a[0]:
                back += 1
    if breaks > lost:
        fails.append("%d breaks in the CPUs' chains of tasks, %d events lost"
                     % (breaks, lost))
    if back:
        fails.append("%d timestamps that go back on their CPU" % back)

    seen = defaultdict(list)
    for evs in per_cpu.values():
        for ev in evs:
            seen[ev[2]].append(("prev", ev[3], ev[4]))
            seen[ev[6]].append(("next", ev[7], None))
    for i, tid in enumerate(tasks):
        sw = seen.get(tid, [])
        if not sw:
            fails.append("task %d does not appear" % tid)
            continue
        if any(prio != 120 for _, prio, _ in sw):
            fails.append("task %d: a prio other than 120" % tid)
        states = {st for kind, _, st in sw if kind == "prev"}
        want, never = (RUNNING, SLEEPING) if i < 2 else (SLEEPING, None)
        if want not in states or never in states:
            fails.append("task %d (%s): switched out with prev_state %s, expected %d%s"
                         % (tid, "spinning" if i < 2 else "sleeping", sorted(states), want,
                            "" if never is None else ", never %d" % never))

    print("check_sched: %d sched_switch events (%s), summary %d written = %d on disk + %d "
          "lost; %d chain breaks, %d timestamps back; tasks %s"
          % (total, ", ".join("CPU %d: %d" % (c, len(v)) for c, v in sorted(per_cpu.items())),
             written, on_disk, lost, breaks, back, " ".join(map(str, tasks))))
    for x in fails:
        print("check_sched: FAIL: " + x)
    if not fails:
        print("check_sched: PASS")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
