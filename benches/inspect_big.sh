#!/usr/bin/env bash
# `lab inspect` on a big pcap against tshark: wall time, peak RSS and
# throughput, medians of ROUNDS runs, the two tools alternating.
#
#   bash benches/inspect_big.sh [MiB] [ROUNDS]      (defaults: 1024, 3)
#
# The file is synthesised by benches/big_pcap.py (4,000 TCP connections,
# 1,448-byte segments, correct checksums) in a temporary folder, read
# once to have it in the page cache for every contender, and deleted at
# the end. The pairs:
#
#   detail  lab inspect F --detail all          tshark -r F -V
#   filter  lab inspect F --filter EXPR         tshark -r F -Y EXPR
#   plain   lab inspect F                       tshark -r F
#   stats   lab inspect F --stats               tshark -r F -q -z conv,tcp
#   json    lab inspect F --json                (lab only)
#
# EXPR is `tcp.len > 1000 && tcp.port == 9003`: the data segments of one
# connection in 16. Every output goes to /dev/null. Goal: lab's peak RSS
# stays under 64 MiB whatever the file's size.
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
rounds=${2:-3}
need=()
command -v tshark >/dev/null || need+=(tshark)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then apt-get install -y "${need[@]}"; fi
cargo build --release --quiet
lab=${CARGO_TARGET_DIR:-target}/release/lab
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pcap=$dir/big.pcap
python3 benches/big_pcap.py "$pcap" "$mib"
cat "$pcap" >/dev/null
size=$(stat -c %s "$pcap")
filter='tcp.len > 1000 && tcp.port == 9003'

# measure NAME COMMAND...: appends "NAME wall_s peak_rss_kib" to results.
measure() {
  local name=$1
  shift
  if ! /usr/bin/time -f '%e %M' -o "$dir/time" "$@" >/dev/null 2>"$dir/stderr"; then
    echo "$name failed: $(tail -1 "$dir/stderr")" >&2
    return 1
  fi
  local line
  line=$(tail -1 "$dir/time")
  echo "$name $line" >>"$dir/results"
  echo "round $round  $(printf '%-14s' "$name") ${line% *} s  $(( ${line#* } / 1024 )) MiB"
}

for round in $(seq 1 "$rounds"); do
  measure "lab detail" "$lab" inspect "$pcap" --detail all --color=never
  measure "tshark detail" tshark -r "$pcap" -V
  measure "lab filter" "$lab" inspect "$pcap" --filter "$filter" --color=never
  measure "tshark filter" tshark -r "$pcap" -Y "$filter"
  measure "lab plain" "$lab" inspect "$pcap" --color=never
  measure "tshark plain" tshark -r "$pcap"
  measure "lab stats" "$lab" inspect "$pcap" --stats --color=never
  measure "tshark stats" tshark -r "$pcap" -q -z conv,tcp
  measure "lab json" "$lab" inspect "$pcap" --json
done

python3 - "$dir/results" "$size" "$rounds" <<'PY'
import statistics, sys
path, size, rounds = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = {}
for line in open(path):
    *name, wall, rss = line.split()
    runs.setdefault(" ".join(name), []).append((float(wall), int(rss)))
med = {k: (statistics.median(w for w, _ in v), statistics.median(r for _, r in v)) for k, v in runs.items()}
print(f"\n{size / 2**20:.0f} MiB file, medians of {rounds} rounds (MB/s: file bytes / wall time)")
print(f"{'view':8} {'lab s':>8} {'lab MB/s':>9} {'lab RSS':>9}   {'tshark s':>8} {'tshark MB/s':>11} {'tshark RSS':>10}   {'time lab/tshark':>15}")
for view in ["detail", "filter", "plain", "stats", "json"]:
    lab = med.get(f"lab {view}")
    ts = med.get(f"tshark {view}")
    if lab is None:
        continue
    row = f"{view:8} {lab[0]:8.1f} {size / 1e6 / lab[0]:9.1f} {lab[1] / 1024:6.1f} MiB"
    if ts:
        row += f"   {ts[0]:8.1f} {size / 1e6 / ts[0]:11.1f} {ts[1] / 1024:7.1f} MiB   {lab[0] / ts[0]:14.2f}x"
    print(row)
PY
