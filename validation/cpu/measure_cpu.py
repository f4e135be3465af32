#!/usr/bin/env python3
"""CPU measurements for the multicore CPU model (issue 13).

stream (kind cpu_stream): STREAM-style kernels on fp32 arrays, one size per cache level
  (bytes_per_array 1 MiB, 16 MiB, 1 GiB), at each thread count:
    copy  b = a          2 arrays of traffic      scale b = 3a         2
    add   c = a + b      3                        triad a = b + 3c     3 (torch only)
    read  sum(a)         1
  torch: torch.set_num_threads(T), ops with out= (ATen's parallel_for). numpy: single-threaded
  ufuncs, so only T = 1. Bytes counted as STREAM does (no write-allocate traffic). best_gbps is
  from the fastest call (STREAM's convention), median_gbps from the median.
gemm (kind cpu_gemm): Y[M,N] = X[M,K] W[N,K]^T as F.linear does (weights stored [N,K]), at
  decode M (1, 4, 16) and prefill M (128, 512; 2048 at the largest thread count only), over
  gpt2, llama2-7b and llama2-13b projections. dtypes: fp32 and bf16 (F.linear), int8
  (torch._int_mm, int32 out) and w8a16 (torch.ops.aten._weight_int8pack_mm: int8 weights with
  per-channel scales, bf16 activations: gpt-fast's CPU path), where the installed torch has them.
  numpy: fp32 only (np.matmul through the BLAS numpy links). Weights rotate over copies
  (>= 1.5 GiB in all, at most 64) so that decode reads them from DRAM, not the LLC.
  For every torch row one call runs under oneDNN verbose and MKL verbose
  (torch.backends.mkldnn.verbose / torch.backends.mkl.verbose), and the primitive and
  implementation names it printed are stored (`lib_kernels`): e.g. brg_matmul:avx512_core_amx
  means oneDNN's AMX path ran; "MKL SGEMM" means MKL; "none" means ATen's own kernel.

Rows go to gemm_calibration.csv / gemm_holdout.csv / stream_calibration.csv /
stream_holdout.csv by split_cpu.assign (fixed before measuring); the log prints values of
calibration rows only. env.csv, lscpu.txt and lib_config.txt record the host and the software.

Usage: python3 measure_cpu.py --out DIR --host TAG [--lib torch|numpy] [--threads 1,4,16]
                              [--only stream,gemm] [--quick] [--budget-s S]
numpy's BLAS thread count comes from OPENBLAS_NUM_THREADS (set it per process; --threads must
then name that one count).
"""
import argparse
import csv
import ctypes
import datetime
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import split_cpu as SPLIT  # noqa: E402

MiB = 1 << 20
ROT_BYTES = 1536 * MiB  # > 5x the 300 MiB L3 the GPU machine's host reports

# (model, layer, K, N)
SHAPES = [("llama2-7b", "qkv", 4096, 12288), ("llama2-7b", "o", 4096, 4096),
          ("llama2-7b", "gate_up", 4096, 22016), ("llama2-7b", "down", 11008, 4096),
          ("gpt2", "qkv", 768, 2304), ("gpt2", "fc1", 768, 3072), ("gpt2", "fc2", 3072, 768),
          ("llama2-13b", "qkv", 5120, 15360), ("llama2-13b", "down", 13824, 5120)]
M_DECODE = [1, 4, 16]
M_PREFILL = [128, 512]
M_BIG = 2048

torch = np = None


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
        if name != "env":
            row["set"] = SPLIT.assign(row)
            name = f"{name}_{row['set']}"
        row = {k: (v.replace(",", ";").replace("\n", " ") if isinstance(v, str) else v) for k, v in row.items()}
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
        return row.get("set")

    def env(self, key, value):
        self.row("env", {"run_id": self.run_id, "key": key, "value": value})


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout
    except Exception as e:
        return f"({e})"


_libc = ctypes.CDLL(None)


def capture_fd1(fn):
    """Runs fn with the process's fd 1 (C stdout) sent to a temp file; returns what was written."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            fn()
        finally:
            _libc.fflush(None)
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode(errors="replace")


def lib_kernels(fn):
    """The oneDNN / MKL calls one run of fn makes: 'prim:impl' for oneDNN exec lines, 'MKL FUNC'."""
    def run():
        with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
            with torch.backends.mkl.verbose(torch.backends.mkl.VERBOSE_ON):
                fn()
    txt = capture_fd1(run)
    found, first = [], ""
    for line in txt.splitlines():
        if line.startswith(("onednn_verbose", "dnnl_verbose")) and ",exec," in line:
            p = line.split(",")
            # onednn_verbose[,timestamp],v1?,primitive,exec,cpu,KIND,IMPL,...
            try:
                i = p.index("exec")
                k = f"{p[i + 2]}:{p[i + 3]}"
            except (ValueError, IndexError):
                k = line[:80]
            if k not in found:
                found.append(k)
            if not first:
                first = line
        elif line.startswith("MKL_VERBOSE") and "(" in line and "oneMKL" not in line:
            k = "MKL " + line.split()[1].split("(")[0]
            if k not in found:
                found.append(k)
            if not first:
                first = line
    return (" | ".join(found) if found else "none (no oneDNN/MKL call: ATen kernel)"), first[:400]


def stats(ts):
    ts = sorted(ts)
    n = len(ts)
    med = ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])
    return med, ts[0], ts[min(n - 1, int(math.ceil(0.9 * n)) - 1)]


def time_calls(fns, min_s, min_calls, max_s=None):
    """Per-call host times (s), cycling over fns after warm-up."""
    nc = len(fns)
    for f in fns[:min(nc, 3)]:
        f()
    ts, i, t_start = [], 0, time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fns[i % nc]()
        ts.append(time.perf_counter() - t0)
        i += 1
        el = time.perf_counter() - t_start
        if i >= min_calls and el >= min_s:
            break
        if max_s and el >= max_s and i >= 2:
            break
    return ts


def prov(args):
    return dict(date_utc=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                host=args.host, cpu=args.cpu_model, lib=args.lib_desc, load1=f"{os.getloadavg()[0]:.2f}",
                script="validation/cpu/measure_cpu.py")


def set_threads(args, t):
    if args.lib == "torch":
        torch.set_num_threads(t)


def run_stream(args, out, T0):
    sizes = [1 * MiB, 16 * MiB, 1024 * MiB] if not args.quick else [1 * MiB, 64 * MiB]
    ops = ["copy", "scale", "add", "triad", "read"] if args.lib == "torch" else ["copy", "scale", "add", "read"]
    nbytes = {"copy": 2, "scale": 2, "add": 3, "triad": 3, "read": 1}
    for size in sizes:
        n = size // 4
        if args.lib == "torch":
            a, b, c = torch.rand(n), torch.rand(n), torch.rand(n)
            fn = {"copy": lambda: b.copy_(a), "scale": lambda: torch.mul(a, 3.0, out=b),
                  "add": lambda: torch.add(a, b, out=c), "triad": lambda: torch.add(b, c, alpha=3.0, out=a),
                  "read": lambda: a.sum()}
        else:
            a, b, c = np.random.rand(n).astype(np.float32), np.random.rand(n).astype(np.float32), np.empty(n, np.float32)
            fn = {"copy": lambda: np.copyto(b, a), "scale": lambda: np.multiply(a, 3.0, out=b),
                  "add": lambda: np.add(a, b, out=c), "read": lambda: a.sum()}
        for t in args.thread_list:
            set_threads(args, t)
            for op in ops:
                if args.budget_s and time.time() - T0 > args.budget_s:
                    out.log("BUDGET: stopping stream")
                    return
                ts = time_calls([fn[op]], 0.15 if not args.quick else 0.03, 5)
                med, mn, p90 = stats(ts)
                bpc = nbytes[op] * size
                row = dict(kind="cpu_stream", op=op, bytes_per_array=size, threads=t, dtype="fp32",
                           bytes_per_call=bpc, calls=len(ts), median_ms=f"{med * 1e3:.6g}", min_ms=f"{mn * 1e3:.6g}",
                           p90_ms=f"{p90 * 1e3:.6g}", best_gbps=f"{bpc / mn / 1e9:.2f}",
                           median_gbps=f"{bpc / med / 1e9:.2f}")
                row.update(prov(args))
                st = out.row("stream", row)
                if st == "calibration":
                    out.log(f"  stream {op} {size // MiB} MiB T={t}: best {row['best_gbps']} GB/s, median {row['median_gbps']}")
                else:
                    out.log(f"  stream {op} {size // MiB} MiB T={t}: hold-out row written")
        del a, b, c


def make_gemm(args, dtype, m, k, n, base):
    """Returns (fns, ncopies). base: dict of cached weight copies per (dtype, k, n)."""
    key = (dtype, k, n)
    esz = {"fp32": 4, "bf16": 2, "int8": 1, "w8a16": 1}[dtype]
    if key not in base:
        base.clear()
        nc = int(min(64, max(1, math.ceil(ROT_BYTES / (k * n * esz)))))
        if args.quick:
            nc = min(nc, 2)
        if args.lib == "numpy":
            w0 = (np.random.rand(n, k).astype(np.float32) - 0.5) / math.sqrt(k)
            ws = [w0.copy() for _ in range(nc)]
        else:
            torch.set_num_threads(args.max_threads)
            w0 = (torch.rand(n, k) - 0.5) / math.sqrt(k)
            if dtype == "fp32":
                ws = [w0.clone() for _ in range(nc)]
            elif dtype == "bf16":
                ws = [w0.to(torch.bfloat16) for _ in range(nc)]
            elif dtype == "int8":
                wi = (w0 * 127 * math.sqrt(k) / 2).round().clamp(-127, 127).to(torch.int8)
                ws = [wi.clone() for _ in range(nc)]
            elif dtype == "w8a16":
                wi = (w0 * 127 * math.sqrt(k) / 2).round().clamp(-127, 127).to(torch.int8)
                sc = torch.full((n,), 2 / (127 * math.sqrt(k)), dtype=torch.bfloat16)
                ws = [(wi.clone(), sc) for _ in range(nc)]
            del w0
        base[key] = ws
    ws = base[key]
    if args.lib == "numpy":
        x = np.random.rand(m, k).astype(np.float32)
        return [(lambda w=w: np.matmul(x, w.T)) for w in ws], len(ws)
    F = torch.nn.functional
    if dtype == "fp32":
        x = torch.randn(m, k)
        return [(lambda w=w: F.linear(x, w)) for w in ws], len(ws)
    if dtype == "bf16":
        x = torch.randn(m, k, dtype=torch.bfloat16)
        return [(lambda w=w: F.linear(x, w)) for w in ws], len(ws)
    if dtype == "int8":
        x = torch.randint(-127, 128, (m, k), dtype=torch.int8)
        return [(lambda w=w: torch._int_mm(x, w.t())) for w in ws], len(ws)
    x = torch.randn(m, k, dtype=torch.bfloat16)
    return [(lambda w=w: torch.ops.aten._weight_int8pack_mm(x, w[0], w[1])) for w in ws], len(ws)


def run_gemm(args, out, T0):
    dtypes = args.dtypes.split(",") if args.lib == "torch" else ["fp32"]
    shapes = SHAPES if not args.quick else [SHAPES[0], SHAPES[4]]
    unsupported = set()
    base = {}
    for model, layer, k, n in shapes:
        for dtype in dtypes:
            if dtype in unsupported:
                continue
            for t in sorted(args.thread_list, reverse=True):
                ms = M_DECODE + M_PREFILL + ([M_BIG] if t == args.max_threads else [])
                if args.ms:
                    ms = [int(v) for v in args.ms.split(",")]
                if dtype == "w8a16":  # ATen's own kernel, slow at large M: decode shapes and M=128 only
                    ms = [v for v in ms if v <= 128]
                if args.quick:
                    ms = [1, 128]
                for m in ms:
                    if args.budget_s and time.time() - T0 > args.budget_s:
                        out.log("BUDGET: stopping gemm")
                        return
                    row = dict(kind="cpu_gemm", M=m, K=k, N=n, dtype=dtype, threads=t, model=model, layer=layer)
                    try:
                        fns, nc = make_gemm(args, dtype, m, k, n, base)
                        set_threads(args, t)
                        y = fns[0]()
                        ok = int(bool(np.isfinite(y).all())) if args.lib == "numpy" else \
                            int(bool(torch.isfinite(y.float()).all()))
                        lk, first = ("numpy -> " + args.blas, "") if args.lib == "numpy" else lib_kernels(fns[0])
                        ts = time_calls(fns, 0.1 if not args.quick else 0.02, min(nc, 8) if m <= 16 else 3,
                                        max_s=3.0)
                        med, mn, p90 = stats(ts)
                        fl = 2 * m * k * n
                        wb = k * n * {"fp32": 4, "bf16": 2, "int8": 1, "w8a16": 1}[dtype]
                        row.update(status="ok", calls=len(ts), rot_copies=nc, median_ms=f"{med * 1e3:.6g}",
                                   min_ms=f"{mn * 1e3:.6g}", p90_ms=f"{p90 * 1e3:.6g}",
                                   gflops=f"{fl / med / 1e9:.2f}", weight_gbps=f"{wb / med / 1e9:.2f}", finite=ok,
                                   lib_kernels=lk, lib_verbose_first=first, error="")
                    except Exception as e:
                        msg = f"{type(e).__name__}: {str(e)[:200]}"
                        row.update(status="unsupported", calls="", rot_copies="", median_ms="", min_ms="", p90_ms="",
                                   gflops="", weight_gbps="", finite="", lib_kernels="", lib_verbose_first="", error=msg)
                        out.log(f"  gemm {dtype} M={m} K={k} N={n} T={t}: unsupported ({msg[:120]})")
                        if dtype in ("int8", "w8a16") and m == ms[0]:
                            unsupported.add(dtype)
                    row.update(prov(args))
                    st = out.row("gemm", row)
                    if row["status"] == "ok":
                        if st == "calibration":
                            out.log(f"  gemm {dtype} M={m} K={k} N={n} T={t}: {row['median_ms']} ms "
                                    f"{row['gflops']} GFLOP/s {row['weight_gbps']} GB/s(w)  [{row['lib_kernels'][:90]}]")
                        else:
                            out.log(f"  gemm {dtype} M={m} K={k} N={n} T={t}: hold-out row written")
                    if dtype in unsupported:
                        break
                if dtype in unsupported:
                    break
    base.clear()


def main():
    global torch, np
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--host", required=True, help="a tag for the machine, stored in every row")
    ap.add_argument("--lib", default="torch", choices=["torch", "numpy"])
    ap.add_argument("--threads", default="1,4,16")
    ap.add_argument("--stream-threads", default="", help="thread counts for stream (default: --threads)")
    ap.add_argument("--dtypes", default="fp32,bf16,int8,w8a16")
    ap.add_argument("--only", default="stream,gemm")
    ap.add_argument("--ms", default="", help="GEMM M values (default: 1,4,16,128,512 and 2048 at the largest thread count)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--budget-s", type=float, default=0)
    args = ap.parse_args()
    T0 = time.time()
    import numpy as _np
    np = _np
    if args.lib == "torch":
        import torch as _t
        torch = _t
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + f"_cpu_{args.host}_{args.lib}"
    out = Out(args.out, run_id)
    args.thread_list = [int(v) for v in args.threads.split(",")]
    args.max_threads = max(args.thread_list)
    cpuinfo = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    args.cpu_model = next((l.split(":", 1)[1].strip() for l in cpuinfo.splitlines() if l.startswith("model name")), platform.processor())
    flags = next((l.split(":", 1)[1].split() for l in cpuinfo.splitlines() if l.startswith("flags")), [])
    with open(os.path.join(args.out, f"lscpu_{args.host}.txt"), "w") as f:
        f.write(sh("lscpu") + "\n--- lscpu -C\n" + sh("lscpu -C") + "\n--- free -g\n" + sh("free -g") +
                "\n--- numactl -H\n" + sh("numactl -H 2>&1") + "\n--- uptime\n" + sh("uptime"))
    E = out.env
    E("date_utc", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    E("command", " ".join(sys.argv))
    E("script", "validation/cpu/measure_cpu.py")
    E("host", args.host)
    E("cpu_model", args.cpu_model)
    E("nproc", os.cpu_count())
    E("affinity_cpus", len(os.sched_getaffinity(0)))
    E("simd_flags", " ".join(f for f in flags if f.startswith(("avx", "amx", "fma", "f16c"))))
    E("uptime_start", sh("uptime").strip())
    E("python", sys.version.split()[0])
    E("numpy", np.__version__)
    if args.lib == "torch":
        args.lib_desc = f"torch {torch.__version__}"
        E("torch", torch.__version__)
        E("torch_num_threads_default", torch.get_num_threads())
        E("mkldnn_available", torch.backends.mkldnn.is_available())
        E("mkl_available", torch.backends.mkl.is_available())
        try:
            E("cpu_capability", torch.backends.cpu.get_cpu_capability())
        except Exception:
            pass
        with open(os.path.join(args.out, f"lib_config_{args.host}.txt"), "w") as f:
            f.write(torch.__config__.show() + "\n" + torch.__config__.parallel_info())
        args.blas = "torch"
    else:
        blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
        args.blas = blas
        args.lib_desc = f"numpy {np.__version__} ({os.path.basename(os.path.dirname(blas))}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '')})"
        E("blas", blas)
        E("openblas_num_threads", os.environ.get("OPENBLAS_NUM_THREADS", ""))
        E("openblas_coretype", os.environ.get("OPENBLAS_CORETYPE", ""))
        try:
            cfg = capture_fd1(np.show_config)
        except Exception:
            cfg = ""
        with open(os.path.join(args.out, f"lib_config_{args.host}.txt"), "w") as f:
            f.write(cfg + "\nlibblas.so.3 -> " + blas + "\n" + sh("update-alternatives --display libblas.so.3-x86_64-linux-gnu"))
    out.log(f"host {args.host}: {args.cpu_model}, {os.cpu_count()} cpus, lib {args.lib_desc}")
    for name in args.only.split(","):
        t0 = time.time()
        out.log(f"=== {name} ===")
        saved = args.thread_list
        if name == "stream":
            if args.stream_threads:
                args.thread_list = [int(v) for v in args.stream_threads.split(",")]
            if args.lib == "numpy":
                args.thread_list = [1]
        try:
            {"stream": run_stream, "gemm": run_gemm}[name](args, out, T0)
        except Exception as e:
            out.log(f"SECTION {name} FAILED: {type(e).__name__}: {e}")
            traceback.print_exc()
        args.thread_list = saved
        E(f"section_seconds.{name}", f"{time.time() - t0:.1f}")
        E(f"uptime_after_{name}", sh("uptime").strip())
    out.log(f"total {time.time() - T0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
