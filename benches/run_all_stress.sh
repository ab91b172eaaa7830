#!/usr/bin/env bash
# Many whole-catalog runs at once: RUNS runs of `lab run --all`, PAR of
# them at a time, on the release build. Counts the runs with a wrong
# verdict (any ✗ line) and prints the checks that failed, with the run.
#
#   benches/run_all_stress.sh [RUNS] [PAR]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100}
par=${2:-10}
cargo build --quiet --release
lab=$PWD/target/release/lab
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "# $(uname -r), $(nproc) cores, $runs runs of lab run --all, $par at a time"
start=$(date +%s.%N)
seq "$runs" | xargs -P "$par" -I{} sh -c "'$lab' run --all --color=never > '$out/{}.txt' 2>&1 || true"
end=$(date +%s.%N)
bad=$(grep -l '^✗' "$out"/*.txt | wc -l || true)
labs=$(grep -h '^[✓✗]' "$out"/*.txt | wc -l)
echo "lab runs: $labs, in $(awk "BEGIN {printf \"%.1f\", $end - $start}") s; catalog runs with a wrong verdict: $bad of $runs"
grep -h -A3 '^✗' "$out"/*.txt | grep '^    ✗' | sort | uniq -c | sort -rn | head -20 || true
# Keep the whole output of every run with a wrong verdict, to read after.
if [ "$bad" -gt 0 ]; then
  keep=$(mktemp -d /tmp/run-all-wrong.XXXXXX)
  grep -l '^✗' "$out"/*.txt | xargs cp -t "$keep"
  echo "the runs with a wrong verdict, whole: $keep"
fi
