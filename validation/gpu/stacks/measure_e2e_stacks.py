#!/usr/bin/env python3
"""Whole decoders per software-stack preset (issue 15), each step captured in one CUDA graph.

Models (full depth, random bf16 weights, distinct per layer): llama2-7b, llama2-13b, llama3-8b
(GQA 32/8) and gpt2 (LayerNorm, GELU, learned positions, biases). Every step is embedding ->
layers -> final norm -> LM head on the last token of each sequence (as serving stacks compute
logits). Prefill writes K and V into a static cache too; decode appends one token at `ctx` and
attends over ctx + 1 keys.

Stacks (what each runs; xpusim's `--stack` presets of the same names model these):
  torch-eager     HF-style eager PyTorch: RMSNorm as written in HF LlamaRMSNorm (8 kernels),
                  F.layer_norm for gpt2; rotate-half RoPE in torch ops (5 kernels per tensor);
                  K and V copied into the cache (2 copy kernels); SDPA with no backend forced
                  (PyTorch's default); SiLU*mul on the chunked halves of the gate_up output
                  (2 kernels); gpt2's gelu_new as HF writes it (tanh formula in torch ops);
                  residual adds as torch adds; cuBLAS GEMMs (fused QKV and gate_up).
  torch-compiled  the same model with the elementwise parts compiled by torch.compile (inductor,
                  dynamic shapes): residual add + norm fused, RoPE of q and k, SiLU*mul, GELU;
                  K/V copies and SDPA (default backend) as in eager; cuBLAS GEMMs.
  serving         vLLM-like: fused add+norm, SiLU*mul and GELU (compiled), RoPE and the K/V cache
                  write in one compiled function, SDPA FLASH_ATTENTION (FlashAttention-2: the
                  FlashAttention-3 kernels vLLM runs on Hopper are not installed on this machine).

Timing: the step's CUDA graph replayed back to back (3 warm-up replays, then N timed replays
between events, N from 5 to 40 for about 1.5 s), median / min / p90 per step. Kernel names: one
eager step under torch.profiler, as `name*count` for each distinct kernel.
Rows are split by split_stacks.assign (kind stack_e2e, fixed before this run) into
e2e_stacks_calibration.csv / e2e_stacks_holdout.csv (kernel names: e2e_stacks_kernels.csv); the log prints values of calibration rows only.

--plan holdout2: the second hold-out's points (LLAMA_CASES2, GPT2_CASES2; every row hold-out, set
holdout2, e2e_stacks_holdout2.csv); --plan holdout3 the third's (LLAMA_CASES3, GPT2_CASES3; also
mistral-7b and gpt2-medium), with each kernel's device time in one eager step
(e2e_stacks_kernels_holdout3.csv, column device_us); --plan diag3: calibration points of gpt2 and
llama2-7b with those times (e2e_stacks_diag3.csv, e2e_stacks_diag3_kernels.csv).

Usage: python3 measure_e2e_stacks.py --out DIR [--models ...] [--stacks ...] [--plan main|holdout2|holdout3|diag3] [--quick]
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

# hidden, intermediate, q heads, kv heads, layers, vocab, head_dim, family
MODELS = {
    "llama2-7b": (4096, 11008, 32, 32, 32, 32000, 128, "llama"),
    "llama2-13b": (5120, 13824, 40, 40, 40, 32000, 128, "llama"),
    "llama3-8b": (4096, 14336, 32, 8, 32, 128256, 128, "llama"),
    "gpt2": (768, 3072, 12, 12, 12, 50257, 64, "gpt2"),
    # configs/models/mistral-7b.yaml (no sliding window below 4096 keys) and gpt2-medium.yaml
    "mistral-7b": (4096, 14336, 32, 8, 32, 32000, 128, "llama"),
    "gpt2-medium": (1024, 4096, 16, 16, 24, 50257, 64, "gpt2"),
}
LLAMA_CASES = [("prefill", 1, 512, 0), ("prefill", 1, 2048, 0), ("prefill", 8, 512, 0), ("prefill", 64, 128, 0),
               ("decode", 1, 1, 1024), ("decode", 4, 1, 1024), ("decode", 16, 1, 1024), ("decode", 64, 1, 1024),
               ("decode", 1, 1, 4096), ("decode", 16, 1, 4096)]
GPT2_CASES = [("prefill", 1, 512, 0), ("prefill", 1, 1024, 0), ("prefill", 8, 512, 0), ("prefill", 64, 128, 0),
              ("decode", 1, 1, 512), ("decode", 4, 1, 512), ("decode", 16, 1, 512), ("decode", 64, 1, 512),
              ("decode", 1, 1, 1000), ("decode", 16, 1, 1000)]
# --plan holdout2 (split_stacks.py: every row is hold-out `holdout2`): points no earlier run has.
LLAMA_CASES2 = [("prefill", 2, 1024, 0), ("prefill", 16, 256, 0), ("prefill", 32, 64, 0),
                ("decode", 2, 1, 2048), ("decode", 8, 1, 2048), ("decode", 32, 1, 2048), ("decode", 48, 1, 512)]
GPT2_CASES2 = [("prefill", 2, 768, 0), ("prefill", 16, 256, 0), ("prefill", 32, 64, 0),
               ("decode", 2, 1, 768), ("decode", 8, 1, 768), ("decode", 32, 1, 768), ("decode", 48, 1, 256)]
# --plan holdout3 (every row hold-out `holdout3`): points no earlier run has, on two new models too.
LLAMA_CASES3 = [("prefill", 1, 1536, 0), ("prefill", 3, 1024, 0), ("prefill", 24, 128, 0),
                ("decode", 1, 1, 3072), ("decode", 4, 1, 1536), ("decode", 12, 1, 3072), ("decode", 40, 1, 1024)]
GPT2_CASES3 = [("prefill", 1, 896, 0), ("prefill", 3, 512, 0), ("prefill", 24, 128, 0),
               ("decode", 1, 1, 900), ("decode", 4, 1, 640), ("decode", 12, 1, 900), ("decode", 40, 1, 384)]
# --plan diag3 (calibration): existing calibration points re-measured with each kernel's device time.
LLAMA_DIAG3 = [("prefill", 1, 512, 0), ("decode", 16, 1, 1024), ("decode", 64, 1, 1024)]
GPT2_DIAG3 = [("prefill", 8, 512, 0), ("decode", 16, 1, 512), ("decode", 64, 1, 512)]
STACKS = ["torch-eager", "torch-compiled", "serving"]
torch = F = None


class Out(mk.Out):
    def row(self, name, row):
        if name == "env" or (name == "e2e_stacks_kernels" and row.get("plan") in ("main", "holdout2")):
            return super().row(name, row)
        if name == "e2e_stacks_kernels":  # holdout3 / diag3: a file per set, with device times
            return super().row(f"{name}_{row['set']}" if row["plan"] != "diag3" else "e2e_stacks_diag3_kernels", row)
        row["set"] = SPLIT.assign(row)
        super().row(f"{name}_{row['set']}" if row["plan"] != "diag3" else "e2e_stacks_diag3", row)
        return row["set"]


# ---- the pieces each stack runs -------------------------------------------------------
def rmsnorm_hf(x, w, eps=1e-6):
    dt = x.dtype
    h = x.to(torch.float32)
    var = h.pow(2).mean(-1, keepdim=True)
    h = h * torch.rsqrt(var + eps)
    return w * h.to(dt)


def add_rmsnorm(x, r, w):
    x = x + r
    return rmsnorm_hf(x, w), x


def layernorm(x, w, b):
    return F.layer_norm(x, (x.shape[-1],), w, b, 1e-5)


def add_layernorm(x, r, w, b):
    x = x + r
    return layernorm(x, w, b), x


def gelu_new(x):  # HF NewGELUActivation as written
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def silu_mul(gu):
    g, u = gu.chunk(2, -1)
    return F.silu(g) * u


def rot_half(t):
    a, b = t.chunk(2, -1)
    return torch.cat([-b, a], -1)


def rope(t, cos, sin):  # t [B, S, h, hd]; cos/sin [S, hd]
    return t * cos[None, :, None] + rot_half(t) * sin[None, :, None]


def rope_qk(q, k, cos, sin):
    return rope(q, cos, sin), rope(k, cos, sin)


def rope_cache(q, k, v, cos, sin, kc, vc, pos0):
    """serving: RoPE of q and k and the write of k, v into the [B, S_max, kv, hd] cache."""
    q = rope(q, cos, sin)
    k = rope(k, cos, sin)
    s = k.shape[1]
    kc[:, pos0:pos0 + s].copy_(k)
    vc[:, pos0:pos0 + s].copy_(v)
    return q


class Stack:
    def __init__(self, name):
        self.name = name
        eager = name == "torch-eager"
        c = (lambda f: f) if eager else (lambda f: torch.compile(f, dynamic=True))
        self.add_rmsnorm = c(add_rmsnorm)
        self.rmsnorm = c(rmsnorm_hf)
        self.add_layernorm = c(add_layernorm)
        self.layernorm = layernorm if eager else c(layernorm)
        self.gelu = c(gelu_new)
        self.silu_mul = c(silu_mul)
        self.rope_qk = c(rope_qk)
        self.rope_cache = c(rope_cache) if name == "serving" else None
        self.fused_add = not eager

    def sdpa(self, q, k, v, causal, gqa):
        from torch.nn.attention import sdpa_kernel, SDPBackend
        kw = dict(is_causal=causal)
        if gqa:
            kw["enable_gqa"] = True
        if self.name == "serving":
            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                return F.scaled_dot_product_attention(q, k, v, **kw)
        return F.scaled_dot_product_attention(q, k, v, **kw)


def weights(model):
    H, I, NH, KV, L, V, HD, fam = MODELS[model]
    bf = torch.bfloat16
    sc = 1.0 / math.sqrt(H)

    def g():
        return torch.ones(H, device="cuda", dtype=bf) + 0.1 * torch.randn(H, device="cuda", dtype=bf)

    def b(n):
        return 0.02 * torch.randn(n, device="cuda", dtype=bf)
    W = dict(emb=torch.randn(V, H, device="cuda", dtype=bf), gf=g(), bf=b(H), layers=[])
    W["head"] = W["emb"] if fam == "gpt2" else torch.randn(V, H, device="cuda", dtype=bf) * sc
    if fam == "gpt2":
        W["pos"] = torch.randn(1024, H, device="cuda", dtype=bf) * 0.1
    for _ in range(L):
        p = dict(wqkv=torch.randn((NH + 2 * KV) * HD, H, device="cuda", dtype=bf) * sc,
                 wo=torch.randn(H, NH * HD, device="cuda", dtype=bf) * sc,
                 g1=g(), g2=g(), b1=b(H), b2=b(H))
        if fam == "gpt2":
            p.update(wup=torch.randn(I, H, device="cuda", dtype=bf) * sc,
                     wd=torch.randn(H, I, device="cuda", dtype=bf) / math.sqrt(I),
                     bqkv=b(3 * H), bo=b(H), bup=b(I), bd=b(H))
        else:
            p.update(wgu=torch.randn(2 * I, H, device="cuda", dtype=bf) * sc,
                     wd=torch.randn(H, I, device="cuda", dtype=bf) / math.sqrt(I))
        W["layers"].append(p)
    return W


def lin(a, w, bias=None):
    return torch.addmm(bias, a, w.t()) if bias is not None else a @ w.t()


def norm(st, gpt2, x, r, g, b):
    """The residual add (if any) and the norm: one fused kernel in compiled / serving stacks, a torch
    add and the norm's kernels in eager. Returns (normed, new residual stream)."""
    if r is not None and st.fused_add:
        return st.add_layernorm(x, r, g, b) if gpt2 else st.add_rmsnorm(x, r, g)
    if r is not None:
        x = x + r
    return (st.layernorm(x, g, b) if gpt2 else st.rmsnorm(x, g)), x


def step(st, model, W, ids, posid, cos, sin, caches, B, S, pos0):
    """One forward step; returns the logits of the last token of each sequence."""
    H, I, NH, KV, L, V, HD, fam = MODELS[model]
    gpt2 = fam == "gpt2"
    x = F.embedding(ids, W["emb"])  # [B*S, H]
    if gpt2:
        x = x + F.embedding(posid, W["pos"])
    r = None  # pending residual (fused stacks add it inside the next norm)
    for i, p in enumerate(W["layers"]):
        kc, vc = caches[i]
        # attention block
        h, x = norm(st, gpt2, x, r, p["g1"], p["b1"])
        qkv = lin(h, p["wqkv"], p.get("bqkv"))
        q = qkv[:, :NH * HD].view(B, S, NH, HD)
        k = qkv[:, NH * HD:(NH + KV) * HD].view(B, S, KV, HD)
        v = qkv[:, (NH + KV) * HD:].view(B, S, KV, HD)
        if not gpt2:
            if st.rope_cache is not None:
                q = st.rope_cache(q, k, v, cos, sin, kc, vc, pos0)
                k = v = None
            else:
                q, k = st.rope_qk(q, k, cos, sin)
        if k is not None:  # cache write as copies (eager and compiled stacks, and gpt2 everywhere)
            kc[:, pos0:pos0 + S].copy_(k)
            vc[:, pos0:pos0 + S].copy_(v)
        if pos0 == 0:  # prefill: attend over the new keys (causal)
            kk, vv = kc[:, :S], vc[:, :S]
        else:
            kk, vv = kc[:, :pos0 + S], vc[:, :pos0 + S]
        a = st.sdpa(q.transpose(1, 2), kk.transpose(1, 2), vv.transpose(1, 2), pos0 == 0, KV != NH)
        r = lin(a.transpose(1, 2).reshape(B * S, NH * HD), p["wo"], p.get("bo"))
        # MLP block
        h, x = norm(st, gpt2, x, r, p["g2"], p["b2"])
        if gpt2:
            r = lin(st.gelu(lin(h, p["wup"], p["bup"])), p["wd"], p["bd"])
        else:
            r = lin(st.silu_mul(lin(h, p["wgu"])), p["wd"])
    x = x + r  # the last layer's residual add (a torch add in every stack)
    last = x.view(B, S, H)[:, -1]  # logits for the last token of each sequence
    h = st.layernorm(last, W["gf"], W["bf"]) if gpt2 else st.rmsnorm(last, W["gf"])
    return lin(h, W["head"])


def kernel_counts(fn, times=None):
    """Kernel count per distinct name of one eager step; with `times` (a dict), also each name's
    total device time (us) in that step."""
    from torch.profiler import profile, ProfilerActivity
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    evs = [e for e in prof.events()
           if getattr(e, "device_type", None) is not None and str(e.device_type).endswith("CUDA")]
    counts = {}
    for e in evs:
        counts[e.name] = counts.get(e.name, 0) + 1
        if times is not None:
            t = e.device_time_total if hasattr(e, "device_time_total") else e.cuda_time_total
            times[e.name] = times.get(e.name, 0.0) + t
    return len(evs), counts


def time_graph(g, min_reps=5, max_reps=40, target_s=1.5):
    for _ in range(3):
        g.replay()
    torch.cuda.synchronize()
    t0 = time.time()
    g.replay()
    torch.cuda.synchronize()
    one = max(time.time() - t0, 1e-5)
    n = int(min(max_reps, max(min_reps, target_s / one)))
    ev = [torch.cuda.Event(enable_timing=True) for _ in range(n + 1)]
    ev[0].record()
    for i in range(n):
        g.replay()
        ev[i + 1].record()
    torch.cuda.synchronize()
    ts = sorted(ev[i].elapsed_time(ev[i + 1]) for i in range(n))
    return ts[len(ts) // 2], ts[0], ts[min(n - 1, int(math.ceil(0.9 * n)) - 1)], n


def run(args, out):
    bf = torch.bfloat16
    stacks = {s: Stack(s) for s in args.stacks.split(",")}
    for model in args.models.split(","):
        H, I, NH, KV, L, V, HD, fam = MODELS[model]
        t_model = time.time()
        W = weights(model)
        out.log(f"=== {model}: weights {sum(t.numel() for t in [W['emb'], W['head']]) * 2 / 1e9:.2f} GB emb+head, "
                f"{L} layers ({time.time() - t_model:.1f} s)")
        if args.plan == "holdout2":
            cases = GPT2_CASES2 if fam == "gpt2" else LLAMA_CASES2
        elif args.plan == "holdout3":
            cases = GPT2_CASES3 if fam == "gpt2" else LLAMA_CASES3
        elif args.plan == "diag3":
            cases = GPT2_DIAG3 if fam == "gpt2" else LLAMA_DIAG3
        else:
            cases = GPT2_CASES if fam == "gpt2" else LLAMA_CASES
        if args.quick:
            cases = cases[:1] + cases[4:5]
        for phase, B, S, ctx in cases:
            ref = None
            ids = torch.randint(0, V, (B * S,), device="cuda")
            posid = torch.arange(ctx, ctx + S, device="cuda").repeat(B)
            cos, sin = mk.rope_tables(torch.arange(ctx, ctx + S, device="cuda"), HD)
            try:
                caches = [(torch.randn(B, ctx + S, KV, HD, device="cuda", dtype=bf),
                           torch.randn(B, ctx + S, KV, HD, device="cuda", dtype=bf)) for _ in range(L)]
            except Exception as e:
                out.log(f"FAIL {model} {phase} B={B} S={S} ctx={ctx}: caches: {e}")
                mk.free_mem()
                continue
            for sname, st in stacks.items():
                row = dict(kind="stack_e2e", model=model, stack=sname, phase=phase, B=B, q_len=S, ctx=ctx,
                           kv_len=ctx + S, layers=L, hidden=H, ffn=I, heads=NH, kv_heads=KV, head_dim=HD,
                           vocab=V, dtype="bf16", plan=args.plan)
                label = f"{model} {phase} B={B} S={S} ctx={ctx} {sname}"
                try:
                    def fwd(st=st):
                        return step(st, model, W, ids, posid, cos, sin, caches, B, S, ctx)
                    t0 = time.time()
                    y = fwd()  # compiles on first use
                    torch.cuda.synchronize()
                    first_s = time.time() - t0
                    fin = bool(torch.isfinite(y).all().item())
                    if ref is None:
                        ref = y.float()
                        rel = 0.0
                    else:
                        rel = ((y.float() - ref).norm() / ref.norm()).item()
                    ktimes = {} if args.plan in ("holdout3", "diag3") else None
                    nk, counts = kernel_counts(fwd, ktimes)
                    s = torch.cuda.Stream()
                    s.wait_stream(torch.cuda.current_stream())
                    with torch.cuda.stream(s):
                        for _ in range(2):
                            fwd()
                    torch.cuda.current_stream().wait_stream(s)
                    g = torch.cuda.CUDAGraph()
                    with torch.cuda.graph(g):
                        yg = fwd()
                    med, mn, p90, n = time_graph(g)
                    row.update(status="ok", median_ms=f"{med:.6g}", min_ms=f"{mn:.6g}", p90_ms=f"{p90:.6g}",
                               reps=n, timing="graph", n_kernels=nk, finite=int(fin), relerr_vs_first=f"{rel:.2e}",
                               first_call_s=f"{first_s:.2f}", error="")
                    del g, yg
                except Exception as e:
                    traceback.print_exc()
                    row.update(status="fail", error=f"{type(e).__name__}: {str(e)[:200]}")
                    counts, ktimes = {}, None
                row.update(mk_prov(args))
                st_set = out.row("e2e_stacks", row)
                if row["status"] == "ok":
                    for kname, cnt in counts.items():
                        kr = dict(model=model, stack=sname, phase=phase, B=B, q_len=S, ctx=ctx,
                                  count=cnt, kernel=kname[:300], set=st_set)
                        if ktimes is not None:
                            kr.update(device_us=f"{ktimes.get(kname, 0.0):.3f}", plan=args.plan)
                        out.row("e2e_stacks_kernels", kr)
                if st_set == "calibration" or row["status"] != "ok":
                    out.log(f"  {label}: {row.get('median_ms', '')} ms, {row.get('n_kernels', '')} kernels, "
                            f"rel {row.get('relerr_vs_first', '')} {row['error']}")
                else:
                    out.log(f"  {label}: hold-out row written ({row['n_kernels']} kernels)")
            del caches
            mk.free_mem()
        del W
        mk.free_mem()
        out.env(f"seconds.{model}", f"{time.time() - t_model:.1f}")


def mk_prov(args):
    return dict(date_utc=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                card=args.card, driver=args.driver, torch=torch.__version__,
                script="validation/gpu/stacks/measure_e2e_stacks.py")


def main():
    global torch, F
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", default="gpt2,llama2-7b,llama3-8b,llama2-13b")
    ap.add_argument("--stacks", default=",".join(STACKS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--plan", default="main", choices=["main", "holdout2", "holdout3", "diag3"],
                    help="holdout2 / holdout3: the second / third hold-out's points; diag3: calibration "
                         "points with per-kernel device times (split_stacks.py)")
    args = ap.parse_args()
    mk.import_gpu()
    torch, F = mk.torch, mk.F
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "_e2e_stacks"
    out = Out(args.out, run_id)
    torch.manual_seed(0)
    p = torch.cuda.get_device_properties(0)
    args.card = p.name
    try:
        args.driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                     capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        args.driver = ""
    for k, v in [("date_utc", mk_prov(args)["date_utc"]), ("command", " ".join(sys.argv)), ("gpu_name", p.name),
                 ("driver", args.driver), ("torch", torch.__version__), ("cuda", torch.version.cuda),
                 ("cudnn", str(torch.backends.cudnn.version())), ("sms", str(p.multi_processor_count)),
                 ("script", "validation/gpu/stacks/measure_e2e_stacks.py")]:
        out.env(k, v)
    mk.nvsmi(out, "start")
    t0 = time.time()
    run(args, out)
    mk.nvsmi(out, "end")
    out.log(f"total {time.time() - t0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
