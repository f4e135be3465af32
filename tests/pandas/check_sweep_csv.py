"""Checks that `xpusim sweep export --format csv` loads in pandas as it is (no options) and holds
what the JSON export holds, row for row (ctest pandas.sweep_csv, through tests/pandas/run.sh).

    check_sweep_csv.py EXPORT_CSV EXPORT_JSON [MORE_CSV...]

Each extra CSV (the sweep command's own --format csv output) must equal the export.
"""
import json
import math
import sys
import warnings

import pandas as pd

failures = []


def fail(msg):
    failures.append(msg)


def load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ParserWarning or DtypeWarning is a failure
        return pd.read_csv(path)


csv_path, json_path = sys.argv[1], sys.argv[2]
df = load(csv_path)
with open(json_path) as f:
    rows = json.load(f)

header = open(csv_path, encoding="utf-8").readline().rstrip("\n").split(",")
if list(df.columns) != header:
    fail(f"pandas renamed columns: {list(df.columns)} vs header {header}")
if len(set(df.columns)) != len(df.columns):
    fail("duplicate column names")
if any(c.startswith("Unnamed") for c in df.columns):
    fail("an unnamed column: a row has more cells than the header")
if len(df) != len(rows):
    fail(f"{len(df)} CSV rows, {len(rows)} JSON rows")

# Types pandas infers without being told.
numeric = ["latency_ms", "tokens_per_s", "weight_gib", "kv_cache_gib", "batch", "prompt", "ctx",
           "tp", "point"]
for c in numeric:
    if c in df.columns and not pd.api.types.is_numeric_dtype(df[c]):
        fail(f"column {c} is {df[c].dtype}, not numeric")
for c in ["ok", "feasible", "pareto"]:
    if not pd.api.types.is_bool_dtype(df[c]):
        fail(f"column {c} is {df[c].dtype}, not bool")
for c in ["hw", "model", "phase", "stack"]:
    if df[c].isna().any():
        fail(f"column {c} has empty cells")

# The same values as the JSON export, row for row: numbers to the CSV's 9 significant digits,
# nulls as NaN, strings (the stack holds commas and parentheses) exactly.
if len(df) == len(rows):
    for i, r in enumerate(rows):
        for c in df.columns:
            if c.startswith("set:"):
                want = r["parameters"].get(c[4:])
            elif c in ("feasible", "pareto", "ok"):
                want = r.get(c)
            elif c == "warnings":
                want = "; ".join(r.get("warnings", [])) or None
            else:
                want = r.get(c)
            got = df.at[i, c]
            if want is None or want == "":
                if not (isinstance(got, float) and math.isnan(got)):
                    fail(f"row {i} {c}: CSV {got!r}, JSON empty")
            elif isinstance(want, bool):
                if bool(got) != want:
                    fail(f"row {i} {c}: CSV {got!r}, JSON {want!r}")
            elif isinstance(want, (int, float)):
                if not math.isclose(float(got), float(want), rel_tol=1e-8, abs_tol=1e-12):
                    fail(f"row {i} {c}: CSV {got!r}, JSON {want!r}")
            elif str(got) != str(want):
                fail(f"row {i} {c}: CSV {got!r}, JSON {want!r}")
            if len(failures) > 20:
                break

# Something of each kind was there to check.
if not df["ok"].all() and df["ok"].any():
    pass
else:
    fail("the sweep should hold both runnable and non-runnable points")
if not df["stack"].str.contains(",").any():
    fail("no stack string with a comma: the quoting was not exercised")

for extra in sys.argv[3:]:
    other = load(extra)
    if not other.equals(df):
        fail(f"{extra} differs from {csv_path}")

if failures:
    print("\n".join(failures[:40]))
    sys.exit(1)
print(f"OK: {len(df)} rows x {len(df.columns)} columns load in pandas "
      f"{pd.__version__} and equal the JSON export")
