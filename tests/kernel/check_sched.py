# SPDX-License-Identifier: MIT
"""Check the sched_switch traces `grb record --kernel` wrote in the VM.

usage: check_sched.py TRACE_DIR CONSOLE_LOG
       check_sched.py --ftrace TRACE_DAT CONSOLE_LOG

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

With --ftrace, the trace.dat of `grb record --kernel --format ftrace`
(the summary "grb-ftr: total: N written = D in FILE + O overwritten ...
+ L lost"), as `trace-cmd report` prints it: the same checks on what it
prints ("comm-pid [cpu] secs: sched_switch: prev_comm:prev_pid [prio]
state ==> next_comm:next_pid [prio]", its sched_switch plugin's form),
the states as letters (R, S), no loss at all, and each line's task (the
pid before the CPU, the record's common_pid) the one switched out:
prev_pid, named prev_comm when trace-cmd knows the name and the task
kept one name (but pid 0, each CPU's idle task, which trace-cmd calls
<idle>).

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
FTOTAL = re.compile(r"grb-ftr: total: (\d+) written = (\d+) in \S+ \+ (\d+) overwritten "
                    r"\(\d+ missed events in the file\) \+ (\d+) lost")
REPORT = re.compile(r"^\s*(.*)-(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d+): sched_switch:\s+(.*):(-?\d+) "
                    r"\[(-?\d+)\] (\S+) ==> (.*):(-?\d+) \[(-?\d+)\]$")
TASKS = re.compile(r"grb-vm: tasks:((?: \d+)+)")


def tasks_of(text, fails):
    m = TASKS.search(text)
    tasks = [int(x) for x in m.group(1).split()] if m else []
    if len(tasks) != 4:
        fails.append("the console does not name the 4 tasks /init started")
    return tasks


def chains(per_cpu, prev, nxt, ts, lost, fails):
    """Each CPU's chain of tasks (fields prev and nxt of its events) and
    its timestamps (field ts); returns (breaks, back)."""
    breaks = back = 0
    for cpu in (0, 1):
        if len(per_cpu.get(cpu, [])) < MIN_PER_CPU:
            fails.append("CPU %d: %d events, fewer than %d"
                         % (cpu, len(per_cpu.get(cpu, [])), MIN_PER_CPU))
    for cpu, evs in sorted(per_cpu.items()):
        for a, b in zip(evs, evs[1:]):
            if a[nxt] != b[prev]:
                if breaks < 3:
                    print("check_sched: CPU %d: next %d then prev %d" % (cpu, a[nxt], b[prev]))
                breaks += 1
            if b[ts] < a[ts]:
                back += 1
    if breaks > lost:
        fails.append("%d breaks in the CPUs' chains of tasks, %d events lost" % (breaks, lost))
    if back:
        fails.append("%d timestamps that go back on their CPU" % back)
    return breaks, back


def check_tasks(seen, tasks, running, sleeping, fails):
    """seen: tid -> [(kind, prio, state)].  The spinning tasks (the first
    two) switched out runnable only, the sleeping ones asleep at least
    once, all with prio 120."""
    for i, tid in enumerate(tasks):
        sw = seen.get(tid, [])
        if not sw:
            fails.append("task %d does not appear" % tid)
            continue
        if any(prio != 120 for _, prio, _ in sw):
            fails.append("task %d: a prio other than 120" % tid)
        states = {st for kind, _, st in sw if kind == "prev"}
        want, never = (running, sleeping) if i < 2 else (sleeping, None)
        if want not in states or never in states:
            fails.append("task %d (%s): switched out with prev_state %s, expected %s%s"
                         % (tid, "spinning" if i < 2 else "sleeping", sorted(states), want,
                            "" if never is None else ", never %s" % never))


def finish(what, fails):
    for x in fails[:10]:
        print("check_sched: FAIL: " + x)
    if not fails:
        print("check_sched: PASS (%s)" % what)
    return 1 if fails else 0


def check_ctf(trace, text):
    fails = []
    m = TOTAL.search(text)
    if not m:
        print("check_sched: FAIL: no summary of grb record in the console")
        return 1
    written, on_disk, lost = (int(x) for x in m.groups())
    tasks = tasks_of(text, fails)
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
        # (ts, prev_comm, prev_tid, prev_prio, prev_state, next_comm, next_tid, next_prio)
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
    breaks, back = chains(per_cpu, 2, 6, 0, lost, fails)
    seen = defaultdict(list)
    for evs in per_cpu.values():
        for ev in evs:
            seen[ev[2]].append(("prev", ev[3], ev[4]))
            seen[ev[6]].append(("next", ev[7], None))
    check_tasks(seen, tasks, RUNNING, SLEEPING, fails)
    print("check_sched: %d sched_switch events (%s), summary %d written = %d on disk + %d "
          "lost; %d chain breaks, %d timestamps back; tasks %s"
          % (total, ", ".join("CPU %d: %d" % (c, len(v)) for c, v in sorted(per_cpu.items())),
             written, on_disk, lost, breaks, back, " ".join(map(str, tasks))))
    return finish("CTF", fails)


def check_ftrace(dat, text):
    fails = []
    m = FTOTAL.search(text)
    if not m:
        print("check_sched: FAIL: no ftrace summary of grb record in the console")
        return 1
    written, data, overwritten, lost = (int(x) for x in m.groups())
    tasks = tasks_of(text, fails)
    p = subprocess.run(["trace-cmd", "report", dat], capture_output=True, text=True,
                       errors="replace", check=False)
    if p.returncode != 0:
        print(p.stderr)
        print("check_sched: FAIL: trace-cmd report exited with %d" % p.returncode)
        return 1
    per_cpu = defaultdict(list)
    names = defaultdict(set)
    bad = 0
    lines = p.stdout.splitlines()
    if not lines or not lines[0].startswith("cpus="):
        fails.append("trace-cmd report does not start with cpus=")
    for line in lines[1:]:
        r = REPORT.match(line)
        if not r:
            if bad < 3:
                print("check_sched: not a sched_switch line: " + line)
            bad += 1
            continue
        g = r.groups()
        # (task comm, task pid, us, prev_comm, prev_pid, prev_prio, state,
        #  next_comm, next_pid, next_prio)
        ev = (g[0].strip(), int(g[1]), int(g[3]) * 10**6 + int(g[4].ljust(6, "0")[:6]),
              g[5], int(g[6]), int(g[7]), g[8], g[9], int(g[10]), int(g[11]))
        per_cpu[int(g[2])].append(ev)
        names[ev[4]].add(ev[3])
    total = sum(len(v) for v in per_cpu.values())
    if bad:
        fails.append("%d lines that are not sched_switch events" % bad)
    if total != data:
        fails.append("trace-cmd printed %d events, the summary says %d in the file"
                     % (total, data))
    if overwritten or lost:
        fails.append("the summary counts %d overwritten and %d lost" % (overwritten, lost))
    if "DROPPED" in p.stdout or "LOST" in p.stdout:
        fails.append("trace-cmd reports lost events")
    breaks, back = chains(per_cpu, 4, 8, 2, 0, fails)
    mismatch = unnamed = wrong_task = 0
    seen = defaultdict(list)
    for evs in per_cpu.values():
        for ev in evs:
            comm, pid = ev[0], ev[1]
            if pid != ev[4]:
                wrong_task += 1
            if comm == "<...>":
                unnamed += 1
            elif pid and len(names[pid]) == 1 and comm != ev[3]:
                mismatch += 1
            seen[ev[4]].append(("prev", ev[5], ev[6]))
            seen[ev[8]].append(("next", ev[9], None))
    if wrong_task:
        fails.append("%d lines whose task is not the one switched out" % wrong_task)
    if mismatch:
        fails.append("%d lines whose task's name is not its prev_comm" % mismatch)
    check_tasks(seen, tasks, "R", "S", fails)
    print("check_sched: trace-cmd report: %d sched_switch events (%s), summary %d written = %d "
          "in the file; %d chain breaks, %d timestamps back, %d lines of unnamed tasks; "
          "tasks %s"
          % (total, ", ".join("CPU %d: %d" % (c, len(v)) for c, v in sorted(per_cpu.items())),
             written, data, breaks, back, unnamed, " ".join(map(str, tasks))))
    return finish("trace.dat", fails)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--ftrace":
        dat, console = sys.argv[2], sys.argv[3]
    elif len(sys.argv) == 3:
        dat, console = None, sys.argv[2]
    else:
        print(__doc__)
        return 2
    with open(console, encoding="utf-8", errors="replace") as f:
        text = f.read()
    return check_ftrace(dat, text) if dat else check_ctf(sys.argv[1], text)


if __name__ == "__main__":
    sys.exit(main())
