#!/usr/bin/env python3
"""Times NCCL all-reduce across the GPUs of one host, like nccl-tests' all_reduce_perf: fp32 sum,
one process per GPU, sizes 8 B to 1 GiB (powers of two), in place. For each size: a warm-up, then
`--reps` timed groups of N back-to-back all-reduces between CUDA events (N grows until a group
takes about 1 ms), and the median per all-reduce. Writes allreduce.csv (bytes, ranks, median_us,
min_us, algbw_GBps, busbw_GBps) and env.csv into --out, from rank 0.

usage: NCCL_NVLS_ENABLE=0 torchrun --nproc_per_node=4 validation/gpu/measure_nccl.py --out DIR

NVLink multicast (NVLS) must stay off on the lent machines (the device tool's KINDS.md).

Status: NOT YET VALIDATED. Its first run (2026-11-26, 4x H200) hung after 32 B, because each rank
chose its own repeat count; the ranks now agree on it, but that fix has not been run yet.
"""
import argparse
import csv
import datetime
import os
import statistics
import sys

import torch
import torch.distributed as dist


def time_group(x, inner):
    """Milliseconds of `inner` back-to-back all-reduces of x, between CUDA events, all ranks
    starting together."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    dist.barrier()
    start.record()
    for _ in range(inner):
        dist.all_reduce(x)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--max-bytes", type=int, default=1 << 30)
    args = ap.parse_args()
    if os.environ.get("NCCL_NVLS_ENABLE") != "0":
        print("refusing to run: set NCCL_NVLS_ENABLE=0 (NVLink multicast must stay off)")
        return 2
    dist.init_process_group("nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.cuda.set_device(rank % torch.cuda.device_count())
    rows = []
    size = 8
    while size <= args.max_bytes:
        n = max(2, size // 4)
        x = torch.ones(n, device="cuda", dtype=torch.float32)
        for _ in range(5):
            dist.all_reduce(x)
        torch.cuda.synchronize()
        inner = 1
        while True:  # grow the group until it takes about 1 ms
            # Every rank must take the same decision, or they issue different numbers of
            # collectives and hang (the first run did): agree on the slowest rank's time.
            ms_t = torch.tensor([time_group(x, inner)], device="cuda")
            dist.all_reduce(ms_t, op=dist.ReduceOp.MAX)
            if ms_t.item() > 1.0 or inner >= 1000:
                break
            inner *= 4
        times = [time_group(x, inner) * 1e3 / inner for _ in range(args.reps)]  # us per all-reduce
        # The slowest rank's median is the collective's time.
        med = torch.tensor([statistics.median(times), min(times)], device="cuda")
        dist.all_reduce(med, op=dist.ReduceOp.MAX)
        nbytes = n * 4
        if rank == 0:
            us = med[0].item()
            algbw = nbytes / (us * 1e-6) / 1e9
            rows.append(dict(bytes=nbytes, ranks=world, median_us=f"{us:.4g}", min_us=f"{med[1].item():.4g}",
                             algbw_GBps=f"{algbw:.4g}", busbw_GBps=f"{algbw * 2 * (world - 1) / world:.4g}",
                             inner=inner, reps=args.reps))
            print(f"{nbytes:>12} B  {us:10.2f} us  busbw {algbw * 2 * (world - 1) / world:8.1f} GB/s", flush=True)
        del x
        size *= 2
    if rank == 0:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "allreduce.csv"), "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            if f.tell() == 0:
                w.writeheader()
            w.writerows(rows)
        with open(os.path.join(args.out, "env.csv"), "a", newline="") as f:
            w = csv.writer(f)
            run = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + f"_nccl{world}"
            for k, v in [("gpu_name", torch.cuda.get_device_name()), ("ranks", world),
                         ("torch", torch.__version__), ("nccl", ".".join(map(str, torch.cuda.nccl.version()))),
                         ("NCCL_NVLS_ENABLE", os.environ.get("NCCL_NVLS_ENABLE")),
                         ("command", " ".join(sys.argv))]:
                w.writerow([run, k, v])
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
