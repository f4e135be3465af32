#!/usr/bin/env python3
"""Board energy of GPU kernels and LLM steps, read from NVML's total-energy counter (issue 14).

Each case is a CUDA graph of N back-to-back calls of one kernel (or one model step), rotating over
input copies where the data would otherwise sit in L2. The graph is replayed for --warm-s seconds
(not counted), then for at least --window-s seconds, with one replay always queued so that the GPU
never idles inside the window. Around the window:
  - nvmlDeviceGetTotalEnergyConsumption (mJ, the whole board) is read before and after,
  - CUDA events give the GPU time, and the host clock the wall time,
  - a sampling thread reads, every --sample-ms, the SM and memory clocks, the power
    (nvmlDeviceGetPowerUsage) and the clock-event (throttle) reasons.
Every case is measured twice (rep 1 and rep 2: the whole group again, a few seconds later) to
show the noise. Idle rows: no work on the GPU, the CUDA context alive, at the start and the end.

Rows go to calibration.csv or holdout.csv by split_energy.assign (fixed before measuring); the
log prints values of calibration rows only. env.csv records date, card, driver, torch, script.

Usage (device machine):  python3 measure_energy.py --out DIR [--quick] [--budget-s 540]
"""
import argparse
import csv
import datetime
import math
import os
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # validation/gpu: measure_kernels (the e2e stack)
import split_energy as SPLIT  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
ROT_BYTES = 512 * MiB  # rotation set for memory-bound cases: > 8x the 60 MB L2 of an H200

torch = F = mk = pynvml = None
NV = None  # NVML handle
TICKS = None


# ---------------------------------------------------------------------------------------
class Out:
    def __init__(self, d, run_id):
        self.d, self.run_id, self.files = d, run_id, {}
        os.makedirs(d, exist_ok=True)
        self.logf = open(os.path.join(d, "log.txt"), "a")

    def log(self, msg):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        self.logf.write(line + "\n")
        self.logf.flush()

    def row(self, name, row):
        row = {k: (v.replace(",", ";") if isinstance(v, str) else v) for k, v in row.items()}
        if name not in self.files:
            path = os.path.join(self.d, name + ".csv")
            exists = os.path.exists(path) and os.path.getsize(path) > 0
            f = open(path, "a", newline="")
            w = csv.DictWriter(f, fieldnames=list(row.keys()), extrasaction="ignore")
            if not exists:
                w.writeheader()
            self.files[name] = (f, w)
        f, w = self.files[name]
        w.writerow(row)
        f.flush()

    def env(self, key, value):
        self.row("env", {"run_id": self.run_id, "key": key, "value": value})


# ---------------------------------------------------------------------------------------
# NVML
def nv_energy_mj():
    return pynvml.nvmlDeviceGetTotalEnergyConsumption(NV)


def nv_reasons():
    for fn in ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"):
        if hasattr(pynvml, fn):
            try:
                return getattr(pynvml, fn)(NV)
            except Exception:
                pass
    return 0


INSTANT_OK = [True]


def instant_power():
    """NVML_FI_DEV_POWER_INSTANT (W), where the driver has it; None otherwise."""
    if not INSTANT_OK[0]:
        return None
    try:
        fid = getattr(pynvml, "NVML_FI_DEV_POWER_INSTANT", 186)
        v = pynvml.nvmlDeviceGetFieldValues(NV, [fid])[0]
        if v.nvmlReturn != 0:
            raise RuntimeError(v.nvmlReturn)
        return v.value.uiVal / 1000.0
    except Exception:
        INSTANT_OK[0] = False
        return None


REASON_SW_POWER = 0x4
REASON_HW_ANY = 0x8 | 0x20 | 0x40 | 0x80  # hw slowdown, sw thermal, hw thermal, hw power brake


class Sampler:
    """Background thread: (t, sm MHz, mem MHz, power W, reasons) every period."""

    def __init__(self, period_s):
        self.period, self.samples, self.stop_ev = period_s, [], threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop_ev.is_set():
            try:
                t = time.perf_counter()
                sm = pynvml.nvmlDeviceGetClockInfo(NV, pynvml.NVML_CLOCK_SM)
                mem = pynvml.nvmlDeviceGetClockInfo(NV, pynvml.NVML_CLOCK_MEM)
                p = pynvml.nvmlDeviceGetPowerUsage(NV) / 1000.0
                r = nv_reasons()
                pi = instant_power()
                self.samples.append((t, sm, mem, p, r, pi))
            except Exception:
                pass
            time.sleep(self.period)

    def window(self, t0, t1):
        xs = [s for s in self.samples if t0 <= s[0] <= t1]
        if not xs:
            return dict(samples=0)
        n = len(xs)
        sm = [s[1] for s in xs]
        return dict(samples=n,
                    sm_clk_mean_mhz=f"{sum(sm) / n:.0f}", sm_clk_min_mhz=min(sm), sm_clk_max_mhz=max(sm),
                    mem_clk_mean_mhz=f"{sum(s[2] for s in xs) / n:.0f}",
                    power_sampled_mean_w=f"{sum(s[3] for s in xs) / n:.1f}",
                    power_sampled_max_w=f"{max(s[3] for s in xs):.1f}",
                    power_instant_mean_w=(f"{sum(s[5] for s in xs) / n:.1f}" if all(s[5] is not None for s in xs) else ""),
                    frac_sw_power_cap=f"{sum(1 for s in xs if s[4] & REASON_SW_POWER) / n:.3f}",
                    frac_hw_slowdown=f"{sum(1 for s in xs if s[4] & REASON_HW_ANY) / n:.3f}")

    def stop(self):
        self.stop_ev.set()


class EnergyTicks:
    """Background thread: polls the energy counter every ~1 ms and keeps (t, mJ) at each change.
    The counter advances in steps (about every 100 ms on the H200 seen here), so a window's
    average power is taken between the first and the last step inside it."""

    def __init__(self):
        self.ticks, self.stop_ev = [], threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        last = None
        while not self.stop_ev.is_set():
            try:
                e = nv_energy_mj()
                t = time.perf_counter()
                if e != last:
                    self.ticks.append((t, e))
                    last = e
            except Exception:
                pass
            time.sleep(0.001)

    def power(self, t0, t1):
        xs = [x for x in self.ticks if t0 <= x[0] <= t1]
        if len(xs) < 2 or xs[-1][0] - xs[0][0] <= 0:
            return None, len(xs)
        return (xs[-1][1] - xs[0][1]) / 1e3 / (xs[-1][0] - xs[0][0]), len(xs)

    def stop(self):
        self.stop_ev.set()


def counter_tick_ms(out):
    """How often the energy counter changes (read while the GPU is idle)."""
    e0 = nv_energy_mj()
    t0 = time.perf_counter()
    changes, last = [], e0
    while time.perf_counter() - t0 < 1.0:
        e = nv_energy_mj()
        if e != last:
            changes.append(time.perf_counter())
            last = e
        time.sleep(0.0005)
    if len(changes) >= 2:
        d = [(b - a) * 1e3 for a, b in zip(changes, changes[1:])]
        d.sort()
        out.env("energy_counter_tick_ms_median", f"{d[len(d) // 2]:.2f}")
        return d[len(d) // 2]
    out.env("energy_counter_tick_ms_median", f">1000 ({len(changes)} changes in 1 s)")
    return None


# ---------------------------------------------------------------------------------------
def graph_of(fns, target_ms, max_n):
    """Warm up, estimate one call's time, capture N calls (rotating) in a graph."""
    for f in fns:
        f()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for f in fns:
        f()
    e.record()
    e.synchronize()
    t = max(s.elapsed_time(e) / len(fns), 1e-4)
    n = max(len(fns), int(math.ceil(target_ms / t)))
    n = min(n, max(len(fns), max_n))
    n = int(math.ceil(n / len(fns)) * len(fns))
    st = torch.cuda.Stream()
    st.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(st):
        for f in fns[:3]:
            f()
    torch.cuda.current_stream().wait_stream(st)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g, stream=st):
        for i in range(n):
            fns[i % len(fns)]()
    g.replay()
    torch.cuda.synchronize()
    return g, n, t


def run_window(g, seconds):
    """Replays g for at least `seconds`, one replay always queued. Returns (replays, gpu_ms, host_s)."""
    evs = [torch.cuda.Event() for _ in range(2)]
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    t0 = time.perf_counter()
    s.record()
    g.replay()
    evs[0].record()
    k = 1
    while True:
        g.replay()
        evs[k % 2].record()
        evs[(k - 1) % 2].synchronize()
        k += 1
        if time.perf_counter() - t0 >= seconds:
            break
    e.record()
    e.synchronize()
    return k, s.elapsed_time(e), time.perf_counter() - t0


def kernel_names(fn):
    from torch.profiler import profile, ProfilerActivity
    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    names = [ev.name for ev in prof.events()
             if getattr(ev, "device_type", None) is not None and str(ev.device_type).endswith("CUDA")]
    counts = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    txt = " | ".join(f"{c}x {n[:160]}" for n, c in counts.items())
    return len(names), txt[:4000]


# ---------------------------------------------------------------------------------------
# Cases. Each builder returns (fns, info): fns = one zero-arg callable per rotation copy.
def rot(bytes_per_set, lo=1, hi=64):
    return int(min(hi, max(lo, math.ceil(ROT_BYTES / max(bytes_per_set, 1)))))


def mk_gemm(dtype, m, k, n):
    def build():
        bf = torch.bfloat16
        wbytes = {"bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "tf32": 4, "tf32on": 4, "fp32": 4}[dtype] * (n * k + m * k)
        nc = rot(wbytes, 1, 16)
        if dtype in ("bf16", "fp16", "tf32", "fp32"):
            dt = {"bf16": bf, "fp16": torch.float16, "tf32": torch.float32, "fp32": torch.float32}[dtype]
            xs = [torch.randn(m, k, device="cuda", dtype=dt) for _ in range(nc)]
            ws = [torch.randn(n, k, device="cuda", dtype=dt) / math.sqrt(k) for _ in range(nc)]
            fns = [(lambda x=x, w=w: torch.matmul(x, w.t())) for x, w in zip(xs, ws)]
        elif dtype == "tf32on":  # the first run's "tf32" case ran without allow_tf32: plain fp32 FFMA
            torch.backends.cuda.matmul.allow_tf32 = True
            xs = [torch.randn(m, k, device="cuda") for _ in range(nc)]
            ws = [torch.randn(n, k, device="cuda") / math.sqrt(k) for _ in range(nc)]
            fns = [(lambda x=x, w=w: torch.matmul(x, w.t())) for x, w in zip(xs, ws)]
        elif dtype == "fp8":
            e4 = torch.float8_e4m3fn
            xs = [torch.randn(m, k, device="cuda").to(e4) for _ in range(nc)]
            ws = [torch.randn(n, k, device="cuda").to(e4) for _ in range(nc)]
            one = torch.ones((), device="cuda")
            fns = [(lambda x=x, w=w: torch._scaled_mm(x, w.t(), scale_a=one, scale_b=one, out_dtype=bf))
                   for x, w in zip(xs, ws)]
        elif dtype == "int8":
            xs = [torch.randint(-127, 128, (m, k), device="cuda", dtype=torch.int8) for _ in range(nc)]
            ws = [torch.randint(-127, 128, (n, k), device="cuda", dtype=torch.int8) for _ in range(nc)]
            fns = [(lambda x=x, w=w: torch._int_mm(x, w.t())) for x, w in zip(xs, ws)]
        esz = {"bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "tf32": 4, "tf32on": 4, "fp32": 4}[dtype]
        osz = {"int8": 4, "fp8": 2}.get(dtype, esz)
        return fns, dict(flops=2 * m * k * n, bytes_min=esz * (m * k + n * k) + osz * m * n, rot_copies=nc)
    return build


def mk_copy(nbytes, rotate=True):
    """dst.copy_(src) of nbytes; rotate=False: one pair, copied again and again (its 2 x nbytes
    stay in L2 between calls when they fit)."""
    def build():
        n = nbytes // 2
        nc = rot(2 * nbytes, 1, 16) if rotate else 1
        srcs = [torch.randn(n, device="cuda", dtype=torch.bfloat16) for _ in range(nc)]
        dsts = [torch.empty_like(s) for s in srcs]
        return [(lambda s=s, d=d: d.copy_(s)) for s, d in zip(srcs, dsts)], dict(bytes_min=2 * nbytes, rot_copies=nc)
    return build


def mk_copy_chunks(nbytes, chunks):
    """One nbytes pair copied as `chunks` cudaMemcpy calls of nbytes/chunks each (dst[i].copy_(src[i])
    over slices): the same footprint as one copy of nbytes, in smaller calls."""
    def build():
        n = nbytes // 2
        s = torch.randn(n, device="cuda", dtype=torch.bfloat16)
        d = torch.empty_like(s)
        ss, ds = s.chunk(chunks), d.chunk(chunks)

        def fn():
            for a, b in zip(ss, ds):
                b.copy_(a)
        return [fn], dict(bytes_min=2 * nbytes, rot_copies=1)
    return build


def mk_copy_kernel(nbytes):
    """torch.neg(src, out=dst): an SM kernel (vectorized_elementwise_kernel) that reads nbytes and
    writes nbytes, as a copy does, where cudaMemcpy is not used."""
    def build():
        n = nbytes // 2
        nc = rot(2 * nbytes, 1, 16)
        srcs = [torch.randn(n, device="cuda", dtype=torch.bfloat16) for _ in range(nc)]
        dsts = [torch.empty_like(x) for x in srcs]
        return [(lambda s=s, d=d: torch.neg(s, out=d)) for s, d in zip(srcs, dsts)], dict(bytes_min=2 * nbytes, rot_copies=nc)
    return build


def mk_read(nbytes):
    def build():
        n = nbytes // 4
        nc = rot(nbytes, 1, 16)
        xs = [torch.randn(n, device="cuda") for _ in range(nc)]
        return [(lambda x=x: x.sum()) for x in xs], dict(bytes_min=nbytes, rot_copies=nc)
    return build


def mk_fill(nbytes):
    def build():
        n = nbytes // 4
        nc = rot(nbytes, 1, 16)
        xs = [torch.empty(n, device="cuda") for _ in range(nc)]
        return [(lambda x=x: x.fill_(1.25)) for x in xs], dict(bytes_min=nbytes, rot_copies=nc)
    return build


def mk_ew(op, t, h):
    def build():
        bf = torch.bfloat16
        if op == "add":
            per = 3 * t * h * 2
            nc = rot(per, 1, 64)
            ab = [(torch.randn(t, h, device="cuda", dtype=bf), torch.randn(t, h, device="cuda", dtype=bf)) for _ in range(nc)]
            fns = [(lambda a=a, b=b: a + b) for a, b in ab]
        elif op == "silu_mul":  # eager: F.silu on the strided gate half, times the up half
            per = 3 * t * h * 2
            nc = rot(per, 1, 64)
            xs = [torch.randn(t, 2 * h, device="cuda", dtype=bf) for _ in range(nc)]
            fns = [(lambda x=x: F.silu(x[:, :h]) * x[:, h:]) for x in xs]
        elif op == "gelu":
            per = 2 * t * h * 2
            nc = rot(per, 1, 64)
            xs = [torch.randn(t, h, device="cuda", dtype=bf) for _ in range(nc)]
            fns = [(lambda x=x: F.gelu(x, approximate="tanh")) for x in xs]
        elif op == "rmsnorm":  # F.rms_norm (PyTorch's own)
            per = 2 * t * h * 2
            nc = rot(per, 1, 64)
            xs = [torch.randn(t, h, device="cuda", dtype=bf) for _ in range(nc)]
            w = torch.ones(h, device="cuda", dtype=bf)
            fns = [(lambda x=x: F.rms_norm(x, (h,), w, 1e-6)) for x in xs]
        elif op == "gelu_l2":  # no rotation: input + output of t*h bf16 each, again and again
            per = 2 * t * h * 2
            nc = 1
            x = torch.randn(t, h, device="cuda", dtype=bf)
            fns = [lambda: F.gelu(x, approximate="tanh")]
        elif op == "silu_mul_l2":  # eager SiLU-mul, no rotation: x [t, 2h] and the outputs stay in L2
            per = 3 * t * h * 2
            nc = 1
            x = torch.randn(t, 2 * h, device="cuda", dtype=bf)
            fns = [lambda: F.silu(x[:, :h]) * x[:, h:]]
        elif op == "rmsnorm_l2":  # F.rms_norm, no rotation
            per = 2 * t * h * 2
            nc = 1
            x = torch.randn(t, h, device="cuda", dtype=bf)
            w = torch.ones(h, device="cuda", dtype=bf)
            fns = [lambda: F.rms_norm(x, (h,), w, 1e-6)]
        elif op == "add_l2":  # L2-resident: no rotation, 2 inputs + output of t*h bf16 each
            per = 3 * t * h * 2
            nc = 1
            a = torch.randn(t, h, device="cuda", dtype=bf)
            b = torch.randn(t, h, device="cuda", dtype=bf)
            fns = [lambda: a + b]
        return fns, dict(bytes_min=per, rot_copies=nc)
    return build


def mk_attn(phase, b, nh, kvh, q, kv):
    def build():
        bf = torch.bfloat16
        hd = 128
        per = 2 * (b * nh * q * hd) + 2 * 2 * (b * kvh * kv * hd)
        nc = rot(per, 1, 16)
        sets = [(torch.randn(b, nh, q, hd, device="cuda", dtype=bf), torch.randn(b, kvh, kv, hd, device="cuda", dtype=bf),
                 torch.randn(b, kvh, kv, hd, device="cuda", dtype=bf)) for _ in range(nc)]
        causal = phase == "prefill"
        gqa = kvh != nh
        fns = [(lambda s=s: F.scaled_dot_product_attention(s[0], s[1], s[2], is_causal=causal, enable_gqa=gqa))
               for s in sets]
        fl = 4 * b * nh * hd * q * kv // (2 if causal else 1)
        return fns, dict(flops=fl, bytes_min=per, rot_copies=nc)
    return build


# llama-style full decoder: measure_kernels.e2e_layer (Triton rmsnorm, cuBLAS projections, torch
# RoPE, SDPA flash, Triton silu_mul) for every layer, then a final rmsnorm and the LM head.
MODELS = {"llama2-7b": (4096, 11008, 32, 32, 32), "llama2-13b": (5120, 13824, 40, 40, 40),
          "mistral-7b": (4096, 14336, 32, 8, 32),  # GQA 32/8; vocab 32000 as llama2's
          "llama3-8b": (4096, 14336, 32, 8, 32)}  # GQA 32/8, vocab 128256 (configs/models/llama3-8b.yaml)
VOCAB = 32000
VOCABS = {"llama3-8b": 128256}  # the LM head's width where it is not VOCAB


class Model:
    def __init__(self, name, layers):
        bf = torch.bfloat16
        H, I, NH, KV, L = MODELS[name]
        self.name, self.L = name, layers
        mk.E2E_MODELS[name] = (H, I, NH, KV)
        self.w = mk.e2e_weights(name, layers)
        self.gf = torch.ones(H, device="cuda", dtype=bf)
        self.lm = torch.randn(VOCABS.get(name, VOCAB), H, device="cuda", dtype=bf) / math.sqrt(H)
        self.params = sum(t.numel() for p in self.w for t in p.values()) + self.lm.numel()

    def step_fn(self, phase, B, S, ctx):
        bf = torch.bfloat16
        H, I, NH, KV, _ = MODELS[self.name]
        x0 = torch.randn(B * S, H, device="cuda", dtype=bf)
        pos = torch.arange(ctx, ctx + S, device="cuda")
        cos, sin = mk.rope_tables(pos)
        caches = None
        if phase == "decode":
            caches = [(torch.randn(B, KV, ctx + S, 128, device="cuda", dtype=bf),
                       torch.randn(B, KV, ctx + S, 128, device="cuda", dtype=bf)) for _ in range(self.L)]

        def fwd():
            x = x0
            for i, p in enumerate(self.w):
                x = mk.e2e_layer(self.name, x, p, B, S, cos, sin, caches[i] if caches else None, ctx)
            if phase == "prefill":
                x = x.view(B, S, H)[:, -1]
            return mk.rmsnorm(x.contiguous(), self.gf) @ self.lm.t()
        toks = B * S
        fl = 2 * self.params * toks  # weights only; attention adds below
        fl += self.L * 4 * B * NH * 128 * S * (ctx + S) // (1 if phase == "decode" else 2)
        kvb = self.L * 2 * B * KV * (ctx + S) * 128 * 2 if phase == "decode" else 0
        return [fwd], dict(flops=fl, bytes_min=2 * self.params + kvb, rot_copies=1, tokens=toks), caches


def plan_ho2():
    """The second hold-out (ho2_*, split_energy: holdout) and a third calibration set (cal3_*),
    planned 2026-12-03 ~18:00 UTC after the first hold-out was read, committed before measuring.
    cal3: where a buffer copied again and again stops staying in the 60 MiB L2 (footprints 48 and
    80 MiB; the first run's 16 MiB copy has 32 MiB), and tanh GELU on operands that stay in L2
    (its arithmetic rate without HBM). ho2: shapes, dtypes and a model that no calibration row
    has: an fp16 GEMM, bf16/fp8 GEMMs of new shapes, a skinny GEMM and a GEMV, copies in L2 and
    from HBM, elementwise kernels of new shapes (in L2 and from HBM), mistral-7b (GQA 32/8, a
    model never measured) decode and prefill, and llama2-7b at new batch/context points."""
    P = []
    for nb in (24, 40):
        P.append(("memory", f"cal3_copy_d2d_{nb}MiB_l2", mk_copy(nb * MiB, rotate=False),
                  dict(dtype="bf16", bytes=nb * MiB)))
    P.append(("elementwise", "cal3_ew_gelu_l2_1024x4096", mk_ew("gelu_l2", 1024, 4096),
              dict(dtype="bf16", M=1024, N=4096)))
    for d, m, k, n in [("fp16", 4096, 4096, 4096), ("bf16", 3072, 4096, 12288), ("fp8", 4096, 8192, 8192),
                       ("bf16", 128, 4096, 14336)]:
        P.append(("gemm", f"ho2_gemm_{d}_{m}x{k}x{n}", mk_gemm(d, m, k, n), dict(dtype=d, M=m, K=k, N=n)))
    P.append(("gemv", "ho2_gemv_bf16_8x4096x14336", mk_gemm("bf16", 8, 4096, 14336),
              dict(dtype="bf16", M=8, K=4096, N=14336)))
    P.append(("memory", "ho2_copy_d2d_4MiB_l2", mk_copy(4 * MiB, rotate=False), dict(dtype="bf16", bytes=4 * MiB)))
    P.append(("memory", "ho2_copy_d2d_64MiB", mk_copy(64 * MiB), dict(dtype="bf16", bytes=64 * MiB)))
    for op, t, h in [("gelu", 8192, 14336), ("add", 8192, 11008), ("add_l2", 1024, 4096), ("silu_mul", 4096, 14336)]:
        P.append(("elementwise", f"ho2_ew_{op}_{t}x{h}", mk_ew(op, t, h), dict(dtype="bf16", M=t, N=h)))
    for model, ph, B, S, ctx in [("mistral-7b", "decode", 1, 1, 2048), ("mistral-7b", "decode", 32, 1, 2048),
                                 ("mistral-7b", "prefill", 1, 1024, 0), ("llama2-7b", "decode", 12, 1, 1536),
                                 ("llama2-7b", "prefill", 2, 768, 0)]:
        P.append((f"model:{model}", f"ho2_{model}_{ph}_b{B}_s{S}_ctx{ctx}", None,
                  dict(dtype="bf16", model=model, phase=ph, B=B, q_len=S, kv_len=ctx + S)))
    return P


def plan_ho3():
    """The third hold-out (ho3_*, split_energy: holdout) and a fourth calibration set (cal4_*),
    planned 2026-12-03 ~18:45 UTC after ho2 was read, committed before measuring.
    cal4 (mechanisms): where the device-to-device memcpy slows from ~4.2 to ~2.8 TB/s (a 512 MiB
    memcpy; 1 GiB copied as 4 memcpy calls of 256 MiB, the same footprint in smaller calls; 1 GiB
    read and written by an SM kernel, torch.neg, the same footprint without cudaMemcpy), and the
    rate of eager SiLU-mul, F.rms_norm and `a + b` on operands that stay in L2 (no HBM).
    ho3: sizes and shapes no row has: copies of 8 MiB (L2), 128 MiB and 2 GiB, eager SiLU-mul,
    `a + b` in L2 and from HBM, F.rms_norm, GEMMs that reach the cap and that do not, fp8, a
    GEMV, and llama3-8b (never measured: GQA 32/8, a 128256-wide LM head) decode and prefill."""
    P = [("memory", "cal4_copy_d2d_512MiB", mk_copy(512 * MiB), dict(dtype="bf16", bytes=512 * MiB)),
         ("memory", "cal4_copy_d2d_1GiB_chunks4", mk_copy_chunks(GiB, 4), dict(dtype="bf16", bytes=GiB)),
         ("memory", "cal4_copy_neg_1GiB", mk_copy_kernel(GiB), dict(dtype="bf16", bytes=GiB))]
    for op, t, h in [("silu_mul_l2", 256, 11008), ("rmsnorm_l2", 1024, 4096), ("add_l2", 128, 4096)]:
        P.append(("elementwise", f"cal4_ew_{op}_{t}x{h}", mk_ew(op, t, h), dict(dtype="bf16", M=t, N=h)))
    P.append(("memory", "ho3_copy_d2d_8MiB_l2", mk_copy(8 * MiB, rotate=False), dict(dtype="bf16", bytes=8 * MiB)))
    for nb, nm in [(128 * MiB, "128MiB"), (2 * GiB, "2GiB")]:
        P.append(("memory", f"ho3_copy_d2d_{nm}", mk_copy(nb), dict(dtype="bf16", bytes=nb)))
    for op, t, h in [("silu_mul", 8192, 5504), ("add_l2", 768, 4096), ("rmsnorm", 8192, 5120), ("add", 4096, 14336)]:
        P.append(("elementwise", f"ho3_ew_{op}_{t}x{h}", mk_ew(op, t, h), dict(dtype="bf16", M=t, N=h)))
    for d, m, k, n in [("bf16", 6144, 6144, 6144), ("bf16", 256, 5120, 13824), ("bf16", 768, 768, 768),
                       ("fp8", 2048, 4096, 14336)]:
        P.append(("gemm", f"ho3_gemm_{d}_{m}x{k}x{n}", mk_gemm(d, m, k, n), dict(dtype=d, M=m, K=k, N=n)))
    P.append(("gemv", "ho3_gemv_bf16_1x5120x13824", mk_gemm("bf16", 1, 5120, 13824),
              dict(dtype="bf16", M=1, K=5120, N=13824)))
    for ph, B, S, ctx in [("decode", 8, 1, 3072), ("prefill", 1, 1536, 0)]:
        P.append(("model:llama3-8b", f"ho3_llama3-8b_{ph}_b{B}_s{S}_ctx{ctx}", None,
                  dict(dtype="bf16", model="llama3-8b", phase=ph, B=B, q_len=S, kv_len=ctx + S)))
    return P


def plan_ho4():
    """The fourth hold-out (ho4_*, split_energy: holdout) and a fifth calibration set (cal5_*),
    planned 2026-12-03 ~21:30 UTC after ho3 was read, committed before measuring.
    cal5 (mechanism): where the per-call size of a device-to-device memcpy switches it to the slow
    path (measured fast at 256 MiB, slow at 512 MiB): copies of 320 and 448 MiB.
    ho4: shapes, sizes and points no row has: bf16 GEMMs at the cap (5120x5120x20480), skinny at
    the cap (384x4096x11008) and under it (M=32: 32x5120x13824), a small one (1536^3), fp8
    3072x3072x12288, int8 2048x8192x4096, tf32 (allow_tf32) 4096^3; a GEMV 1x8192x8192; copies of
    1.5 GiB, 96 MiB and 12 MiB not rotated (L2); eager SiLU-mul 2048x13824, `a + b` 640x4096 not
    rotated (L2) and 12288x5120 (HBM), tanh GELU 6144x11008, F.rms_norm 4096x8192; SDPA prefill
    (GQA 32/8, B=2, 3072 tokens); llama2-13b decode b24 ctx1536 and prefill b2 s1024 (batch and
    context points no row has)."""
    P = []
    for nb in (320, 448):
        P.append(("memory", f"cal5_copy_d2d_{nb}MiB", mk_copy(nb * MiB), dict(dtype="bf16", bytes=nb * MiB)))
    for d, m, k, n in [("bf16", 5120, 5120, 20480), ("bf16", 384, 4096, 11008), ("bf16", 32, 5120, 13824),
                       ("bf16", 1536, 1536, 1536), ("fp8", 3072, 3072, 12288), ("int8", 2048, 8192, 4096),
                       ("tf32on", 4096, 4096, 4096)]:
        P.append(("gemm", f"ho4_gemm_{d}_{m}x{k}x{n}", mk_gemm(d, m, k, n),
                  dict(dtype="tf32" if d == "tf32on" else d, M=m, K=k, N=n)))
    P.append(("gemv", "ho4_gemv_bf16_1x8192x8192", mk_gemm("bf16", 1, 8192, 8192), dict(dtype="bf16", M=1, K=8192, N=8192)))
    P.append(("memory", "ho4_copy_d2d_1536MiB", mk_copy(1536 * MiB), dict(dtype="bf16", bytes=1536 * MiB)))
    P.append(("memory", "ho4_copy_d2d_96MiB", mk_copy(96 * MiB), dict(dtype="bf16", bytes=96 * MiB)))
    P.append(("memory", "ho4_copy_d2d_12MiB_l2", mk_copy(12 * MiB, rotate=False), dict(dtype="bf16", bytes=12 * MiB)))
    for op, t, h in [("silu_mul", 2048, 13824), ("add_l2", 640, 4096), ("add", 12288, 5120), ("gelu", 6144, 11008),
                     ("rmsnorm", 4096, 8192)]:
        P.append(("elementwise", f"ho4_ew_{op}_{t}x{h}", mk_ew(op, t, h), dict(dtype="bf16", M=t, N=h)))
    P.append(("attention", "ho4_sdpa_prefill_b2_h32kv8_q3072_kv3072", mk_attn("prefill", 2, 32, 8, 3072, 3072),
              dict(dtype="bf16", B=2, heads=32, kv_heads=8, q_len=3072, kv_len=3072, phase="prefill")))
    for ph, B, S, ctx in [("decode", 24, 1, 1536), ("prefill", 2, 1024, 0)]:
        P.append(("model:llama2-13b", f"ho4_llama2-13b_{ph}_b{B}_s{S}_ctx{ctx}", None,
                  dict(dtype="bf16", model="llama2-13b", phase=ph, B=B, q_len=S, kv_len=ctx + S)))
    return P


# ---------------------------------------------------------------------------------------
def plan(quick):
    """(group, case, builder, meta). The case name is the split key."""
    P = []
    for d, m, k, n in [("bf16", 8192, 8192, 8192), ("bf16", 16384, 8192, 8192), ("bf16", 4096, 4096, 4096),
                       ("bf16", 2048, 2048, 2048), ("bf16", 1024, 1024, 1024),
                       ("bf16", 2048, 4096, 22016), ("bf16", 512, 11008, 4096),
                       ("fp8", 8192, 8192, 8192), ("fp8", 4096, 4096, 4096),
                       ("int8", 8192, 8192, 8192), ("int8", 4096, 4096, 4096),
                       ("tf32", 8192, 8192, 8192), ("fp32", 4096, 4096, 4096)]:
        P.append(("gemm", f"gemm_{d}_{m}x{k}x{n}", mk_gemm(d, m, k, n), dict(dtype=d, M=m, K=k, N=n)))
    for m, k, n in [(1, 4096, 4096), (1, 4096, 22016), (1, 11008, 4096), (16, 4096, 22016), (64, 8192, 28672)]:
        P.append(("gemv", f"gemv_bf16_{m}x{k}x{n}", mk_gemm("bf16", m, k, n), dict(dtype="bf16", M=m, K=k, N=n)))
    for nb, nm in [(256 * MiB, "256MiB"), (GiB, "1GiB"), (4 * GiB, "4GiB")]:
        P.append(("memory", f"copy_d2d_{nm}", mk_copy(nb), dict(dtype="bf16", bytes=nb)))
    P.append(("memory", "read_sum_fp32_1GiB", mk_read(GiB), dict(dtype="fp32", bytes=GiB)))
    P.append(("memory", "fill_fp32_1GiB", mk_fill(GiB), dict(dtype="fp32", bytes=GiB)))
    P.append(("memory", "copy_d2d_16MiB_l2", lambda: (lambda f: (f[0][:1], dict(f[1], rot_copies=1)))(mk_copy(16 * MiB)()),
              dict(dtype="bf16", bytes=16 * MiB)))
    for op, t, h in [("add", 16384, 4096), ("silu_mul", 16384, 11008), ("gelu", 16384, 16384),
                     ("rmsnorm", 16384, 4096), ("add_l2", 512, 4096)]:
        P.append(("elementwise", f"ew_{op}_{t}x{h}", mk_ew(op, t, h), dict(dtype="bf16", M=t, N=h)))
    for ph, b, nh, kvh, q, kv in [("prefill", 1, 32, 32, 4096, 4096), ("prefill", 8, 32, 8, 2048, 2048),
                                  ("decode", 16, 32, 32, 1, 4096), ("decode", 64, 32, 8, 1, 2048)]:
        P.append(("attention", f"sdpa_{ph}_b{b}_h{nh}kv{kvh}_q{q}_kv{kv}", mk_attn(ph, b, nh, kvh, q, kv),
                  dict(dtype="bf16", B=b, heads=nh, kv_heads=kvh, q_len=q, kv_len=kv, phase=ph)))
    for model in MODELS:
        for ph, B, S, ctx in [("decode", 1, 1, 1024), ("decode", 4, 1, 1024), ("decode", 16, 1, 1024),
                              ("decode", 64, 1, 1024), ("prefill", 1, 512, 0), ("prefill", 1, 2048, 0)]:
            P.append((f"model:{model}", f"{model}_{ph}_b{B}_s{S}_ctx{ctx}", None,
                      dict(dtype="bf16", model=model, phase=ph, B=B, q_len=S, kv_len=ctx + S)))
    if quick:
        keep = {"gemm_bf16_8192x8192x8192", "gemm_fp8_4096x4096x4096", "gemm_int8_4096x4096x4096",
                "gemv_bf16_1x4096x4096", "copy_d2d_1GiB", "copy_d2d_16MiB_l2", "ew_silu_mul_16384x11008",
                "sdpa_decode_b16_h32kv32_q1_kv4096", "llama2-7b_decode_b1_s1_ctx1024",
                "llama2-7b_prefill_b1_s512_ctx0", "llama2-13b_decode_b4_s1_ctx1024"}
        P = [p for p in P if p[1] in keep]
    return P


def plan_cal2():
    """A second set, all calibration (split_energy: cal2_*), planned after the first run: whole
    decode steps (the first run's llama2-7b decode rows all hashed to hold-out) and a real tf32 GEMM."""
    P = [("gemm", "cal2_gemm_tf32on_8192x8192x8192", mk_gemm("tf32on", 8192, 8192, 8192),
          dict(dtype="tf32", M=8192, K=8192, N=8192))]
    for B, ctx in [(2, 1024), (8, 1024), (32, 1024), (16, 4096), (1, 4096), (64, 512), (4, 2048)]:
        P.append(("model:llama2-7b", f"cal2_llama2-7b_decode_b{B}_s1_ctx{ctx}", None,
                  dict(dtype="bf16", model="llama2-7b", phase="decode", B=B, q_len=1, kv_len=ctx + 1)))
    # a prefill length between the first run's 512 and 2048, and a batched prefill
    for B, S in [(1, 1024), (4, 512)]:
        P.append(("model:llama2-7b", f"cal2_llama2-7b_prefill_b{B}_s{S}_ctx0", None,
                  dict(dtype="bf16", model="llama2-7b", phase="prefill", B=B, q_len=S, kv_len=S)))
    return P


def emit(out, args, case, group, rep, meta, info, n_per_replay, t_est_ms, replays, gpu_ms, host_s, e_j, win,
         kn, temp0, temp1, pstate, tick=(None, 0)):
    iters = replays * n_per_replay
    t_iter = gpu_ms / iters if iters else 0.0
    p_tick, n_ticks = tick
    # energy per iteration: the step-aligned average power times the GPU time per iteration
    # (the GPU is busy for the whole window); the raw counter difference is kept as well
    p_use = p_tick if p_tick is not None else e_j / host_s
    row = dict(kind="energy", case=case, group=group.split(":")[0], rep=rep,
               dtype=meta.get("dtype", ""), M=meta.get("M", ""), K=meta.get("K", ""), N=meta.get("N", ""),
               model=meta.get("model", ""), phase=meta.get("phase", ""), B=meta.get("B", ""),
               heads=meta.get("heads", ""), kv_heads=meta.get("kv_heads", ""),
               q_len=meta.get("q_len", ""), kv_len=meta.get("kv_len", ""),
               layers=info.get("layers", ""), tokens_per_iter=info.get("tokens", ""),
               flops_per_iter=info.get("flops", ""), bytes_min_per_iter=info.get("bytes_min", ""),
               rot_copies=info.get("rot_copies", ""), calls_per_replay=n_per_replay, replays=replays, iters=iters,
               window_host_s=f"{host_s:.4f}", window_gpu_ms=f"{gpu_ms:.3f}",
               time_per_iter_ms=f"{t_iter:.6g}" if iters else "",
               energy_per_iter_mj=f"{p_use * t_iter:.6g}" if iters else "",
               avg_power_w=f"{p_use:.2f}", counter_steps=n_ticks,
               energy_counter_raw_j=f"{e_j:.4f}", avg_power_raw_w=f"{e_j / host_s:.2f}",
               energy_per_iter_raw_mj=f"{e_j * 1e3 / iters:.6g}" if iters else "",
               tflops=f"{info['flops'] / t_iter / 1e9:.2f}" if iters and info.get("flops") else "",
               gbps=f"{info['bytes_min'] / t_iter / 1e6:.1f}" if iters and info.get("bytes_min") else "",
               samples=win.get("samples", 0),
               sm_clk_mean_mhz=win.get("sm_clk_mean_mhz", ""), sm_clk_min_mhz=win.get("sm_clk_min_mhz", ""),
               sm_clk_max_mhz=win.get("sm_clk_max_mhz", ""), mem_clk_mean_mhz=win.get("mem_clk_mean_mhz", ""),
               power_sampled_mean_w=win.get("power_sampled_mean_w", ""),
               power_sampled_max_w=win.get("power_sampled_max_w", ""),
               power_instant_mean_w=win.get("power_instant_mean_w", ""),
               frac_sw_power_cap=win.get("frac_sw_power_cap", ""), frac_hw_slowdown=win.get("frac_hw_slowdown", ""),
               power_limit_w=f"{args.power_limit_w:.0f}", temp_start_c=temp0, temp_end_c=temp1, pstate=pstate,
               n_kernels_per_iter=kn[0] if kn else "", kernels=kn[1] if kn else "",
               date_utc=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               card=args.card, driver=args.driver, torch=torch.__version__, script="validation/gpu/energy/measure_energy.py")
    row["set"] = SPLIT.assign(case, row["model"])
    out.row(row["set"], row)
    if row["set"] == "calibration":
        out.log(f"  {case} rep{rep}: {row['time_per_iter_ms']} ms/iter, {row['energy_per_iter_mj']} mJ/iter, "
                f"{row['avg_power_w']} W (sampled {row['power_sampled_mean_w']}), SM {row['sm_clk_mean_mhz']} MHz "
                f"(min {row['sm_clk_min_mhz']}), capfrac {row['frac_sw_power_cap']}, {row['tflops']} TFLOP/s {row['gbps']} GB/s")
    else:
        out.log(f"  {case} rep{rep}: hold-out row written")


def temp():
    try:
        return pynvml.nvmlDeviceGetTemperature(NV, pynvml.NVML_TEMPERATURE_GPU)
    except Exception:
        return ""


def pstate_now():
    try:
        return pynvml.nvmlDeviceGetPerformanceState(NV)
    except Exception:
        return ""


def measure(out, args, sampler, case, group, rep, meta, fns, info, want_names):
    global TICKS
    g, n, t_est = graph_of(fns, args.replay_ms, args.max_calls)
    kn = kernel_names(fns[0]) if want_names else None
    run_window(g, args.warm_s)
    t0c = temp()
    torch.cuda.synchronize()
    e0 = nv_energy_mj()
    ts = time.perf_counter()
    replays, gpu_ms, host_s = run_window(g, args.window_s)
    e1 = nv_energy_mj()
    te = time.perf_counter()
    win = sampler.window(ts, te)
    emit(out, args, case, group, rep, meta, info, n, t_est, replays, gpu_ms, te - ts, (e1 - e0) / 1e3, win, kn,
         t0c, temp(), pstate_now(), TICKS.power(ts, te))
    del g


def idle(out, args, sampler, case, rep):
    torch.cuda.synchronize()
    t0c = temp()
    e0 = nv_energy_mj()
    ts = time.perf_counter()
    time.sleep(args.window_s)
    e1 = nv_energy_mj()
    te = time.perf_counter()
    win = sampler.window(ts, te)
    emit(out, args, case, "idle", rep, dict(), dict(), 0, 0, 0, 0.0, te - ts, (e1 - e0) / 1e3, win, None,
         t0c, temp(), pstate_now(), TICKS.power(ts, te))


def free():
    import gc
    gc.collect()
    torch.cuda.empty_cache()


def main():
    global torch, F, mk, pynvml, NV
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--window-s", type=float, default=3.0)
    ap.add_argument("--warm-s", type=float, default=0.4)
    ap.add_argument("--replay-ms", type=float, default=30.0, help="GPU time of one graph replay")
    ap.add_argument("--max-calls", type=int, default=8000)
    ap.add_argument("--sample-ms", type=float, default=10.0)
    ap.add_argument("--budget-s", type=float, default=0)
    ap.add_argument("--plan", default="main", choices=["main", "cal2", "ho2", "ho3", "ho4"])
    ap.add_argument("--groups", default="", help="comma list of groups to run (default all)")
    ap.add_argument("--prefix", default="", help="run only the plan's cases whose name starts with one of these "
                                                  "(comma list, e.g. cal4_copy,ho3_)")
    ap.add_argument("--no-idle", action="store_true", help="skip the idle rows")
    ap.add_argument("--layers", type=int, default=0, help="decoder layers (0: the model's full count)")
    args = ap.parse_args()
    if args.quick:
        args.window_s, args.warm_s = min(args.window_s, 0.4), min(args.warm_s, 0.1)
    import torch as _t
    import torch.nn.functional as _F
    import pynvml as _nv
    torch, F, pynvml = _t, _F, _nv
    import measure_kernels as _mk
    mk = _mk
    mk.import_gpu()
    mk.build_triton()
    pynvml.nvmlInit()
    NV = pynvml.nvmlDeviceGetHandleByIndex(0)
    T0 = time.time()
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "_energy"
    out = Out(args.out, run_id)
    p = torch.cuda.get_device_properties(0)
    args.card = p.name
    args.driver = pynvml.nvmlSystemGetDriverVersion()
    args.driver = args.driver.decode() if isinstance(args.driver, bytes) else args.driver
    args.power_limit_w = pynvml.nvmlDeviceGetEnforcedPowerLimit(NV) / 1000.0
    E = out.env
    E("date_utc", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    E("command", " ".join(sys.argv))
    E("script", "validation/gpu/energy/measure_energy.py")
    E("gpu_name", p.name)
    E("sm_count", p.multi_processor_count)
    E("l2_cache_bytes", getattr(p, "L2_cache_size", ""))
    E("driver", args.driver)
    E("torch", torch.__version__)
    E("torch_cuda", torch.version.cuda)
    E("cudnn", torch.backends.cudnn.version())
    E("nvml_py", getattr(pynvml, "__version__", "nvidia-ml-py"))
    E("power_limit_enforced_w", args.power_limit_w)
    for k, fn in [("power_limit_default_w", "nvmlDeviceGetPowerManagementDefaultLimit"),
                  ("power_limit_w", "nvmlDeviceGetPowerManagementLimit")]:
        try:
            E(k, getattr(pynvml, fn)(NV) / 1000.0)
        except Exception as e:
            E(k, f"n/a {type(e).__name__}")
    try:
        c = pynvml.nvmlDeviceGetPowerManagementLimitConstraints(NV)
        E("power_limit_constraints_w", f"{c[0] / 1000:.0f}..{c[1] / 1000:.0f}")
    except Exception:
        pass
    for k, clk in [("max_sm_clock_mhz", pynvml.NVML_CLOCK_SM), ("max_mem_clock_mhz", pynvml.NVML_CLOCK_MEM)]:
        try:
            E(k, pynvml.nvmlDeviceGetMaxClockInfo(NV, clk))
        except Exception:
            pass
    try:
        E("app_sm_clock_mhz", pynvml.nvmlDeviceGetApplicationsClock(NV, pynvml.NVML_CLOCK_SM))
    except Exception:
        pass
    E("timing", f"window_s={args.window_s} warm_s={args.warm_s} replay_ms={args.replay_ms} "
                f"sample_ms={args.sample_ms} rot_bytes={ROT_BYTES}")
    try:
        r = subprocess.run(["nvidia-smi", "-q", "-d", "POWER,CLOCK,PERFORMANCE,TEMPERATURE"], capture_output=True,
                           text=True, timeout=30)
        with open(os.path.join(args.out, "nvidia-smi-start.txt"), "w") as f:
            f.write(r.stdout)
    except Exception:
        pass
    counter_tick_ms(out)
    out.log(f"{p.name} driver {args.driver} torch {torch.__version__} power limit {args.power_limit_w} W")
    # correctness: a bf16 GEMM against float64 (the graph path is the same call)
    a = torch.randn(512, 512, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(512, 512, device="cuda", dtype=torch.bfloat16)
    E("check_relerr.bf16_gemm", f"{mk.relerr(a @ b.t(), a.double() @ b.double().t()):.2e}")
    sampler = Sampler(args.sample_ms / 1e3)
    global TICKS
    TICKS = EnergyTicks()
    P = {"cal2": plan_cal2, "ho2": plan_ho2, "ho3": plan_ho3, "ho4": plan_ho4}.get(args.plan, lambda: plan(args.quick))()
    if args.prefix:
        P = [c for c in P if c[1].startswith(tuple(args.prefix.split(",")))]
    groups = []
    for grp, case, b_, meta in P:
        if grp not in groups:
            groups.append(grp)
    if args.groups:
        wanted = args.groups.split(",")
        groups = [g for g in groups if g.split(":")[0] in wanted or g in wanted]
    for rep in (1, 2) if not args.no_idle else ():
        idle(out, args, sampler, "idle_start", rep)
    names_done = set()
    for grp in groups:
        cases = [c for c in P if c[0] == grp]
        model = None
        try:
            if grp.startswith("model:"):
                name = grp.split(":")[1]
                L = args.layers or MODELS[name][4]
                if args.quick:
                    L = 2
                t = time.time()
                model = Model(name, L)
                out.log(f"built {name}: {L} layers, {model.params / 1e9:.2f} B params (random, bf16) in {time.time() - t:.1f} s")
                E(f"model.{name}", f"{L} layers of measure_kernels.e2e_layer + final rmsnorm + LM head {VOCABS.get(name, VOCAB)}; "
                                   f"{model.params} params; distinct random weights per layer; no embedding")
            for rep in (1, 2):
                for grp_, case, builder, meta in cases:
                    if args.budget_s and time.time() - T0 > args.budget_s:
                        out.log(f"BUDGET: stopping before {case} rep{rep}")
                        raise StopIteration
                    try:
                        caches = None
                        if model is not None:
                            fns, info, caches = model.step_fn(meta["phase"], meta["B"], meta["q_len"],
                                                              meta["kv_len"] - meta["q_len"])
                            info["layers"] = model.L
                        else:
                            fns, info = builder()
                        measure(out, args, sampler, case, grp, rep, meta, fns, info, case not in names_done)
                        names_done.add(case)
                        del fns, caches
                    except StopIteration:
                        raise
                    except Exception as e:
                        out.log(f"FAIL {case} rep{rep}: {type(e).__name__}: {str(e)[:300]}")
                        traceback.print_exc()
                    free()
        except StopIteration:
            break
        finally:
            del model
            free()
    time.sleep(1.0)
    for rep in (1, 2) if not args.no_idle else ():
        idle(out, args, sampler, "idle_end", rep)
    sampler.stop()
    TICKS.stop()
    try:
        r = subprocess.run(["nvidia-smi", "-q", "-d", "POWER,CLOCK,PERFORMANCE,TEMPERATURE"], capture_output=True,
                           text=True, timeout=30)
        with open(os.path.join(args.out, "nvidia-smi-end.txt"), "w") as f:
            f.write(r.stdout)
    except Exception:
        pass
    out.env("total_seconds", f"{time.time() - T0:.1f}")
    out.log(f"total {time.time() - T0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
