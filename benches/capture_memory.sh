#!/usr/bin/env bash
# Peak memory of `lab capture` while 1 GiB crosses loopback, written to a
# pcap file (goal: peak RSS under 64 MB; frames must stream, not pile up).
#
#   sudo bash benches/capture_memory.sh [MiB]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
cargo build --release --quiet
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pcap=$(mktemp --suffix=.pcap)
trap 'rm -f "$pcap"' EXIT
/usr/bin/time -f '%M' -o /tmp/capture_memory.rss \
  target/release/lab capture --port "$port" --seconds 30 --count 100000000 --pcap "$pcap" --color=never \
  >/tmp/capture_memory.out 2>&1 &
sleep 1
python3 - "$port" "$mib" <<'PY'
import socket, sys, threading, time
port, mib = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket(); srv.bind(("127.0.0.1", port)); srv.listen(1)
def sink():
    c, _ = srv.accept()
    n = 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        n += len(b)
    print(f"received {n / 2**20:.0f} MiB")
t = threading.Thread(target=sink); t.start()
cli = socket.create_connection(("127.0.0.1", port))
chunk = b"x" * (1 << 20)
t0 = time.time()
for _ in range(mib):
    cli.sendall(chunk)
cli.close(); t.join()
print(f"sent {mib} MiB in {time.time() - t0:.1f} s")
PY
# Stop the capture early with Ctrl-C, as a user would.
sleep 1; pkill -INT -f "lab capture --port $port" || true; wait
tail -3 /tmp/capture_memory.out
echo "pcap size: $(du -m "$pcap" | cut -f1) MiB"
echo "peak RSS of lab capture: $(( $(cat /tmp/capture_memory.rss) / 1024 )) MiB"
