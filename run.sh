#!/usr/bin/env bash
# Installs what is missing, builds a Release xpusim, and runs it. With no arguments it runs the
# embedded default experiment and writes its report (xpusim-out/reports/default.html, path
# printed last); any arguments go to the xpusim CLI (./run.sh --help).
set -euo pipefail
cd "$(dirname "$0")"
source .ci/deps.sh
xpusim_install_deps
xpusim_build release --target xpusim
export SYSC_DISABLE_COPYRIGHT_MESSAGE=1
if [ $# -eq 0 ]; then
  build/release/xpusim run
  build/release/xpusim report xpusim-out/default -o xpusim-out/reports/default.html
  echo "report: $(pwd)/xpusim-out/reports/default.html"
  exit 0
fi
exec build/release/xpusim "$@"
