#!/usr/bin/env bash
# Installs what is missing (clang for the test build, Debian's chromium for the report's browser
# test, python3-pandas for the sweep CSV test), builds the test preset once (clang, ASan + UBSan, with libFuzzer's coverage
# instrumentation), runs every test with ctest (the browser and pandas tests are required here:
# XPUSIM_REQUIRE_BROWSER=1, XPUSIM_REQUIRE_PANDAS=1), then runs each fuzz target of that same build for
# XPUSIM_FUZZ_SECONDS (default 20; 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")"
source .ci/deps.sh
fuzz_seconds="${XPUSIM_FUZZ_SECONDS:-20}"
xpusim_install_deps "${XPUSIM_TEST_DEBS[@]}" "${XPUSIM_BROWSER_DEBS[@]}" "${XPUSIM_PANDAS_DEBS[@]}"
xpusim_build test
export SYSC_DISABLE_COPYRIGHT_MESSAGE=1 XPUSIM_REQUIRE_BROWSER=1 XPUSIM_REQUIRE_PANDAS=1
ctest --preset test -j "$(nproc)" "$@"
if [ "$fuzz_seconds" != 0 ]; then
  XPUSIM_FUZZ_BUILD="$PWD/build/test" tests/fuzz/run.sh "$fuzz_seconds"
fi
