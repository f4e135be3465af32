#!/usr/bin/env python3
"""Writes a sweep store (the schema of sim/run/sweep_store.h) of N synthetic design points, for
the report's size and render-time test: rows shaped as `xpusim sweep` stores them, with four
swept parameters and latency/throughput from a smooth made-up function plus seeded noise. Only
the report's rendering is measured with it; no number in it is a model result.

Usage: make_sweep_store.py OUT.sqlite N"""
import json, random, sqlite3, sys

out, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
db = sqlite3.connect(out)
db.executescript("""
CREATE TABLE IF NOT EXISTS results(key TEXT PRIMARY KEY, commit_id TEXT NOT NULL, rows TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sweep_points(sweep TEXT NOT NULL, idx INTEGER NOT NULL, key TEXT NOT NULL,
  assignments TEXT NOT NULL, PRIMARY KEY(sweep, idx));
""")
hws = ["tpu-v4", "h100", "xeon-8480"]
for i in range(n):
    rows_ = 64 * 2 ** rng.randrange(3)
    bw = round(0.6 * 8 ** rng.random(), 3)
    batch = 2 ** rng.randrange(7)
    hw = hws[i % 3]
    latency = (5 + 200 / bw) * (1 + 0.02 * batch) * (256 / rows_) ** 0.3 * rng.uniform(0.9, 1.1)
    row = {"hw": hw, "model": "llama2-7b", "phase": "decode", "batch": batch, "prompt": 0,
           "ctx": 512, "quant": "bf16", "kv_quant": "bf16", "prune": "none", "tp": 1, "pp": 1,
           "ep": 1, "devices": 1, "ok": True, "latency_ms": latency,
           "tokens_per_s": batch / latency * 1e3, "energy_j": None, "avg_power_w": None,
           "bound": "memory", "weight_bytes": 1.3e10, "kv_cache_bytes": 2.7e8 * batch,
           "activation_bytes": 1e7}
    key = f"synthetic-{i}"
    assignments = [f"hw.mxu.rows={rows_}", f"hw.hbm.bw={bw} TB/s", f"batch={batch}",
                   f"hw={hw}"]
    db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", (key, "synthetic", json.dumps([row])))
    db.execute("INSERT OR REPLACE INTO sweep_points VALUES (?, ?, ?, ?)",
               ("synthetic-10k", i, key, json.dumps(assignments)))
db.commit()
