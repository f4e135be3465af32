#!/usr/bin/env python3
"""Runs one 2:4-sparse GEMM per M (cuSPARSELt through F.linear, as measure_kernels.py does) for
Nsight Compute to look at: why does the same cuSPARSELt kernel take about twice as long at M = 64
as at M = 256 for llama2-7b's QKV shape? Run it under ncu, e.g.

    ncu --kernel-name regex:sparse --metrics launch__grid_size,launch__block_size,\\
        launch__cluster_size,gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum \\
        --csv python3 validation/gpu/probe_sparse.py 4096 12288 16,64,256,320,1024

Each M is launched twice (a warm-up and the one to read); ncu sees both.
"""
import sys

import torch
import torch.nn.functional as F
from torch.sparse import to_sparse_semi_structured


def main(argv):
    k, n = int(argv[1]), int(argv[2])
    ms = [int(m) for m in argv[3].split(",")]
    dtype = torch.float16 if len(argv) > 4 and argv[4] == "fp16" else torch.bfloat16
    w = torch.randn(n, k, device="cuda", dtype=dtype) / k ** 0.5
    g = w.view(n, k // 4, 4)
    mask = torch.zeros_like(g, dtype=torch.bool).scatter_(-1, g.abs().topk(2, dim=-1).indices, True)
    ws = to_sparse_semi_structured((g * mask).view(n, k))
    for m in ms:
        x = torch.randn(m, k, device="cuda", dtype=dtype)
        for _ in range(2):
            F.linear(x, ws)
        torch.cuda.synchronize()
        print(f"M={m} done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
