#!/usr/bin/env python3
"""Kernel rows from the diag3 whole-decoder steps (calibration): torch.compile's LayerNorm, add +
LayerNorm and GELU kernels of gpt2, timed inside real steps. Each row's time is the kernel's mean
device time in one eager step (torch.profiler, e2e_stacks_diag3_kernels.csv) plus that step's
measured graph-node gap (graph median minus the step's summed device time, over its kernels), so
that it compares with graph-timed kernel rows. The plain LayerNorm is taken from decode steps only
(its two launches, the first layer's norm and the final norm, both have T = B there).

The same for the SDPA kernels of those steps (FA2 and cuDNN at head_dim 64; cuDNN's prefill with its
memset node): attention_calibration_diag3.csv.

  python3 diag3_kernel_rows.py h200   # writes h200/{elementwise,attention}_calibration_diag3.csv
"""
import csv
import os
import sys

KERNELS = {"triton_red_fused_native_layer_norm_0": "layernorm",
           "triton_red_fused_add_native_layer_norm_0": "add_layernorm",
           "triton_poi_fused_add_mul_pow_tanh_0": "gelu"}


def main(d):
    steps = {}
    for r in csv.DictReader(open(os.path.join(d, "e2e_stacks_diag3.csv"))):
        steps[(r["stack"], r["phase"], r["B"], r["q_len"], r["ctx"])] = r
    per = {}
    rows = list(csv.DictReader(open(os.path.join(d, "e2e_stacks_diag3_kernels.csv"))))
    for r in rows:
        k = (r["stack"], r["phase"], r["B"], r["q_len"], r["ctx"])
        per.setdefault(k, [0.0, 0])
        per[k][0] += float(r["device_us"])
        per[k][1] += int(r["count"])
    out = []
    for r in rows:
        fam = KERNELS.get(r["kernel"])
        if fam is None or r["model"] != "gpt2":
            continue
        k = (r["stack"], r["phase"], r["B"], r["q_len"], r["ctx"])
        if fam == "layernorm" and r["phase"] != "decode":
            continue
        st = steps[k]
        gap_us = (float(st["median_ms"]) * 1e3 - per[k][0]) / per[k][1]
        T = int(r["B"]) * int(r["q_len"])
        H = int(st["ffn"]) if fam == "gelu" else int(st["hidden"])
        t_us = float(r["device_us"]) / int(r["count"]) + max(0.0, gap_us)
        out.append(dict(kind="stack_ew", family=fam, impl="compiled", T=T, H=H, dtype="bf16", status="ok",
                        median_ms=f"{t_us / 1e3:.6g}", device_us=f"{float(r['device_us']) / int(r['count']):.3f}",
                        gap_us=f"{gap_us:.3f}", count=r["count"], kernels=r["kernel"],
                        source=f"e2e_stacks_diag3 {r['stack']} {r['phase']} B={r['B']} S={r['q_len']} ctx={r['ctx']}",
                        set="calibration"))
    att = []
    for r in rows:
        kn = r["kernel"]
        be = ("FLASH_ATTENTION" if kn.startswith("void pytorch_flash::flash_fwd_kernel") else
              "CUDNN_ATTENTION" if kn.startswith("cudnn_generated_fort_native_sdpa") else None)
        if be is None or r["model"] != "gpt2":
            continue
        k = (r["stack"], r["phase"], r["B"], r["q_len"], r["ctx"])
        st = steps[k]
        gap_us = (float(st["median_ms"]) * 1e3 - per[k][0]) / per[k][1]
        # cuDNN's prefill follows a memset node (its own row in the kernels): charged to it here.
        memset = 0.0
        if be == "CUDNN_ATTENTION" and r["phase"] == "prefill":
            memset = next((float(m["device_us"]) / int(m["count"]) + max(0.0, gap_us) for m in rows
                           if (m["stack"], m["phase"], m["B"], m["q_len"], m["ctx"]) == k and m["kernel"] == "Memset (Device)"), 0.0)
        t_us = float(r["device_us"]) / int(r["count"]) + max(0.0, gap_us) + memset
        att.append(dict(kind="stack_attn", phase=r["phase"], B=r["B"], heads=st["heads"], kv_heads=st["kv_heads"],
                        head_dim=st["head_dim"], q_len=r["q_len"], kv_len=st["kv_len"],
                        causal=int(r["phase"] == "prefill"), enable_gqa=0, dtype="bf16", backend=be, status="ok",
                        median_ms=f"{t_us / 1e3:.6g}", device_us=f"{float(r['device_us']) / int(r['count']):.3f}",
                        gap_us=f"{gap_us:.3f}", count=r["count"], kernels=kn[:200],
                        source=f"e2e_stacks_diag3 {r['stack']} {r['phase']} B={r['B']} S={r['q_len']} ctx={r['ctx']}",
                        set="calibration"))
    for name, rs in (("attention", att), ("elementwise", out)):
        path = os.path.join(d, f"{name}_calibration_diag3.csv")
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rs[0].keys()))
            w.writeheader()
            w.writerows(rs)
        print(f"{path}: {len(rs)} rows")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "h200"))
