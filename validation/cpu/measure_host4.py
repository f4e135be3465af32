#!/usr/bin/env python3
"""Fourth measurement of the GPU machine's host CPU (issue 13, plan "host4"): a measurement
method for a shared host whose speed drifts during a call. Written and split (split_cpu.py,
assign_host4) BEFORE anything was measured.

Why: in host3 the first GEMM shape ran within 8 % of host1 and later shapes up to 2.8x slower,
while the clock and DRAM probes moved 10 %. A model describes the uncontended machine; one call on
a shared instance sees it only part of the time. So:
  - every measured row (gemm, stream, diag, decoder) is visited 3 times, in 3 passes, each pass a
    fresh random permutation of all rows (seeded, the seed in env.csv): a slow period hits random
    rows of both sets instead of one shape;
  - each visit: one warm-up call, then calls until >= 0.03 s and >= 2 calls; the visit's median;
  - a reference block after every REF_EVERY (10) visits (kind cpu_ref, ref_calibration.csv): a fixed
    compute-bound GEMM (fp32 M=256 K=4096 N=4096, 16 threads, weights in the L3), a fixed
    bf16 GEMV (4096x12288, M=1, 16 threads, weights from DRAM) and a STREAM read (1 GiB,
    16 threads), best of 3 calls each, with the time and /proc/stat's steal since the last block;
  - per row: /proc/stat's cpu line before and after each visit: `steal_pct` = steal jiffies /
    all jiffies over the row's visits;
  - per row: `best_ms` = the lowest visit median (best of N = 3 visits: what a dedicated machine
    gives), `median_ms` = the median of all calls of all visits, `min_ms` the fastest call,
    `visit_ms` the visit medians in time order, `visits`, `ref_slow` = the reference GEMM's time in
    the blocks either side of the row's best visit over its best time in the whole call.
Decided before measuring: `xpusim validate` compares host4 rows with `best_ms` (the model
describes the uncontended machine; the best visit of 3 randomised visits is the closest this
shared instance comes to one; a visit median, not one call, so a single lucky call does not
decide). median_ms stays in the files.

Sections: instance (probe_cpu.c clocks and DRAM read, start and end), then one pool of rows:
  gemm: F.linear fp32 (MKL) / bf16 (oneDNN), torch._int_mm int8, weights [N, K] rotating over
    >= 1 GiB of copies. Calibration (re-measured): llama2-7b qkv, o, gate_up, down; gpt2 fc1.
    Hold-out (never measured in any CPU set): gpt2-medium qkv 1024x3072, fc1 1024x4096, fc2
    4096x1024; gpt2-xl qkv 1600x4800, fc1 1600x6400, fc2 6400x1600; opt-6.7b fc1 4096x16384,
    fc2 16384x4096. M 1, 4, 16, 64, 256, 512 at 16 threads; 1, 16, 128 at 4; 1, 16, 64 at 1.
  stream: torch copy, triad, read on 1 GiB arrays; threads 1, 4, 16 calibration, 3, 6, 10, 14
    hold-out.
  diag (calibration): per-core rate against active cores. scaling_l2 as host3 (M 512, K 1024,
    N 64 x T; fp32 at 1, 2, 4, 8, 12, 16 threads, bf16 and int8 at 1, 4, 16) and scaling_bmm
    (torch.bmm of T independent [512, 1024] x [1024, 64] products: each thread its own B, no
    shared panel) fp32 at 1, 2, 4, 8, 12, 16.
  decoder: measure_host2's eager decoder; calibration gpt2 and llama2-7b-2layer at 16 threads,
    hold-out gpt2-medium at 16 and 4 threads; fp32 and bf16; decode batch 1 and 4 at context
    128, prefill batch 1 at 32, 128, 512.
The log prints values of calibration rows only.

Usage: python3 measure_host4.py --out DIR [--budget-s S] [--tar FILE.tgz] [--plan]
  on the device: --out /tmp/h4 --tar $OUT/h4.tgz (one file comes back whole)
"""
import argparse
import datetime
import math
import os
import random
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import measure_cpu as MC  # noqa: E402
import measure_host2 as H2  # noqa: E402
import measure_host3 as H3  # noqa: E402
import split_cpu as SPLIT  # noqa: E402

MiB = 1 << 20
H2.ROT_BYTES = 1024 * MiB
SCRIPT = "validation/cpu/measure_host4.py"

CAL_SHAPES = H3.CAL_SHAPES
HOLD_SHAPES = [("gpt2-medium", "qkv", 1024, 3072), ("gpt2-medium", "fc1", 1024, 4096),
               ("gpt2-medium", "fc2", 4096, 1024), ("gpt2-xl", "qkv", 1600, 4800),
               ("gpt2-xl", "fc1", 1600, 6400), ("gpt2-xl", "fc2", 6400, 1600),
               ("opt-6.7b", "fc1", 4096, 16384), ("opt-6.7b", "fc2", 16384, 4096)]
GEMM_MS = {16: [1, 4, 16, 64, 256, 512], 4: [1, 16, 128], 1: [1, 16, 64]}
STREAM_THREADS = [1, 3, 4, 6, 10, 14, 16]
DEC_MODELS = dict(H2.DEC_MODELS)
DEC_MODELS["gpt2-medium"] = dict(layers=24, d=1024, heads=16, kv_heads=16, ffn=4096, vocab=50257,
                                 norm="layernorm", act="gelu", bias=True, learned_pos=True, max_pos=1024)
DEC_THREADS = {"gpt2": [16], "llama2-7b-2layer": [16], "gpt2-medium": [16, 4]}
DEC_POINTS = H3.DEC_POINTS
VISITS = 3
REF_EVERY = 10
VISIT_MIN_S = 0.03

torch = None


def plan_rows():
    rows = []
    for model, layer, k, n in CAL_SHAPES + HOLD_SHAPES:
        for dt in ("fp32", "bf16", "int8"):
            for t in (16, 4, 1):
                for m in GEMM_MS[t]:
                    rows.append(dict(kind="cpu_gemm", M=m, K=k, N=n, dtype=dt, threads=t, model=model, layer=layer))
    for t in STREAM_THREADS:
        for op in ("copy", "triad", "read"):
            rows.append(dict(kind="cpu_stream", op=op, bytes_per_array=1024 * MiB, threads=t))
    for t in (1, 2, 4, 8, 12, 16):
        rows.append(dict(kind="cpu_diag", test="scaling_l2", dtype="fp32", threads=t))
        rows.append(dict(kind="cpu_diag", test="scaling_bmm", dtype="fp32", threads=t))
    for dt in ("bf16", "int8"):
        for t in (1, 4, 16):
            rows.append(dict(kind="cpu_diag", test="scaling_l2", dtype=dt, threads=t))
    for name in DEC_MODELS:
        for dt in ("fp32", "bf16"):
            for t in DEC_THREADS[name]:
                for phase, tok, b in DEC_POINTS:
                    rows.append(dict(kind="cpu_decoder", model=name, dtype=dt, threads=t, phase=phase,
                                     tokens=tok, batch=b))
    return rows


class Out(MC.Out):
    def row(self, name, row):
        if name == "env":
            return MC.Out.row(self, name, row)
        saved = SPLIT.assign
        SPLIT.assign = SPLIT.assign_host4
        try:
            return MC.Out.row(self, name, row)
        finally:
            SPLIT.assign = saved


def prov(args):
    return dict(date_utc=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                host=args.host, cpu=args.cpu_model, lib=f"torch {torch.__version__}",
                load1=f"{os.getloadavg()[0]:.2f}", script=SCRIPT)


def stat():
    """/proc/stat's aggregate cpu line: (steal jiffies, all jiffies)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[7] if len(v) > 7 else 0, sum(v[:8])


class Item:
    """One measured row: its callables (built lazily), its visits."""
    def __init__(self, row):
        self.row, self.visits, self.calls, self.steal, self.total = row, [], [], 0, 0
        self.best_i, self.fns, self.kernels, self.first, self.finite, self.err = -1, None, "", "", "", ""
        self.ref_at = []  # reference block index before each visit
        self.set = SPLIT.assign_host4(row)


def visit(fns, warm=True):
    if warm:
        fns[0]()
    ts, i, t0 = [], 0, time.perf_counter()
    while True:
        a = time.perf_counter()
        fns[i % len(fns)]()
        ts.append(time.perf_counter() - a)
        i += 1
        if i >= 2 and time.perf_counter() - t0 >= VISIT_MIN_S:
            break
    return ts


class Ctx:
    def __init__(self, args):
        self.args, self.w, self.dec, self.arrays = args, {}, {}, None

    def weights(self, dt, k, n):
        key = (dt, k, n)
        if key not in self.w:
            self.w[key] = H2.weights(dt, k, n)
        return self.w[key]

    def stream_arrays(self):
        if self.arrays is None:
            torch.set_num_threads(16)
            n = 1024 * MiB // 4
            self.arrays = (torch.rand(n), torch.rand(n), torch.rand(n))
        return self.arrays

    def decoder(self, name, dt):
        key = (name, dt)
        if key not in self.dec:
            torch.set_num_threads(16)
            self.dec[key] = H2.Decoder(DEC_MODELS[name], torch.float32 if dt == "fp32" else torch.bfloat16)
        return self.dec[key]


def build(ctx, it):
    r = it.row
    k = r["kind"]
    if k == "cpu_gemm":
        ws = ctx.weights(r["dtype"], r["K"], r["N"])
        it.rot = len(ws)
        return H2.gemm_fns(r["dtype"], r["M"], r["K"], ws)
    if k == "cpu_stream":
        a, b, c = ctx.stream_arrays()
        return [{"copy": lambda: b.copy_(a), "triad": lambda: torch.add(b, c, alpha=3.0, out=a),
                 "read": lambda: a.sum()}[r["op"]]]
    if k == "cpu_diag":
        t, dt = r["threads"], r["dtype"]
        if r["test"] == "scaling_l2":
            r.update(M=512, K=1024, N=64 * t)
            return H2.gemm_fns(dt, 512, 1024, H2.weights(dt, 1024, 64 * t)[:1])
        r.update(M=512, K=1024, N=64, batch=t)
        x, w = torch.randn(t, 512, 1024), torch.randn(t, 1024, 64)
        return [lambda: torch.bmm(x, w)]
    if k == "cpu_decoder":
        model = ctx.decoder(r["model"], r["dtype"])
        cfg = DEC_MODELS[r["model"]]
        tok, b = r["tokens"], r["batch"]
        if r["phase"] == "prefill":
            ids = torch.randint(0, cfg["vocab"], (b, tok))
            return [lambda: model.forward(ids, 0)]
        ids = torch.randint(0, cfg["vocab"], (b, 1))
        return [lambda: model.forward(ids, tok)]
    raise ValueError(k)


def run_ref(ctx, refs, args, out, block):
    """The reference block: fixed rows whose best time says how fast the instance is now."""
    if "fns" not in refs:
        torch.set_num_threads(16)
        w = torch.randn(4096, 4096)
        x = torch.randn(256, 4096)
        ws = ctx.weights("bf16", 4096, 12288)
        xb = torch.randn(1, 4096, dtype=torch.bfloat16)
        arr = ctx.stream_arrays()[0]
        F = torch.nn.functional
        refs["fns"] = {"gemm_fp32": lambda: F.linear(x, w),
                       "gemv_bf16": [lambda w=w_: F.linear(xb, w) for w_ in ws],
                       "read": lambda: arr.sum()}
        refs["i"] = 0
        refs["stat"] = stat()
    torch.set_num_threads(16)
    res = {}
    with torch.inference_mode():
        for name, fn in refs["fns"].items():
            fl = fn if isinstance(fn, list) else [fn]
            fl[0]()
            ts = []
            for j in range(3 if name != "gemv_bf16" else 6):
                f = fl[(refs["i"] + j) % len(fl)]
                t0 = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t0)
            refs["i"] += 6
            res[name] = min(ts)
    s, tot = stat()
    s0, t0 = refs["stat"]
    refs["stat"] = (s, tot)
    row = dict(kind="cpu_ref", block=block, t_s=f"{time.time() - args.T0:.2f}",
               gemm_fp32_ms=f"{res['gemm_fp32'] * 1e3:.5g}", gemv_bf16_ms=f"{res['gemv_bf16'] * 1e3:.5g}",
               read_gbps=f"{1024 * MiB / res['read'] / 1e9:.2f}",
               steal_pct=f"{100.0 * (s - s0) / max(1, tot - t0):.2f}")
    row.update(prov(args))
    out.row("ref", row)
    refs.setdefault("gemm", []).append(res["gemm_fp32"])
    return res["gemm_fp32"]


def run_instance(args, out, when):
    """probe_cpu: dependent-chain clock (vector), FMA-throughput clock (fma) against active cores,
    and the C DRAM read rate."""
    exe = args.probe
    if not exe:
        return
    if when == "start":
        plan = [("clock", 1, "vector"), ("clock", 16, "vector")]
        plan += [("clock", t, "fma") for t in (1, 2, 4, 8, 12, 16)]
        plan += [("read", t, str(1024 * MiB)) for t in (1, 4, 16)]
        # vCPU 0 with each other vCPU, both running the FMA-throughput probe: a pair that shares a
        # physical core (SMT siblings the guest does not see) halves each one's rate.
        plan += [("pair", j, "fma") for j in range(1, os.cpu_count() or 16)]
    else:
        plan = [("clock", 16, "vector"), ("clock", 1, "fma"), ("clock", 16, "fma"),
                ("read", 1, str(1024 * MiB)), ("read", 16, str(1024 * MiB))]
    for what, t, arg in plan:
        try:
            s0 = stat()
            cmd = [exe, what, str(t), arg]
            if what == "pair":
                cmd = ["taskset", "-c", f"0,{t}", exe, "clock", "2", arg]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            s1 = stat()
            vals = sorted(float(x) for x in r.stdout.split())
        except Exception as e:
            out.log(f"probe {what} {t} {arg} failed: {e}")
            continue
        if not vals:
            out.log(f"probe {what} {t} {arg}: no output ({r.stderr[-200:]})")
            continue
        med = vals[len(vals) // 2]
        test = f"clock_{arg}" if what == "clock" else "read_c"
        if what == "pair":
            test, med = f"clock_{arg}_pair0", vals[0]  # the slower of the two, cpus 0 and `threads`
        row = dict(kind="cpu_instance", test=test, threads=t, when=when, value=f"{med:.4f}",
                   unit="GB/s" if what == "read" else "GHz", min=f"{vals[0]:.4f}", max=f"{vals[-1]:.4f}",
                   bytes=arg if what == "read" else "",
                   steal_pct=f"{100.0 * (s1[0] - s0[0]) / max(1, s1[1] - s0[1]):.2f}")
        row.update(prov(args))
        out.row("instance", row)
        out.log(f"  instance {test} T={t} {when}: {row['value']} {row['unit']} (min {row['min']} max {row['max']}) "
                f"steal {row['steal_pct']} %")


def main():
    global torch
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--host", default="h200host-xeon-16c")
    ap.add_argument("--budget-s", type=float, default=0)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--plan", action="store_true")
    ap.add_argument("--tar", default="", help="also pack --out into this .tgz at the end (the device's run "
                    "tool returns only a few files from $OUT: host4 lost its ref and stream files)")
    ap.add_argument("--only-kinds", default="cpu_gemm,cpu_stream,cpu_diag,cpu_decoder")
    args = ap.parse_args()
    if args.plan:
        counts = {}
        for r in plan_rows():
            s = SPLIT.assign_host4(r)
            counts[(r["kind"], s)] = counts.get((r["kind"], s), 0) + 1
        for k in sorted(counts):
            print(k, counts[k])
        return 0
    import torch as _t
    torch = _t
    MC.torch = H2.torch = H3.torch = _t
    args.T0 = time.time()
    os.makedirs(args.out, exist_ok=True)
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + f"_host4_{args.host}"
    out = Out(args.out, run_id)
    args.out_obj = out
    cpuinfo = open("/proc/cpuinfo").read()
    args.cpu_model = next((l.split(":", 1)[1].strip() for l in cpuinfo.splitlines() if l.startswith("model name")), "")
    H3.prov = prov
    H3.sysinfo(args, "start")
    E = out.env
    E("date_utc", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    E("command", " ".join(sys.argv))
    E("script", SCRIPT)
    E("seed", args.seed)
    E("cpu_model", args.cpu_model)
    E("torch", torch.__version__)
    E("cpu_capability", torch.backends.cpu.get_cpu_capability())
    E("uptime_start", MC.sh("uptime").strip())
    E("proc_stat_start", MC.sh("grep '^cpu ' /proc/stat").strip())
    with open(os.path.join(args.out, "lib_config.txt"), "w") as f:
        f.write(torch.__config__.show() + "\n" + torch.__config__.parallel_info())
    args.probe = H3.build_probe(args)
    args.section_budget = 0
    args.section_t0 = time.time()
    budget = args.budget_s
    args.budget_s = 0
    out.log("=== instance start ===")
    run_instance(args, out, "start")
    args.budget_s = budget
    kinds = set(args.only_kinds.split(","))
    items = [Item(r) for r in plan_rows() if r["kind"] in kinds]
    rng = random.Random(args.seed)
    ctx = Ctx(args)
    refs = {}
    vf = open(os.path.join(args.out, "verbose_calibration.txt"), "w")
    block = 0
    run_ref(ctx, refs, args, out, block)
    n_visit = 0
    stop = False
    for p in range(VISITS):
        order = list(items)
        rng.shuffle(order)
        out.log(f"=== pass {p + 1} of {VISITS}: {len(order)} rows ===")
        for it in order:
            if args.budget_s and time.time() - args.T0 > args.budget_s:
                out.log(f"BUDGET: stopping in pass {p + 1}")
                stop = True
                break
            if it.err:
                continue
            r = it.row
            try:
                if it.fns is None:
                    it.fns = build(ctx, it)
                    torch.set_num_threads(r["threads"])
                    with torch.inference_mode():
                        y = it.fns[0]()
                        it.finite = int(bool(torch.isfinite(y.float()).all()))
                        txt = H2.verbose_text(it.fns[1 % len(it.fns)])
                    it.kernels, it.first = H2.kernels_of(txt)
                    if it.set == "calibration" and r["kind"] != "cpu_stream":
                        vf.write(f"### {r}\n{txt}\n")
                torch.set_num_threads(r["threads"])
                s0 = stat()
                with torch.inference_mode():
                    ts = visit(it.fns)
                s1 = stat()
            except Exception as e:
                it.err = f"{type(e).__name__}: {str(e)[:200]}"
                out.log(f"  {r} failed: {it.err}")
                traceback.print_exc()
                continue
            it.steal += s1[0] - s0[0]
            it.total += s1[1] - s0[1]
            it.visits.append(MC.stats(ts)[0])
            it.calls.extend(ts)
            it.ref_at.append(block)
            n_visit += 1
            if n_visit % REF_EVERY == 0:
                block += 1
                run_ref(ctx, refs, args, out, block)
        if stop:
            break
        # weights of shapes no longer needed are kept: later passes visit them again
    block += 1
    run_ref(ctx, refs, args, out, block)
    vf.close()
    out.log(f"=== writing rows (reference blocks: {block + 1}) ===")
    gbest = min(refs["gemm"])
    nbytes = {"copy": 2, "triad": 3, "read": 1}
    for it in items:
        r = dict(it.row)
        if not it.visits and not it.err:
            continue
        if it.err:
            r.update({k: "" for k in ("visits", "calls", "best_ms", "median_ms", "min_ms", "p90_ms", "visit_ms",
                                      "steal_pct", "ref_slow", "finite", "lib_kernels", "lib_verbose_first")})
            r.update(status="unsupported" if r["kind"] == "cpu_gemm" else "failed", error=it.err)
        else:
            med, mn, p90 = MC.stats(it.calls)
            bi = min(range(len(it.visits)), key=lambda i: it.visits[i])
            b = it.ref_at[bi]
            near = [refs["gemm"][j] for j in (b, b + 1) if j < len(refs["gemm"])]
            r.update(status="ok", visits=len(it.visits), calls=len(it.calls),
                     best_ms=f"{it.visits[bi] * 1e3:.6g}", median_ms=f"{med * 1e3:.6g}", min_ms=f"{mn * 1e3:.6g}",
                     p90_ms=f"{p90 * 1e3:.6g}", visit_ms=" ".join(f"{v * 1e3:.5g}" for v in it.visits),
                     steal_pct=f"{100.0 * it.steal / max(1, it.total):.2f}",
                     ref_slow=f"{sum(near) / len(near) / gbest:.3f}", finite=it.finite,
                     lib_kernels=it.kernels, lib_verbose_first=it.first, error="")
            if r["kind"] == "cpu_gemm":
                r["rot_copies"] = it.rot
            if r["kind"] == "cpu_stream":
                bpc = nbytes[r["op"]] * r["bytes_per_array"]
                r.update(dtype="fp32", bytes_per_call=bpc, best_gbps=f"{bpc / (it.visits[bi]) / 1e9:.2f}",
                         median_gbps=f"{bpc / med / 1e9:.2f}")
            if r["kind"] == "cpu_diag":
                fl = 2 * r["M"] * r["K"] * r["N"] * r.get("batch", 1)
                r["gflops"] = f"{fl / it.visits[bi] / 1e9:.2f}"
        r.update(prov(args))
        name = {"cpu_gemm": "gemm", "cpu_stream": "stream", "cpu_diag": "diag", "cpu_decoder": "decoder"}[r["kind"]]
        st = out.row(name, r)
        if st == "calibration" and r["status"] == "ok":
            out.log(f"  {name} {r.get('model', '')} {r.get('test', '')} {r['dtype'] if 'dtype' in r else ''} "
                    f"M={r.get('M', '')} K={r.get('K', '')} N={r.get('N', '')} T={r['threads']} {r.get('op', '')}"
                    f"{r.get('phase', '')}{r.get('tokens', '')}: best {r['best_ms']} med {r['median_ms']} ms "
                    f"visits [{r['visit_ms']}] steal {r['steal_pct']} % ref_slow {r['ref_slow']}")
    args.budget_s = 0
    out.log("=== instance end ===")
    run_instance(args, out, "end")
    H3.sysinfo(args, "end")
    E("proc_stat_end", MC.sh("grep '^cpu ' /proc/stat").strip())
    E("uptime_end", MC.sh("uptime").strip())
    g = refs["gemm"]
    out.log(f"reference gemm_fp32 over {len(g)} blocks: best {min(g) * 1e3:.3f} ms, median "
            f"{sorted(g)[len(g) // 2] * 1e3:.3f} ms, worst {max(g) * 1e3:.3f} ms")
    out.log(f"total {time.time() - args.T0:.1f} s")
    if args.tar:
        subprocess.run(["tar", "czf", args.tar, "-C", os.path.dirname(os.path.abspath(args.out)),
                        os.path.basename(os.path.abspath(args.out))])
    return 0


if __name__ == "__main__":
    sys.exit(main())
