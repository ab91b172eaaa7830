#!/usr/bin/env bash
# One lab, many times, on a machine that keeps it waiting for a CPU: RUNS
# runs of `lab run LAB`, PAR at a time, in a cgroup (v1 cpu controller)
# with the smallest CPU weight, while two busy loops hold the cores. Each
# binary given is run in turn under the same load; counts the runs with
# a wrong verdict (any ✗ line) and gives the longest wait of a call.
# Needs root.
#
#   benches/starved_lab.sh RUNS PAR LAB BINARY...
#   e.g. benches/starved_lab.sh 1000 100 05 /tmp/lab-before target/release/lab
set -euo pipefail
runs=$1 par=$2 id=$3
shift 3
group=/sys/fs/cgroup/cpu/socket-lab-starved-$$
mkdir "$group"
echo 2 > "$group/cpu.shares"
out=$(mktemp -d)
busy=()
for _ in 1 2; do sh -c 'while :; do :; done' & busy+=($!); done
trap 'kill "${busy[@]}" 2>/dev/null || true; rm -rf "$out"; rmdir "$group" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
echo "# $(uname -r), $(nproc) cores, $runs runs of lab run $id, $par at a time, cpu.shares=2, two busy loops"
for lab in "$@"; do
  rm -f "$out"/*.txt
  start=$(date +%s.%N)
  (echo "$BASHPID" > "$group/tasks"
   seq "$runs" | xargs -P "$par" -I{} sh -c "'$lab' run '$id' --color=never > '$out/{}.txt' 2>&1 || true")
  end=$(date +%s.%N)
  bad=$(grep -l '✗' "$out"/*.txt | wc -l || true)
  longest=$(grep -ho 'waited [0-9.]* ms' "$out"/*.txt | awk '{print $2}' | sort -n | tail -1)
  echo "$lab: $bad of $runs runs with a wrong verdict, longest wait ${longest:-0} ms, $(awk "BEGIN {printf \"%.0f\", $end - $start}") s"
done
