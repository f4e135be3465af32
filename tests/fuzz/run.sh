#!/usr/bin/env bash
# Runs each libFuzzer target of the `fuzz` preset for a fixed budget on a scratch copy of its
# seed corpus (tests/fuzz/corpus/<target>/), so the repository's corpus is never written. Builds
# nothing. Exits 1 when a target finds a crash, a leak, a timeout or runs out of memory, and
# prints where the reproducer is; rerun one with `build/fuzz/tests/fuzz/<target> FILE`.
# ./test.sh runs the targets of its own build (XPUSIM_FUZZ_BUILD=build/test).
#
#   tests/fuzz/run.sh [SECONDS [TARGET...]]     SECONDS per target, default 20
#   XPUSIM_FUZZ_BUILD=DIR                         build folder, default build/fuzz
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-20}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_config fuzz_predict_csv fuzz_safetensors)
build="${XPUSIM_FUZZ_BUILD:-$root/build/fuzz}"
# Reproducers and logs outlive the run, beside the binaries; the scratch corpus does not.
out="$build/fuzz-out"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export SYSC_DISABLE_COPYRIGHT_MESSAGE=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

# The targets run side by side (each is one process), so the wall time is about SECONDS on a
# machine with as many cores as targets.
fuzz_one() {
  local t="$1" bin="$build/tests/fuzz/$1" log="$out/$1/log.txt"
  mkdir -p "$scratch/$t" "$out/$t"
  cp -r "$root/tests/fuzz/corpus/$t/." "$scratch/$t/"
  # -timeout: one input slower than this is a hang (generous: ASan on a loaded 2-core machine).
  # -rss_limit_mb: far above what any accepted input needs; beyond it is unbounded growth.
  "$bin" "$scratch/$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/$t/" >"$log" 2>&1
}
for t in "${targets[@]}"; do
  if [ ! -x "$build/tests/fuzz/$t" ]; then
    echo "fuzz: $build/tests/fuzz/$t is missing; build it with: cmake --preset fuzz && cmake --build --preset fuzz" >&2
    exit 2
  fi
done
pids=()
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  pids+=($!)
done
failed=0
for i in "${!targets[@]}"; do
  t="${targets[$i]}"
  bin="$build/tests/fuzz/$t"
  log="$out/$t/log.txt"
  if wait "${pids[$i]}"; then
    echo "fuzz: $t ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${seconds} s)"
  else
    failed=1
    echo "fuzz: $t FAILED; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    for a in $(grep -o "Test unit written to [^ ]*" "$log" | sed 's/Test unit written to //'); do
      echo "fuzz: reproducer: $a (run: $bin $a)" >&2
    done
  fi
done
exit "$failed"
