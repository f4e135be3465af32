#!/usr/bin/env bash
# ctest pandas.sweep_csv: runs a small sweep, exports it as CSV and as JSON, and checks with pandas
# (check_sweep_csv.py) that the CSV loads as it is and says what the JSON says.
#
#   tests/pandas/run.sh XPUSIM_BINARY OUT_DIR
#
# Uses Debian's /usr/bin/python3 with python3-pandas. Without pandas the test is skipped (exit 77)
# unless XPUSIM_REQUIRE_PANDAS is set (./test.sh sets it and installs python3-pandas).
set -euo pipefail
xpusim="$(realpath "$1")"
out="$2"
here="$(cd "$(dirname "$0")" && pwd)"
python=/usr/bin/python3
if ! "$python" -c "import pandas" >/dev/null 2>&1; then
  if [ -n "${XPUSIM_REQUIRE_PANDAS:-}" ]; then
    echo "FAIL: XPUSIM_REQUIRE_PANDAS is set but $python cannot import pandas (apt-get install python3-pandas)"
    exit 1
  fi
  echo "SKIPPED: python3-pandas is not installed (./test.sh installs it and requires this test)"
  exit 77
fi
rm -rf "$out"
mkdir -p "$out"
cd "$out"
export SYSC_DISABLE_COPYRIGHT_MESSAGE=1 XPUSIM_CACHE_DIR="$out/.cache"
# Two families, both phases, a swept string and a swept number, one point that does not fit
# (llama2-70b on one device: ok=false, empty metrics), and a constraint and objectives, so that the
# CSV holds strings with commas (the stack), empty cells, booleans, integers and floats.
cat > p.yaml <<'YAML'
type: sweep
name: pandas
set: ["phases=[prefill, decode]", "numerics=false"]
parameters:
  - {key: hw, values: [h100, tpu-v4]}
  - {key: model, values: [llama2-7b, llama2-70b]}
  - {key: batch, values: [1, 8]}
constraints: [ok, "latency_ms <= 500"]
objectives: [{minimize: latency_ms}, {maximize: tokens_per_s}]
YAML
"$xpusim" sweep p.yaml --store p.sqlite --format csv > run.csv 2> run.err || { cat run.err; exit 1; }
"$xpusim" sweep export p.yaml --store p.sqlite --format csv -o export.csv
"$xpusim" sweep export p.yaml --store p.sqlite --format json -o export.json
"$python" "$here/check_sweep_csv.py" export.csv export.json run.csv
