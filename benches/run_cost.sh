#!/usr/bin/env bash
# What running labs costs, measured side by side in one run (the machine is
# shared and noisy: compare medians and ratios, not single numbers).
#
#   bash benches/run_cost.sh
#
# Reports, with hyperfine (apt-get install hyperfine):
#   1. `lab list` start-up time (goal: under 20 ms);
#   2. `lab run --all` wall time with and without the capture (goals: the
#      five core labs under 2 s; the whole catalog under 15 s with capture);
#   3. one lab with and without the capture (goal: capture adds < 100 ms).
# Run as root for the capture figures; as a user they show capture off.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "needs hyperfine: apt-get install hyperfine" >&2; exit 2; }
cargo build --release --quiet
lab=target/release/lab
runs=${RUNS:-10}

hyperfine --warmup 3 --runs "$runs" -N --export-markdown /dev/stdout \
  "$lab list" "$lab list --json"

hyperfine --warmup 1 --runs "$runs" --export-markdown /dev/stdout \
  "$lab run --all --no-capture" "$lab run --all"

hyperfine --warmup 1 --runs "$runs" --export-markdown /dev/stdout \
  "$lab run 09-sticky-packet --no-capture" "$lab run 09-sticky-packet"

# The slowest lab, from one --all run with capture.
echo
echo "Per-lab wall times (one run, capture as available):"
"$lab" run --all --color=never | sort -k5 -n
