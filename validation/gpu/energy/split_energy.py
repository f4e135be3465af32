#!/usr/bin/env python3
"""Calibration / hold-out split of the energy dataset (issue 14), fixed BEFORE the measurement.

The rule depends only on a row's `case` name (never on a measured value), so both repeats of
one case land on the same side, and re-measuring gives the same split.

  idle_*                      calibration (the board's idle power is a parameter, not a test)
  cal2_*                      calibration: a second set (--plan cal2, added 2026-12-03 after the
                              first run, before it was measured), configurations that no first-run
                              row has: llama2-7b decode steps at batch 2, 8, 32 and at ctx 4096,
                              and a true tf32 8192^3 GEMM (see measure_energy.plan_cal2); extended
                              before measuring (issue 14 helper, 14:50 UTC) by llama2-7b decode
                              b1 ctx4096, b64 ctx512, b4 ctx2048 and prefill b1 s1024, b4 s512
  cal3_*                      calibration: a third set (--plan ho2, planned 2026-12-03 18:00 UTC,
                              committed before it was measured): copies that are copied again and
                              again with footprints of 48 and 80 MiB (where L2 residency ends) and
                              a tanh GELU whose operands stay in L2 (its arithmetic rate)
  ho2_*                       hold-out: the second hold-out (--plan ho2, same commit): new GEMM
                              shapes and fp16, a GEMV, copies in L2 and from HBM, elementwise
                              kernels of new shapes, mistral-7b and llama2-7b decode/prefill at new
                              points (measure_energy.plan_ho2); read once on 2026-12-03 (model
                              e736e50) and renamed calibration_was_holdout2.csv (set calibration)
  cal4_*                      calibration: a fourth set (--plan ho3, planned 2026-12-03 18:45 UTC,
                              committed before it was measured): memcpy of 512 MiB, 1 GiB as four
                              256 MiB memcpy calls, 1 GiB read+written by an SM kernel (torch.neg),
                              and eager SiLU-mul, F.rms_norm, `a + b` on operands that stay in L2
  ho3_*                       hold-out: the third hold-out (--plan ho3, same commit): copies of 8 MiB
                              (L2), 128 MiB, 2 GiB; SiLU-mul, add, rms_norm; GEMMs under and at the
                              cap, fp8, a GEMV; llama3-8b decode and prefill (measure_energy.plan_ho3);
                              read once on 2026-12-03 (model 6763b0d) and renamed
                              calibration_was_holdout3.csv (set calibration)
  cal5_*                      calibration: a fifth set (--plan ho4, planned 2026-12-03 21:30 UTC,
                              committed before it was measured): memcpy of 320 and 448 MiB (where
                              the per-call size switches the copy to its slow path)
  ho4_*                       hold-out: the fourth hold-out (--plan ho4, same commit): GEMMs bf16 at
                              and under the cap (skinny ones too), fp8, int8, tf32, a GEMV; copies of
                              1.5 GiB, 96 MiB, 12 MiB (L2); SiLU-mul, add (L2 and HBM), GELU,
                              rms_norm; SDPA prefill; llama2-13b decode b24 and prefill b2 (new
                              points) (measure_energy.plan_ho4); read once on 2026-12-03 (model
                              60be36f) and renamed calibration_was_holdout4.csv (set calibration)
  model == llama2-13b         hold-out: every llama2-13b decode and prefill row (the whole model is
                              held out, as in validation/gpu/split.py)
  otherwise                   hold-out if sha1("energy|" + case) % 100 < 25, else calibration

A hold-out that has been read is renamed calibration_was_<name>.csv with set=calibration: in such a
file a row the rule puts in the hold-out must say calibration.

Usage: python3 split_energy.py CSV...   re-derives `set` for each row and checks the stored one
(prints counts only, never values).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
from split_common import bucket as _h, check_files  # noqa: E402



def assign(case, model=""):
    if case.startswith(("idle", "cal2_", "cal3_", "cal4_", "cal5_")):
        return "calibration"
    if case.startswith(("ho2_", "ho3_", "ho4_")):
        return "holdout"
    if model == "llama2-13b" or "llama2-13b" in case:
        return "holdout"
    return "holdout" if _h("energy|" + case) < 25 else "calibration"


def main(argv):
    bad = 0
    for p in argv[1:]:
        spent = os.path.basename(p).startswith("calibration_was_")
        bad |= check_files([p], lambda r: "calibration" if spent else assign(r["case"], r.get("model", "")))
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv))
