#!/usr/bin/env python3
"""Measures this (development) machine: GEMMs through OpenBLAS, oneDNN and this project's own
kernels (fp32, bf16, int8) at 1 and 2 threads, and STREAM, with validation/cpu/measure_local.cpp.
The split is split_cpu.py's rule (fixed before measuring, in bb4a7c5; its key has no library,
dtype, thread count or host). Prints calibration rows' values only.

  python3 validation/cpu/measure_local.py --build build/dev --out validation/cpu/local-epyc-2c-libs
Needs: g++ with OpenMP, libopenblas-dev, libdnnl-dev (Debian), build/dev's static libraries.
"""
import argparse
import csv
import datetime
import io
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from split_cpu import assign  # noqa: E402

GEMM_HDR = ("kind,M,K,N,dtype,threads,model,layer,status,calls,rot_copies,median_ms,min_ms,p90_ms,"
            "gflops,weight_gbps,finite,lib_kernels,lib_verbose_first,error,date_utc,host,cpu,lib,"
            "load1,script").split(",")
STREAM_HDR = ("kind,op,bytes_per_array,threads,dtype,bytes_per_call,calls,median_ms,min_ms,p90_ms,"
              "best_gbps,median_gbps,date_utc,host,cpu,lib,load1,script").split(",")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/dev")
    ap.add_argument("--out", required=True)
    ap.add_argument("--host", default="local-epyc-2c")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--what", default="stream,openblas,onednn-fp32,onednn-bf16,onednn-int8,"
                    "xpusim-fp32,xpusim-bf16,xpusim-int8")
    ap.add_argument("--min-s", default="0.15")
    ap.add_argument("--shapes", default="0,1,2,3,4,5,6,7,8",
                    help="indices into measure_local.cpp's shape list (9-11: llama3-8b, holdout2)")
    ap.add_argument("--set-name", default="",
                    help="write every row to this set (e.g. holdout2, a later hold-out planned "
                         "before measuring) instead of split_cpu.py's rule")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(HERE))
    exe = os.path.join("/tmp", "xpusim_measure_local")
    libs = [os.path.join(args.build, f"libxpusim_{n}.a") for n in ("workloads", "config", "base")]
    cmd = (["g++", "-O3", "-march=native", "-std=c++20", "-fopenmp", "-I", root,
            os.path.join(HERE, "measure_local.cpp")] + libs +
           ["-lopenblas", "-ldnnl", "-lfmt", "-lyaml-cpp", "-lpthread", "-o", exe])
    subprocess.run(cmd, check=True)
    cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"],
                         capture_output=True, text=True).stdout.strip()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "uptime_before.txt"), "a") as f:
        f.write(subprocess.run(["uptime"], capture_output=True, text=True).stdout)
    rows = {"gemm": [], "stream": []}
    for what in args.what.split(","):
        argv = [exe, what, args.host, cpu, date, args.threads, args.min_s]
        if args.shapes:
            argv.append(args.shapes)
        out = subprocess.run(argv, capture_output=True, text=True)
        if out.returncode:
            print(what, "failed", out.stderr[-2000:], file=sys.stderr)
        hdr = STREAM_HDR if what == "stream" else GEMM_HDR
        for r in csv.reader(io.StringIO(out.stdout)):
            if not r:
                continue
            row = dict(zip(hdr, r))
            row["set"] = args.set_name or assign(row)
            rows["stream" if what == "stream" else "gemm"].append(row)
            if row["set"] == "calibration":
                print(what, {k: row.get(k) for k in ("M", "K", "N", "op", "bytes_per_array", "dtype",
                                                      "threads", "median_ms", "lib_kernels", "load1")},
                      flush=True)
    with open(os.path.join(args.out, "uptime_after.txt"), "a") as f:
        f.write(subprocess.run(["uptime"], capture_output=True, text=True).stdout)
    sets = [args.set_name] if args.set_name else ["calibration", "holdout"]
    for kind, hdr in (("gemm", GEMM_HDR), ("stream", STREAM_HDR)):
        for s in sets:
            if not any(r["set"] == s for r in rows[kind]):
                continue
            p = os.path.join(args.out, f"{kind}_{s}.csv")
            new = not os.path.exists(p)
            with open(p, "a", newline="") as f:
                w = csv.DictWriter(f, hdr + ["set"])
                if new:
                    w.writeheader()
                for row in rows[kind]:
                    if row["set"] == s:
                        w.writerow(row)


if __name__ == "__main__":
    main()
