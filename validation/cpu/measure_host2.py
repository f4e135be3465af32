#!/usr/bin/env python3
"""Second measurement of the GPU machine's host CPU (issue 13, plan "host2"): a fresh GEMM
hold-out at shapes no earlier dataset has, STREAM beyond the L3, an end-to-end decoder, and
diagnostics of thread scaling and of oneDNN's per-call work. Written and split (split_cpu.py,
assign_host2) BEFORE anything was measured.

gemm (kind cpu_gemm): Y[M,N] = X[M,K] W[N,K]^T as measure_cpu.py times it (F.linear fp32 -> MKL,
  bf16 -> oneDNN; torch._int_mm int8), weights rotating over >= 1.5 GiB of copies (5x the 300 MiB
  L3). Shapes: llama3-8b (= mistral-7b) qkv 4096x6144, gate_up 4096x28672, down 14336x4096, and
  llama2-70b's per-GPU slices at tensor parallelism 8 (qkv 8192x1280, o 1024x8192, gate_up
  8192x7168, down 3584x8192). M 1, 2, 8, 32, 64, 256, 512 at 16 threads; 1, 8, 64, 256 at 4;
  1, 8, 64 at 1.
stream (kind cpu_stream): copy and triad on fp32 arrays of 384 MiB and 2 GiB each (beyond the
  300 MiB L3) at 1, 2, 4, 8, 12, 16 threads.
decoder (kind cpu_decoder): eager PyTorch decoders written here (no framework wrapper):
  gpt2 (12 layers, d 768, 12 heads, ffn 3072, vocab 50257, layernorm, gelu(tanh), biases, tied
  LM head) and llama2-7b-2layer (2 of LLaMA-2 7B's layers, d 4096, 32 heads, ffn 11008, vocab
  32000, RMSNorm, RoPE, SiLU-gated MLP with fused gate_up, fused qkv, no biases), fp32 and bf16,
  at 4 and 16 threads. prefill: batch 1 at 32, 128, 512 tokens (causal SDPA; the LM head on the
  last position only, as generate() does); decode: one step of batch 1 and 4 at context 128
  (KV cache preallocated, the step re-run at the same position). Weights are NOT rotated: the
  model is called again and again as a server would, so what stays in the L3 stays.
  One call of each row runs under oneDNN and MKL verbose (kernel names kept); calibration rows
  also run once under torch.profiler (aten ops, counts, self CPU time: decoder_ops_calibration.csv).
diag (kind cpu_diag; calibration only, never at a new shape):
  scaling   L2-resident GEMMs (M 512, K 1024, N 1024 and 2048 per thread: weights in L2)
            fp32 and bf16 at 1, 2, 4, 8, 12, 16 threads: the per-core compute rate vs active cores
            (clock drop, SMT siblings)
  layout    int8 _int_mm and bf16 F.linear at llama2-7b shapes (old calibration shapes) with the
            weight as [N,K] (nn.Linear's, as timed in gemm) or [K,N] contiguous: what the per-call
            reorder of the weights costs
  verbose   full oneDNN verbose text (with each primitive's time) for every calibration gemm row
            and diag row: verbose_calibration.txt
Output: DIR/*.csv, env.csv, lscpu.txt (lscpu, lscpu -e, caches, thread siblings, MHz under load).
The log prints values of calibration rows only.

Usage: python3 measure_host2.py --out DIR --host TAG [--budget-s S] [--only gemm,stream,decoder,diag]
"""
import argparse
import datetime
import math
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import measure_cpu as MC  # noqa: E402
import split_cpu as SPLIT  # noqa: E402

MiB = 1 << 20
ROT_BYTES = 1536 * MiB

GEMM_SHAPES = [("llama3-8b", "qkv", 4096, 6144), ("llama3-8b", "gate_up", 4096, 28672),
               ("llama3-8b", "down", 14336, 4096),
               ("llama2-70b-tp8", "qkv", 8192, 1280), ("llama2-70b-tp8", "o", 1024, 8192),
               ("llama2-70b-tp8", "gate_up", 8192, 7168), ("llama2-70b-tp8", "down", 3584, 8192)]
GEMM_MS = {16: [1, 2, 8, 32, 64, 256, 512], 4: [1, 8, 64, 256], 1: [1, 8, 64]}
GEMM_DTYPES = ["fp32", "bf16", "int8"]
STREAM_SIZES = [384 * MiB, 2048 * MiB]
STREAM_THREADS = [1, 2, 4, 8, 12, 16]
DEC_MODELS = {
    "gpt2": dict(layers=12, d=768, heads=12, kv_heads=12, ffn=3072, vocab=50257, norm="layernorm",
                 act="gelu", bias=True, learned_pos=True, max_pos=1024),
    "llama2-7b-2layer": dict(layers=2, d=4096, heads=32, kv_heads=32, ffn=11008, vocab=32000,
                             norm="rmsnorm", act="silu", bias=False, learned_pos=False, max_pos=4096),
}
DEC_POINTS = [("prefill", 32, 1), ("prefill", 128, 1), ("prefill", 512, 1), ("decode", 128, 1),
              ("decode", 128, 4)]  # (phase, tokens or context, batch)
DEC_THREADS = [16, 4]

torch = None


def plan_rows():
    """Every row key the run will try, in order (for the split counts before measuring)."""
    rows = []
    for model, layer, k, n in GEMM_SHAPES:
        for dt in GEMM_DTYPES:
            for t in (16, 4, 1):
                for m in GEMM_MS[t]:
                    rows.append(dict(kind="cpu_gemm", M=m, K=k, N=n, dtype=dt, threads=t, model=model, layer=layer))
    for size in STREAM_SIZES:
        for t in STREAM_THREADS:
            for op in ("copy", "triad"):
                rows.append(dict(kind="cpu_stream", op=op, bytes_per_array=size, threads=t))
    for name in DEC_MODELS:
        for dt in ("fp32", "bf16"):
            for t in DEC_THREADS:
                for phase, tok, b in DEC_POINTS:
                    rows.append(dict(kind="cpu_decoder", model=name, dtype=dt, threads=t, phase=phase,
                                     tokens=tok, batch=b))
    return rows


class Out(MC.Out):
    """measure_cpu.Out with the host2 split (assign_host2) instead of the first dataset's."""
    def row(self, name, row):
        if name == "env":
            return MC.Out.row(self, name, row)
        row["set"] = SPLIT.assign_host2(row)
        saved = SPLIT.assign
        SPLIT.assign = SPLIT.assign_host2
        try:
            return MC.Out.row(self, name, row)
        finally:
            SPLIT.assign = saved


def prov(args):
    return dict(date_utc=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                host=args.host, cpu=args.cpu_model, lib=f"torch {torch.__version__}",
                load1=f"{os.getloadavg()[0]:.2f}", script="validation/cpu/measure_host2.py")


def verbose_text(fn):
    def run():
        with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
            with torch.backends.mkl.verbose(torch.backends.mkl.VERBOSE_ON):
                fn()
    return MC.capture_fd1(run)


def kernels_of(txt):
    found, first = [], ""
    for line in txt.splitlines():
        if line.startswith(("onednn_verbose", "dnnl_verbose")) and ",exec," in line:
            p = line.split(",")
            try:
                i = p.index("exec")
                k = f"{p[i + 2]}:{p[i + 3]}"
            except (ValueError, IndexError):
                k = line[:80]
        elif line.startswith("MKL_VERBOSE") and "(" in line and "oneMKL" not in line:
            k = "MKL " + line.split()[1].split("(")[0]
        else:
            continue
        if k not in found:
            found.append(k)
        if not first:
            first = line
    return (" | ".join(found) if found else "none (no oneDNN/MKL call: ATen kernel)"), first[:400]


SECTION_BUDGET_S = {"diag": 15, "gemm": 100, "decoder": 50, "stream": 20}


def over(args):
    """Past the whole run's budget, or this section's share of it (SECTION_BUDGET_S)."""
    now = time.time()
    if args.budget_s and now - args.T0 > args.budget_s:
        return True
    return bool(args.section_budget) and now - args.section_t0 > args.section_budget


# ---------------------------------------------------------------- gemm
def weights(dtype, k, n, layout="nk"):
    esz = {"fp32": 4, "bf16": 2, "int8": 1}[dtype]
    nc = int(min(64, max(1, math.ceil(ROT_BYTES / (k * n * esz)))))
    torch.set_num_threads(16)
    w0 = (torch.rand(n, k) - 0.5) / math.sqrt(k)
    if dtype == "bf16":
        w0 = w0.to(torch.bfloat16)
    elif dtype == "int8":
        w0 = (w0 * 127 * math.sqrt(k) / 2).round().clamp(-127, 127).to(torch.int8)
    if layout == "kn":
        w0 = w0.t().contiguous()
    return [w0.clone() for _ in range(nc)]


def gemm_fns(dtype, m, k, ws, layout="nk"):
    F = torch.nn.functional
    if dtype == "int8":
        x = torch.randint(-127, 128, (m, k), dtype=torch.int8)
        if layout == "kn":
            return [(lambda w=w: torch._int_mm(x, w)) for w in ws]
        return [(lambda w=w: torch._int_mm(x, w.t())) for w in ws]
    x = torch.randn(m, k, dtype=torch.float32 if dtype == "fp32" else torch.bfloat16)
    if layout == "kn":
        return [(lambda w=w: torch.matmul(x, w)) for w in ws]
    return [(lambda w=w: F.linear(x, w)) for w in ws]


def time_row(fns, m_small, call_s_hint=0.0):
    warm = 1 if call_s_hint > 0.05 else min(len(fns), 3)
    for f in fns[:warm]:
        f()
    nc = len(fns)
    ts, i, t0 = [], 0, time.perf_counter()
    min_calls = min(nc, 8) if m_small else 3
    while True:
        a = time.perf_counter()
        fns[i % nc]()
        ts.append(time.perf_counter() - a)
        i += 1
        el = time.perf_counter() - t0
        if i >= min_calls and el >= 0.1:
            break
        if el >= 2.0 and i >= 2:
            break
    return ts


def run_gemm(args, out, vf):
    for model, layer, k, n in GEMM_SHAPES:
        for dt in GEMM_DTYPES:
            if over(args):
                out.log("BUDGET: stopping gemm")
                return
            ws = weights(dt, k, n)
            for t in (16, 4, 1):
                for m in GEMM_MS[t]:
                    if over(args):
                        out.log("BUDGET: stopping gemm")
                        return
                    row = dict(kind="cpu_gemm", M=m, K=k, N=n, dtype=dt, threads=t, model=model, layer=layer)
                    st = SPLIT.assign_host2(row)
                    try:
                        fns = gemm_fns(dt, m, k, ws)
                        torch.set_num_threads(t)
                        a = time.perf_counter()
                        y = fns[0]()
                        hint = time.perf_counter() - a
                        ok = int(bool(torch.isfinite(y.float()).all()))
                        txt = verbose_text(fns[1 % len(fns)])
                        lk, first = kernels_of(txt)
                        if st == "calibration":
                            vf.write(f"### gemm M={m} K={k} N={n} {dt} T={t}\n{txt}\n")
                        ts = time_row(fns, m <= 16, hint)
                        med, mn, p90 = MC.stats(ts)
                        fl = 2 * m * k * n
                        wb = k * n * {"fp32": 4, "bf16": 2, "int8": 1}[dt]
                        row.update(status="ok", calls=len(ts), rot_copies=len(ws), median_ms=f"{med * 1e3:.6g}",
                                   min_ms=f"{mn * 1e3:.6g}", p90_ms=f"{p90 * 1e3:.6g}",
                                   gflops=f"{fl / med / 1e9:.2f}", weight_gbps=f"{wb / med / 1e9:.2f}", finite=ok,
                                   lib_kernels=lk, lib_verbose_first=first, error="")
                    except Exception as e:
                        row.update(status="unsupported", calls="", rot_copies="", median_ms="", min_ms="", p90_ms="",
                                   gflops="", weight_gbps="", finite="", lib_kernels="", lib_verbose_first="",
                                   error=f"{type(e).__name__}: {str(e)[:200]}")
                    row.update(prov(args))
                    out.row("gemm", row)
                    if st == "calibration" and row["status"] == "ok":
                        out.log(f"  gemm {dt} M={m} K={k} N={n} T={t}: {row['median_ms']} ms [{row['lib_kernels'][:80]}]")
                    else:
                        out.log(f"  gemm {dt} M={m} K={k} N={n} T={t}: {st} row {row['status']}")
            del ws


# ---------------------------------------------------------------- stream
def run_stream(args, out):
    nbytes = {"copy": 2, "triad": 3}
    for size in STREAM_SIZES:
        n = size // 4
        a, b, c = torch.rand(n), torch.rand(n), torch.rand(n)
        fn = {"copy": lambda: b.copy_(a), "triad": lambda: torch.add(b, c, alpha=3.0, out=a)}
        for t in STREAM_THREADS:
            torch.set_num_threads(t)
            for op in ("copy", "triad"):
                if over(args):
                    out.log("BUDGET: stopping stream")
                    return
                fn[op]()
                ts, t0 = [], time.perf_counter()
                while len(ts) < 3 or time.perf_counter() - t0 < 0.15:
                    s = time.perf_counter()
                    fn[op]()
                    ts.append(time.perf_counter() - s)
                med, mn, p90 = MC.stats(ts)
                bpc = nbytes[op] * size
                row = dict(kind="cpu_stream", op=op, bytes_per_array=size, threads=t, dtype="fp32",
                           bytes_per_call=bpc, calls=len(ts), median_ms=f"{med * 1e3:.6g}", min_ms=f"{mn * 1e3:.6g}",
                           p90_ms=f"{p90 * 1e3:.6g}", best_gbps=f"{bpc / mn / 1e9:.2f}",
                           median_gbps=f"{bpc / med / 1e9:.2f}")
                row.update(prov(args))
                st = out.row("stream", row)
                out.log(f"  stream {op} {size // MiB} MiB T={t}: " +
                        (f"best {row['best_gbps']} GB/s" if st == "calibration" else f"{st} row"))
        del a, b, c


# ---------------------------------------------------------------- decoder
class Decoder:
    def __init__(self, cfg, dtype, batch=4, ctx=513):
        F = torch.nn.functional
        self.F, self.c = F, cfg
        d, H, f, V = cfg["d"], cfg["heads"], cfg["ffn"], cfg["vocab"]
        self.hd = d // H
        torch.manual_seed(0)

        def p(*shape, s=0.02):
            return ((torch.rand(*shape) - 0.5) * (3.46 * s)).to(dtype)
        self.emb = p(V, d)
        self.pos = p(cfg["max_pos"], d) if cfg["learned_pos"] else None
        self.layers = []
        for _ in range(cfg["layers"]):
            L = dict(n1=torch.ones(d, dtype=dtype), n2=torch.ones(d, dtype=dtype),
                     qkv=p(3 * d, d), o=p(d, d))
            if cfg["act"] == "silu":
                L["up"] = p(2 * f, d)
                L["down"] = p(d, f)
            else:
                L["up"] = p(f, d)
                L["down"] = p(d, f)
            if cfg["bias"]:
                L.update(n1b=torch.zeros(d, dtype=dtype), n2b=torch.zeros(d, dtype=dtype), qkvb=p(3 * d),
                         ob=p(d), upb=p(L["up"].shape[0]), downb=p(d))
            L["k"] = p(batch, H, ctx + 1, self.hd, s=1.0)
            L["v"] = p(batch, H, ctx + 1, self.hd, s=1.0)
            self.layers.append(L)
        self.nf = torch.ones(d, dtype=dtype)
        self.nfb = torch.zeros(d, dtype=dtype) if cfg["bias"] else None
        inv = 1.0 / (10000 ** (torch.arange(0, self.hd, 2).float() / self.hd))
        t = torch.arange(cfg["max_pos"]).float()
        fr = torch.outer(t, inv)
        emb = torch.cat([fr, fr], -1)
        self.cos, self.sin = emb.cos().to(dtype), emb.sin().to(dtype)

    def norm(self, x, w, b):
        F = self.F
        if self.c["norm"] == "layernorm":
            return F.layer_norm(x, (x.shape[-1],), w, b)
        return F.rms_norm(x, (x.shape[-1],), w, 1e-5)

    def rope(self, x, pos0):
        T = x.shape[2]
        cos, sin = self.cos[pos0:pos0 + T], self.sin[pos0:pos0 + T]
        h = x.shape[-1] // 2
        rot = torch.cat((-x[..., h:], x[..., :h]), -1)
        return x * cos + rot * sin

    def forward(self, ids, pos0):
        F, c = self.F, self.c
        B, T = ids.shape
        H, hd, d = c["heads"], self.hd, c["d"]
        x = F.embedding(ids, self.emb)
        if self.pos is not None:
            x = x + self.pos[pos0:pos0 + T]
        for L in self.layers:
            h = self.norm(x, L["n1"], L.get("n1b"))
            qkv = F.linear(h, L["qkv"], L.get("qkvb"))
            q, k, v = qkv.view(B, T, 3, H, hd).permute(2, 0, 3, 1, 4).unbind(0)
            if not c["learned_pos"]:
                q, k = self.rope(q, pos0), self.rope(k, pos0)
            L["k"][:B, :, pos0:pos0 + T] = k
            L["v"][:B, :, pos0:pos0 + T] = v
            kk, vv = L["k"][:B, :, :pos0 + T], L["v"][:B, :, :pos0 + T]
            a = F.scaled_dot_product_attention(q, kk, vv, is_causal=(T > 1))
            a = a.transpose(1, 2).reshape(B, T, d)
            x = x + F.linear(a, L["o"], L.get("ob"))
            h = self.norm(x, L["n2"], L.get("n2b"))
            u = F.linear(h, L["up"], L.get("upb"))
            if c["act"] == "silu":
                gt, up = u.chunk(2, -1)
                u = F.silu(gt) * up
            else:
                u = F.gelu(u, approximate="tanh")
            x = x + F.linear(u, L["down"], L.get("downb"))
        x = self.norm(x[:, -1:], self.nf, self.nfb)
        return F.linear(x, self.emb)


def run_decoder(args, out, vf):
    import csv
    for name, cfg in DEC_MODELS.items():
        for dt in ("fp32", "bf16"):
            dtype = torch.float32 if dt == "fp32" else torch.bfloat16
            torch.set_num_threads(16)
            model = Decoder(cfg, dtype)
            for phase, tok, b in DEC_POINTS:
                if over(args):
                    out.log("BUDGET: stopping decoder")
                    return
                if phase == "prefill":
                    ids = torch.randint(0, cfg["vocab"], (b, tok))
                    fn = lambda: model.forward(ids, 0)  # noqa: E731
                else:
                    ids = torch.randint(0, cfg["vocab"], (b, 1))
                    fn = lambda: model.forward(ids, tok)  # noqa: E731
                for t in DEC_THREADS:
                    if over(args):
                        out.log("BUDGET: stopping decoder")
                        return
                    row = dict(kind="cpu_decoder", model=name, dtype=dt, threads=t, phase=phase, tokens=tok, batch=b)
                    st = SPLIT.assign_host2(row)
                    try:
                        torch.set_num_threads(t)
                        with torch.inference_mode():
                            a = time.perf_counter()
                            y = fn()
                            hint = time.perf_counter() - a
                            ok = int(bool(torch.isfinite(y.float()).all()))
                            txt = verbose_text(fn)
                            lk, first = kernels_of(txt)
                            ts = time_row([fn], False, hint)
                            if st == "calibration":
                                vf.write(f"### decoder {name} {dt} {phase} tokens={tok} batch={b} T={t}\n{txt}\n")
                                from torch.profiler import profile, ProfilerActivity
                                with profile(activities=[ProfilerActivity.CPU]) as prof:
                                    fn()
                                path = os.path.join(args.out, "decoder_ops_calibration.csv")
                                new = not os.path.exists(path)
                                with open(path, "a", newline="") as f:
                                    w = csv.writer(f)
                                    if new:
                                        w.writerow(["model", "dtype", "threads", "phase", "tokens", "batch", "op",
                                                    "count", "self_cpu_us", "cpu_total_us"])
                                    for e in prof.key_averages():
                                        w.writerow([name, dt, t, phase, tok, b, e.key, e.count,
                                                    f"{e.self_cpu_time_total:.1f}", f"{e.cpu_time_total:.1f}"])
                        med, mn, p90 = MC.stats(ts)
                        row.update(status="ok", calls=len(ts), median_ms=f"{med * 1e3:.6g}", min_ms=f"{mn * 1e3:.6g}",
                                   p90_ms=f"{p90 * 1e3:.6g}", finite=ok, lib_kernels=lk, lib_verbose_first=first,
                                   error="")
                    except Exception as e:
                        row.update(status="failed", calls="", median_ms="", min_ms="", p90_ms="", finite="",
                                   lib_kernels="", lib_verbose_first="", error=f"{type(e).__name__}: {str(e)[:200]}")
                        traceback.print_exc()
                    row.update(prov(args))
                    out.row("decoder", row)
                    out.log(f"  decoder {name} {dt} {phase} tok={tok} b={b} T={t}: " +
                            (f"{row['median_ms']} ms" if st == "calibration" else f"{st} row {row['status']}"))
            del model


# ---------------------------------------------------------------- diag
def run_diag(args, out, vf):
    # scaling: each thread's share of the weights stays in its L2 (2 MiB)
    for dt in ("bf16", "fp32"):
        for t in (1, 2, 4, 8, 12, 16):
            if over(args):
                return
            torch.set_num_threads(t)
            k, n, m = 1024, 64 * t, 512
            ws = weights(dt, k, n)[:1]
            fns = gemm_fns(dt, m, k, ws)
            torch.set_num_threads(t)
            ts = time_row(fns, False)
            med, mn, _ = MC.stats(ts)
            lk, _ = kernels_of(verbose_text(fns[0]))
            row = dict(kind="cpu_diag", test="scaling_l2", M=m, K=k, N=n, dtype=dt, threads=t, layout="nk",
                       calls=len(ts), median_ms=f"{med * 1e3:.6g}", min_ms=f"{mn * 1e3:.6g}",
                       gflops=f"{2 * m * k * n / mn / 1e9:.2f}", lib_kernels=lk)
            row.update(prov(args))
            out.row("diag", row)
            out.log(f"  diag scaling {dt} T={t} N={n}: {row['min_ms']} ms {row['gflops']} GFLOP/s [{lk[:60]}]")
    # layout: nn.Linear's [N,K] weights against [K,N] contiguous
    for k, n in ((4096, 12288), (11008, 4096)):
        for dt in ("int8", "bf16"):
            for layout in ("nk", "kn"):
                ws = weights(dt, k, n, layout)
                for t in (16, 4):
                    for m in (1, 64):
                        if over(args):
                            return
                        torch.set_num_threads(t)
                        fns = gemm_fns(dt, m, k, ws, layout)
                        fns[0]()
                        txt = verbose_text(fns[1 % len(fns)])
                        vf.write(f"### diag layout {layout} M={m} K={k} N={n} {dt} T={t}\n{txt}\n")
                        lk, _ = kernels_of(txt)
                        ts = time_row(fns, m <= 16)
                        med, mn, _ = MC.stats(ts)
                        row = dict(kind="cpu_diag", test="layout", M=m, K=k, N=n, dtype=dt, threads=t, layout=layout,
                                   calls=len(ts), median_ms=f"{med * 1e3:.6g}", min_ms=f"{mn * 1e3:.6g}",
                                   gflops=f"{2 * m * k * n / med / 1e9:.2f}", lib_kernels=lk)
                        row.update(prov(args))
                        out.row("diag", row)
                        out.log(f"  diag layout {dt} {layout} M={m} K={k} N={n} T={t}: {row['median_ms']} ms [{lk[:70]}]")
                del ws


def main():
    global torch
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--host", default="h200host-xeon-16c")
    ap.add_argument("--only", default="diag,gemm,decoder,stream")
    ap.add_argument("--no-section-budgets", action="store_true")
    ap.add_argument("--budget-s", type=float, default=0)
    ap.add_argument("--plan", action="store_true", help="print the split counts of the plan and exit")
    args = ap.parse_args()
    if args.plan:
        counts = {}
        for r in plan_rows():
            s = SPLIT.assign_host2(r)
            counts[(r["kind"], s)] = counts.get((r["kind"], s), 0) + 1
        for k in sorted(counts):
            print(k, counts[k])
        return 0
    import torch as _t
    torch = _t
    MC.torch = _t
    args.T0 = time.time()
    os.makedirs(args.out, exist_ok=True)
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + f"_host2_{args.host}"
    out = Out(args.out, run_id)
    cpuinfo = open("/proc/cpuinfo").read()
    args.cpu_model = next((l.split(":", 1)[1].strip() for l in cpuinfo.splitlines() if l.startswith("model name")), "")
    with open(os.path.join(args.out, "lscpu.txt"), "w") as f:
        f.write(MC.sh("lscpu") + "\n--- lscpu -e\n" + MC.sh("lscpu -e") + "\n--- lscpu -C\n" + MC.sh("lscpu -C") +
                "\n--- thread_siblings_list\n" +
                MC.sh("grep . /sys/devices/system/cpu/cpu*/topology/thread_siblings_list") +
                "\n--- core_id\n" + MC.sh("grep . /sys/devices/system/cpu/cpu*/topology/core_id") +
                "\n--- cpufreq\n" + MC.sh("ls /sys/devices/system/cpu/cpu0/cpufreq 2>&1; grep MHz /proc/cpuinfo") +
                "\n--- free -g\n" + MC.sh("free -g") + "\n--- uptime\n" + MC.sh("uptime"))
    E = out.env
    E("date_utc", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    E("command", " ".join(sys.argv))
    E("script", "validation/cpu/measure_host2.py")
    E("cpu_model", args.cpu_model)
    E("nproc", os.cpu_count())
    E("torch", torch.__version__)
    E("torch_num_threads_default", torch.get_num_threads())
    E("cpu_capability", torch.backends.cpu.get_cpu_capability())
    E("uptime_start", MC.sh("uptime").strip())
    with open(os.path.join(args.out, "lib_config.txt"), "w") as f:
        f.write(torch.__config__.show() + "\n" + torch.__config__.parallel_info())
    vf = open(os.path.join(args.out, "verbose_calibration.txt"), "w")
    for name in args.only.split(","):
        t0 = time.time()
        args.section_t0 = t0
        args.section_budget = 0 if args.no_section_budgets else SECTION_BUDGET_S.get(name, 0)
        out.log(f"=== {name} (budget {args.section_budget} s) ===")
        try:
            if name == "gemm":
                run_gemm(args, out, vf)
            elif name == "stream":
                run_stream(args, out)
            elif name == "decoder":
                run_decoder(args, out, vf)
            elif name == "diag":
                run_diag(args, out, vf)
        except Exception as e:
            out.log(f"SECTION {name} FAILED: {type(e).__name__}: {e}")
            traceback.print_exc()
        vf.flush()
        E(f"section_seconds.{name}", f"{time.time() - t0:.1f}")
        E(f"uptime_after_{name}", MC.sh("uptime").strip())
        if name == "diag":
            with open(os.path.join(args.out, "lscpu.txt"), "a") as f:
                f.write("\n--- MHz right after diag\n" + MC.sh("grep MHz /proc/cpuinfo"))
    out.log(f"total {time.time() - args.T0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
