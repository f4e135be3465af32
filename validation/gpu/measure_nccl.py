#!/usr/bin/env python3
"""Times NCCL all-reduce across the GPUs of one host, like nccl-tests' all_reduce_perf: fp32 sum,
one process per GPU, sizes 8 B to 1 GiB (powers of two), in place. Two timings per size:

  eager  `inner` back-to-back dist.all_reduce calls between CUDA events (each call pays
         PyTorch's host-side cost; at small sizes that is what it measures: ~40 us on 4x H200);
  graph  the same `inner` all-reduces captured in one CUDA graph and replayed between CUDA
         events: the host is out of the loop, as in a captured inference step, so small sizes
         show NCCL's own latency.

For each size and mode: a warm-up, then `inner` grows (x4) until a group takes about 1 ms (every
rank takes the slowest rank's time, so all ranks issue the same collectives), then --reps timed
groups; the slowest rank's median per all-reduce is kept. The buffer is refilled with small random
values before each group; a group of many in-place sums can still overflow to inf, which NCCL's
timing does not depend on. Writes allreduce.csv (bytes, ranks, mode, median_us, min_us,
algbw_GBps, busbw_GBps, inner, reps) and env.csv into --out, from rank 0.

usage: NCCL_NVLS_ENABLE=0 torchrun --nproc_per_node=4 validation/gpu/measure_nccl.py --out DIR

NVLink multicast (NVLS) must stay off on the lent machines (the device tool's KINDS.md).
History: the first run (2026-11-26, 4x H200) hung because ranks chose their own repeat counts;
fixed, and the eager mode then ran on 4x H200 on 2026-11-27 (validation/gpu/nccl/h200x4).
"""
import argparse
import csv
import datetime
import os
import statistics
import sys

import torch
import torch.distributed as dist


def refill(x):
    x.uniform_(-1e-3, 1e-3)


def eager_group(x, inner):
    """Milliseconds of `inner` back-to-back all-reduces of x, between CUDA events."""
    refill(x)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    dist.barrier()
    start.record()
    for _ in range(inner):
        dist.all_reduce(x)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end)


class GraphGroup:
    """`inner` all-reduces of x captured in one CUDA graph."""

    def __init__(self, x, inner):
        self.x, self.inner = x, inner
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up outside the capture, as graph capture requires
            for _ in range(3):
                dist.all_reduce(x)
        torch.cuda.current_stream().wait_stream(side)
        torch.cuda.synchronize()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            for _ in range(inner):
                dist.all_reduce(x)
        torch.cuda.synchronize()

    def __call__(self):
        refill(self.x)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        dist.barrier()
        start.record()
        self.graph.replay()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end)


def agreed_max(values):
    """The elementwise maximum over ranks (every rank gets the same answer)."""
    t = torch.tensor(values, device="cuda", dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


def measure(x, mode, reps):
    """(median us, min us, inner) per all-reduce, the slowest rank's."""
    inner = 1
    while True:  # grow the group until it takes about 1 ms, all ranks deciding alike
        # (a new graph replaces, and so frees, the previous one)
        run = GraphGroup(x, inner) if mode == "graph" else (lambda: eager_group(x, inner))
        run()
        (ms,) = agreed_max([run()])
        if ms > 1.0 or inner >= 1024:
            break
        inner *= 4
    times = [run() * 1e3 / inner for _ in range(reps)]
    med, lo = agreed_max([statistics.median(times), min(times)])
    return med, lo, inner


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--max-bytes", type=int, default=1 << 30)
    ap.add_argument("--modes", default="graph,eager")
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
        x = torch.empty(n, device="cuda", dtype=torch.float32)
        refill(x)
        for _ in range(5):
            dist.all_reduce(x)
        torch.cuda.synchronize()
        nbytes = n * 4
        for mode in args.modes.split(","):
            try:
                us, lo, inner = measure(x, mode, args.reps)
                failed = 0.0
            except RuntimeError as e:  # a capture that NCCL or PyTorch refuses: say so
                print(f"rank {rank}: {nbytes:>12} B  {mode}: failed: {e}", flush=True)
                failed = 1.0
            # Every rank reaches this all-reduce: if any failed, all skip the point together (a
            # rank going on alone would issue collectives the others do not, and hang).
            if agreed_max([failed])[0] > 0:
                continue
            if rank == 0:
                algbw = nbytes / (us * 1e-6) / 1e9
                busbw = algbw * 2 * (world - 1) / world
                rows.append(dict(bytes=nbytes, ranks=world, mode=mode, median_us=f"{us:.4g}",
                                 min_us=f"{lo:.4g}", algbw_GBps=f"{algbw:.4g}",
                                 busbw_GBps=f"{busbw:.4g}", inner=inner, reps=args.reps))
                print(f"{nbytes:>12} B  {mode:5s} {us:10.2f} us  busbw {busbw:8.1f} GB/s  x{inner}",
                      flush=True)
        del x
        torch.cuda.empty_cache()
        size *= 2
    if rank == 0 and rows:
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
