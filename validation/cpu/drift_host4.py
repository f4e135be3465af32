#!/usr/bin/env python3
"""Summary of host4's drift and instance probes (calibration files only: ref, instance, diag):
the reference blocks' spread over the call, steal, the FMA-throughput clock against active
threads and per vCPU pair, and the per-core diagnostic rates.
Usage: python3 drift_host4.py DIR"""
import csv
import os
import statistics as st
import sys


def rows(d, name):
    p = os.path.join(d, name)
    return list(csv.DictReader(open(p))) if os.path.exists(p) else []


def spread(xs):
    xs = sorted(xs)
    q = lambda f: xs[min(len(xs) - 1, int(f * (len(xs) - 1) + 0.5))]  # noqa: E731
    return f"n {len(xs)} best {xs[0]:.4g} p10 {q(0.1):.4g} median {q(0.5):.4g} p90 {q(0.9):.4g} worst {xs[-1]:.4g} " \
           f"(p90/best {q(0.9) / xs[0]:.2f}, worst/best {xs[-1] / xs[0]:.2f})"


def main(d):
    ref = rows(d, "ref_calibration.csv")
    if ref:
        print("reference blocks (16 threads):")
        print("  fp32 GEMM 256x4096x4096 ms:", spread([float(r["gemm_fp32_ms"]) for r in ref]))
        print("  bf16 GEMV 4096x12288 ms:  ", spread([float(r["gemv_bf16_ms"]) for r in ref]))
        print("  STREAM read GB/s:         ", spread([float(r["read_gbps"]) for r in ref]))
        print("  steal % per block:        ", spread([float(r["steal_pct"]) + 1e-9 for r in ref]))
        n = len(ref)
        for i in range(0, n, max(1, n // 12)):
            r = ref[i]
            print(f"    t={float(r['t_s']):6.1f} s  gemm {float(r['gemm_fp32_ms']):7.3f} ms  gemv {float(r['gemv_bf16_ms']):6.3f} ms"
                  f"  read {float(r['read_gbps']):6.1f} GB/s  steal {r['steal_pct']} %")
    inst = rows(d, "instance_calibration.csv")
    if inst:
        print("instance probes:")
        for r in inst:
            print(f"  {r['when']:5s} {r['test']:16s} T={r['threads']:>2s} {r['value']} {r['unit']} "
                  f"(min {r['min']} max {r['max']}) steal {r.get('steal_pct', '')}")
    diag = rows(d, "diag_calibration.csv")
    if diag:
        print("diagnostics (best visit; per-core GFLOP/s = gflops / threads):")
        for r in diag:
            if r.get("status") != "ok":
                continue
            t = int(r["threads"])
            print(f"  {r['test']:12s} {r['dtype']} T={t:2d} best {r['best_ms']} ms  visits [{r['visit_ms']}]  "
                  f"{float(r['gflops']):8.1f} GFLOP/s  {float(r['gflops']) / t:7.1f} per core  steal {r['steal_pct']} %")
    for name in ("gemm_calibration.csv", "stream_calibration.csv", "decoder_calibration.csv"):
        rs = [r for r in rows(d, name) if r.get("status") == "ok"]
        if not rs:
            continue
        ratio = [float(r["median_ms"]) / float(r["best_ms"]) for r in rs]
        vis = []
        for r in rs:
            v = [float(x) for x in r["visit_ms"].split()]
            if len(v) > 1:
                vis.append(max(v) / min(v))
        steal = [float(r["steal_pct"]) for r in rs]
        print(f"{name}: {len(rs)} rows; median/best {spread(ratio)}")
        if vis:
            print(f"  worst/best visit: {spread(vis)}")
        print(f"  steal %: mean {st.mean(steal):.2f}, max {max(steal):.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
