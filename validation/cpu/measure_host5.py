#!/usr/bin/env python3
"""Fifth measurement of the GPU machine's host CPU (issue 13, plan "host5"). Written and split
(split_cpu.py, assign_host5) BEFORE anything was measured.

Why: host4 found vCPUs running at exactly half FMA rate at 8-16 threads (an SMT sibling busy with
another guest's work) while the dependent-chain clock stayed put. A statically split parallel
region lasts as long as its slowest thread, so how many vCPUs are slow decides thread scaling.
host5 measures that per vCPU, in the same call as the rows it predicts:
  - instance (start and end): probe_cpu's dependent FMA chain (clock_vector) on 1 and 16 threads,
    the FMA-throughput clock (clock_fma) on 1, 2, 4, 8, 12, 16 threads, the per-vCPU map
    (clock_fmapin: thread i pinned to vCPU i, one row per vCPU, column `vcpu`), the C DRAM read
    (read_c) on 1, 4, 8, 16 threads;
  - a reference block after every REF_EVERY visits (ref_calibration.csv): host4's fixed fp32 GEMM,
    bf16 GEMV and STREAM read, plus the per-vCPU map again (clock_fmapin rows, `when` =
    ref<block>), so the count of slow vCPUs is sampled through the call;
  - rows visited up to 3 times in randomised passes (seed 5), each visit one warm-up call then
    calls until >= 0.03 s and >= 2 calls; `best_ms` = the lowest visit median (what validate
    compares, as for host4), `median_ms`, `min_ms`, `visit_ms`, `visits`, `steal_pct`, `ref_slow`,
    `slow_vcpus_near` (slow vCPUs in the per-vCPU maps either side of the best visit).
Decided before measuring (validate applies it from instance_calibration.csv): a vCPU is slow in one
per-vCPU map when its rate is below 0.75 x that map's fastest vCPU; the instance's
`core.shared_vcpus` is the lower median over the call's maps of the slow count, and
`core.shared_rate` the median over the slow readings of rate / the median rate of that map's other
vCPUs.

Rows:
  gemm: F.linear fp32 (MKL) / bf16 (oneDNN), torch._int_mm int8, weights [N, K] rotating over
    >= 1 GiB; calibration (re-measured): llama2-7b qkv 4096x12288, down 11008x4096, gpt2 fc1
    768x3072; hold-out (shapes never measured in any CPU set): falcon-7b qkv 4544x4672, fc1
    4544x18176, fc2 18176x4544; qwen2-1.5b qkv 1536x2048, gate_up 1536x17920, down 8960x1536.
    M 1, 4, 16, 64, 256, 512 at 16 threads; 1, 16, 128 at 4; 1, 16, 64 at 1.
  stream: torch copy, triad, read on 1 GiB arrays; threads 1, 4, 16 calibration; 5, 7, 11, 13
    hold-out (thread counts never measured).
  diag (calibration): scaling_l2 (M 512, K 1024, N 64 x T) fp32 at 1, 2, 4, 8, 12, 16 threads,
    bf16 and int8 at 1, 4, 16.
  decoder: the eager decoder of measure_common (gpt2, llama2-7b-2layer), fp32 and bf16.
    Calibration: both at 16 threads at the points measured before (decode batch 1 and 4 at
    context 128, prefill 32 / 128 / 512). Hold-out: points never measured: prefill 64 and 256
    (batch 1), decode batch 2 at context 256, decode batch 1 at context 384; both models at 16
    threads, gpt2 also at 4.
The log prints values of calibration rows only.

Usage: python3 measure_host5.py --out DIR [--budget-s S] [--tar FILE.tgz] [--plan]
  on the device: --out /tmp/h5 --tar $OUT/h5.tgz (one file comes back whole)
"""
import argparse
import datetime
import os
import random
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import measure_common as C  # noqa: E402
import split_cpu as SPLIT  # noqa: E402

MiB = C.MiB
ROT_BYTES = 1024 * MiB
SCRIPT = "validation/cpu/measure_host5.py"
CAL_SHAPES = [("llama2-7b", "qkv", 4096, 12288), ("llama2-7b", "down", 11008, 4096), ("gpt2", "fc1", 768, 3072)]
HOLD_SHAPES = [("falcon-7b", "qkv", 4544, 4672), ("falcon-7b", "fc1", 4544, 18176), ("falcon-7b", "fc2", 18176, 4544),
               ("qwen2-1.5b", "qkv", 1536, 2048), ("qwen2-1.5b", "gate_up", 1536, 17920),
               ("qwen2-1.5b", "down", 8960, 1536)]
GEMM_MS = {16: [1, 4, 16, 64, 256, 512], 4: [1, 16, 128], 1: [1, 16, 64]}
STREAM_THREADS = [1, 4, 5, 7, 11, 13, 16]
DEC_CAL_POINTS = [("decode", 128, 1), ("decode", 128, 4), ("prefill", 32, 1), ("prefill", 128, 1), ("prefill", 512, 1)]
DEC_HOLD_POINTS = [("prefill", 64, 1), ("prefill", 256, 1), ("decode", 256, 2), ("decode", 384, 1)]
VISITS = 3
REF_EVERY = 12
VISIT_MIN_S = 0.03
SLOW_FRAC = 0.75  # a vCPU below this fraction of its map's fastest is slow (decided before measuring)

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
        rows.append(dict(kind="cpu_diag", test="scaling_l2", dtype="fp32", threads=t, M=512, K=1024, N=64 * t))
    for dt in ("bf16", "int8"):
        for t in (1, 4, 16):
            rows.append(dict(kind="cpu_diag", test="scaling_l2", dtype=dt, threads=t, M=512, K=1024, N=64 * t))
    for name in ("gpt2", "llama2-7b-2layer"):
        for dt in ("fp32", "bf16"):
            for phase, tok, b in DEC_CAL_POINTS + DEC_HOLD_POINTS:
                for t in ([16, 4] if name == "gpt2" and (phase, tok, b) in DEC_HOLD_POINTS else [16]):
                    rows.append(dict(kind="cpu_decoder", model=name, dtype=dt, threads=t, phase=phase,
                                     tokens=tok, batch=b))
    return rows


class Item:
    """One measured row: its callables (built lazily), its visits."""
    def __init__(self, row):
        self.row, self.visits, self.calls, self.steal, self.total = row, [], [], 0, 0
        self.fns, self.kernels, self.first, self.finite, self.err, self.rot = None, "", "", "", "", ""
        self.ref_at = []  # reference block index before each visit
        self.set = SPLIT.assign_host5(row)


class Ctx:
    def __init__(self):
        self.w, self.dec, self.arrays = {}, {}, None

    def weights(self, dt, k, n):
        if (dt, k, n) not in self.w:
            self.w[(dt, k, n)] = C.weights(dt, k, n, ROT_BYTES)
        return self.w[(dt, k, n)]

    def stream_arrays(self):
        if self.arrays is None:
            torch.set_num_threads(16)
            n = 1024 * MiB // 4
            self.arrays = (torch.rand(n), torch.rand(n), torch.rand(n))
        return self.arrays

    def decoder(self, name, dt):
        if (name, dt) not in self.dec:
            torch.set_num_threads(16)
            self.dec[(name, dt)] = C.Decoder(C.DEC_MODELS[name], torch.float32 if dt == "fp32" else torch.bfloat16)
        return self.dec[(name, dt)]


def build(ctx, it):
    r = it.row
    k = r["kind"]
    if k == "cpu_gemm":
        ws = ctx.weights(r["dtype"], r["K"], r["N"])
        it.rot = len(ws)
        return C.gemm_fns(r["dtype"], r["M"], r["K"], ws)
    if k == "cpu_stream":
        a, b, c = ctx.stream_arrays()
        return [{"copy": lambda: b.copy_(a), "triad": lambda: torch.add(b, c, alpha=3.0, out=a),
                 "read": lambda: a.sum()}[r["op"]]]
    if k == "cpu_diag":
        dt = r["dtype"]
        return C.gemm_fns(dt, r["M"], r["K"], C.weights(dt, r["K"], r["N"], 0)[:1])
    if k == "cpu_decoder":
        model = ctx.decoder(r["model"], r["dtype"])
        return C.decoder_fns(model, C.DEC_MODELS[r["model"]], r["phase"], r["tokens"], r["batch"])
    raise ValueError(k)


class Run:
    def __init__(self, args, out):
        self.args, self.out, self.T0 = args, out, time.time()
        self.cpu = C.cpu_model_name()
        self.probe = None
        self.refs = {}
        self.slow_by_block = []  # slow vCPU count of each per-vCPU map, in block order

    def prov(self):
        return C.provenance(self.args.host, self.cpu, SCRIPT)

    def instance_row(self, test, threads, when, vals, unit, s0, s1, bytes_="", vcpu=""):
        vs = sorted(vals)
        row = dict(kind="cpu_instance", test=test, threads=threads, when=when, vcpu=vcpu,
                   value=f"{vs[len(vs) // 2]:.4f}", unit=unit, min=f"{vs[0]:.4f}", max=f"{vs[-1]:.4f}",
                   bytes=bytes_, steal_pct=f"{C.steal_pct(s0, s1):.2f}")
        row.update(self.prov())
        self.out.row("instance", row)
        return row

    def vcpu_map(self, when):
        """probe_cpu clock N fmapin: one row per vCPU; returns the slow count (rule above)."""
        if not self.probe:
            return None
        n = os.cpu_count() or 16
        s0 = C.proc_stat()
        try:
            vals = C.run_probe(self.probe, ["clock", n, "fmapin"])
        except Exception as e:
            self.out.log(f"probe fmapin failed: {e}")
            return None
        s1 = C.proc_stat()
        if len(vals) != n:
            self.out.log(f"probe fmapin: {len(vals)} values for {n} vCPUs")
            return None
        for j, v in enumerate(vals):
            self.instance_row("clock_fmapin", n, when, [v], "GHz", s0, s1, vcpu=j)
        slow = sum(v < SLOW_FRAC * max(vals) for v in vals)
        self.out.log(f"  vCPU map {when}: slow {slow} of {n}: " + " ".join(f"{v:.2f}" for v in vals))
        return slow

    def instance(self, when):
        if not self.probe:
            return
        if when == "start":
            plan = [("clock", 1, "vector"), ("clock", 16, "vector")]
            plan += [("clock", t, "fma") for t in (1, 2, 4, 8, 12, 16)]
            plan += [("read", t, str(1024 * MiB)) for t in (1, 4, 8, 16)]
        else:
            plan = [("clock", 16, "vector"), ("clock", 1, "fma"), ("clock", 16, "fma"),
                    ("read", 1, str(1024 * MiB)), ("read", 16, str(1024 * MiB))]
        for what, t, arg in plan:
            s0 = C.proc_stat()
            try:
                vals = C.run_probe(self.probe, [what, t, arg])
            except Exception as e:
                self.out.log(f"probe {what} {t} {arg} failed: {e}")
                continue
            s1 = C.proc_stat()
            if not vals:
                self.out.log(f"probe {what} {t} {arg}: no output")
                continue
            test = f"clock_{arg}" if what == "clock" else "read_c"
            row = self.instance_row(test, t, when, vals, "GB/s" if what == "read" else "GHz", s0, s1,
                                    bytes_=arg if what == "read" else "")
            self.out.log(f"  instance {test} T={t} {when}: {row['value']} {row['unit']} "
                         f"(min {row['min']} max {row['max']}) steal {row['steal_pct']} %")
        self.vcpu_map(when)

    def ref(self, ctx, block):
        """The reference block: fixed rows whose best time says how fast the instance is now, and
        the per-vCPU map."""
        refs = self.refs
        if "fns" not in refs:
            torch.set_num_threads(16)
            w, x = torch.randn(4096, 4096), torch.randn(256, 4096)
            ws = ctx.weights("bf16", 4096, 12288)
            xb = torch.randn(1, 4096, dtype=torch.bfloat16)
            arr = ctx.stream_arrays()[0]
            F = torch.nn.functional
            refs.update(fns={"gemm_fp32": lambda: F.linear(x, w),
                             "gemv_bf16": [lambda w=w_: F.linear(xb, w) for w_ in ws],
                             "read": lambda: arr.sum()}, i=0, stat=C.proc_stat(), gemm=[])
        torch.set_num_threads(16)
        res = {}
        with torch.inference_mode():
            for name, fn in refs["fns"].items():
                fl = fn if isinstance(fn, list) else [fn]
                fl[0]()
                ts = []
                for j in range(3 if name != "gemv_bf16" else 6):
                    t0 = time.perf_counter()
                    fl[(refs["i"] + j) % len(fl)]()
                    ts.append(time.perf_counter() - t0)
                refs["i"] += 6
                res[name] = min(ts)
        s = C.proc_stat()
        steal = C.steal_pct(refs["stat"], s)
        refs["stat"] = s
        slow = self.vcpu_map(f"ref{block}")
        self.slow_by_block.append(slow)
        row = dict(kind="cpu_ref", block=block, t_s=f"{time.time() - self.T0:.2f}",
                   gemm_fp32_ms=f"{res['gemm_fp32'] * 1e3:.5g}", gemv_bf16_ms=f"{res['gemv_bf16'] * 1e3:.5g}",
                   read_gbps=f"{1024 * MiB / res['read'] / 1e9:.2f}", steal_pct=f"{steal:.2f}",
                   slow_vcpus="" if slow is None else slow)
        row.update(self.prov())
        self.out.row("ref", row)
        refs["gemm"].append(res["gemm_fp32"])


def write_rows(run, items):
    out, refs = run.out, run.refs
    gbest = min(refs["gemm"])
    nbytes = {"copy": 2, "triad": 3, "read": 1}
    names = {"cpu_gemm": "gemm", "cpu_stream": "stream", "cpu_diag": "diag", "cpu_decoder": "decoder"}
    # Every row of a kind has the same columns, failed or not (the first row written sets the header).
    extra = {"cpu_gemm": ["rot_copies"], "cpu_stream": ["dtype", "bytes_per_call", "best_gbps", "median_gbps"],
             "cpu_diag": ["gflops"], "cpu_decoder": []}
    for it in items:
        r = dict(it.row)
        if not it.visits and not it.err:
            continue
        if it.err:
            r.update({k: "" for k in ("visits", "calls", "best_ms", "median_ms", "min_ms", "p90_ms", "visit_ms",
                                      "steal_pct", "ref_slow", "slow_vcpus_near", "finite", "lib_kernels",
                                      "lib_verbose_first")})
            r.update(status="unsupported" if r["kind"] == "cpu_gemm" else "failed", error=it.err)
            r.update({k: "" for k in extra[r["kind"]] if k not in r})
        else:
            med, mn, p90 = C.stats(it.calls)
            bi = min(range(len(it.visits)), key=lambda i: it.visits[i])
            b = it.ref_at[bi]
            near = [refs["gemm"][j] for j in (b, b + 1) if j < len(refs["gemm"])]
            slow = [run.slow_by_block[j] for j in (b, b + 1)
                    if j < len(run.slow_by_block) and run.slow_by_block[j] is not None]
            r.update(status="ok", visits=len(it.visits), calls=len(it.calls),
                     best_ms=f"{it.visits[bi] * 1e3:.6g}", median_ms=f"{med * 1e3:.6g}", min_ms=f"{mn * 1e3:.6g}",
                     p90_ms=f"{p90 * 1e3:.6g}", visit_ms=" ".join(f"{v * 1e3:.5g}" for v in it.visits),
                     steal_pct=f"{100.0 * it.steal / max(1, it.total):.2f}",
                     ref_slow=f"{sum(near) / len(near) / gbest:.3f}",
                     slow_vcpus_near=" ".join(str(s) for s in slow), finite=it.finite,
                     lib_kernels=it.kernels, lib_verbose_first=it.first, error="")
            if r["kind"] == "cpu_gemm":
                r["rot_copies"] = it.rot
            if r["kind"] == "cpu_stream":
                bpc = nbytes[r["op"]] * r["bytes_per_array"]
                r.update(dtype="fp32", bytes_per_call=bpc, best_gbps=f"{bpc / it.visits[bi] / 1e9:.2f}",
                         median_gbps=f"{bpc / med / 1e9:.2f}")
            if r["kind"] == "cpu_diag":
                r["gflops"] = f"{2 * r['M'] * r['K'] * r['N'] / it.visits[bi] / 1e9:.2f}"
        r.update(run.prov())
        st = out.row(names[r["kind"]], r)
        if st == "calibration" and r["status"] == "ok":
            out.log(f"  {names[r['kind']]} {r.get('model', '')}{r.get('test', '')} {r.get('dtype', '')} "
                    f"M={r.get('M', '')} K={r.get('K', '')} N={r.get('N', '')} T={r['threads']} {r.get('op', '')}"
                    f"{r.get('phase', '')}{r.get('tokens', '')}: best {r['best_ms']} med {r['median_ms']} ms "
                    f"visits [{r['visit_ms']}] ref_slow {r['ref_slow']} slow vCPUs {r['slow_vcpus_near']}")


def main():
    global torch
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--host", default="h200host-xeon-16c")
    ap.add_argument("--budget-s", type=float, default=0, help="stop visiting rows after this many seconds")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--plan", action="store_true", help="print the planned row counts per set and exit")
    ap.add_argument("--tar", default="", help="pack --out into this .tgz at the end")
    ap.add_argument("--only-kinds", default="cpu_gemm,cpu_stream,cpu_diag,cpu_decoder")
    args = ap.parse_args()
    if args.plan:
        counts = {}
        for r in plan_rows():
            key = (r["kind"], SPLIT.assign_host5(r))
            counts[key] = counts.get(key, 0) + 1
        for k in sorted(counts):
            print(k, counts[k])
        return 0
    import torch as _t
    torch = C.torch = _t
    os.makedirs(args.out, exist_ok=True)
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + f"_host5_{args.host}"
    out = C.Out(args.out, run_id, SPLIT.assign_host5)
    run = Run(args, out)
    try:
        measure(run, args, out)
    finally:
        out.log(f"total {time.time() - run.T0:.1f} s")
        out.close()
        if args.tar:
            C.pack(args.out, args.tar)
    return 0


def measure(run, args, out):
    sysinfo = os.path.join(args.out, "sysinfo.txt")
    C.sysinfo(sysinfo, "start")
    E = out.env
    E("date_utc", C.utc_now())
    E("command", " ".join(sys.argv))
    E("script", SCRIPT)
    E("seed", args.seed)
    E("cpu_model", run.cpu)
    E("torch", torch.__version__)
    E("cpu_capability", torch.backends.cpu.get_cpu_capability())
    E("uptime_start", C.sh("uptime").strip())
    E("proc_stat_start", C.sh("grep '^cpu ' /proc/stat").strip())
    with open(os.path.join(args.out, "lib_config.txt"), "w") as f:
        f.write(torch.__config__.show() + "\n" + torch.__config__.parallel_info())
    run.probe = C.build_probe(out)
    out.log("=== instance start ===")
    run.instance("start")
    kinds = set(args.only_kinds.split(","))
    items = [Item(r) for r in plan_rows() if r["kind"] in kinds]
    rng = random.Random(args.seed)
    ctx = Ctx()
    vf = open(os.path.join(args.out, "verbose_calibration.txt"), "w")
    block = 0
    run.ref(ctx, block)
    n_visit, stop = 0, False
    for p in range(VISITS):
        order = list(items)
        rng.shuffle(order)
        out.log(f"=== pass {p + 1} of {VISITS}: {len(order)} rows ===")
        for it in order:
            if args.budget_s and time.time() - run.T0 > args.budget_s:
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
                        txt = C.verbose_text(it.fns[1 % len(it.fns)])
                    it.kernels, it.first = C.kernels_of(txt)
                    if it.set == "calibration" and r["kind"] != "cpu_stream":
                        vf.write(f"### {r}\n{txt}\n")
                torch.set_num_threads(r["threads"])
                s0 = C.proc_stat()
                with torch.inference_mode():
                    ts = C.visit(it.fns, VISIT_MIN_S)
                s1 = C.proc_stat()
            except Exception as e:
                it.err = f"{type(e).__name__}: {str(e)[:200]}"
                out.log(f"  {r} failed: {it.err}")
                traceback.print_exc()
                continue
            it.steal += s1[0] - s0[0]
            it.total += s1[1] - s0[1]
            it.visits.append(C.stats(ts)[0])
            it.calls.extend(ts)
            it.ref_at.append(block)
            n_visit += 1
            if n_visit % REF_EVERY == 0:
                block += 1
                run.ref(ctx, block)
        if stop:
            break
    block += 1
    run.ref(ctx, block)
    vf.close()
    out.log(f"=== writing rows (reference blocks: {block + 1}) ===")
    write_rows(run, items)
    out.log("=== instance end ===")
    run.instance("end")
    C.sysinfo(sysinfo, "end")
    E("proc_stat_end", C.sh("grep '^cpu ' /proc/stat").strip())
    E("uptime_end", C.sh("uptime").strip())
    g = run.refs["gemm"]
    out.log(f"reference gemm_fp32 over {len(g)} blocks: best {min(g) * 1e3:.3f} ms, median "
            f"{sorted(g)[len(g) // 2] * 1e3:.3f} ms, worst {max(g) * 1e3:.3f} ms")
    sl = [s for s in run.slow_by_block if s is not None]
    if sl:
        out.log(f"slow vCPUs per map over {len(sl)} maps: " + " ".join(str(s) for s in sl))


if __name__ == "__main__":
    sys.exit(main())
