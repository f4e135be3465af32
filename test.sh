#!/usr/bin/env bash
# Installs what is missing (with Debian's chromium for the report's browser test), builds the
# test preset (ASan + UBSan) and runs every test with ctest (the browser test is required here:
# XPUSIM_REQUIRE_BROWSER=1), then builds the fuzz preset (clang, libFuzzer) and runs each fuzz
# target for XPUSIM_FUZZ_SECONDS (default 20; 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")"
source .ci/deps.sh
fuzz_seconds="${XPUSIM_FUZZ_SECONDS:-20}"
if [ "$fuzz_seconds" = 0 ]; then
  xpusim_install_deps "${XPUSIM_BROWSER_DEBS[@]}"
else
  xpusim_install_deps "${XPUSIM_BROWSER_DEBS[@]}" "${XPUSIM_FUZZ_DEBS[@]}"
fi
xpusim_build test
export SYSC_DISABLE_COPYRIGHT_MESSAGE=1 XPUSIM_REQUIRE_BROWSER=1
ctest --preset test -j "$(nproc)" "$@"
if [ "$fuzz_seconds" != 0 ]; then
  xpusim_build fuzz
  tests/fuzz/run.sh "$fuzz_seconds"
fi
