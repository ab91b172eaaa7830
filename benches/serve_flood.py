#!/usr/bin/env python3
"""`lab serve 15` under a flood of silent clients.

Opens IDLE connections (default 3000) that never send a byte, then asks
for `ls` ROUNDS times as a normal client would, and prints how long each
answer took, the server's memory (VmRSS) and its thread count. Run after
`cargo build --release`:

    python3 benches/serve_flood.py [IDLE] [ROUNDS] [-- extra lab serve args]

The first answer waits behind the connections the server has not yet
accepted; the later ones show the steady state.
"""
import json, os, re, socket, struct, subprocess, sys, threading, time

args = sys.argv[1:]
extra = args[args.index("--") + 1:] if "--" in args else []
args = args[:args.index("--")] if "--" in args else args
idle_n = int(args[0]) if args else 3000
rounds = int(args[1]) if len(args) > 1 else 5
lab = os.path.join(os.path.dirname(__file__), "..", "target", "release", "lab")

p = subprocess.Popen([lab, "serve", "15", "--port", "0", "--color=never"] + extra,
                     stdout=subprocess.PIPE, text=True)
port = int(re.search(r":(\d+) ", p.stdout.readline()).group(1))
for line in iter(p.stdout.readline, ""):
    if "Ctrl-C stops" in line:
        break
# The rest of its output (a row per call and packet) is read and dropped.
threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()

def status(field):
    for l in open(f"/proc/{p.pid}/status"):
        if l.startswith(field):
            return int(l.split()[1])

def ask():
    s = socket.create_connection(("127.0.0.1", port))
    t = time.perf_counter()
    s.sendall(b"ls")
    def exact(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            assert c, "closed"
            b += c
        return b
    head = json.loads(exact(struct.unpack("i", exact(4))[0]))
    exact(head["data_size"])
    s.close()
    return (time.perf_counter() - t) * 1000

rss0 = status("VmRSS")
t = time.perf_counter()
silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle_n)]
print(f"{idle_n} silent clients connected in {time.perf_counter() - t:.2f} s")
times = [ask() for _ in range(rounds)]
print("ls answered in (ms): " + ", ".join(f"{x:.1f}" for x in times)
      + f"; median {sorted(times)[len(times) // 2]:.1f}")
print(f"lab serve: VmRSS {rss0 // 1024} MiB before, {status('VmRSS') // 1024} MiB with them; "
      f"{status('Threads')} threads")
p.send_signal(2)
p.wait()
print(f"exit {p.returncode} after Ctrl-C")
