#!/usr/bin/env bash
# Runs every fuzz target for a short while, starting from its committed
# corpus (fuzz/corpus/TARGET), so that a change that makes a parser panic,
# hang or allocate without bound on an input it used to handle fails CI.
#
# Any finding fails the script: a crash (a panic, a failed assertion), an
# input that runs over 1 s, or an allocation over 256 MiB. libFuzzer
# writes the input to fuzz/artifacts/TARGET/; README.md says how to replay
# it. New inputs go to a scratch folder, never into the committed corpus.
#
#   bash fuzz/ci.sh                    # 15 s per target
#   FUZZ_SECONDS=60 bash fuzz/ci.sh    # longer
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-15}
# cargo-fuzz needs nightly-only compiler flags (sanitizers, coverage);
# RUSTC_BOOTSTRAP=1 lets the stable toolchain take them. Fuzzing only: the
# crate itself never builds this way.
export RUSTC_BOOTSTRAP=1
# AddressSanitizer keeps freed memory aside (its quarantine, 256 MiB by
# default) to catch use after free; with a 256 MiB limit on the whole
# process, a target that frees large buffers could hit the limit on that
# alone. 64 MiB of quarantine still catches a use soon after a free.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=64}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

echo "fuzz: building every target"
cargo fuzz build

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

for target in $(cargo fuzz list); do
  mkdir -p "$scratch/$target"
  echo "fuzz: $target for ${seconds}s"
  log="$scratch/$target.log"
  # The scratch folder first: libFuzzer writes new inputs to the first
  # folder it is given and only reads the others.
  if ! cargo fuzz run "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=1 -rss_limit_mb=256 -malloc_limit_mb=256 \
    -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    artifact=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
    # A timeout can be the machine stalling (a shared runner) rather than
    # the input: replay the input alone, with the same limit. A slow input
    # is slow again; only then is it a finding.
    if [[ "$(basename "${artifact:-x}")" == timeout-* ]] &&
      cargo fuzz run "$target" "$artifact" -- -timeout=1 -rss_limit_mb=256 \
        -malloc_limit_mb=256 >"$log.replay" 2>&1; then
      echo "fuzz: $target: the input that timed out replays in under 1 s:" \
        "the machine stalled; not a finding"
      continue
    fi
    echo "fuzz: $target found a problem; the input is $artifact"
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz: $target: ${runs:-?} runs, nothing found"
done
