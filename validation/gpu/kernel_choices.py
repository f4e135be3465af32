#!/usr/bin/env python3
"""Summarises which kernels the libraries launched for the GEMM rows (gemm_kernels.csv, written by
`measure_kernels.py --only gemm_kernels`): per format, each kernel family with its tile, and on how
many rows (and which M) it ran. Only calibration rows by default, so that reading it does not
leak hold-out information into the model.

usage: python3 validation/gpu/kernel_choices.py [DIR] [--set calibration|holdout|holdout6|all]
"""
import collections
import csv
import os
import re
import sys


def family(name):
    """A short label for one kernel name: library, tile and split-K/stream-K markers."""
    if name.startswith("Memset") or name.startswith("Memcpy"):
        return name.split(" (")[0]
    m = re.match(r"nvjet_sm90_[a-z]+_(\d+)x(\d+)_", name)
    if m:
        return f"nvjet {m.group(1)}x{m.group(2)}{' splitK' if '_splitK_' in name else ''}"
    m = re.search(r"(cutlass_\d+_\w+?)_(\d+x\d+)_", name)
    if m:
        return f"{m.group(1)} {m.group(2)}"
    m = re.search(r"(sm\d+_xmma_\w*?gemm)_\w*?tilesize(\d+x\d+x\d+)\w*?(split_k|segment_k_off)?", name)
    if m:
        return f"{m.group(1)} {m.group(2)}{' ' + m.group(3) if m.group(3) else ''}"
    for key in ("splitKreduce", "gemmSN", "gemv2T", "gemvx", "sgemm_largek", "scal_kernel", "FillFunctor"):
        if key in name:
            return key
    return name[:60]


def main(argv):
    d = "validation/gpu/data"
    want = "calibration"
    args = argv[1:]
    if args and not args[0].startswith("--"):
        d = args.pop(0)
    if len(args) == 2 and args[0] == "--set":
        want = args[1]
    elif args:
        print(__doc__)
        return 2
    path = os.path.join(d, "gemm_kernels.csv")
    if not os.path.exists(path):
        print(f"{path}: no such file (measure it with measure_kernels.py --only gemm_kernels)")
        return 2
    by = collections.defaultdict(lambda: collections.defaultdict(set))
    rows = collections.Counter()
    for r in csv.DictReader(open(path)):
        if want != "all" and r["set"] != want:
            continue
        fmt = r["dtype"] + (" 2:4" if r["sparsity"] == "2:4" else "")
        rows[fmt] += 1
        names = [k.strip() for k in r["kernels"].split("|") if k.strip()]
        label = " + ".join(sorted({family(k) for k in names}))
        by[fmt][label].add(int(r["M"]))
    for fmt in sorted(by):
        print(f"{fmt} ({rows[fmt]} rows)")
        for label, ms in sorted(by[fmt].items(), key=lambda kv: -len(kv[1])):
            print(f"  {label}: M in {sorted(ms)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
