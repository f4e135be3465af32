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
  holdout3     (rule added 2026-12-03 ~20:45 UTC, before that run) every row measured with
               `--plan holdout3` is hold-out, set `holdout3`, in <kind>_holdout3.csv: new shapes
               and two models no earlier run measured. Attention (default, FLASH_ATTENTION,
               CUDNN_ATTENTION, MATH) with heads 32/32 and 32/8 at head_dim 128 and 16/16 at
               head_dim 64 (gpt2-medium's), prefill (B, seq) in (1, 1536), (3, 1024), (24, 256),
               decode B in 4, 12, 48 x kv_len in 1536, 3072; norms and SiLU*mul at T = 4, 24, 96,
               384, 1536, 6144, 12288 (the same widths and implementations); whole decoders of
               gpt2, gpt2-medium (new), llama2-7b, llama3-8b and mistral-7b (new) at prefill
               1x1536, 3x1024, 24x128 and decode batch 1 at 3072 keys, 4 at 1536, 12 at 3072 and
               40 at 1024 (gpt2 and gpt2-medium: prefill 1x896, 3x512, 24x128; decode 1 at 900,
               4 at 640, 12 at 900, 40 at 384). Every implementation and stack of a shape is in
               it. Its per-kernel device times (e2e_stacks_kernels_holdout3.csv) are hold-out too.
               Rows measured with `--plan diag3` are calibration diagnostics (existing calibration
               points of gpt2 and llama2-7b re-measured with each kernel's device time,
               e2e_stacks_diag3*.csv, and graph-node gaps, kind stack_gap).

Usage: python3 split_stacks.py CSV...   re-derives `set` and checks the stored one (counts only);
rows of a spent hold-out (<kind>_calibration_was_holdout*.csv) must say calibration.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
from split_common import bucket as _h, check_files  # noqa: E402



def assign(row):
    if row.get("kind") in ("stack_gemm", "stack_gap") or row.get("plan") == "diag3":
        return "calibration"
    if row.get("plan") in ("holdout2", "holdout3"):
        return row["plan"]
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
