#!/usr/bin/env python3
"""What `lab trace` costs a program, against strace.

    python3 benches/trace_overhead.py [ROUNDS] [TRIPS]

The program is `benches/trace_echo.py`: a client thread and a server thread
in one Python process doing TRIPS (20,000) round trips of 16 bytes over
TCP on 127.0.0.1, so two socket calls per trip on each side. Each round
runs, one after the other (so a slow moment of the machine hits all of
them alike):

- `untraced`: the program alone;
- `strace`: `strace -f -qq --seccomp-bpf -e trace=network -o /dev/null`;
- `lab`: `lab trace --no-capture -o /dev/null` (calls only);
- `lab+capture`: `lab trace -o /dev/null`, with the packets on lo when
  this process may capture (root); skipped otherwise.

It prints each contender's median wall time over ROUNDS (5) rounds, the
time it adds to the untraced run, and that added time against strace's.
Builds `lab` in release mode first; installs strace with apt-get if it is
missing (as root).
"""

import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    trips = sys.argv[2] if len(sys.argv) > 2 else "20000"
    if shutil.which("strace") is None:
        if os.geteuid() != 0:
            sys.exit("strace is missing: apt-get install -y strace")
        subprocess.run(["apt-get", "install", "-y", "-qq", "strace"], check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    lab = os.path.join(target, "release", "lab")
    program = [sys.executable, os.path.join(HERE, "trace_echo.py"), trips]
    contenders = {
        "untraced": program,
        "strace": ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=network",
                   "-o", "/dev/null"] + program,
        "lab": [lab, "trace", "--no-capture", "-o", "/dev/null", "--"] + program,
    }
    if os.geteuid() == 0:
        contenders["lab+capture"] = [lab, "trace", "-o", "/dev/null", "--"] + program
    else:
        print("lab+capture skipped: capturing needs root or CAP_NET_RAW")
    times = {name: [] for name in contenders}
    for r in range(rounds):
        for name, argv in contenders.items():
            t0 = time.monotonic()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.monotonic() - t0)
        print(f"round {r + 1}/{rounds}: " + ", ".join(
            f"{n} {t[-1]:.2f} s" for n, t in times.items()), flush=True)
    base = statistics.median(times["untraced"])
    strace_added = statistics.median(times["strace"]) - base
    print(f"\n{trips} round trips, median of {rounds} rounds")
    print(f"{'':<12} {'wall':>8} {'added':>8} {'added / strace added':>22}")
    for name, t in times.items():
        m = statistics.median(t)
        added = m - base
        ratio = f"{added / strace_added:.2f}" if name != "untraced" else "-"
        print(f"{name:<12} {m:>7.2f}s {added:>7.2f}s {ratio:>22}")


if __name__ == "__main__":
    main()
