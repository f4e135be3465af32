#!/usr/bin/env python3
"""Writes the safetensors fixtures that tests/unit/test_weights_interop.cpp reads. They are made
by the reference implementations (Hugging Face safetensors and transformers), never by xpusim,
so the test checks our reader against code nobody here wrote. Also loads xpusim_written.safetensors
(written by xpusim's writer) with the reference reader and records what it saw.

Needs torch, safetensors and transformers (the project's device machine has them):
    python3 tests/data/weights/make_fixtures.py OUT_DIR
It writes OUT_DIR/{hf_dtypes.safetensors, hf_dtypes.json, hf_tiny_llama/, hf_tiny_llama_sharded/,
hf_tiny_gpt2/, expected_*.json, xpusim_written_check.json}. Seeded: the same versions give the
same bytes."""
import json
import os
import sys

import safetensors
import torch
import transformers
from safetensors import safe_open
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)

ST_NAME = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
           torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
           torch.uint8: "U8", torch.bool: "BOOL"}
if hasattr(torch, "float8_e4m3fn"):
    ST_NAME[torch.float8_e4m3fn] = "F8_E4M3"
    ST_NAME[torch.float8_e5m2] = "F8_E5M2"


def values(t):
    return [float(x) for x in t.detach().to(torch.float64).flatten().tolist()]


def write_json(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)


# 1. One tensor of every dtype, written by safetensors.torch.save_file.
tensors = {
    "f32": torch.randn(3, 4),
    "f16": torch.tensor([0.0, -0.0, 65504.0, 2.0**-24, 1.0 / 3.0, -2.5]).to(torch.float16),
    "bf16": torch.randn(2, 3).to(torch.bfloat16),
    "f64": torch.randn(3, dtype=torch.float64),
    "i64": torch.arange(-3, 3, dtype=torch.int64),
    "i32": torch.tensor([-70000, 5], dtype=torch.int32),
    "i16": torch.tensor([-300, 300], dtype=torch.int16),
    "i8": torch.tensor([-128, 127], dtype=torch.int8),
    "u8": torch.tensor([0, 255], dtype=torch.uint8),
    "bool": torch.tensor([True, False, True]),
    "scalar": torch.tensor(2.5),
    "empty": torch.zeros(0, 3),
}
if hasattr(torch, "float8_e4m3fn"):
    tensors["e4m3"] = torch.tensor([0.5, -448.0, 2.0**-9, 3.0]).to(torch.float8_e4m3fn)
    tensors["e5m2"] = torch.tensor([57344.0, -1.5, 2.0**-16]).to(torch.float8_e5m2)
save_file(tensors, os.path.join(OUT, "hf_dtypes.safetensors"), metadata={"made_by": "make_fixtures.py"})
write_json("expected_dtypes.json", {n: {"dtype": ST_NAME[t.dtype], "shape": list(t.shape), "values": values(t)}
                                    for n, t in tensors.items()})


# 2. Tiny models saved by transformers' save_pretrained, as a user's checkpoint folder would be.
def summarize(model):
    return {n: {"shape": list(t.shape), "sum": sum(values(t)), "abs_sum": sum(abs(v) for v in values(t)),
                "first": values(t)[:8]} for n, t in model.state_dict().items()}


def save(model, folder, **kwargs):
    path = os.path.join(OUT, folder)
    model.save_pretrained(path, safe_serialization=True, **kwargs)
    gen = os.path.join(path, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)


llama_cfg = transformers.LlamaConfig(hidden_size=16, intermediate_size=40, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, vocab_size=32,
                                     max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0,
                                     tie_word_embeddings=False)
llama = transformers.LlamaForCausalLM(llama_cfg)
with torch.no_grad():
    for n, p in llama.named_parameters():
        if "norm" in n:  # initialised to ones; make them worth checking
            p.uniform_(0.5, 1.5)
llama = llama.to(torch.bfloat16)
save(llama, "hf_tiny_llama")
save(llama, "hf_tiny_llama_sharded", max_shard_size=6000)
write_json("expected_tiny_llama.json", summarize(llama))

gpt2_cfg = transformers.GPT2Config(n_embd=8, n_layer=2, n_head=2, n_positions=6, vocab_size=11)
gpt2 = transformers.GPT2LMHeadModel(gpt2_cfg)
save(gpt2, "hf_tiny_gpt2")
state = {n: t for n, t in gpt2.state_dict().items() if n != "lm_head.weight" and not n.endswith(".attn.bias")
         and not n.endswith(".attn.masked_bias")}
write_json("expected_tiny_gpt2.json", {n: v for n, v in summarize(gpt2).items() if n in state})

# 3. The reference reader on a file xpusim wrote.
ours = os.path.join(HERE, "xpusim_written.safetensors")
loaded = load_file(ours)
with safe_open(ours, framework="pt") as f:
    meta = f.metadata()
want = [1.0, -2.5, 0.375, 448.0, -0.015625, 0.0]
check = {n: {"dtype": ST_NAME[t.dtype], "shape": list(t.shape), "values": values(t)} for n, t in loaded.items()}
ok = meta == {"writer": "xpusim"} and all(v["values"] == want for v in check.values()) and len(check) == 6
write_json("xpusim_written_check.json", {"reference_reader_agrees": ok, "metadata": meta, "tensors": check,
                                         "versions": {"torch": torch.__version__, "safetensors": safetensors.__version__,
                                                      "transformers": transformers.__version__}})
print("reference reader agrees with xpusim's writer:", ok)
print("versions:", torch.__version__, safetensors.__version__, transformers.__version__)
