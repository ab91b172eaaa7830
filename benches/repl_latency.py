#!/usr/bin/env python3
"""How fast `lab repl` answers: start-up, and Enter to result.

    python3 benches/repl_latency.py [ROUNDS]        (needs a release build:
                                                     cargo build --release)

1. Start-up: from starting `lab repl` (a script on standard input) to its
   first line, the banner, which is printed once the namespace, the capture
   and the display are ready (goal: under 50 ms). Median of ROUNDS starts.
2. Enter to result: in one session (server, client, accepted conn), each
   round sends one line, `client.send(b"x")`, and times from writing the
   line to reading both its row (`send(client, 1 B)`) and, when the capture
   is on, the data packet it caused (goal: median under 20 ms). A second
   line, `conn.recv(1024)`, is timed the same way.

As root the capture runs in a private namespace and the packets count; as
a user the figure is for the call row alone, and the script says so.
"""
import os
import statistics
import subprocess
import sys
import time

LAB = os.path.join(os.path.dirname(__file__), "..", "target", "release", "lab")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 50
ENV = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_STATE_HOME")}


def start():
    return subprocess.Popen(
        [LAB, "--color=never", "repl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=ENV,
        bufsize=0,
    )


def read_until(p, needles, buf):
    """Reads output until every needle has appeared after `buf`'s start."""
    while not all(n in buf[0] for n in needles):
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            raise SystemExit("lab repl ended early:\n" + buf[0])
        buf[0] += chunk.decode("utf-8", "replace")


def main():
    if not os.path.exists(LAB):
        raise SystemExit("build first: cargo build --release")
    starts = []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        p = start()
        buf = [""]
        read_until(p, ["lab repl:"], buf)
        starts.append((time.perf_counter() - t) * 1000)
        p.stdin.close()
        p.wait()
    print(f"start-up to banner: median {statistics.median(starts):.1f} ms "
          f"(min {min(starts):.1f}, max {max(starts):.1f}, {ROUNDS} starts)")

    p = start()
    buf = [""]
    read_until(p, ["lab repl:"], buf)
    capture = "capture off:" not in buf[0]
    setup = [
        "server = socket(AF_INET, SOCK_STREAM)",
        "server.bind(('127.0.0.1', 0))",
        "server.listen(5)",
        "client = socket(AF_INET, SOCK_STREAM)",
        "client.connect(server.getsockname())",
        "conn, addr = server.accept()",
    ]
    for line in setup:
        buf[0] = ""
        p.stdin.write((line + "\n").encode())
        read_until(p, [">>> " + line], buf)
    time.sleep(0.2)
    sends, recvs = [], []
    for i in range(ROUNDS):
        buf[0] = ""
        t = time.perf_counter()
        p.stdin.write(b"client.send(b'x')\n")
        needles = ["send(client, 1 B) → 1 B"]
        if capture:
            needles.append("len=1 ")
        read_until(p, needles, buf)
        sends.append((time.perf_counter() - t) * 1000)
        buf[0] = ""
        t = time.perf_counter()
        p.stdin.write(b"conn.recv(1024)\n")
        read_until(p, ["recv(conn, 1024) → "], buf)
        recvs.append((time.perf_counter() - t) * 1000)
    p.stdin.close()
    p.wait()
    what = "row and packet" if capture else "row only (capture off: run as root for packets)"
    for name, xs in (("client.send(b'x')", sends), ("conn.recv(1024)", recvs)):
        xs.sort()
        print(f"Enter to result, {name} ({what}): median {statistics.median(xs):.1f} ms, "
              f"p90 {xs[int(len(xs) * 0.9) - 1]:.1f} ms, {len(xs)} lines")


main()
