#!/usr/bin/env python3
"""What the PyTorch CPU measurement scripts share (issue 13): CSV output with the split applied
per row, provenance, shell and /proc readers, which oneDNN / MKL kernel a call ran, GEMM weights
and calls, the eager decoder, the probe_cpu.c instance probes, randomised visits and reference
blocks, and packing the output folder into one tarball.

Moved here unchanged in behaviour from measure_cpu.py, measure_host2.py, measure_host3.py and
measure_host4.py (host1 to host4 were measured with those scripts as they stand at commit 09a1d64;
`git show 09a1d64:validation/cpu/measure_host4.py`). Import it, then set `measure_common.torch`.
"""
import csv
import ctypes
import datetime
import math
import os
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MiB = 1 << 20

torch = None  # set by the script that imports this module, after `import torch`


# ---------------------------------------------------------------- output
class Out:
    """One output folder: <kind>_<set>.csv files (the set from `assign(row)`), env.csv, log.txt."""

    def __init__(self, d, run_id, assign):
        self.d, self.run_id, self.assign, self.files = d, run_id, assign, {}
        os.makedirs(d, exist_ok=True)
        self.logf = open(os.path.join(d, "log.txt"), "a")

    def log(self, msg):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        self.logf.write(line + "\n")
        self.logf.flush()

    def row(self, name, row):
        if name != "env":
            row["set"] = self.assign(row)
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

    def close(self):
        for f, _ in self.files.values():
            f.close()
        self.logf.close()


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def provenance(host, cpu, script):
    """The columns every row carries."""
    return dict(date_utc=utc_now(), host=host, cpu=cpu, lib=f"torch {torch.__version__}",
                load1=f"{os.getloadavg()[0]:.2f}", script=script)


def cpu_model_name():
    with open("/proc/cpuinfo") as f:
        return next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout
    except Exception as e:
        return f"({e})"


def proc_stat():
    """/proc/stat's aggregate cpu line: (steal jiffies, all jiffies)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[7] if len(v) > 7 else 0, sum(v[:8])


def steal_pct(s0, s1):
    return 100.0 * (s1[0] - s0[0]) / max(1, s1[1] - s0[1])


def sysinfo(path, tag):
    """Appends what describes the instance (lscpu, cgroup quota, load, busiest processes, GPU)."""
    cmds = ["date -u", "uname -a", "nproc", "cat /proc/loadavg", "grep '^cpu' /proc/stat", "cat /sys/fs/cgroup/cpu.max",
            "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
            "cat /sys/fs/cgroup/cpuset.cpus.effective", "grep -i cpus_allowed /proc/self/status",
            "cat /proc/pressure/cpu /proc/pressure/memory", "ps -eo pid,pcpu,pmem,comm --sort=-pcpu | head -15",
            "numactl -H", "cat /sys/kernel/mm/transparent_hugepage/enabled",
            "nvidia-smi --query-gpu=name,utilization.gpu,memory.used,clocks.sm --format=csv",
            "grep -m3 -i 'MHz\\|model name' /proc/cpuinfo", "head -3 /proc/meminfo"]
    if tag == "start":
        cmds = ["lscpu", "lscpu -e", "lscpu -C"] + cmds
    with open(path, "a") as f:
        f.write(f"===== {tag}\n")
        for c in cmds:
            f.write(f"--- {c}\n{sh(c + ' 2>&1')}\n")


def pack(out_dir, tar_path):
    """One .tgz of the output folder: the device's run tool returns only a few files of $OUT."""
    with tarfile.open(tar_path, "w:gz") as t:
        t.add(out_dir, arcname=os.path.basename(os.path.abspath(out_dir)))


# ---------------------------------------------------------------- which kernel ran
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


def verbose_text(fn):
    """oneDNN and MKL verbose output of one run of fn."""
    def run():
        with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
            with torch.backends.mkl.verbose(torch.backends.mkl.VERBOSE_ON):
                fn()
    return capture_fd1(run)


def kernels_of(txt):
    """'prim:impl' for oneDNN exec lines and 'MKL FUNC' for MKL lines, in order; the first line."""
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


# ---------------------------------------------------------------- timing
def stats(ts):
    """median, min and nearest-rank p90 of a list of times."""
    ts = sorted(ts)
    n = len(ts)
    med = ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])
    return med, ts[0], ts[min(n - 1, int(math.ceil(0.9 * n)) - 1)]


def visit(fns, min_s, warm=True):
    """One visit of a row: a warm-up call, then calls (cycling over fns) until >= min_s and >= 2."""
    if warm:
        fns[0]()
    ts, i, t0 = [], 0, time.perf_counter()
    while True:
        a = time.perf_counter()
        fns[i % len(fns)]()
        ts.append(time.perf_counter() - a)
        i += 1
        if i >= 2 and time.perf_counter() - t0 >= min_s:
            break
    return ts


# ---------------------------------------------------------------- gemm
def weights(dtype, k, n, rot_bytes, layout="nk"):
    """Copies of one [N, K] weight (nn.Linear's layout) covering >= rot_bytes (at most 64), so that
    cycling through them reads the weights from DRAM, not the LLC."""
    esz = {"fp32": 4, "bf16": 2, "int8": 1}[dtype]
    nc = int(min(64, max(1, math.ceil(rot_bytes / (k * n * esz)))))
    torch.set_num_threads(os.cpu_count() or 16)
    w0 = (torch.rand(n, k) - 0.5) / math.sqrt(k)
    if dtype == "bf16":
        w0 = w0.to(torch.bfloat16)
    elif dtype == "int8":
        w0 = (w0 * 127 * math.sqrt(k) / 2).round().clamp(-127, 127).to(torch.int8)
    if layout == "kn":
        w0 = w0.t().contiguous()
    return [w0.clone() for _ in range(nc)]


def gemm_fns(dtype, m, k, ws, layout="nk"):
    """One call per weight copy: F.linear (fp32: MKL, bf16: oneDNN) or torch._int_mm (int8)."""
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


# ---------------------------------------------------------------- decoder
# The eager decoders (measure_host2.py's): configs/models/<name>.yaml describe the same shapes.
DEC_MODELS = {
    "gpt2": dict(layers=12, d=768, heads=12, kv_heads=12, ffn=3072, vocab=50257, norm="layernorm",
                 act="gelu", bias=True, learned_pos=True, max_pos=1024),
    "llama2-7b-2layer": dict(layers=2, d=4096, heads=32, kv_heads=32, ffn=11008, vocab=32000,
                             norm="rmsnorm", act="silu", bias=False, learned_pos=False, max_pos=4096),
    "gpt2-medium": dict(layers=24, d=1024, heads=16, kv_heads=16, ffn=4096, vocab=50257,
                        norm="layernorm", act="gelu", bias=True, learned_pos=True, max_pos=1024),
}


class Decoder:
    """An eager PyTorch decoder as Hugging Face writes one: norms, fused QKV linear, rotate-half RoPE
    (LLaMA) or learned positions (GPT-2), K and V copied into a preallocated cache, SDPA, MLP, the
    LM head on the last token."""

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


def decoder_fns(model, cfg, phase, tokens, batch):
    """One prefill of `tokens` tokens, or one decode step at context `tokens`."""
    if phase == "prefill":
        ids = torch.randint(0, cfg["vocab"], (batch, tokens))
        return [lambda: model.forward(ids, 0)]
    ids = torch.randint(0, cfg["vocab"], (batch, 1))
    return [lambda: model.forward(ids, tokens)]


# ---------------------------------------------------------------- instance probes (probe_cpu.c)
def build_probe(out, exe="/tmp/probe_cpu"):
    """Compiles probe_cpu.c with the first C compiler found; None when there is none."""
    src = os.path.join(HERE, "probe_cpu.c")
    for cc in ("cc", "gcc", "clang"):
        r = subprocess.run([cc, "-O2", "-march=native", "-pthread", src, "-o", exe], capture_output=True, text=True)
        if r.returncode == 0:
            out.env("probe_compiler", cc)
            return exe
        out.log(f"probe: {cc} failed: {r.stderr[-300:]}")
    out.log("probe: no C compiler; instance clocks and C read rates not measured")
    return None


def run_probe(exe, args, timeout=60):
    """Runs probe_cpu with args; returns its numbers (one per thread for `clock`) or []."""
    r = subprocess.run([exe] + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    return [float(x) for x in r.stdout.split()]
