#!/usr/bin/env python3
"""The kernels that real PyTorch stacks run (issue 15): SDPA per backend, eager vs compiled norms
and SiLU*mul, timed like validation/gpu/measure_kernels.py (its Timer: a CUDA graph of N calls
rotating over input copies, 10 replays, median) and with the kernel names that torch.profiler
records for one eager call of each row.

attention (kind stack_attn): F.scaled_dot_product_attention, bf16, [B, heads, seq, 128], inside
  sdpa_kernel(FLASH_ATTENTION | CUDNN_ATTENTION | EFFICIENT_ATTENTION | MATH) or with no context
  (`default`). Prefill: causal, q_len = kv_len. Decode: q_len = 1, not causal. GQA rows pass
  enable_gqa=True. A backend that refuses a shape gives a row with status=unsupported and its error.
elementwise (kind stack_ew), bf16 [T, H]:
  rmsnorm      hf_eager: HF LlamaRMSNorm (to fp32, pow(2), mean, +eps, rsqrt, mul, to bf16, *w);
               torch_rms_norm: F.rms_norm; compiled: torch.compile(hf_eager) (T dynamic)
  add_rmsnorm  residual add then the norm (returns both): hf_eager and compiled
  silu_mul     chunk_eager: g, u = gate_up.chunk(2, -1) (strided halves of one [T, 2I] GEMM
               output), F.silu(g) * u; separate_eager: the same on two contiguous [T, I] tensors
               (HF LlamaMLP with separate gate/up projections); compiled: torch.compile(chunk_eager)

Rows are split by split_stacks.assign (fixed before measuring) into
attention_calibration.csv / attention_holdout.csv / elementwise_calibration.csv /
elementwise_holdout.csv; the log prints values of calibration rows only.

gemm (kind stack_gemm, calibration; --only gemm): x @ w.t() at decode shapes, timed as above, with
  each kernel's device time per call (torch.profiler over 20 eager calls): kernels, kernel_us.
--plan holdout2: the second hold-out's shapes (PLAN2_*; split_stacks.py makes every row of it
  hold-out, set holdout2, files <kind>_holdout2.csv); --plan holdout3 the third's (PLAN3_*).
gaps (kind stack_gap, calibration; --only gaps): graphs of 1-256 identical small kernels or GEMMs,
  time per node against the kernel's own device time.

Usage: python3 measure_stacks.py --out DIR [--quick] [--only attention,elementwise,gemm,gaps] [--plan main|holdout2|holdout3|diag3] [--budget-s S]
"""
import argparse
import datetime
import math
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import split_stacks as SPLIT  # noqa: E402
import measure_kernels as mk  # noqa: E402

BACKENDS = ["default", "FLASH_ATTENTION", "CUDNN_ATTENTION", "EFFICIENT_ATTENTION", "MATH"]
HEADS = [(32, 32), (32, 8)]
PREFILL = [(1, 512), (1, 2048), (1, 8192), (4, 1024), (4, 4096), (8, 2048)]
DECODE = [(b, kv) for b in (1, 8, 64) for kv in (512, 2048, 8192)]
EW_T = [1, 16, 64, 256, 1024, 4096, 16384]
NORM_H = [4096, 5120, 8192]
SILU_I = [11008, 13824, 14336]
HD = 128
# --plan holdout2 (split_stacks.py: every row of it is hold-out `holdout2`): shapes no earlier run has.
PLAN2_BACKENDS = ["default", "FLASH_ATTENTION", "CUDNN_ATTENTION", "MATH"]
PLAN2_HEADS = [(32, 32), (40, 40), (32, 8)]
PLAN2_PREFILL = [(2, 1024), (2, 3072), (16, 512)]
PLAN2_DECODE = [(b, kv) for b in (2, 16, 32) for kv in (1024, 4096)]
PLAN2_EW_T = [2, 8, 32, 128, 512, 2048, 8192]
# --plan holdout3 (split_stacks.py: every row is hold-out `holdout3`): shapes no earlier run has;
# heads are (q heads, kv heads, head_dim): head_dim 64 (gpt2-medium's 16 heads) is new.
PLAN3_HEADS = [(32, 32, 128), (32, 8, 128), (16, 16, 64)]
PLAN3_PREFILL = [(1, 1536), (3, 1024), (24, 256)]
PLAN3_DECODE = [(b, kv) for b in (4, 12, 48) for kv in (1536, 3072)]
PLAN3_EW_T = [4, 24, 96, 384, 1536, 6144, 12288]
# --only gaps (kind stack_gap, calibration): graphs of n identical small kernels (x.add_(1) on
# `numel` bf16 elements) and of n split-K GEMMs, to time a graph node beyond its kernel's own
# device time (torch.profiler over eager calls).
GAP_N = [1, 16, 256]
GAP_NUMEL = [1, 65536, 4194304]
GAP_GEMM = [(16, 11008, 4096), (16, 3072, 768), (48, 768, 2304)]
# --only gemm (kind stack_gemm, calibration): the weight-streaming GEMMs of decode steps
# (llama2-7b, llama3-8b, gpt2; never llama2-13b, which the e2e hold-outs hold out whole), timed
# like the rest, with each kernel's device time from torch.profiler over eager calls.
GEMM_KN = [(4096, 4096), (11008, 4096), (4096, 12288), (4096, 22016), (4096, 6144), (14336, 4096),
           (4096, 28672), (768, 2304), (3072, 768), (768, 3072), (4096, 32000)]
GEMM_M = [1, 2, 4, 8, 16, 32, 64]


class Out(mk.Out):
    def row(self, name, row):
        if name == "env":
            return super().row(name, row)
        row["set"] = SPLIT.assign(row)
        super().row(f"{name}_{row['set']}", row)
        return row["set"]


def kernel_names(fn):
    from torch.profiler import profile, ProfilerActivity
    torch = mk.torch
    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    names = [e.name for e in prof.events()
             if getattr(e, "device_type", None) is not None and str(e.device_type).endswith("CUDA")]
    return len(names), " | ".join(n[:200] for n in names)[:3000]


def prov(args):
    return dict(date_utc=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                card=args.card, driver=args.driver, torch=mk.torch.__version__,
                script="validation/gpu/stacks/measure_stacks.py")


def log_row(out, st, label, r):
    if st == "calibration":
        out.log(f"  {label}: {r['median_ms']} ms  [{r.get('kernels', '')[:150]}]")
    else:
        out.log(f"  {label}: hold-out row written")


def attn_check(out):
    torch, F = mk.torch, mk.F
    from torch.nn.attention import sdpa_kernel, SDPBackend
    for ph, q, kv in [("prefill", 256, 256), ("decode", 1, 512)]:
        for nh, kvh in HEADS:
            Q = torch.randn(2, nh, q, HD, device="cuda", dtype=torch.bfloat16)
            K = torch.randn(2, kvh, kv, HD, device="cuda", dtype=torch.bfloat16)
            V = torch.randn(2, kvh, kv, HD, device="cuda", dtype=torch.bfloat16)
            rep = nh // kvh
            Kd, Vd = K.double().repeat_interleave(rep, 1), V.double().repeat_interleave(rep, 1)
            s = Q.double() @ Kd.transpose(-1, -2) / math.sqrt(HD)
            if ph == "prefill":
                s = s.masked_fill(torch.ones(q, kv, dtype=torch.bool, device="cuda").triu(1), float("-inf"))
            ref = torch.softmax(s, -1) @ Vd
            for be in BACKENDS:
                try:
                    if be == "default":
                        y = F.scaled_dot_product_attention(Q, K, V, is_causal=ph == "prefill", enable_gqa=rep > 1)
                    else:
                        with sdpa_kernel(getattr(SDPBackend, be)):
                            y = F.scaled_dot_product_attention(Q, K, V, is_causal=ph == "prefill", enable_gqa=rep > 1)
                    v = f"{mk.relerr(y, ref):.2e}"
                except Exception as e:
                    v = f"unsupported: {type(e).__name__}"
                out.env(f"check_relerr.sdpa.{be}.{ph}.h{nh}kv{kvh}", v)


def run_attention(args, out, tm):
    torch, F = mk.torch, mk.F
    from torch.nn.attention import sdpa_kernel, SDPBackend
    bf = torch.bfloat16
    attn_check(out)
    plan2 = args.plan == "holdout2"
    prefill, decode = (PLAN2_PREFILL, PLAN2_DECODE) if plan2 else (PREFILL, DECODE)
    heads, backends = (PLAN2_HEADS, PLAN2_BACKENDS) if plan2 else (HEADS, BACKENDS)
    if args.plan == "holdout3":
        prefill, decode, heads, backends = PLAN3_PREFILL, PLAN3_DECODE, PLAN3_HEADS, PLAN2_BACKENDS
    heads = [h if len(h) == 3 else (h[0], h[1], HD) for h in heads]
    shapes = [("prefill", b, s, s) for b, s in prefill] + [("decode", b, 1, kv) for b, kv in decode]
    if args.quick:
        shapes = [("prefill", 1, 2048, 2048), ("decode", 8, 1, 2048)]
    for ph, B, q, kv in shapes:
        for nh, kvh, hd in heads:
            per = 2 * B * nh * q * hd * 2 + 2 * 2 * B * kvh * kv * hd
            nc = mk.rot_count(per, 1, 64)
            sets = [(torch.randn(B, nh, q, hd, device="cuda", dtype=bf), torch.randn(B, kvh, kv, hd, device="cuda", dtype=bf),
                     torch.randn(B, kvh, kv, hd, device="cuda", dtype=bf)) for _ in range(nc)]
            causal, gqa = ph == "prefill", kvh != nh
            flops = 4 * B * nh * hd * q * kv // (2 if causal else 1)
            for be in backends:
                if tm.over_budget():
                    out.log("BUDGET: stopping attention")
                    return
                row = dict(kind="stack_attn", phase=ph, B=B, heads=nh, kv_heads=kvh, head_dim=hd, q_len=q, kv_len=kv,
                           causal=int(causal), enable_gqa=int(gqa), dtype="bf16", backend=be, plan=args.plan)
                ctx = (lambda: sdpa_kernel(getattr(SDPBackend, be))) if be != "default" else None

                def call(s, ctx=ctx):
                    if ctx is None:
                        return F.scaled_dot_product_attention(s[0], s[1], s[2], is_causal=causal, enable_gqa=gqa)
                    with ctx():
                        return F.scaled_dot_product_attention(s[0], s[1], s[2], is_causal=causal, enable_gqa=gqa)
                try:
                    if be == "MATH" and B * nh * q * kv * 2 * 3 > 24 * (1 << 30):
                        raise RuntimeError("skipped: math score matrix over 24 GB")
                    fns = [(lambda s=s: call(s)) for s in sets]
                    nk, names = kernel_names(fns[0])
                    r = tm.bench(fns)
                    med = r.pop("_med")
                    row.update(status="ok", **r, rot_copies=nc, flops=flops, bytes_min=per,
                               tflops=f"{flops / med / 1e9:.2f}", gbps=f"{per / med / 1e6:.1f}",
                               n_kernels=nk, kernels=names, error="")
                except Exception as e:
                    msg = f"{type(e).__name__}: {str(e)[:300]}".replace("\n", " ")
                    row.update(status="unsupported", median_ms="", min_ms="", p90_ms="", n_inner="", reps="",
                               timing="", rot_copies=nc, flops=flops, bytes_min=per, tflops="", gbps="",
                               n_kernels="", kernels="", error=msg)
                    out.log(f"  {ph} B={B} h{nh}/{kvh} q={q} kv={kv} {be}: unsupported ({msg[:120]})")
                row.update(prov(args))
                st = out.row("attention", row)
                if row["status"] == "ok":
                    log_row(out, st, f"{ph} B={B} h{nh}/{kvh} q={q} kv={kv} {be}", row)
            del sets
            mk.free_mem()


# ---- elementwise ----------------------------------------------------------------------
def rmsnorm_hf(x, w, eps=1e-6):
    torch = mk.torch
    dt = x.dtype
    h = x.to(torch.float32)
    var = h.pow(2).mean(-1, keepdim=True)
    h = h * torch.rsqrt(var + eps)
    return w * h.to(dt)


def add_rmsnorm_hf(x, r, w, eps=1e-6):
    x = x + r
    return rmsnorm_hf(x, w, eps), x


def silu_mul_chunk(gu):
    g, u = gu.chunk(2, -1)
    return mk.F.silu(g) * u


def silu_mul_sep(g, u):
    return mk.F.silu(g) * u


def run_elementwise(args, out, tm):
    torch, F = mk.torch, mk.F
    bf = torch.bfloat16
    compiled = {}
    try:
        import torch._dynamo
        torch._dynamo.config.cache_size_limit = 64
        compiled = {"rmsnorm": torch.compile(rmsnorm_hf), "add_rmsnorm": torch.compile(add_rmsnorm_hf),
                    "silu_mul": torch.compile(silu_mul_chunk)}
    except Exception as e:
        out.log(f"torch.compile unavailable: {e}")
    out.env("compile", "torch.compile default mode (inductor), dim 0 (T) marked dynamic" if compiled else "none")
    # correctness of each impl against float64 once
    x = torch.randn(64, 4096, device="cuda", dtype=bf)
    rr = torch.randn(64, 4096, device="cuda", dtype=bf)
    w = 1 + 0.1 * torch.randn(4096, device="cuda", dtype=bf)
    xd = x.double()
    ref = xd * torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + 1e-6) * w.double()
    out.env("check_relerr.rmsnorm.hf_eager", f"{mk.relerr(rmsnorm_hf(x, w), ref):.2e}")
    out.env("check_relerr.rmsnorm.torch_rms_norm", f"{mk.relerr(F.rms_norm(x, (4096,), w, 1e-6), ref):.2e}")
    gu = torch.randn(64, 2 * 4096, device="cuda", dtype=bf)
    g, u = gu.double().chunk(2, -1)
    refs = g * torch.sigmoid(g) * u
    out.env("check_relerr.silu_mul.chunk_eager", f"{mk.relerr(silu_mul_chunk(gu), refs):.2e}")
    if compiled:
        try:
            out.env("check_relerr.rmsnorm.compiled", f"{mk.relerr(compiled['rmsnorm'](x, w), ref):.2e}")
            out.env("check_relerr.silu_mul.compiled", f"{mk.relerr(compiled['silu_mul'](gu), refs):.2e}")
            y, xs = compiled["add_rmsnorm"](x, rr, w)
            xr = (x + rr).double()
            out.env("check_relerr.add_rmsnorm.compiled",
                    f"{mk.relerr(y, xr * torch.rsqrt(xr.pow(2).mean(-1, keepdim=True) + 1e-6) * w.double()):.2e}")
        except Exception as e:
            out.log(f"compiled check failed: {type(e).__name__}: {str(e)[:300]}")
            compiled = {}
    Ts = {"holdout2": PLAN2_EW_T, "holdout3": PLAN3_EW_T}.get(args.plan, EW_T) if not args.quick else [1, 64, 4096]
    plans = []
    for H in (NORM_H if not args.quick else [4096]):
        for T in Ts:
            for impl in ("hf_eager", "torch_rms_norm", "compiled"):
                plans.append(("rmsnorm", impl, T, H))
            for impl in ("hf_eager", "compiled"):
                plans.append(("add_rmsnorm", impl, T, H))
    for I in (SILU_I if not args.quick else [11008]):
        for T in Ts:
            for impl in ("chunk_eager", "separate_eager", "compiled"):
                plans.append(("silu_mul", impl, T, I))
    for fam, impl, T, H in plans:
        if tm.over_budget():
            out.log("BUDGET: stopping elementwise")
            return
        if impl == "compiled" and fam not in compiled:
            continue
        row = dict(kind="stack_ew", family=fam, impl=impl, T=T, H=H, dtype="bf16", plan=args.plan)
        try:
            if fam == "rmsnorm":
                per = 2 * T * H * 2
                nc = mk.rot_count(per, 1, 64)
                xs = [torch.randn(T, H, device="cuda", dtype=bf) for _ in range(nc)]
                w = 1 + 0.1 * torch.randn(H, device="cuda", dtype=bf)
                if impl == "compiled":
                    for t in xs:
                        torch._dynamo.mark_dynamic(t, 0) if T > 1 else None
                f = {"hf_eager": rmsnorm_hf, "compiled": compiled.get("rmsnorm"),
                     "torch_rms_norm": lambda t, w: F.rms_norm(t, (H,), w, 1e-6)}[impl]
                fns = [(lambda t=t: f(t, w)) for t in xs]
            elif fam == "add_rmsnorm":
                per = 4 * T * H * 2  # x, r read; sum and normed written
                nc = mk.rot_count(per, 1, 64)
                xs = [(torch.randn(T, H, device="cuda", dtype=bf), torch.randn(T, H, device="cuda", dtype=bf)) for _ in range(nc)]
                w = 1 + 0.1 * torch.randn(H, device="cuda", dtype=bf)
                if impl == "compiled" and T > 1:
                    for a, b in xs:
                        torch._dynamo.mark_dynamic(a, 0)
                        torch._dynamo.mark_dynamic(b, 0)
                f = add_rmsnorm_hf if impl == "hf_eager" else compiled["add_rmsnorm"]
                fns = [(lambda a=a, b=b: f(a, b, w)) for a, b in xs]
            else:
                per = 3 * T * H * 2
                nc = mk.rot_count(per, 1, 64)
                if impl == "separate_eager":
                    xs = [(torch.randn(T, H, device="cuda", dtype=bf), torch.randn(T, H, device="cuda", dtype=bf)) for _ in range(nc)]
                    fns = [(lambda a=a, b=b: silu_mul_sep(a, b)) for a, b in xs]
                else:
                    xs = [torch.randn(T, 2 * H, device="cuda", dtype=bf) for _ in range(nc)]
                    if impl == "compiled" and T > 1:
                        for t in xs:
                            torch._dynamo.mark_dynamic(t, 0)
                    f = silu_mul_chunk if impl == "chunk_eager" else compiled["silu_mul"]
                    fns = [(lambda t=t: f(t)) for t in xs]
            t0 = time.time()
            fns[0]()  # compiles here for compiled rows
            torch.cuda.synchronize()
            comp_s = time.time() - t0
            nk, names = kernel_names(fns[0])
            r = tm.bench(fns)
            med = r.pop("_med")
            row.update(status="ok", **r, rot_copies=nc, bytes_min=per, gbps=f"{per / med / 1e6:.1f}",
                       n_kernels=nk, kernels=names, first_call_s=f"{comp_s:.2f}", error="")
        except Exception as e:
            msg = f"{type(e).__name__}: {str(e)[:300]}".replace("\n", " ")
            traceback.print_exc()
            row.update(status="failed", median_ms="", min_ms="", p90_ms="", n_inner="", reps="", timing="",
                       rot_copies="", bytes_min="", gbps="", n_kernels="", kernels="", first_call_s="", error=msg)
            out.log(f"  {fam} {impl} T={T} H={H}: FAILED {msg[:150]}")
        row.update(prov(args))
        st = out.row("elementwise", row)
        if row["status"] == "ok":
            log_row(out, st, f"{fam} {impl} T={T} H={H}", row)
        xs = fns = None
        mk.free_mem()


def kernel_times(fn, calls=20):
    """Each distinct kernel's mean device time (us) per call over `calls` eager calls."""
    from torch.profiler import profile, ProfilerActivity
    torch = mk.torch
    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
    tot, order = {}, []
    for e in prof.events():
        if getattr(e, "device_type", None) is None or not str(e.device_type).endswith("CUDA"):
            continue
        if e.name not in tot:
            tot[e.name] = [0.0, 0]
            order.append(e.name)
        tot[e.name][0] += e.device_time_total if hasattr(e, "device_time_total") else e.cuda_time_total
        tot[e.name][1] += 1
    return [(n[:160], tot[n][0] / calls, tot[n][1] / calls) for n in order]


def run_gemm(args, out, tm):
    torch = mk.torch
    bf = torch.bfloat16
    for K, N in GEMM_KN:
        for M in GEMM_M:
            if tm.over_budget():
                out.log("BUDGET: stopping gemm")
                return
            row = dict(kind="stack_gemm", M=M, K=K, N=N, dtype="bf16", plan=args.plan)
            try:
                per = (M * K + K * N + M * N) * 2
                nc = mk.rot_count(per, 1, 64)
                xs = [(torch.randn(M, K, device="cuda", dtype=bf), torch.randn(N, K, device="cuda", dtype=bf))
                      for _ in range(nc)]
                fns = [(lambda a=a, w=w: a @ w.t()) for a, w in xs]
                kt = kernel_times(fns[0])
                r = tm.bench(fns)
                med = r.pop("_med")
                row.update(status="ok", **r, rot_copies=nc, bytes_min=per, gbps=f"{per / med / 1e6:.1f}",
                           n_kernels=len(kt), kernels=" | ".join(n for n, _, _ in kt),
                           kernel_us=" | ".join(f"{t:.3f}" for _, t, _ in kt),
                           kernel_count=" | ".join(f"{c:g}" for _, _, c in kt), error="")
            except Exception as e:
                msg = f"{type(e).__name__}: {str(e)[:300]}".replace("\n", " ")
                row.update(status="failed", error=msg)
            row.update(prov(args))
            out.row("gemm", row)
            if row["status"] == "ok":
                out.log(f"  gemm M={M} K={K} N={N}: {row['median_ms']} ms; kernels {row['kernel_us']} us "
                        f"[{row['kernels'][:120]}]")
            xs = fns = None
            mk.free_mem()


def run_gaps(args, out, tm):
    """Graph nodes beyond their kernels' own time (calibration diagnostics, kind stack_gap)."""
    torch = mk.torch
    bf = torch.bfloat16
    cases = [("add", n, numel) for numel in GAP_NUMEL for n in GAP_N]
    cases += [("gemm", n, mkn) for mkn in GAP_GEMM for n in GAP_N]
    for what, n, shape in cases:
        row = dict(kind="stack_gap", what=what, n_nodes=n, shape=str(shape).replace(",", "x").replace(" ", ""),
                   plan=args.plan)
        try:
            if what == "add":
                x = torch.zeros(shape, device="cuda", dtype=bf)
                fn = (lambda: x.add_(1.0))
            else:
                M, K, N = shape
                a = torch.randn(M, K, device="cuda", dtype=bf)
                w = torch.randn(N, K, device="cuda", dtype=bf)
                fn = (lambda: a @ w.t())
            kt = kernel_times(fn)
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    fn()
            torch.cuda.current_stream().wait_stream(s)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                for _ in range(n):
                    fn()
            for _ in range(5):
                g.replay()
            torch.cuda.synchronize()
            reps = max(20, min(2000, int(20000 / n)))
            ev = [torch.cuda.Event(enable_timing=True) for _ in range(reps + 1)]
            ev[0].record()
            for i in range(reps):
                g.replay()
                ev[i + 1].record()
            torch.cuda.synchronize()
            ts = sorted(ev[i].elapsed_time(ev[i + 1]) for i in range(reps))
            med = ts[len(ts) // 2]
            ksum = sum(t for _, t, _ in kt)
            row.update(status="ok", graph_median_us=f"{med * 1e3:.3f}", graph_min_us=f"{ts[0] * 1e3:.3f}",
                       per_node_us=f"{med * 1e3 / n:.4f}", kernel_us_sum=f"{ksum:.4f}", reps=reps,
                       n_kernels=len(kt), kernels=" | ".join(k for k, _, _ in kt),
                       kernel_us=" | ".join(f"{t:.3f}" for _, t, _ in kt), error="")
            del g
        except Exception as e:
            row.update(status="failed", error=f"{type(e).__name__}: {str(e)[:300]}".replace("\n", " "))
        row.update(prov(args))
        out.row("gaps", row)
        if row["status"] == "ok":
            out.log(f"  gap {what} n={n} {shape}: {row['per_node_us']} us/call, kernels {row['kernel_us']} us")
        mk.free_mem()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="attention,elementwise")
    ap.add_argument("--budget-s", type=float, default=0)
    ap.add_argument("--target-ms", type=float, default=2.0)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--min-inner", type=int, default=1)
    ap.add_argument("--max-inner", type=int, default=2000)
    ap.add_argument("--no-graph", action="store_true")
    ap.add_argument("--plan", default="main", choices=["main", "holdout2", "holdout3", "diag3"],
                    help="holdout2 / holdout3: the second / third hold-out's shapes; diag3: calibration "
                         "diagnostics (split_stacks.py)")
    args = ap.parse_args()
    if args.quick:
        args.target_ms, args.reps, args.max_inner = 0.5, 3, 400
    mk.import_gpu()
    torch = mk.torch
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "_stacks"
    out = Out(args.out, run_id)
    tm = mk.Timer(args, out)
    torch.manual_seed(0)
    mk.write_env(out, args)
    out.env("script", "validation/gpu/stacks/measure_stacks.py")
    p = torch.cuda.get_device_properties(0)
    args.card = p.name
    try:
        args.driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                     capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        args.driver = ""
    out.env("driver", args.driver)
    mk.nvsmi(out, "start")
    for name in args.only.split(","):
        t0 = time.time()
        out.log(f"=== {name} ===")
        try:
            {"attention": run_attention, "elementwise": run_elementwise, "gemm": run_gemm,
             "gaps": run_gaps}[name](args, out, tm)
        except Exception as e:
            out.log(f"SECTION {name} FAILED: {type(e).__name__}: {e}")
            traceback.print_exc()
        out.env(f"section_seconds.{name}", f"{time.time() - t0:.1f}")
        mk.nvsmi(out, f"after_{name}")
    out.log(f"total {time.time() - tm.t0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
