#!/usr/bin/env python3
"""Fits the GPU presets' NCCL protocol values (kernels.collective.{ll,simple}.{base,efficiency})
on measured all-reduce rows: the CUDA-graph rows of one GPU count in an allreduce.csv written by
measure_nccl.py. The per-step latencies are not fitted: they are NCCL's own tuning table
(src/graph/tuning.cc, hwLat for NVLink, Ring: LL 0.6 us, Simple 3.4 us). The model is the one in
arch/gpu/gpu_kernels.cpp (plan_collective): per protocol, base + steps * step + wire / (efficiency
* link bandwidth), the fastest protocol serving, plus the launch gap; a ring all-reduce on p GPUs
puts 2(p-1)/p of the message on each link in 2(p-1) steps.

usage: python3 validation/gpu/fit_nccl.py ALLREDUCE.csv [--ranks 4] [--link-gbps 450] [--launch-us 0.65]
Prints the fitted values, the MAPE and a per-size table. A grid search: deterministic, a few seconds.
"""
import argparse
import csv
import statistics

STEP_US = {"ll": 0.6, "simple": 3.4}


def predict(nbytes, ranks, link_bps, launch_us, params):
    steps = 2 * (ranks - 1)
    wire = 2 * (ranks - 1) / ranks * nbytes
    return launch_us + min(base + steps * STEP_US[p] + wire / (eff * link_bps) * 1e6
                           for p, (base, eff) in params.items())


def mape(rows, ranks, link_bps, launch_us, params):
    return statistics.mean(abs(predict(n, ranks, link_bps, launch_us, params) - t) / t * 100 for n, t in rows)


def frange(lo, hi, step):
    n = int(round((hi - lo) / step))
    return [lo + i * step for i in range(n + 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--ranks", type=int, default=4)
    ap.add_argument("--link-gbps", type=float, default=450.0, help="per direction (NVLink4: 450)")
    ap.add_argument("--launch-us", type=float, default=0.65, help="the preset's launch_overhead")
    args = ap.parse_args()
    rows = [(int(r["bytes"]), float(r["median_us"])) for r in csv.DictReader(open(args.csv))
            if r.get("mode") == "graph" and int(r["ranks"]) == args.ranks]
    if not rows:
        raise SystemExit(f"no graph rows with {args.ranks} ranks in {args.csv}")
    bps = args.link_gbps * 1e9
    best = None
    for bl in frange(0, 15, 0.5):
        for el in frange(0.2, 0.8, 0.02):
            for bs in frange(0, 40, 2):
                for es in frange(0.6, 0.9, 0.01):
                    p = {"ll": (bl, el), "simple": (bs, es)}
                    e = mape(rows, args.ranks, bps, args.launch_us, p)
                    if best is None or e < best[0]:
                        best = (e, p)
    e, p = best
    print(f"# {len(rows)} rows, {args.ranks} GPUs, link {args.link_gbps:g} GB/s: MAPE {e:.2f} %")
    for name, (base, eff) in p.items():
        print(f"kernels.collective.{name}: {{base: {base:g} us, step: {STEP_US[name]:g} us, efficiency: {eff:.2f}}}")
    print(f"{'bytes':>12} {'measured_us':>12} {'model_us':>10} {'error_%':>8}")
    for n, t in rows:
        m = predict(n, args.ranks, bps, args.launch_us, p)
        print(f"{n:>12} {t:>12.2f} {m:>10.2f} {(m - t) / t * 100:>+8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
