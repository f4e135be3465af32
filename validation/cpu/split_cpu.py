#!/usr/bin/env python3
"""Calibration / hold-out split of the CPU datasets (issue 13), fixed BEFORE the measurement.
Depends only on shape columns, never on dtype, thread count, host or a timing, so every dtype and
thread count of one shape lands on the same side, on both hosts.

  gemm    hold-out if (K, N) is a llama2-13b projection (K or N in {5120, 13824, 15360, 27648}:
          the whole model held out, as in validation/gpu/split.py), or
          sha1("cpu_gemm|M|K|N") % 100 < 20
  stream  hold-out if sha1("cpu_stream|op|bytes_per_array") % 100 < 25   (all thread counts of
          one op and size together)

host2 (assign_host2; measure_host2.py, the second measurement of the GPU machine's host, planned
2026-12-03 15:45 UTC before measuring; a fresh hold-out for a model refitted on the calibration
rows of both host datasets):
  gemm    hold-out if (K, N) is a llama2-70b tensor-parallel-8 slice (8192x1280, 1024x8192,
          8192x7168, 3584x8192: the whole model held out), or sha1("host2_gemm|M|K|N") % 100 < 30
  stream  hold-out if sha1("host2_stream|op|bytes_per_array|threads") % 100 < 40
  decoder hold-out if sha1("host2_decoder|model|dtype|phase|tokens|batch") % 100 < 50 (both
          thread counts of one point together)
  diag    always calibration (thread-scaling and weight-layout diagnostics at old calibration
          shapes only)

host3 (assign_host3; measure_host3.py, planned 2026-12-03 17:45 UTC before measuring; the
machine instance described as measured in the same call):
  gemm    hold-out if (K, N) is a qwen2-7b or phi-2 projection (3584x4608, 3584x37888, 18944x3584,
          2560x7680, 2560x10240, 10240x2560: whole models never measured before); the
          re-measured llama2-7b and gpt2 shapes are calibration
  stream  hold-out if threads is 2, 8 or 12 (1, 4 and 16 threads are calibration)
  decoder hold-out if sha1("host3_decoder|model|dtype|phase|tokens|batch") % 100 < 50 (both
          thread counts of one point together)
  instance, diag  always calibration (the description of the machine instance)

host4 (assign_host4; measure_host4.py, planned 2026-12-03 18:40 UTC before measuring; every row
visited 3 times in randomised order with reference probes interleaved, best visit kept):
  gemm    hold-out if (K, N) is a gpt2-medium projection (1024x3072, 1024x4096, 4096x1024), a
          gpt2-xl one (1600x4800, 1600x6400, 6400x1600) or opt-6.7b's fc1 / fc2 (4096x16384,
          16384x4096): shapes never measured in any CPU set; the re-measured llama2-7b and gpt2
          shapes are calibration
  stream  hold-out if threads is 3, 6, 10 or 14 (never measured); 1, 4, 16 calibration
  decoder hold-out if model is gpt2-medium (never measured); gpt2 and llama2-7b-2layer are
          calibration
  instance, diag, ref  always calibration (the description of the instance and its drift)

host5 (assign_host5; measure_host5.py, planned 2026-12-03 20:40 UTC before measuring; the count
of half-rate vCPUs mapped per vCPU in the same call):
  gemm    hold-out if (K, N) is a falcon-7b projection (4544x4672, 4544x18176, 18176x4544) or a
          qwen2-1.5b one (1536x2048, 1536x17920, 8960x1536): shapes never measured in any CPU
          set; the re-measured llama2-7b qkv / down and gpt2 fc1 are calibration
  stream  hold-out if threads is 5, 7, 11 or 13 (never measured); 1, 4, 16 calibration
  decoder hold-out if (phase, tokens, batch) is a point never measured: prefill 64 or 256
          (batch 1), decode batch 2 at context 256, decode batch 1 at context 384; the points
          measured before (decode batch 1 and 4 at 128, prefill 32 / 128 / 512) are calibration
  instance, diag, ref  always calibration

Usage: python3 split_cpu.py CSV...   re-derives `set` and checks the stored one (counts only); a
spent file (*_calibration_was_holdout*.csv) must hold hold-out rows stored as calibration.
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


TP8_70B = {(8192, 1280), (1024, 8192), (8192, 7168), (3584, 8192)}


def assign_host2(row):
    kind = row["kind"]
    if kind == "cpu_gemm":
        m, k, n = int(row["M"]), int(row["K"]), int(row["N"])
        if (k, n) in TP8_70B:
            return "holdout"
        return "holdout" if _h(f"host2_gemm|{m}|{k}|{n}") < 30 else "calibration"
    if kind == "cpu_stream":
        return "holdout" if _h("host2_stream|{op}|{bytes_per_array}|{threads}".format(**row)) < 40 \
            else "calibration"
    if kind == "cpu_decoder":
        return "holdout" if _h("host2_decoder|{model}|{dtype}|{phase}|{tokens}|{batch}".format(**row)) < 50 \
            else "calibration"
    if kind == "cpu_diag":
        return "calibration"
    raise ValueError(kind)


HOLD3 = {(3584, 4608), (3584, 37888), (18944, 3584), (2560, 7680), (2560, 10240), (10240, 2560)}


def assign_host3(row):
    kind = row["kind"]
    if kind == "cpu_gemm":
        return "holdout" if (int(row["K"]), int(row["N"])) in HOLD3 else "calibration"
    if kind == "cpu_stream":
        return "holdout" if int(row["threads"]) in (2, 8, 12) else "calibration"
    if kind == "cpu_decoder":
        return "holdout" if _h("host3_decoder|{model}|{dtype}|{phase}|{tokens}|{batch}".format(**row)) < 50 \
            else "calibration"
    if kind in ("cpu_instance", "cpu_diag"):
        return "calibration"
    raise ValueError(kind)


HOLD4 = {(1024, 3072), (1024, 4096), (4096, 1024), (1600, 4800), (1600, 6400), (6400, 1600),
         (4096, 16384), (16384, 4096)}


def assign_host4(row):
    kind = row["kind"]
    if kind == "cpu_gemm":
        return "holdout" if (int(row["K"]), int(row["N"])) in HOLD4 else "calibration"
    if kind == "cpu_stream":
        return "holdout" if int(row["threads"]) in (3, 6, 10, 14) else "calibration"
    if kind == "cpu_decoder":
        return "holdout" if row["model"] == "gpt2-medium" else "calibration"
    if kind in ("cpu_instance", "cpu_diag", "cpu_ref"):
        return "calibration"
    raise ValueError(kind)


HOLD5 = {(4544, 4672), (4544, 18176), (18176, 4544), (1536, 2048), (1536, 17920), (8960, 1536)}
HOLD5_DECODER = {("prefill", 64, 1), ("prefill", 256, 1), ("decode", 256, 2), ("decode", 384, 1)}


def assign_host5(row):
    kind = row["kind"]
    if kind == "cpu_gemm":
        return "holdout5" if (int(row["K"]), int(row["N"])) in HOLD5 else "calibration"
    if kind == "cpu_stream":
        return "holdout5" if int(row["threads"]) in (5, 7, 11, 13) else "calibration"
    if kind == "cpu_decoder":
        point = (row["phase"], int(row["tokens"]), int(row["batch"]))
        return "holdout5" if point in HOLD5_DECODER else "calibration"
    if kind in ("cpu_instance", "cpu_diag", "cpu_ref"):
        return "calibration"
    raise ValueError(kind)


def spent(assign_row):
    """A spent hold-out file (*_calibration_was_holdout*.csv): every row was assigned to a
    hold-out set and is stored as calibration since it was read."""
    def check(row):
        s = assign_row(row)
        return "calibration" if s.startswith("holdout") else f"not a hold-out row ({s})"
    return check


def main(argv):
    rc = 0
    was = [p for p in argv[1:] if "_was_holdout" in p]
    for tag, fn in (("host2", assign_host2), ("host3", assign_host3), ("host4", assign_host4),
                    ("host5", assign_host5)):
        rc = check_files([p for p in was if tag in p], spent(fn)) or rc
    rc = check_files([p for p in was if not any(t in p for t in ("host2", "host3", "host4", "host5"))],
                     spent(assign)) or rc
    paths = [p for p in argv[1:] if p not in was]
    host2 = [p for p in paths if "host2" in p]
    host3 = [p for p in paths if "host3" in p]
    host4 = [p for p in paths if "host4" in p]
    host5 = [p for p in paths if "host5" in p]
    rest = [p for p in paths if p not in host2 + host3 + host4 + host5]
    rc = check_files(rest, assign) or rc
    rc = check_files(host5, assign_host5) or rc
    rc = check_files(host4, assign_host4) or rc
    rc = check_files(host3, assign_host3) or rc
    return check_files(host2, assign_host2) or rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
