#!/usr/bin/env python3
"""Calibration / hold-out split of the software-stack kernel dataset (issue 15), fixed BEFORE the
measurement. It depends only on shape columns, never on the implementation (backend / eager /
compiled) or on a timing, so every implementation of one shape lands on the same side: each
implementation has its own frozen hold-out on the same shapes.

  attention    hold-out if sha1("stack_attn|phase|B|heads|kv_heads|q_len|kv_len") % 100 < 30
  elementwise  hold-out if the width is llama2-13b's (H = 5120 or I = 13824: held out as a whole
               model, as in validation/gpu/split.py), or sha1("stack_ew|family|T|H") % 100 < 15,
               where family is rmsnorm, add_rmsnorm or silu_mul
  e2e          (whole decoders per stack preset, measure_e2e_stacks.py; rule added 2026-12-03 before
               that run) hold-out if the model is llama2-13b (a whole model held out, as in
               validation/gpu/split.py) or sha1("stack_e2e|model|phase|B|q_len|ctx") % 100 < 25.
               ctx is the context before the step (0 for prefill). Never by stack: every stack
               preset has its own frozen hold-out on the same points.
  holdout2     (rule added 2026-12-03 17:58 UTC, before that run) every row measured with
               `--plan holdout2` (measure_stacks.py, measure_e2e_stacks.py: its `plan` column) is
               hold-out, set `holdout2`: new shapes that no earlier run measured (attention at
               B = 2, 16, 32 with 1024-4096 keys and 40/40 heads; norms and SiLU*mul at T = 2, 8,
               32, 128, 512, 2048, 8192; whole decoders at prefill 2x1024, 16x256, 32x64 and
               decode batch 2, 8, 32 at 2048 keys and 48 at 512, gpt2 at 768/256). Every
               implementation and stack of a shape is in it, so each has its own hold-out.
               Diagnostic GEMM rows of that run (kind stack_gemm, llama2-7b / llama3-8b / gpt2
               weight shapes at M = 1-64, kernel names and per-kernel times) are calibration.

Usage: python3 split_stacks.py CSV...   re-derives `set` and checks the stored one (counts only);
rows of a spent hold-out (<kind>_calibration_was_holdout*.csv) must say calibration.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
from split_common import bucket as _h, check_files  # noqa: E402



def assign(row):
    if row.get("kind") == "stack_gemm":
        return "calibration"
    if row.get("plan") == "holdout2":
        return "holdout2"
    if row["kind"] == "stack_attn":
        key = "stack_attn|{phase}|{B}|{heads}|{kv_heads}|{q_len}|{kv_len}".format(**row)
        return "holdout" if _h(key) < 30 else "calibration"
    if row["kind"] == "stack_ew":
        if int(row["H"]) in (5120, 13824):
            return "holdout"
        return "holdout" if _h("stack_ew|{family}|{T}|{H}".format(**row)) < 15 else "calibration"
    if row["kind"] == "stack_e2e":
        if row["model"] == "llama2-13b":
            return "holdout"
        key = "stack_e2e|{model}|{phase}|{B}|{q_len}|{ctx}".format(**row)
        return "holdout" if _h(key) < 25 else "calibration"
    raise ValueError(row["kind"])


def main(argv):
    # A hold-out that has been read is calibration (<kind>_calibration_was_holdout*.csv): its rows
    # keep the rule's answer as their origin but their set is calibration.
    rc = 0
    for p in argv[1:]:
        spent = "_was_holdout" in os.path.basename(p)
        rc |= check_files([p], (lambda r: "calibration") if spent else assign)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
