#!/usr/bin/env bash
# `lab run --all` against another commit, side by side in one run (the
# machine is shared and noisy: compare the ratio, not single numbers).
#
#   bash benches/run_all_vs.sh [REV] [RUNS]     (REV: default HEAD~1)
#
# Builds REV in a temporary worktree (release), then times both binaries
# alternately with hyperfine (apt-get install hyperfine). As root both run
# with the capture, each lab in its own namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD~1}
runs=${2:-10}
command -v hyperfine >/dev/null || { echo "needs hyperfine: apt-get install hyperfine" >&2; exit 2; }
tree=$(mktemp -d /tmp/socket-lab-bench-XXXXXX)
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true; rm -rf "$tree"' EXIT
git worktree add --detach "$tree" "$rev" >/dev/null
(cd "$tree" && CARGO_TARGET_DIR="$tree/target" cargo build --release --quiet)
cargo build --release --quiet
hyperfine --warmup 1 --runs "$runs" -N --export-markdown /dev/stdout \
  "$tree/target/release/lab run --all" "target/release/lab run --all"
