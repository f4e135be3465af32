#!/usr/bin/python3
"""Writes the GEMM shapes of the SCALE-Sim reference sets (shapes_compute.csv, shapes_calc.csv,
shapes_user.csv): GEMMs of transformer layers (GPT-2 small and LLaMA-7B projections, one
attention head's QKᵀ and P·V) at token counts M from 1 to 4096, on 32x32, 64x64 and 128x128
arrays (plus non-square ones), in ws, os and is. The full-layer (calc, user) sets keep the
layers SCALE-Sim's per-cycle Python loop finishes in seconds."""
import csv

# (name, K, N) per token: Y[M,N] = X[M,K] W[K,N]
LAYERS = [
    ("bert.qkv", 64, 192), ("tiny.mlp", 128, 512), ("gpt2.qkv", 768, 2304), ("gpt2.proj", 768, 768), ("gpt2.fc1", 768, 3072),
    ("gpt2.fc2", 3072, 768), ("llama7b.qkv", 4096, 12288), ("llama7b.o", 4096, 4096),
    ("llama7b.gate_up", 4096, 22016), ("llama7b.down", 11008, 4096),
    ("gpt2xl.qkv", 1600, 4800), ("gpt2xl.fc2", 6400, 1600), ("mistral7b.kv", 4096, 2048),
    ("bert.fc1", 768, 3072), ("tiny.qkv", 256, 768),
]
ARRAYS = [(32, 32), (64, 64), (128, 128), (16, 64), (128, 32)]
DATAFLOWS = ["ws", "os", "is"]
HEADER = ["layer", "M", "K", "N", "rows", "cols", "dataflow", "ifmap_kb", "filter_kb",
          "ofmap_kb", "bw"]


def demand_elems(m, k, n, r, c, df):
    sr, sc, t = {"ws": (k, n, m), "os": (m, n, k), "is": (k, m, n)}[df]
    folds = -(-sr // r) * -(-sc // c)
    lines = folds * (t + 2 * r + c)
    return lines * max(r, c)


def gemms():
    out = []
    for m in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096):
        for name, k, n in LAYERS:
            out.append((f"{name}.m{m}", m, k, n))
    for s in (1, 64, 128, 512, 1024, 2048, 4096):  # one head (d = 64 or 128)
        for d in (64, 128):
            out.append((f"attn.qk.d{d}.s{s}", s if s < 4096 else 4096, d, s))
            out.append((f"attn.pv.d{d}.s{s}", s, s, d))
    return out


def write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows)


def main():
    compute, calc, user = [], [], []
    for name, m, k, n in gemms():
        for r, c in ARRAYS:
            for df in DATAFLOWS:
                e = demand_elems(m, k, n, r, c, df)
                row = [name, m, k, n, r, c, df, 64, 64, 64, 10]
                if e <= 4e6:
                    compute.append(row)
                if e <= 1e5 and (r, c) in ((32, 32), (64, 64), (16, 64)):
                    calc.append(row)
    # USER mode: bandwidth 10 words/cycle and 64 KiB SRAMs, plus starved variants.
    for row in calc[::3]:
        user.append(row)
        user.append(row[:7] + [8, 8, 8, 4])
    write("shapes_compute.csv", compute)
    write("shapes_calc.csv", calc)
    write("shapes_user.csv", user)
    print(len({r[0] for r in compute}), "GEMMs,", len(compute), "compute rows,", len(calc),
          "calc rows,", len(user), "user rows")


if __name__ == "__main__":
    main()
