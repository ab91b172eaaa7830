#!/usr/bin/env bash
# `lab run --all`: one lab at a time (--jobs 1) against all at once (the
# default), alternating, ROUNDS rounds each, on the release build. Prints
# each run's wall and CPU time, then the medians and their ratio.
#
#   benches/run_all_jobs.sh [ROUNDS]
#
# As root each lab runs in a network namespace of its own; without it the
# labs run one at a time whatever --jobs says, and both columns match.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
cargo build --quiet --release
lab=target/release/lab
echo "# $(uname -r), $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg), user $(id -un)"
measure() { # prints "wall cpu" in seconds
    local t
    t=$( { /usr/bin/time -f "%e %U %S" "$lab" run --all --color=never "$@" >/dev/null; } 2>&1 | tail -1)
    awk '{printf "%.3f %.3f\n", $1, $2 + $3}' <<<"$t"
}
serial=() parallel=()
for i in $(seq "$rounds"); do
    s=$(measure --jobs 1)
    p=$(measure)
    serial+=("$s")
    parallel+=("$p")
    echo "round $i: --jobs 1: ${s% *} s wall, ${s#* } s CPU; default: ${p% *} s wall, ${p#* } s CPU"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
sw=$(printf '%s\n' "${serial[@]}" | cut -d' ' -f1 | median)
pw=$(printf '%s\n' "${parallel[@]}" | cut -d' ' -f1 | median)
sc=$(printf '%s\n' "${serial[@]}" | cut -d' ' -f2 | median)
pc=$(printf '%s\n' "${parallel[@]}" | cut -d' ' -f2 | median)
echo "median wall: --jobs 1 ${sw} s, default ${pw} s (ratio $(awk "BEGIN {printf \"%.2f\", $sw / $pw}"))"
echo "median CPU:  --jobs 1 ${sc} s, default ${pc} s"
