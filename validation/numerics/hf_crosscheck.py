#!/usr/bin/env python3
"""Cross-check of xpusim's functional LLaMA forward against Hugging Face transformers.

Loads workloads/models/tiny-llama (config.json + model.safetensors) with
transformers.LlamaForCausalLM, runs a fixed byte-level prompt in float32 and float64, and writes
the logits of every position plus the environment to OUT/transformers_logits.json. The C++ test
tests/unit/test_numerics.cpp compares xpusim's fp32 forward with these saved logits.

Run on a machine with transformers (the device machine):
    python3 validation/numerics/hf_crosscheck.py --out DIR
"""
import argparse
import datetime
import json
import platform

import torch
import transformers

PROMPTS = ["The Python tutorial explains", "def main():\n    return 0\n"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="workloads/models/tiny-llama")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    record = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "model": args.model,
        "note": "logits[t] predicts byte t+1; computed on the CPU with LlamaForCausalLM.from_pretrained",
        "prompts": [],
    }
    for dtype in (torch.float32, torch.float64):
        model = transformers.LlamaForCausalLM.from_pretrained(args.model, torch_dtype=dtype).eval()
        for i, text in enumerate(PROMPTS):
            ids = torch.tensor([list(text.encode("utf-8"))], dtype=torch.long)
            with torch.no_grad():
                logits = model(input_ids=ids).logits[0]
            if dtype == torch.float32:
                record["prompts"].append({"text": text, "bytes": ids[0].tolist()})
            key = "logits_fp32" if dtype == torch.float32 else "logits_fp64"
            record["prompts"][i][key] = [[float(v) for v in row] for row in logits.tolist()]
    for p in record["prompts"]:
        a = torch.tensor(p["logits_fp32"], dtype=torch.float64)
        b = torch.tensor(p["logits_fp64"], dtype=torch.float64)
        p["fp32_vs_fp64_rel_l2"] = float((a - b).norm() / b.norm())
    with open(f"{args.out}/transformers_logits.json", "w") as f:
        json.dump(record, f)
    for p in record["prompts"]:
        print(repr(p["text"]), "tokens", len(p["bytes"]), "fp32 vs fp64 rel", p["fp32_vs_fp64_rel_l2"])


if __name__ == "__main__":
    main()
