#!/usr/bin/python3
"""Train xpusim's tiny byte-level LLaMA reference model (issue 5, item 5).

The model is the Hugging Face LLaMA architecture (LlamaForCausalLM semantics),
written in plain torch 1.13 so that it runs on Debian's python3-torch without
`transformers`:

  embed_tokens -> L x [ x += o_proj(attn(rope(q), rope(k), v) of input_layernorm(x))
                        x += down_proj(silu(gate_proj(h)) * up_proj(h)),
                             h = post_attention_layernorm(x) ]
               -> norm -> lm_head

Corpus: the reStructuredText sources that Debian's python3.11-doc installs in
/usr/share/doc/python3.11/html/_sources (*.txt), concatenated as raw UTF-8
bytes (vocabulary = 256 byte values) in sorted relative-path order.  File-level
split: the file with sorted index i goes to held-out when i % 20 == 10,
otherwise to train.

Outputs (in --out):
  model.safetensors      F32 weights, HF parameter names, written by hand
                         (no safetensors package), tensors in sorted name order
  config.json            HF LlamaConfig
  reference_logits.json  fp64 / fp32 logits of a fixed prompt (cross-check)
  heldout_eval.json      held-out slice definition and measured loss / ppl
  heldout_slice.bin      the exact bytes of the C++ cross-check slice
  train_log.json         hyper-parameters, loss curve, timings
  README.md              provenance (generated)

Run (the committed model):
  OMP_NUM_THREADS=1 nice -n 19 /usr/bin/python3 validation/numerics/train_tiny_llama.py \
      --out workloads/models/tiny-llama
All hyper-parameters are arguments whose defaults are the committed run.
"""
import os

# One thread everywhere: the machine is shared, and 1 thread keeps it deterministic.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import hashlib
import json
import math
import platform
import shlex
import struct
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_SRC = "/usr/share/doc/python3.11/html/_sources"
REF_PROMPT = "The Python tutorial explains"


# ----------------------------------------------------------------------------
# Model: Hugging Face LLaMA semantics in plain torch
# ----------------------------------------------------------------------------
class RMSNorm(nn.Module):
    """HF LlamaRMSNorm: computed in fp32, weight applied after casting back."""

    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        in_dtype = x.dtype
        h = x.to(torch.float32) if in_dtype != torch.float64 else x
        var = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(var + self.eps)
        return self.weight * h.to(in_dtype)


def rotate_half(x):
    """HF rotate_half: cat(-x2, x1) with x1, x2 the two halves of the last dim."""
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


def rope_cos_sin(seq_len, head_dim, theta, dtype):
    """HF LlamaRotaryEmbedding: inv_freq = 1/theta^(arange(0,d,2)/d),
    freqs = outer(positions, inv_freq), emb = cat(freqs, freqs).
    inv_freq is computed in fp32 as HF does, then cos/sin cast to dtype."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    t = torch.arange(seq_len, dtype=torch.float32)
    if dtype == torch.float64:
        inv_freq = inv_freq.double()
        t = t.double()
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_heads = cfg["num_attention_heads"]
        self.n_kv = cfg["num_key_value_heads"]
        self.hd = cfg["hidden_size"] // self.n_heads
        d = cfg["hidden_size"]
        self.q_proj = nn.Linear(d, self.n_heads * self.hd, bias=False)
        self.k_proj = nn.Linear(d, self.n_kv * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.n_kv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.hd, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.n_heads // self.n_kv  # HF repeat_kv: kv head j serves q heads j*rep..j*rep+rep-1
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.hd)
        att = att.masked_fill(mask, float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v)
        y = y.transpose(1, 2).reshape(B, T, self.n_heads * self.hd)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, f = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x


class LlamaModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = LlamaModel(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        std = cfg["initializer_range"]
        for name, p in self.named_parameters():
            if name.endswith("layernorm.weight") or name == "model.norm.weight":
                nn.init.ones_(p)
            else:
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, idx):
        B, T = idx.shape
        dtype = self.lm_head.weight.dtype
        hd = self.cfg["hidden_size"] // self.cfg["num_attention_heads"]
        cos, sin = rope_cos_sin(T, hd, self.cfg["rope_theta"], dtype)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        x = self.model.embed_tokens(idx)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.model.norm(x))


# ----------------------------------------------------------------------------
# safetensors, written and read by hand
# ----------------------------------------------------------------------------
def save_safetensors(tensors, path, metadata=None):
    names = sorted(tensors)
    header = {}
    blobs = []
    off = 0
    for n in names:
        t = tensors[n].detach().to(torch.float32).contiguous().cpu()
        b = t.numpy().astype("<f4").tobytes()
        header[n] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = dict(metadata or {"format": "pt"})
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((-len(hj)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32"
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[base + b: base + e], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------
def list_sources(src):
    rel = []
    for root, _dirs, files in os.walk(src):
        for fn in files:
            if fn.endswith(".txt"):
                rel.append(os.path.relpath(os.path.join(root, fn), src))
    return sorted(rel)  # Python string sort of the relative path ('/' separated)


def load_corpus(src, heldout_every, heldout_index):
    files = list_sources(src)
    train_parts, held_parts, held_files, train_files = [], [], [], []
    for i, rel in enumerate(files):
        with open(os.path.join(src, rel), "rb") as f:
            b = f.read()
        if i % heldout_every == heldout_index:
            held_parts.append(b)
            held_files.append((rel, len(b)))
        else:
            train_parts.append(b)
            train_files.append((rel, len(b)))
    return files, train_files, held_files, b"".join(train_parts), b"".join(held_parts)


def bytes_to_tensor(b):
    return torch.frombuffer(bytearray(b), dtype=torch.uint8).to(torch.int64)


@torch.no_grad()
def evaluate(model, data, seq, n_windows, batch=16):
    """Mean next-byte cross-entropy (nats) over non-overlapping windows:
    window w: input = data[w*seq : w*seq+seq], target = data[w*seq+1 : w*seq+seq+1]."""
    model.eval()
    total, count = 0.0, 0
    for w0 in range(0, n_windows, batch):
        ws = range(w0, min(n_windows, w0 + batch))
        x = torch.stack([data[w * seq: w * seq + seq] for w in ws])
        y = torch.stack([data[w * seq + 1: w * seq + seq + 1] for w in ws])
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1), reduction="sum")
        total += loss.item()
        count += y.numel()
    model.train()
    return total / count, count


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default=DEFAULT_SRC)
    ap.add_argument("--out", default="workloads/models/tiny-llama")
    ap.add_argument("--dim", type=int, default=192)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=512)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--min-lr", type=float, default=3e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.95)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--init-std", type=float, default=0.02)
    ap.add_argument("--rms-eps", type=float, default=1e-5)
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--heldout-every", type=int, default=20)
    ap.add_argument("--heldout-index", type=int, default=10)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-windows", type=int, default=64, help="held-out windows for periodic evals")
    ap.add_argument("--slice-windows", type=int, default=16,
                    help="windows in the C++ cross-check slice (start of held-out text)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=25)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)

    files, train_files, held_files, train_b, held_b = load_corpus(args.src, args.heldout_every, args.heldout_index)
    train = bytes_to_tensor(train_b)
    held = bytes_to_tensor(held_b)
    print(f"corpus: {len(files)} files, train {len(train_files)} files / {len(train_b)} bytes, "
          f"held-out {len(held_files)} files / {len(held_b)} bytes", flush=True)

    assert args.dim % args.heads == 0 and args.heads % args.kv_heads == 0
    cfg = {
        "hidden_size": args.dim,
        "intermediate_size": args.ffn,
        "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads,
        "num_key_value_heads": args.kv_heads,
        "vocab_size": 256,
        "max_position_embeddings": args.seq,
        "rms_norm_eps": args.rms_eps,
        "rope_theta": args.rope_theta,
        "initializer_range": args.init_std,
    }
    model = LlamaForCausalLM(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"params: {n_params}", flush=True)
    for n, p in model.named_parameters():
        print(f"  {n:45s} {list(p.shape)}")

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(args.beta1, args.beta2), eps=1e-8)

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        p = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1.0 + math.cos(math.pi * min(1.0, p)))

    gen = torch.Generator().manual_seed(args.seed)
    n_start = len(train) - args.seq - 1
    held_eval_windows = min(args.eval_windows, (len(held) - 1) // args.seq)
    curve, evals, recent = [], [], []
    t_train = time.time()
    model.train()
    for step in range(args.steps):
        lr = lr_at(step)
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, n_start + 1, (args.batch,), generator=gen)
        x = torch.stack([train[s: s + args.seq] for s in starts.tolist()])
        y = torch.stack([train[s + 1: s + args.seq + 1] for s in starts.tolist()])
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, 256), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip).item()
        opt.step()
        recent.append(loss.item())
        if (step + 1) % args.log_every == 0 or step == 0:
            avg = sum(recent) / len(recent)
            el = time.time() - t_train
            curve.append({"step": step + 1, "train_loss": avg, "lr": lr, "grad_norm": gnorm, "elapsed_s": el})
            print(f"step {step + 1:5d}/{args.steps} loss {avg:.4f} lr {lr:.2e} gnorm {gnorm:.3f} "
                  f"{el:.0f}s ({el / (step + 1):.3f}s/step)", flush=True)
            recent = []
        if (step + 1) % args.eval_every == 0 and step + 1 < args.steps:
            hl, _ = evaluate(model, held, args.seq, held_eval_windows)
            evals.append({"step": step + 1, "heldout_loss_subset": hl})
            print(f"  eval step {step + 1}: held-out loss (first {held_eval_windows} windows) {hl:.4f} "
                  f"bpb {hl / math.log(2):.4f}", flush=True)
    train_wall = time.time() - t_train
    last_losses = [c["train_loss"] for c in curve[-2:]]
    final_train_running = sum(last_losses) / len(last_losses)
    print(f"training done in {train_wall:.1f}s", flush=True)

    # ---- final evaluation (fp32) ---------------------------------------------
    model.eval()
    n_held_windows = (len(held) - 1) // args.seq
    held_loss, held_tokens = evaluate(model, held, args.seq, n_held_windows)
    n_train_eval = n_held_windows  # same number of tokens, from the start of the train text
    train_loss_eval, train_tokens = evaluate(model, train, args.seq, n_train_eval)
    slice_loss, slice_tokens = evaluate(model, held, args.seq, args.slice_windows)
    print(f"held-out: loss {held_loss:.4f} ppl {math.exp(held_loss):.4f} bpb {held_loss / math.log(2):.4f} "
          f"({held_tokens} tokens)", flush=True)
    print(f"train eval: loss {train_loss_eval:.4f} ppl {math.exp(train_loss_eval):.4f} ({train_tokens} tokens)")
    print(f"slice: loss {slice_loss:.6f} ppl {math.exp(slice_loss):.6f} ({slice_tokens} tokens)", flush=True)

    # ---- save weights ----------------------------------------------------------
    sd = {n: p.detach().clone() for n, p in model.named_parameters()}
    st_path = os.path.join(args.out, "model.safetensors")
    save_safetensors(sd, st_path)
    back = load_safetensors(st_path)
    assert set(back) == set(sd)
    for n in sd:
        assert torch.equal(back[n], sd[n]), n
    with open(st_path, "rb") as f:
        st_bytes = f.read()
    st_sha = hashlib.sha256(st_bytes).hexdigest()
    print(f"wrote {st_path}: {len(st_bytes)} bytes sha256 {st_sha}", flush=True)

    hf_cfg = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": 256,
        "hidden_size": args.dim,
        "intermediate_size": args.ffn,
        "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads,
        "num_key_value_heads": args.kv_heads,
        "head_dim": args.dim // args.heads,
        "hidden_act": "silu",
        "max_position_embeddings": args.seq,
        "rms_norm_eps": args.rms_eps,
        "rope_theta": args.rope_theta,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "pretraining_tp": 1,
        "initializer_range": args.init_std,
        "tie_word_embeddings": False,
        "use_cache": True,
        "bos_token_id": None,
        "eos_token_id": None,
        "pad_token_id": None,
        "torch_dtype": "float32",
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(hf_cfg, f, indent=2)
        f.write("\n")

    # ---- reference logits (fp64 and fp32) ------------------------------------
    prompt = REF_PROMPT.encode("utf-8")
    ids = torch.tensor([list(prompt)], dtype=torch.int64)
    with torch.no_grad():
        logits32 = model(ids)[0]
        m64 = LlamaForCausalLM(cfg).double()
        m64.load_state_dict({n: t.double() for n, t in back.items()})
        m64.eval()
        logits64 = m64(ids)[0]
    top1_64 = logits64.argmax(-1).tolist()
    top1_32 = logits32.argmax(-1).tolist()
    rel = ((logits32.double() - logits64).norm() / logits64.norm()).item()
    ref = {
        "prompt": REF_PROMPT,
        "prompt_bytes": list(prompt),
        "num_tokens": len(prompt),
        "note": ("logits computed by validation/numerics/train_tiny_llama.py (plain-torch HF LLaMA) from "
                 "model.safetensors; *_fp64: model and activations cast to float64; *_fp32: float32 forward. "
                 "top1 of position t is the argmax of the logits predicting byte t+1."),
        "last_logits_fp64": logits64[-1].tolist(),
        "last_logits_fp32": [float(v) for v in logits32[-1].tolist()],
        "top1_fp64": top1_64,
        "top1_fp32": top1_32,
        "top1_fp64_text": bytes(top1_64).decode("utf-8", errors="replace"),
        "fp32_vs_fp64_rel_l2_all_positions": rel,
        "safetensors_sha256": st_sha,
    }
    with open(os.path.join(args.out, "reference_logits.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    print(f"reference: fp32 vs fp64 rel L2 {rel:.3e}; top1 text {ref['top1_fp64_text']!r}", flush=True)

    # ---- held-out slice and evaluation record --------------------------------
    slice_len = args.slice_windows * args.seq + 1
    slice_bytes = held_b[:slice_len]
    with open(os.path.join(args.out, "heldout_slice.bin"), "wb") as f:
        f.write(slice_bytes)
    # which files the slice covers
    covered, pos = [], 0
    for rel_path, n in held_files:
        if pos >= slice_len:
            break
        covered.append({"file": rel_path, "file_bytes": n,
                        "bytes_used": [0, min(n, slice_len - pos)], "slice_offset": pos})
        pos += n
    with torch.no_grad():
        xs = torch.stack([held[w * args.seq: w * args.seq + args.seq] for w in range(args.slice_windows)])
        slice_loss64 = F.cross_entropy(
            m64(xs).reshape(-1, 256),
            torch.stack([held[w * args.seq + 1: w * args.seq + args.seq + 1]
                         for w in range(args.slice_windows)]).reshape(-1)).item()
    heval = {
        "corpus": {"src": args.src, "selection": "*.txt files, sorted relative paths",
                   "split": f"file index i (0-based, sorted) is held-out iff i % {args.heldout_every} == "
                            f"{args.heldout_index}",
                   "files_total": len(files), "train_files": len(train_files), "heldout_files": len(held_files),
                   "train_bytes": len(train_b), "heldout_bytes": len(held_b),
                   "heldout_sha256": hashlib.sha256(held_b).hexdigest(),
                   "train_sha256": hashlib.sha256(train_b).hexdigest(),
                   "heldout_file_list": [{"file": r, "bytes": n} for r, n in held_files]},
        "protocol": ("non-overlapping windows of seq tokens over the concatenated held-out bytes: window w "
                     "has input bytes [w*seq, w*seq+seq) and targets [w*seq+1, w*seq+seq+1); loss = mean "
                     "natural-log cross-entropy over all targets; each window starts with an empty context "
                     "(positions 0..seq-1)"),
        "seq": args.seq,
        "full_heldout": {"windows": n_held_windows, "tokens": held_tokens, "loss_fp32": held_loss,
                         "ppl_fp32": math.exp(held_loss), "bits_per_byte_fp32": held_loss / math.log(2)},
        "train_eval_same_size": {"windows": n_train_eval, "tokens": train_tokens, "loss_fp32": train_loss_eval,
                                 "ppl_fp32": math.exp(train_loss_eval)},
        "cross_check_slice": {
            "file": "heldout_slice.bin",
            "definition": f"first {slice_len} bytes of the concatenated held-out text "
                          f"({args.slice_windows} windows x {args.seq} targets)",
            "bytes": slice_len, "windows": args.slice_windows, "tokens": slice_tokens,
            "sha256": hashlib.sha256(slice_bytes).hexdigest(),
            "covers": covered,
            "loss_fp32": slice_loss, "ppl_fp32": math.exp(slice_loss),
            "loss_fp64": slice_loss64, "ppl_fp64": math.exp(slice_loss64),
            "bits_per_byte_fp32": slice_loss / math.log(2)},
        "safetensors_sha256": st_sha,
    }
    with open(os.path.join(args.out, "heldout_eval.json"), "w") as f:
        json.dump(heval, f, indent=1)
        f.write("\n")

    total_wall = time.time() - t_start
    cmd = "OMP_NUM_THREADS=1 nice -n 19 /usr/bin/python3 " + " ".join(shlex.quote(a) for a in sys.argv)
    try:
        pkg_ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3.11-doc"],
                                 capture_output=True, text=True).stdout.strip()
        torch_pkg = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"],
                                   capture_output=True, text=True).stdout.strip()
    except OSError:
        pkg_ver = torch_pkg = "unknown"
    log = {"args": vars(args), "params": n_params, "curve": curve, "evals": evals,
           "train_wall_s": train_wall, "total_wall_s": total_wall,
           "final_train_loss_running": final_train_running, "torch": torch.__version__,
           "python": platform.python_version(), "command": cmd,
           "python3.11-doc": pkg_ver, "python3-torch": torch_pkg}
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")

    write_readme(args, cfg, n_params, files, train_files, held_files, len(train_b), len(held_b),
                 final_train_running, train_loss_eval, held_loss, held_tokens, heval, ref, st_sha,
                 len(st_bytes), train_wall, total_wall, cmd, pkg_ver, torch_pkg, curve, evals)
    print(f"all done in {total_wall:.1f}s", flush=True)


def write_readme(args, cfg, n_params, files, train_files, held_files, n_train_b, n_held_b, final_train_running,
                 train_loss_eval, held_loss, held_tokens, heval, ref, st_sha, st_size, train_wall, total_wall,
                 cmd, pkg_ver, torch_pkg, curve, evals):
    ln2 = math.log(2)
    sl = heval["cross_check_slice"]
    hd = args.dim // args.heads
    curve_rows = "\n".join(f"| {c['step']} | {c['train_loss']:.4f} | {c['lr']:.2e} |"
                           for c in curve if c["step"] % max(args.eval_every, 1) == 0 or c["step"] == curve[-1]["step"])
    eval_rows = "\n".join(f"| {e['step']} | {e['heldout_loss_subset']:.4f} |" for e in evals)
    txt = f"""# tiny-llama: xpusim's byte-level LLaMA reference model

A small model of our own with the exact Hugging Face LLaMA architecture
(`LlamaForCausalLM`), trained on the CPU because no weights can be downloaded
here (issue 5, item 5). It exists so that xpusim's functional kernels,
safetensors loader and compression schemes can be checked on real trained
weights and a real held-out perplexity. Everything in this folder is generated
by [`validation/numerics/train_tiny_llama.py`](../../../validation/numerics/train_tiny_llama.py).

## Files

| file | content |
|---|---|
| `model.safetensors` | weights, F32, HF parameter names, tensors in sorted name order ({st_size} bytes) |
| `config.json` | HF `LlamaConfig`; `transformers.LlamaForCausalLM.from_pretrained(<this dir>)` loads it |
| `reference_logits.json` | fp64 and fp32 logits of the last position and top-1 bytes of every position for the prompt `{ref['prompt']}` |
| `heldout_eval.json` | held-out split (file list, byte counts, sha256), evaluation protocol, measured loss/ppl |
| `heldout_slice.bin` | the {sl['bytes']}-byte cross-check slice (start of the held-out text) |
| `train_log.json` | arguments, loss curve, timings, versions |

sha256 of `model.safetensors`: `{st_sha}`

## Architecture

| | |
|---|---|
| vocabulary | 256 (raw UTF-8 bytes; token id = byte value; no BOS/EOS, `bos_token_id`/`eos_token_id` = null) |
| hidden size | {args.dim} |
| layers | {args.layers} |
| attention heads / KV heads | {args.heads} / {args.kv_heads} (grouped-query, {args.heads // args.kv_heads} query heads per KV head; head dim {hd}) |
| FFN (SwiGLU) | {args.ffn} (`down(silu(gate(x)) * up(x))`) |
| norm | RMSNorm, eps {args.rms_eps}, computed in fp32 |
| positions | RoPE, theta {args.rope_theta:g}, HF `rotate_half` convention, max {args.seq} |
| LM head | untied from the embedding |
| parameters | **{n_params:,}** |

Parameter names and shapes (Linear weights are `[out_features, in_features]`):
`model.embed_tokens.weight` [256, {args.dim}];
`model.layers.{{i}}.self_attn.q_proj.weight` [{args.heads * hd}, {args.dim}],
`k_proj`/`v_proj` [{args.kv_heads * hd}, {args.dim}], `o_proj` [{args.dim}, {args.heads * hd}];
`model.layers.{{i}}.mlp.gate_proj.weight`/`up_proj` [{args.ffn}, {args.dim}], `down_proj` [{args.dim}, {args.ffn}];
`model.layers.{{i}}.input_layernorm.weight`, `post_attention_layernorm.weight` [{args.dim}];
`model.norm.weight` [{args.dim}]; `lm_head.weight` [256, {args.dim}].

## Corpus and split

* Corpus: Debian package **python3.11-doc {pkg_ver}**, the reStructuredText sources
  installed beside the HTML: `{args.src}/**/*.txt` ({len(files)} files,
  {n_train_b + n_held_b:,} bytes). Python documentation, licensed under the PSF license.
* Files sorted by relative path (Python string order), read as raw bytes and
  concatenated without separators; token = byte.
* File-level split: file with sorted index `i` (0-based) is **held-out iff
  `i % {args.heldout_every} == {args.heldout_index}`**:
  train {len(train_files)} files / {n_train_b:,} bytes, held-out {len(held_files)} files / {n_held_b:,} bytes
  (sha256 of the held-out concatenation `{heval['corpus']['heldout_sha256']}`; full list in `heldout_eval.json`).

## Training

* torch {torch.__version__} (Debian python3-torch {torch_pkg}), Debian `/usr/bin/python3` {platform.python_version()}, CPU, 1 thread, `nice -n 19`.
* Seed {args.seed} (`torch.manual_seed` for the init, a seeded `torch.Generator` for batch sampling).
* {args.steps} steps x batch {args.batch} x {args.seq} tokens = {args.steps * args.batch * args.seq:,} training tokens
  (random windows of the train text, uniform start offsets).
* AdamW (betas {args.beta1}/{args.beta2}, eps 1e-8, weight decay {args.weight_decay} on matrices only),
  LR {args.lr:g} with {args.warmup} warm-up steps then cosine to {args.min_lr:g}; gradient clipping {args.grad_clip};
  init normal(0, {args.init_std}) for all matrices and embeddings, norm weights 1.
* Training wall time **{train_wall:.0f} s** ({train_wall / 60:.1f} min); whole script {total_wall:.0f} s.

Training loss (mean of the last {args.log_every} steps):

| step | train loss | LR |
|---|---|---|
{curve_rows}

Held-out loss during training (first {args.eval_windows} windows of the held-out text):

| step | held-out loss |
|---|---|
{eval_rows}

## Results (torch fp32 forward)

Evaluation protocol: non-overlapping windows of {args.seq} bytes; window `w` feeds bytes
`[w*{args.seq}, w*{args.seq}+{args.seq})` at positions 0..{args.seq - 1} and predicts bytes `[w*{args.seq}+1, w*{args.seq}+{args.seq + 1})`;
loss = mean natural-log cross-entropy; perplexity = exp(loss); bits per byte = loss / ln 2.

| | loss (nats/byte) | perplexity | bits/byte | tokens |
|---|---|---|---|---|
| final train loss (running mean of the last {2 * args.log_every} steps) | {final_train_running:.4f} | {math.exp(final_train_running):.4f} | {final_train_running / ln2:.4f} | |
| train text, same protocol, first {heval['train_eval_same_size']['windows']} windows | {train_loss_eval:.4f} | {math.exp(train_loss_eval):.4f} | {train_loss_eval / ln2:.4f} | {heval['train_eval_same_size']['tokens']:,} |
| **held-out, all {heval['full_heldout']['windows']} windows** | **{held_loss:.4f}** | **{math.exp(held_loss):.4f}** | **{held_loss / ln2:.4f}** | {held_tokens:,} |
| cross-check slice (`heldout_slice.bin`), fp32 | {sl['loss_fp32']:.6f} | {sl['ppl_fp32']:.6f} | {sl['bits_per_byte_fp32']:.6f} | {sl['tokens']:,} |
| cross-check slice, fp64 | {sl['loss_fp64']:.6f} | {sl['ppl_fp64']:.6f} | {sl['loss_fp64'] / ln2:.6f} | {sl['tokens']:,} |

The cross-check slice is the first {sl['bytes']} bytes of the held-out concatenation
({sl['windows']} windows x {args.seq} targets; sha256 `{sl['sha256']}`), starting with
`{sl['covers'][0]['file']}`. It is stored in `heldout_slice.bin` so the C++ tests do
not need python3.11-doc installed.

## Reference logits

`reference_logits.json` holds, for the {ref['num_tokens']}-byte prompt `{ref['prompt']}`
(token ids = its UTF-8 bytes, positions 0..{ref['num_tokens'] - 1}), the 256 logits of the
last position computed with the model cast to float64 (`last_logits_fp64`) and in
float32 (`last_logits_fp32`), and the argmax byte at every position (`top1_fp64`,
`top1_fp32`). fp32 vs fp64 relative L2 error over all positions: {ref['fp32_vs_fp64_rel_l2_all_positions']:.2e}.
Top-1 continuation bytes (fp64): `{ref['top1_fp64_text']!r}`.

## Reproduce

```
{cmd}
```

With one thread the run is deterministic on a given machine and torch build; a
different BLAS or CPU can change the low bits and hence the exact weights.
"""
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write(txt)


if __name__ == "__main__":
    main()
