#!/usr/bin/env bash
# Loopback capture benchmark (see benches/README.md for what it measures and
# the figures). Needs root: packet capture wants CAP_NET_RAW.
#
#   benches/capture_flood.sh [RUNS] [COUNT] [MIB]
#
# RUNS   rounds of the UDP flood, each contender once per round (default 3)
# COUNT  64-byte datagrams per flood (default 500000)
# MIB    size of the TCP flood captured into a pcap file (default 1024)
#
# tcpdump is the reference; it is installed if missing with
#   apt-get install -y tcpdump
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
count=${2:-500000}
mib=${3:-1024}

if [ "$(id -u)" != 0 ]; then
    echo "capture_flood: run as root (packet capture needs CAP_NET_RAW)" >&2
    exit 2
fi
if ! command -v tcpdump >/dev/null; then
    echo "capture_flood: installing tcpdump" >&2
    apt-get install -y tcpdump >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y tcpdump >/dev/null; }
fi

echo "# $(uname -r), $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo build --quiet --release --example capture_bench
cargo run --quiet --release --example capture_bench -- flood --runs "$runs" --count "$count"
echo
cargo run --quiet --release --example capture_bench -- rss --mib "$mib"
