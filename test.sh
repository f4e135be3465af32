#!/usr/bin/env bash
# Installs what is missing, builds the test preset (ASan + UBSan) and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")"
source .ci/deps.sh
xpusim_install_deps
xpusim_build test
export SYSC_DISABLE_COPYRIGHT_MESSAGE=1
ctest --preset test -j "$(nproc)" "$@"
