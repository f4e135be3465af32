#!/usr/bin/env bash
# The report's browser test (ctest: browser.reports): generates the reports of the default
# experiment, of a small sweep, of a validation run, of a 10,000-point sweep store and of results
# whose names are hostile (a model named <script>alert(1)</script>, a device name with quotes and
# ampersands), renders each once in headless Chromium and checks it (check_report.py), and checks
# the timeline traces of the default experiment and of a tensor-parallel run.
#
#   tests/browser/run.sh XPUSIM_BINARY OUT_DIR
#
# Chromium: $XPUSIM_CHROMIUM, else `chromium` or `chromium-browser` on the PATH. Without one the
# test is skipped (exit 77) unless XPUSIM_REQUIRE_BROWSER is set (./test.sh sets it and installs
# Debian's chromium), when it fails.
set -euo pipefail
xpusim="$(realpath "$1")"
out="$2"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
chromium=""
for c in "${XPUSIM_CHROMIUM:-}" chromium chromium-browser; do
  if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then chromium="$(command -v "$c")"; break; fi
done
if [ -z "$chromium" ]; then
  if [ -n "${XPUSIM_REQUIRE_BROWSER:-}" ]; then
    echo "FAIL: XPUSIM_REQUIRE_BROWSER is set but no chromium was found (apt-get install chromium)"
    exit 1
  fi
  echo "SKIPPED: chromium is not installed, so the reports were not rendered in a browser"
  echo "(install Debian's chromium, or run ./test.sh, which installs it and requires this test)"
  exit 77
fi
rm -rf "$out"
mkdir -p "$out"
cd "$out"
export SYSC_DISABLE_COPYRIGHT_MESSAGE=1 XPUSIM_CACHE_DIR="$out/.cache"
check=(python3 "$here/check_report.py" --chromium "$chromium" --out "$out/browser")
step() { printf '%s\n' "-- $*"; }

step "default experiment: run with --trace, report"
"$xpusim" run --out default --trace default-trace.json >/dev/null
"$xpusim" report default -o default.html
"${check[@]}" --report default.html --min-charts 6 \
  --expect-text "Device comparison" "Where the time goes" "Rooflines" "Numerics" "xeon-8480" \
  "h100" "tpu-v4" --trace default-trace.json

step "a sweep: $root/tests/data/report/sweep-small.yaml"
"$xpusim" sweep "$root/tests/data/report/sweep-small.yaml" >/dev/null
"$xpusim" report "$root/tests/data/report/sweep-small.yaml" -o sweep.html
"${check[@]}" --report sweep.html --min-charts 2 --expect-text "Sweep: report-test" "Pareto front"

step "a validation run (H100 kernels) and the same as Markdown"
"$xpusim" validate --out validation.csv >/dev/null
"$xpusim" report validation.csv -o validation.html
"$xpusim" report validation.csv --format md -o md/validation.md
test -s md/validation.md && ls md/validation_files/*.svg >/dev/null
"${check[@]}" --report validation.html --min-charts 1 --expect-text "Validation" "MAPE (%)"

step "hostile names are text, and nothing runs"
mkdir -p hostile
python3 - default/results.json hostile/results.json <<'PY'
import json, sys
points = json.load(open(sys.argv[1]))
for p in points:
    p["model"] = "<script>alert(1)</script>"
    p["hw"] = 'h"100" & \'co\' <b>bold</b> &amp;' + p["hw"]
json.dump(points, open(sys.argv[2], "w"))
PY
"$xpusim" report hostile -o hostile.html
"${check[@]}" --report hostile.html --min-charts 6 \
  --expect-text "<script>alert(1)</script>" "h\"100\" & 'co' <b>bold</b> &amp;xeon-8480"

step "a tensor-parallel trace: devices side by side, collectives lined up"
"$xpusim" run --hw h100 --model llama2-7b --phase decode --tp 2 --no-out --trace tp2-trace.json >/dev/null
"${check[@]}" --trace tp2-trace.json

step "a 10,000-point sweep store: under 2 s in the browser, under 5 MB"
python3 "$here/make_sweep_store.py" big.sqlite 10000
"$xpusim" report big.sqlite -o sweep-10k.html
"${check[@]}" --report sweep-10k.html --min-charts 2 --max-render-s 2 --max-bytes 5000000
echo "all report checks passed"
