#!/usr/bin/env python3
"""Deterministic calibration/holdout split for the measured GPU kernel dataset.

The rule is fixed here, before any model fitting, and must never change afterwards
(changing it would leak holdout rows into calibration). It depends only on the shape
columns of a row, never on its timing, so re-measuring gives the same split.

Rule (per row kind):
  gemm        holdout if the shape belongs to a held-out model (llama2-13b: every one of
              its projections, all M, all dtypes), or M is not a power of two (the "odd M"
              rows test interpolation between the calibration grid), or
              sha1("gemm|K|N|M") % 100 < 10.  The key leaves dtype out, so all dtypes of one
              shape land on the same side.
  attention   holdout if sha1("attention|B|heads|kv_heads|head_dim|q_len|kv_len|causal") % 100 < 30.
  elementwise holdout if H == 5120 (llama2-13b's width, held out as a whole) or
              sha1("elementwise|op|T|H") % 100 < 15.
  ceiling     always calibration (they set the peak rates).
  e2e         always holdout (end-to-end validation only).
  e2e_cal     always calibration: end-to-end points measured later (e2e_calibration.csv) at
  e2e_part    configurations that differ from every e2e row, and their stack-vs-isolated
              diagnostics (e2e_parts.csv). New kinds; the rules above are unchanged.
  gemm_calib2  (was gemm_fresh.csv, kind gemm_fresh; renamed 2026-12-03) always calibration now. Planned and measured as a second GEMM hold-out (set
              holdout2; gemm_fresh.csv, FRESH_LAYERS in measure_kernels.py) after the model had
              been changed in view of the first hold-out's residuals; once read (GEMM MAPE 16.9 %
              on the H100, 17.8 % on the H200) it guided model changes, and then became
              calibration rows so that the fit sees more layer shapes.
  gemm_calib3  (was gemm_holdout3.csv; renamed 2026-12-03) always calibration now, likewise: the third GEMM hold-out (holdout3;
              gemm_holdout3.csv, HOLDOUT3_LAYERS), read once (13.6 % / 15.2 %) before it became
              calibration rows.
  gemm_calib4  (was gemm_holdout4.csv; renamed 2026-12-03) always calibration now, likewise: the fourth GEMM hold-out (holdout4;
              gemm_holdout4.csv, HOLDOUT4_LAYERS), read once (11.6 % / 11.9 %) and then looked at
              while the model changed again.
  gemm_kernels  the set of the timed GEMM row whose kernels it names (column plan_kind).
  gemm_calib5  (was gemm_holdout5.csv; renamed 2026-12-03) always calibration now, likewise: the fifth GEMM hold-out (holdout5;
              gemm_holdout5.csv, HOLDOUT5_LAYERS), read once (11.6 % / 12.9 %); its int8
              aggregate was glimpsed for a model variant that was not kept, and the int8 model
              then changed (kernel names), so it became calibration rows.
  gemm_holdout6  always holdout6: the sixth GEMM hold-out (gemm_holdout6.csv, HOLDOUT6_LAYERS),
              planned and measured after every model change of its session. Never fitted on; read
              again after each model change of 2026-11-27 (see validation/gpu/README.md).
  gemm_holdout7  always holdout7: the seventh GEMM hold-out (gemm_holdout7.csv, HOLDOUT7_LAYERS),
              planned on 2026-11-27 after that session's model changes, read once (11.2 % / 12.1 %);
              one model change followed from its kernel names. Never fitted on.
  allreduce.csv  (NCCL all-reduce, measure_nccl.py; no kind column) the rows captured in CUDA
              graphs: calibration on 4 GPUs (the collective model was fitted on them), hold-out on
              any other GPU count. Eager rows are not used.
  gemm_holdout8  always holdout8: the eighth GEMM hold-out (gemm_holdout8.csv, HOLDOUT8_LAYERS),
              planned after that change, read once (10.5 % / 11.4 %); one model change followed
              from its kernel names. Never fitted on.
  gemm_holdout9  always holdout9: the ninth GEMM hold-out (gemm_holdout9.csv, HOLDOUT9_LAYERS),
              planned after that change, read once (11.3 % / 12.0 %); int8's 128x64 tile rate (fitted on
              calibration rows) was taken up because its int8 was worst. Never fitted on.
  gemm_holdout10 always holdout10: the last GEMM hold-out (gemm_holdout10.csv, HOLDOUT10_LAYERS),
              planned after the changes that followed. Never fitted on.

Usage: python3 split.py DIR   re-derives the `set` column of every CSV in DIR, checks it
against the stored one and prints the counts.
"""
import csv
import hashlib
import os
import re
import sys

HOLDOUT_MODELS = {"llama2-13b"}
HOLDOUT_H = {5120}


def _h(key: str) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % 100


def _is_pow2(v: int) -> bool:
    return v > 0 and (v & (v - 1)) == 0


def assign(row: dict) -> str:
    kind = row["kind"]
    if kind == "gemm":
        m, k, n = int(row["M"]), int(row["K"]), int(row["N"])
        if row.get("model") in HOLDOUT_MODELS:
            return "holdout"
        if not _is_pow2(m):
            return "holdout"
        return "holdout" if _h(f"gemm|{k}|{n}|{m}") < 10 else "calibration"
    if kind == "attention":
        key = "attention|{B}|{heads}|{kv_heads}|{head_dim}|{q_len}|{kv_len}|{causal}".format(**row)
        return "holdout" if _h(key) < 30 else "calibration"
    if kind == "elementwise":
        if int(row["H"]) in HOLDOUT_H:
            return "holdout"
        return "holdout" if _h(f"elementwise|{row['op']}|{row['T']}|{row['H']}") < 15 else "calibration"
    if kind == "ceiling":
        return "calibration"
    if kind == "e2e":
        return "holdout"
    if kind in ("e2e_cal", "e2e_part"):
        return "calibration"
    if kind == "gemm_kernels":  # the kernels a timed GEMM row launched: that row's set
        return assign(dict(row, kind=row.get("plan_kind") or "gemm"))
    if re.fullmatch(r"gemm_calib\d+", kind):
        return "calibration"  # read as hold-outs first, then fitted on (see the docstring)
    later = re.fullmatch(r"gemm_holdout(\d+)", kind)
    if later and int(later.group(1)) >= 6:  # the sixth GEMM hold-out and every one after it
        return kind[len("gemm_"):]
    raise ValueError(f"unknown kind {kind!r}")


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    d = argv[1]
    bad = 0
    for name in sorted(os.listdir(d)):
        if not name.endswith(".csv") or name.startswith("env"):
            continue
        if name == "allreduce.csv":  # NCCL rows: no kind column; 4 GPUs calibration, others hold-out
            with open(os.path.join(d, name)) as f:
                ranks = [r["ranks"] for r in csv.DictReader(f) if r.get("mode") == "graph"]
            print(f"{name}: {len(ranks)} graph rows  " + "  ".join(
                f"x{k}={'calibration' if k == '4' else 'holdout'}:{ranks.count(k)}" for k in sorted(set(ranks))))
            continue
        with open(os.path.join(d, name)) as f:
            rows = list(csv.DictReader(f))
        counts = {}
        for r in rows:
            s = assign(r)
            if r.get("set") and r["set"] != s:
                bad += 1
            counts[s] = counts.get(s, 0) + 1
        print(f"{name}: {len(rows)} rows  " + "  ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    if bad:
        print(f"MISMATCH: {bad} rows have a stored set that differs from the rule")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
