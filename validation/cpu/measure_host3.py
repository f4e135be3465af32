#!/usr/bin/env python3
"""Third measurement of the GPU machine's host CPU (issue 13, plan "host3"): the machine instance
described as measured, in the same device call as the GEMMs and decoders that the model predicts
from that description. Written and split (split_cpu.py, assign_host3) BEFORE anything was
measured.

Why: the device machine is a different instance on every call, and the second host measurement
ran the same bf16 GEMV 1.5x slower than the first. A preset describes the hardware; what one
instance gives us (its DRAM rate, one core's load rate, its clocks) is measured here first and
written to instance.csv, which `xpusim validate` applies to this folder's rows only.

instance (instance.csv, kind cpu_instance; calibration: a description of the machine, not a
  prediction target), with probe_cpu.c (compiled here with cc/gcc; C, no library):
    clock_scalar T   dependent 1-cycle integer adds on T threads at once: the light-load clock
    clock_vector T   dependent vfmadd231ps zmm chains (4 cycles each): the clock under AVX-512
    read_c T         T threads sum their slices of one 1 GiB array (AVX-512 loads): DRAM read GB/s
  at T = 1, 4, 16 (read_c also 2, 8, 12), once at the start and again at the end ("when").
  sysinfo.txt: lscpu, nproc, the cgroup's cpu.max / cfs quota, Cpus_allowed, loadavg, the busiest
  processes, numactl, nvidia-smi, THP setting, before and after.
stream (kind cpu_stream): torch copy, triad and read on 1 GiB fp32 arrays at 1, 2, 4, 8, 12, 16
  threads. Split by thread count: 1, 4, 16 calibration; 2, 8, 12 hold-out.
diag (kind cpu_diag, calibration): L2-resident GEMMs (M 512, K 1024, N 64 per thread) fp32, bf16,
  int8 at 1, 4, 16 threads: the per-core compute rate on this instance.
gemm (kind cpu_gemm): F.linear fp32 (MKL) and bf16 (oneDNN), torch._int_mm int8, weights [N, K]
  rotating over >= 1 GiB of copies (3.4x the 300 MiB L3).
    calibration shapes (re-measured: seen in earlier calibration sets): llama2-7b qkv 4096x12288,
      o 4096x4096, gate_up 4096x22016, down 11008x4096; gpt2 fc1 768x3072
    hold-out shapes (whole models never measured anywhere): qwen2-7b qkv 3584x4608, gate_up
      3584x37888, down 18944x3584; phi-2 qkv 2560x7680, fc1 2560x10240, fc2 10240x2560
  M 1, 4, 16, 64, 256, 512 at 16 threads; 1, 16, 128 at 4; 1, 16, 64 at 1.
decoder (kind cpu_decoder): measure_host2.py's eager gpt2 (12 layers) and llama2-7b-2layer,
  fp32 and bf16, 16 and 4 threads; decode one step of batch 1 and 4 at context 128, prefill
  batch 1 at 32, 128, 512 tokens. Split: sha1("host3_decoder|model|dtype|phase|tokens|batch")
  % 100 < 50 hold-out (both thread counts together).
Every torch row runs one call under oneDNN and MKL verbose (lib_kernels); the full verbose text
of calibration rows goes to verbose_calibration.txt, the profiler op table of calibration
decoder rows to decoder_ops_calibration.csv. The log prints values of calibration rows only.

Usage: python3 measure_host3.py --out DIR [--budget-s S] [--plan]
"""
import argparse
import datetime
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import measure_cpu as MC  # noqa: E402
import measure_host2 as H2  # noqa: E402
import split_cpu as SPLIT  # noqa: E402

MiB = 1 << 20
H2.ROT_BYTES = 1024 * MiB

CAL_SHAPES = [("llama2-7b", "qkv", 4096, 12288), ("llama2-7b", "o", 4096, 4096),
              ("llama2-7b", "gate_up", 4096, 22016), ("llama2-7b", "down", 11008, 4096),
              ("gpt2", "fc1", 768, 3072)]
HOLD_SHAPES = [("qwen2-7b", "qkv", 3584, 4608), ("qwen2-7b", "gate_up", 3584, 37888),
               ("qwen2-7b", "down", 18944, 3584), ("phi-2", "qkv", 2560, 7680),
               ("phi-2", "fc1", 2560, 10240), ("phi-2", "fc2", 10240, 2560)]
# Interleaved so that a budget cut takes rows of both sets.
GEMM_SHAPES = [s for pair in zip(CAL_SHAPES + [None], HOLD_SHAPES) for s in pair if s]
GEMM_MS = {16: [1, 4, 16, 64, 256, 512], 4: [1, 16, 128], 1: [1, 16, 64]}
STREAM_THREADS = [1, 2, 4, 8, 12, 16]
DEC_POINTS = [("decode", 128, 1), ("decode", 128, 4), ("prefill", 32, 1), ("prefill", 128, 1),
              ("prefill", 512, 1)]
SECTION_BUDGET_S = {"instance": 40, "diag": 12, "stream": 25, "gemm": 165, "decoder": 85, "instance_end": 15}

torch = None


def plan_rows():
    rows = []
    for model, layer, k, n in GEMM_SHAPES:
        for dt in ("fp32", "bf16", "int8"):
            for t in (16, 4, 1):
                for m in GEMM_MS[t]:
                    rows.append(dict(kind="cpu_gemm", M=m, K=k, N=n, dtype=dt, threads=t, model=model, layer=layer))
    for t in STREAM_THREADS:
        for op in ("copy", "triad", "read"):
            rows.append(dict(kind="cpu_stream", op=op, bytes_per_array=1024 * MiB, threads=t))
    for name in H2.DEC_MODELS:
        for dt in ("fp32", "bf16"):
            for t in (16, 4):
                for phase, tok, b in DEC_POINTS:
                    rows.append(dict(kind="cpu_decoder", model=name, dtype=dt, threads=t, phase=phase,
                                     tokens=tok, batch=b))
    return rows


class Out(MC.Out):
    """measure_cpu.Out with the host3 split (assign_host3)."""
    def row(self, name, row):
        if name == "env":
            return MC.Out.row(self, name, row)
        saved = SPLIT.assign
        SPLIT.assign = SPLIT.assign_host3
        try:
            return MC.Out.row(self, name, row)
        finally:
            SPLIT.assign = saved


def prov(args):
    return dict(date_utc=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                host=args.host, cpu=args.cpu_model, lib=f"torch {torch.__version__}",
                load1=f"{os.getloadavg()[0]:.2f}", script="validation/cpu/measure_host3.py")


def over(args):
    now = time.time()
    if args.budget_s and now - args.T0 > args.budget_s:
        return True
    return bool(args.section_budget) and now - args.section_t0 > args.section_budget


def sysinfo(args, tag):
    cmds = ["date -u", "uname -a", "nproc", "cat /proc/loadavg", "grep '^cpu' /proc/stat", "cat /sys/fs/cgroup/cpu.max",
            "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
            "cat /sys/fs/cgroup/cpuset.cpus.effective", "grep -i cpus_allowed /proc/self/status",
            "cat /proc/pressure/cpu /proc/pressure/memory", "ps -eo pid,pcpu,pmem,comm --sort=-pcpu | head -15",
            "numactl -H", "cat /sys/kernel/mm/transparent_hugepage/enabled",
            "nvidia-smi --query-gpu=name,utilization.gpu,memory.used,clocks.sm --format=csv",
            "grep -m3 -i 'MHz\\|model name' /proc/cpuinfo", "head -3 /proc/meminfo"]
    if tag == "start":
        cmds = ["lscpu", "lscpu -e", "lscpu -C"] + cmds
    with open(os.path.join(args.out, "sysinfo.txt"), "a") as f:
        f.write(f"===== {tag}\n")
        for c in cmds:
            f.write(f"--- {c}\n{MC.sh(c + ' 2>&1')}\n")


def build_probe(args):
    exe = "/tmp/probe_cpu"
    src = os.path.join(HERE, "probe_cpu.c")
    for cc in ("cc", "gcc", "clang"):
        r = subprocess.run([cc, "-O2", "-march=native", "-pthread", src, "-o", exe], capture_output=True, text=True)
        if r.returncode == 0:
            args.out_obj.env("probe_compiler", cc)
            return exe
        args.out_obj.log(f"probe: {cc} failed: {r.stderr[-300:]}")
    r = subprocess.run(["g++", "-x", "c", "-O2", "-march=native", "-pthread", src, "-o", exe], capture_output=True,
                       text=True)
    if r.returncode == 0:
        return exe
    args.out_obj.log("probe: no C compiler; instance clocks and C read rates not measured")
    return None


def run_instance(args, out, when):
    exe = args.probe
    if not exe:
        return
    plan = [("clock", t, "scalar") for t in (1, 4, 16)] + [("clock", t, "vector") for t in (1, 4, 16)]
    read_threads = (1, 2, 4, 8, 12, 16) if when == "start" else (1, 16)
    if when == "end":
        plan = [("clock", 1, "scalar"), ("clock", 16, "scalar"), ("clock", 16, "vector")]
    plan += [("read", t, str(1024 * MiB)) for t in read_threads]
    for what, t, arg in plan:
        if over(args):
            out.log("BUDGET: stopping instance")
            return
        try:
            r = subprocess.run([exe, what, str(t), arg], capture_output=True, text=True, timeout=60)
            vals = [float(x) for x in r.stdout.split()]
        except Exception as e:
            out.log(f"probe {what} {t} {arg} failed: {e}")
            continue
        if not vals:
            out.log(f"probe {what} {t} {arg}: no output ({r.stderr[-200:]})")
            continue
        vals.sort()
        med = vals[len(vals) // 2]
        test = f"clock_{arg}" if what == "clock" else "read_c"
        row = dict(kind="cpu_instance", test=test, threads=t, when=when, value=f"{med:.4f}",
                   unit="GHz" if what == "clock" else "GB/s", min=f"{vals[0]:.4f}", max=f"{vals[-1]:.4f}",
                   bytes=arg if what == "read" else "")
        row.update(prov(args))
        out.row("instance", row)
        out.log(f"  instance {test} T={t} {when}: {row['value']} {row['unit']} (min {row['min']} max {row['max']})")


def run_stream(args, out):
    nbytes = {"copy": 2, "triad": 3, "read": 1}
    size = 1024 * MiB
    n = size // 4
    torch.set_num_threads(16)
    a, b, c = torch.rand(n), torch.rand(n), torch.rand(n)
    fn = {"copy": lambda: b.copy_(a), "triad": lambda: torch.add(b, c, alpha=3.0, out=a), "read": lambda: a.sum()}
    for t in STREAM_THREADS:
        torch.set_num_threads(t)
        for op in ("copy", "triad", "read"):
            if over(args):
                out.log("BUDGET: stopping stream")
                return
            fn[op]()
            ts, t0 = [], time.perf_counter()
            while len(ts) < 3 or time.perf_counter() - t0 < 0.12:
                s = time.perf_counter()
                fn[op]()
                ts.append(time.perf_counter() - s)
            med, mn, p90 = MC.stats(ts)
            bpc = nbytes[op] * size
            row = dict(kind="cpu_stream", op=op, bytes_per_array=size, threads=t, dtype="fp32", bytes_per_call=bpc,
                       calls=len(ts), median_ms=f"{med * 1e3:.6g}", min_ms=f"{mn * 1e3:.6g}", p90_ms=f"{p90 * 1e3:.6g}",
                       best_gbps=f"{bpc / mn / 1e9:.2f}", median_gbps=f"{bpc / med / 1e9:.2f}")
            row.update(prov(args))
            st = out.row("stream", row)
            out.log(f"  stream {op} T={t}: " + (f"best {row['best_gbps']} GB/s" if st == "calibration" else f"{st} row"))
    del a, b, c


def run_diag(args, out, vf):
    for dt in ("bf16", "fp32", "int8"):
        for t in (1, 4, 16):
            if over(args):
                return
            torch.set_num_threads(t)
            k, n, m = 1024, 64 * t, 512
            ws = H2.weights(dt, k, n)[:1]
            fns = H2.gemm_fns(dt, m, k, ws)
            torch.set_num_threads(t)
            ts = H2.time_row(fns, False)
            med, mn, _ = MC.stats(ts)
            txt = H2.verbose_text(fns[0])
            vf.write(f"### diag scaling_l2 M={m} K={k} N={n} {dt} T={t}\n{txt}\n")
            lk, _ = H2.kernels_of(txt)
            row = dict(kind="cpu_diag", test="scaling_l2", M=m, K=k, N=n, dtype=dt, threads=t, layout="nk",
                       calls=len(ts), median_ms=f"{med * 1e3:.6g}", min_ms=f"{mn * 1e3:.6g}",
                       gflops=f"{2 * m * k * n / mn / 1e9:.2f}", lib_kernels=lk)
            row.update(prov(args))
            out.row("diag", row)
            out.log(f"  diag scaling {dt} T={t} N={n}: {row['min_ms']} ms {row['gflops']} GFLOP/s [{lk[:60]}]")


def run_gemm(args, out, vf):
    for model, layer, k, n in GEMM_SHAPES:
        for dt in ("fp32", "bf16", "int8"):
            if over(args):
                out.log("BUDGET: stopping gemm")
                return
            ws = H2.weights(dt, k, n)
            for t in (16, 4, 1):
                for m in GEMM_MS[t]:
                    if over(args):
                        out.log("BUDGET: stopping gemm")
                        return
                    row = dict(kind="cpu_gemm", M=m, K=k, N=n, dtype=dt, threads=t, model=model, layer=layer)
                    st = SPLIT.assign_host3(row)
                    try:
                        fns = H2.gemm_fns(dt, m, k, ws)
                        torch.set_num_threads(t)
                        a = time.perf_counter()
                        y = fns[0]()
                        hint = time.perf_counter() - a
                        ok = int(bool(torch.isfinite(y.float()).all()))
                        txt = H2.verbose_text(fns[1 % len(fns)])
                        lk, first = H2.kernels_of(txt)
                        if st == "calibration":
                            vf.write(f"### gemm M={m} K={k} N={n} {dt} T={t}\n{txt}\n")
                        ts = H2.time_row(fns, m <= 16, hint)
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
                        out.log(f"  gemm {dt} M={m} K={k} N={n} T={t}: {row['median_ms']} ms [{row['lib_kernels'][:60]}]")
                    else:
                        out.log(f"  gemm {dt} M={m} K={k} N={n} T={t}: {st} row {row['status']} [{row['lib_kernels'][:60]}]")
            del ws


def run_decoder(args, out, vf):
    import csv
    for name, cfg in H2.DEC_MODELS.items():
        for dt in ("fp32", "bf16"):
            dtype = torch.float32 if dt == "fp32" else torch.bfloat16
            torch.set_num_threads(16)
            model = H2.Decoder(cfg, dtype)
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
                for t in (16, 4):
                    if over(args):
                        out.log("BUDGET: stopping decoder")
                        return
                    row = dict(kind="cpu_decoder", model=name, dtype=dt, threads=t, phase=phase, tokens=tok, batch=b)
                    st = SPLIT.assign_host3(row)
                    try:
                        torch.set_num_threads(t)
                        with torch.inference_mode():
                            a = time.perf_counter()
                            y = fn()
                            hint = time.perf_counter() - a
                            ok = int(bool(torch.isfinite(y.float()).all()))
                            txt = H2.verbose_text(fn)
                            lk, first = H2.kernels_of(txt)
                            ts = H2.time_row([fn], False, hint)
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


def main():
    global torch
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--host", default="h200host-xeon-16c")
    ap.add_argument("--only", default="instance,diag,stream,gemm,decoder,instance_end")
    ap.add_argument("--budget-s", type=float, default=0)
    ap.add_argument("--plan", action="store_true", help="print the split counts of the plan and exit")
    args = ap.parse_args()
    if args.plan:
        counts = {}
        for r in plan_rows():
            s = SPLIT.assign_host3(r)
            counts[(r["kind"], s)] = counts.get((r["kind"], s), 0) + 1
        for k in sorted(counts):
            print(k, counts[k])
        return 0
    import torch as _t
    torch = _t
    MC.torch = _t
    H2.torch = _t
    args.T0 = time.time()
    os.makedirs(args.out, exist_ok=True)
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + f"_host3_{args.host}"
    out = Out(args.out, run_id)
    args.out_obj = out
    cpuinfo = open("/proc/cpuinfo").read()
    args.cpu_model = next((l.split(":", 1)[1].strip() for l in cpuinfo.splitlines() if l.startswith("model name")), "")
    sysinfo(args, "start")
    E = out.env
    E("date_utc", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    E("command", " ".join(sys.argv))
    E("script", "validation/cpu/measure_host3.py")
    E("cpu_model", args.cpu_model)
    E("nproc", os.cpu_count())
    E("torch", torch.__version__)
    E("torch_num_threads_default", torch.get_num_threads())
    E("cpu_capability", torch.backends.cpu.get_cpu_capability())
    E("uptime_start", MC.sh("uptime").strip())
    with open(os.path.join(args.out, "lib_config.txt"), "w") as f:
        f.write(torch.__config__.show() + "\n" + torch.__config__.parallel_info())
    args.probe = build_probe(args)
    vf = open(os.path.join(args.out, "verbose_calibration.txt"), "w")
    for name in args.only.split(","):
        t0 = time.time()
        args.section_t0 = t0
        args.section_budget = SECTION_BUDGET_S.get(name, 0)
        out.log(f"=== {name} (budget {args.section_budget} s) ===")
        if name == "instance_end":
            args.budget_s = 0  # the closing description always runs
        try:
            if name == "instance":
                run_instance(args, out, "start")
            elif name == "instance_end":
                run_instance(args, out, "end")
                sysinfo(args, "end")
            elif name == "gemm":
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
        # the steal column (8th number) shows time the hypervisor gave this guest's vCPUs to others
        E(f"proc_stat_cpu_after_{name}", MC.sh("grep '^cpu ' /proc/stat").strip())
    vf.close()
    out.log(f"total {time.time() - args.T0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
