#!/usr/bin/env python3
"""Calibration / hold-out split of the CPU datasets (issue 13), fixed BEFORE the measurement.
Depends only on shape columns, never on dtype, thread count, host or a timing, so every dtype and
thread count of one shape lands on the same side, on both hosts.

  gemm    hold-out if (K, N) is a llama2-13b projection (K or N in {5120, 13824, 15360, 27648}:
          the whole model held out, as in validation/gpu/split.py), or
          sha1("cpu_gemm|M|K|N") % 100 < 20
  stream  hold-out if sha1("cpu_stream|op|bytes_per_array") % 100 < 25   (all thread counts of
          one op and size together)

Usage: python3 split_cpu.py CSV...   re-derives `set` and checks the stored one (counts only).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from split_common import bucket as _h, check_files  # noqa: E402

L13 = {5120, 13824, 15360, 27648}



def assign(row):
    if row["kind"] == "cpu_gemm":
        m, k, n = int(row["M"]), int(row["K"]), int(row["N"])
        if k in L13 or n in L13:
            return "holdout"
        return "holdout" if _h(f"cpu_gemm|{m}|{k}|{n}") < 20 else "calibration"
    if row["kind"] == "cpu_stream":
        return "holdout" if _h("cpu_stream|{op}|{bytes_per_array}".format(**row)) < 25 else "calibration"
    raise ValueError(row["kind"])


def main(argv):
    return check_files(argv[1:], assign)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
