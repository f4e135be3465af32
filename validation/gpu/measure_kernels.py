#!/usr/bin/env python3
"""Measure LLM-inference kernels on an NVIDIA GPU for xpusim calibration and validation.

  python3 validation/gpu/measure_kernels.py --out DIR [--quick] [--only SECTIONS]
        [--gemm-dtypes bf16,fp16,...] [--budget-s SECONDS]
  python3 validation/gpu/measure_kernels.py --dry-run      # the plan; needs no GPU

SECTIONS: gemm, attention, elementwise, ceilings, e2e (comma separated; default: all).
--ew-ops limits the elementwise ops (rmsnorm,layernorm,gelu,silu_mul,softmax,residual_add,rope,kv_append).
--e2e-cases MODEL:PHASE:B:S:CTX,... picks the e2e stacks (default: the four hold-out ones);
--e2e-set calibration --e2e-file e2e_calibration writes them as calibration rows (kind e2e_cal);
--e2e-parts CASES adds the stack-vs-isolated diagnostics of those cases to e2e_parts.csv.
Writes DIR/{gemm,attention,elementwise,ceilings,e2e,env}.csv and DIR/log.txt, one row at
a time (a killed run keeps what it measured). Timing: see README.md beside this file.
Never changes clocks or any GPU setting; nvidia-smi is only read.
"""
import argparse
import csv
import datetime
import gc
import math
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import split as SPLIT  # noqa: E402

MiB = 1 << 20
ROT_BYTES = 256 * MiB  # rotation set per measurement: > 5x the 50 MB L2 of an H100

# ---------------------------------------------------------------------------------------
# Shapes. Y[M,N] = X[M,K] @ W[N,K]^T.  (model, layer, K, N); later duplicates of an
# earlier (K,N) are merged into that row's `also` column.
MODEL_LAYERS = [
    ("gpt2", "qkv", 768, 2304), ("gpt2", "attn_out", 768, 768), ("gpt2", "fc1", 768, 3072),
    ("gpt2", "fc2", 3072, 768), ("gpt2", "lm_head", 768, 50257),
    ("llama2-7b", "qkv", 4096, 12288), ("llama2-7b", "o_proj", 4096, 4096),
    ("llama2-7b", "gate_up", 4096, 22016), ("llama2-7b", "down", 11008, 4096),
    ("llama2-7b", "lm_head", 4096, 32000),
    ("llama2-13b", "qkv", 5120, 15360), ("llama2-13b", "o_proj", 5120, 5120),
    ("llama2-13b", "gate_up", 5120, 27648), ("llama2-13b", "down", 13824, 5120),
    ("llama2-13b", "lm_head", 5120, 32000),
    ("llama3-8b", "qkv", 4096, 6144), ("llama3-8b", "o_proj", 4096, 4096),
    ("llama3-8b", "gate_up", 4096, 28672), ("llama3-8b", "down", 14336, 4096),
    ("llama3-8b", "lm_head", 4096, 128256),
    ("mistral-7b", "qkv", 4096, 6144), ("mistral-7b", "o_proj", 4096, 4096),
    ("mistral-7b", "gate_up", 4096, 28672), ("mistral-7b", "down", 14336, 4096),
    ("mistral-7b", "lm_head", 4096, 32000),
    ("llama2-70b", "qkv", 8192, 10240), ("llama2-70b", "o_proj", 8192, 8192),
    ("llama2-70b", "gate_up", 8192, 57344), ("llama2-70b", "down", 28672, 8192),
    ("llama2-70b", "lm_head", 8192, 32000),
    ("llama2-70b-tp4", "qkv", 8192, 2560), ("llama2-70b-tp4", "o_proj", 2048, 8192),
    ("llama2-70b-tp4", "gate_up", 8192, 14336), ("llama2-70b-tp4", "down", 7168, 8192),
    ("gpt3-175b-tp4", "qkv", 12288, 9216), ("gpt3-175b-tp4", "attn_out", 3072, 12288),
    ("gpt3-175b-tp4", "fc1", 12288, 12288), ("gpt3-175b-tp4", "fc2", 12288, 12288),
    ("gpt3-175b-tp4", "lm_head", 12288, 12565),
]
M_POW2 = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]
M_ODD = [3, 48, 200, 777, 3000]
M_FP16 = [1, 4, 16, 64, 256, 1024, 4096]
M_FP32 = [1, 8, 64, 512, 2048]
M_FP8 = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]
M_INT8 = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]
M_SP_BF16 = [1, 16, 64, 256, 1024, 4096]
M_SP_FP16 = [16, 256, 4096]
FP32_MODELS = {"gpt2", "llama2-7b"}
SPARSE_MODELS = {"llama2-7b", "llama2-13b", "llama3-8b", "llama2-70b", "llama2-70b-tp4"}
GEMM_FAMILIES = ["bf16", "fp16", "fp8", "int8", "sparse", "fp32", "tf32"]

# A second hold-out set (--gemm-plan fresh -> gemm_fresh.csv, set "holdout2"), fixed on
# 2026-11-26 after the first hold-out's residuals had been studied and the model changed: layer
# shapes of zoo models and parallel layouts that the first plan does not have, at M values it does
# not have. Two of the N are not 16-byte aligned in bf16 (bert-base's vocabulary, gpt3-175b's with
# TP8). Read once as a hold-out, then made calibration rows (see split.py).
FRESH_LAYERS = [
    ("gpt2-xl", "qkv", 1600, 4800), ("gpt2-xl", "attn_out", 1600, 1600),
    ("gpt2-xl", "fc1", 1600, 6400), ("gpt2-xl", "fc2", 6400, 1600),
    ("opt-6.7b", "fc1", 4096, 16384), ("opt-6.7b", "fc2", 16384, 4096),
    ("opt-6.7b", "lm_head", 4096, 50272), ("bert-base", "lm_head", 768, 30522),
    ("llama3-70b", "lm_head", 8192, 128256),
    ("gpt3-175b-tp8", "qkv", 12288, 4608), ("gpt3-175b-tp8", "attn_out", 1536, 12288),
    ("gpt3-175b-tp8", "fc1", 12288, 6144), ("gpt3-175b-tp8", "fc2", 6144, 12288),
    ("gpt3-175b-tp8", "lm_head", 12288, 6283),
    ("llama2-13b-tp2", "qkv", 5120, 7680), ("llama2-13b-tp2", "o_proj", 2560, 5120),
    ("llama2-13b-tp2", "gate_up", 5120, 13824), ("llama2-13b-tp2", "down", 6912, 5120),
]
FRESH_M = {"bf16": [1, 6, 24, 96, 160, 240, 384, 640, 1536, 2500, 5000],
           "fp16": [12, 96, 320, 1500], "fp8": [24, 96, 320, 1500, 5000],
           "int8": [40, 96, 320, 1500], "sparse": [8, 96, 384, 1500], "sparse_fp16": [32, 640],
           "fp32": [3, 96, 1000], "tf32": [3, 96, 1000]}
FRESH_FP32_MODELS = {"gpt2-xl"}

# A third hold-out set (--gemm-plan holdout3 -> gemm_holdout3.csv, set "holdout3"), fixed on
# 2026-11-26 after the second hold-out had been read and the model changed again in view of it:
# other parallel layouts of the zoo's models, and M values that neither earlier plan has.
# gpt2-xl's vocabulary (50257) is odd. Read once as a hold-out, then made calibration rows.
HOLDOUT3_LAYERS = [
    ("llama2-70b-tp8", "qkv", 8192, 1280), ("llama2-70b-tp8", "o_proj", 1024, 8192),
    ("llama2-70b-tp8", "gate_up", 8192, 7168), ("llama2-70b-tp8", "down", 3584, 8192),
    ("llama3-8b-tp2", "qkv", 4096, 3072), ("llama3-8b-tp2", "o_proj", 2048, 4096),
    ("llama3-8b-tp2", "gate_up", 4096, 14336), ("llama3-8b-tp2", "down", 7168, 4096),
    ("opt-6.7b-tp2", "fc1", 4096, 8192), ("opt-6.7b-tp2", "fc2", 8192, 4096),
    ("gpt2-xl-tp2", "qkv", 1600, 2400), ("gpt2-xl-tp2", "fc1", 1600, 3200),
    ("gpt2-xl-tp2", "fc2", 3200, 1600), ("gpt2-xl", "lm_head", 1600, 50257),
    ("llama2-7b-half", "qkv", 2048, 6144), ("llama2-7b-half", "o_proj", 2048, 2048),
    ("llama2-7b-half", "gate_up", 2048, 11008), ("llama2-7b-half", "down", 5504, 2048),
]
HOLDOUT3_M = {"bf16": [2, 5, 12, 40, 72, 112, 176, 300, 448, 896, 1200, 2000, 3500, 6000],
              "fp16": [10, 136, 700, 2600], "fp8": [40, 88, 272, 1096, 3800],
              "int8": [48, 144, 560, 2304], "sparse": [4, 48, 320, 1280], "sparse_fp16": [24, 800],
              "fp32": [2, 40, 300], "tf32": [2, 40, 300]}
HOLDOUT3_FP32_MODELS = {"gpt2-xl-tp2", "llama2-7b-half"}
# The fourth hold-out set (--gemm-plan holdout4 -> gemm_holdout4.csv, set "holdout4"), fixed on
# 2026-11-26 after every model change of that session (commit 4e5e841 and its a100 follow-up),
# before it was measured: parallel layouts and models none of the earlier plans has, at M values
# none of them has (gpt3-175b-tp2's vocabulary share, 25129, is odd). Read once, looked at while
# the model changed again, and then made calibration rows (see split.py).
HOLDOUT4_LAYERS = [
    ("mixtral-8x7b-tp8", "expert_gate_up", 4096, 3584),
    ("mixtral-8x7b-tp8", "expert_down", 1792, 4096),
    ("llama2-13b-tp4", "qkv", 5120, 3840), ("llama2-13b-tp4", "o_proj", 1280, 5120),
    ("llama2-13b-tp4", "gate_up", 5120, 6912), ("llama2-13b-tp4", "down", 3456, 5120),
    ("gpt3-175b-tp2", "qkv", 12288, 18432), ("gpt3-175b-tp2", "lm_head", 12288, 25129),
    ("gpt3-175b-tp2", "fc1", 12288, 24576), ("gpt3-175b-tp2", "fc2", 24576, 12288),
    ("bert-base-tp2", "qkv", 768, 1152), ("bert-base-tp2", "fc1", 768, 1536),
    ("bert-base-tp2", "fc2", 1536, 768),
    ("llama2-7b-tp4", "o_proj", 1024, 4096), ("llama2-7b-tp4", "gate_up", 4096, 5504),
    ("llama2-7b-tp4", "down", 2752, 4096), ("mistral-7b-tp2", "lm_head", 4096, 16000),
]
HOLDOUT4_M = {"bf16": [7, 20, 56, 104, 232, 352, 520, 1100, 1800, 2800, 4500, 7000],
              "fp16": [9, 152, 600, 3300], "fp8": [56, 120, 400, 1400, 4800],
              "int8": [80, 208, 720, 2720], "sparse": [6, 80, 480, 1600], "sparse_fp16": [56, 960],
              "fp32": [7, 56, 400], "tf32": [7, 56, 400]}
HOLDOUT4_FP32_MODELS = {"bert-base-tp2", "llama2-7b-tp4"}
# The fifth hold-out set (--gemm-plan holdout5 -> gemm_holdout5.csv, set "holdout5"), fixed on
# 2026-11-26 after every model change of that session (commit fc97dc2), before it was measured:
# layouts none of the earlier plans has, at M values none of them has for that format
# (bert-base's vocabulary share with TP2, 15261, is odd). Read once, then made calibration rows
# (see split.py).
HOLDOUT5_LAYERS = [
    ("mixtral-8x7b-tp4", "expert_gate_up", 4096, 7168),
    ("mixtral-8x7b-tp4", "expert_down", 3584, 4096),
    ("llama2-70b-tp2", "qkv", 8192, 5120), ("llama2-70b-tp2", "gate_up", 8192, 28672),
    ("llama2-70b-tp2", "down", 14336, 8192),
    ("llama2-13b-tp8", "qkv", 5120, 1920), ("llama2-13b-tp8", "o_proj", 640, 5120),
    ("llama2-13b-tp8", "gate_up", 5120, 3456), ("llama2-13b-tp8", "down", 1728, 5120),
    ("gpt2-xl-tp4", "qkv", 1600, 1200), ("opt-6.7b-tp4", "lm_head", 4096, 12568),
    ("llama3-8b-tp4", "lm_head", 4096, 32064), ("llama3-8b-tp4", "qkv", 4096, 1536),
    ("bert-base-tp2", "lm_head", 768, 15261),
]
HOLDOUT5_M = {"bf16": [9, 28, 44, 120, 184, 264, 416, 680, 1350, 2200, 3900, 5500, 7500],
              "fp16": [14, 168, 760, 2450], "fp8": [72, 168, 600, 1800, 5600],
              "int8": [36, 176, 960, 3600], "sparse": [2, 36, 224, 2000], "sparse_fp16": [20, 1200],
              "fp32": [5, 24, 200], "tf32": [5, 24, 200]}
HOLDOUT5_FP32_MODELS = {"llama2-13b-tp8", "gpt2-xl-tp4"}
# The last hold-out set (--gemm-plan holdout6 -> gemm_holdout6.csv, set "holdout6"), fixed on
# 2026-11-26 after every model change of that session (commit 320d8a2), before it was measured:
# layouts none of the earlier plans has, at M values none of them has for that format
# (gpt2-xl's vocabulary share with TP2, 25129, is odd). Nothing may be fitted on it, and the model
# is not to be changed in view of it without planning another.
HOLDOUT6_LAYERS = [
    ("llama3-70b-tp8", "lm_head", 8192, 16032), ("gpt2-xl-tp2", "lm_head", 1600, 25129),
    ("opt-6.7b-tp8", "fc1", 4096, 2048), ("bert-base-tp4", "qkv", 768, 576),
    ("llama2-7b-half-tp2", "qkv", 2048, 3072), ("llama2-7b-half-tp2", "o_proj", 1024, 2048),
    ("llama2-7b-half-tp2", "gate_up", 2048, 5504), ("llama2-7b-half-tp2", "down", 2752, 2048),
    ("llama3-8b-tp8", "qkv", 4096, 768), ("llama3-8b-tp8", "o_proj", 512, 4096),
    ("opt-6.7b-tp2", "lm_head", 4096, 25136), ("mistral-7b-tp4", "lm_head", 4096, 8000),
]
HOLDOUT6_M = {"bf16": [11, 36, 60, 136, 208, 280, 460, 760, 1450, 2350, 4200, 6500],
              "fp16": [18, 200, 900, 2800], "fp8": [48, 136, 440, 1600, 6000],
              "int8": [56, 240, 800, 3000], "sparse": [3, 40, 160, 2400], "sparse_fp16": [12, 1500],
              "fp32": [4, 32, 600], "tf32": [4, 32, 600]}
HOLDOUT6_FP32_MODELS = {"llama2-7b-half-tp2", "bert-base-tp4"}
# The seventh GEMM hold-out set (--gemm-plan holdout7 -> gemm_holdout7.csv, set "holdout7"), fixed
# on 2026-11-27 after every model change of that session (commit d18ae1b: cuSPARSELt tiles, int8's
# IMMA tile rule, split-K's reduction cost; all chosen on calibration rows, with holdout6 read after
# each), before it was measured: layouts none of the earlier plans has, at M values none of them
# has for that format. Three vocabulary shares are not 16-byte aligned in 16-bit (12565 and 25129
# are odd, 6284 is 8-byte aligned). Nothing may be fitted on it.
HOLDOUT7_LAYERS = [
    ("llama2-7b-half-tp4", "qkv", 2048, 1536), ("llama2-7b-half-tp4", "o_proj", 512, 2048),
    ("llama2-7b-half-tp4", "gate_up", 2048, 2752), ("llama2-7b-half-tp4", "down", 1376, 2048),
    ("gpt2-xl-tp8", "qkv", 1600, 600), ("gpt2-xl-tp8", "fc1", 1600, 800),
    ("gpt2-xl-tp8", "fc2", 800, 1600), ("gpt2-xl-tp4", "lm_head", 1600, 12565),
    ("gpt2-tp2", "lm_head", 768, 25129), ("llama2-13b-tp2", "lm_head", 5120, 16000),
    ("llama3-70b-tp2", "lm_head", 8192, 64128), ("llama2-70b-tp8", "lm_head", 8192, 4000),
    ("opt-6.7b-tp8", "lm_head", 4096, 6284), ("llama3-8b-tp8", "lm_head", 4096, 16032),
]
HOLDOUT7_M = {"bf16": [10, 30, 52, 88, 144, 216, 328, 600, 1000, 1700, 3200, 5200],
              "fp16": [6, 120, 480, 2000], "fp8": [80, 200, 720, 2200, 3000],
              "int8": [24, 160, 480, 2000], "sparse": [5, 56, 192, 1800], "sparse_fp16": [40, 1100],
              "fp32": [6, 48, 800], "tf32": [6, 48, 800]}
HOLDOUT7_FP32_MODELS = {"llama2-7b-half-tp4", "gpt2-xl-tp8"}
# The eighth GEMM hold-out set (--gemm-plan holdout8 -> gemm_holdout8.csv, set "holdout8"), fixed
# on 2026-11-27 after the seventh was read and the model changed in view of it (commit 6b277ad:
# 8-byte-aligned 16-bit rows run the align2 fallback), before it was measured: layouts none of the
# earlier plans has (GPT-3 with TP16 among them), at M values none of them has for that format.
# Two vocabulary shares are odd (gpt2-tp4's 12565, gpt2-xl-tp8's 6283) and one is 4-byte aligned
# (gpt3-175b-tp16's 3142). (GPT-3 TP16's fc2, 3072x12288, was left out: TP4's attn_out has it.) Nothing may be fitted on it.
HOLDOUT8_LAYERS = [
    ("llama2-7b-tp2", "down", 5504, 4096), ("llama2-7b-tp8", "gate_up", 4096, 2752),
    ("llama2-7b-tp8", "down", 1376, 4096), ("gpt2-tp4", "lm_head", 768, 12565),
    ("llama3-8b-tp2", "lm_head", 4096, 64128), ("mistral-7b-tp8", "lm_head", 4096, 4000),
    ("llama2-13b-tp4", "lm_head", 5120, 8000), ("gpt2-xl-tp8", "lm_head", 1600, 6283),
    ("gpt3-175b-tp16", "qkv", 12288, 2304), ("gpt3-175b-tp16", "attn_out", 768, 12288),
    ("gpt3-175b-tp16", "fc1", 12288, 3072), ("gpt3-175b-tp16", "lm_head", 12288, 3142),
    ("llama3-70b-tp4", "lm_head", 8192, 32064),
]
HOLDOUT8_M = {"bf16": [13, 26, 68, 100, 168, 248, 440, 720, 1280, 2100, 3600, 6800],
              "fp16": [3, 112, 560, 1800], "fp8": [104, 232, 640, 1200, 4000],
              "int8": [72, 200, 640, 2400], "sparse": [7, 72, 240, 1200], "sparse_fp16": [28, 700],
              "fp32": [12, 80, 1200], "tf32": [12, 80, 1200]}
HOLDOUT8_FP32_MODELS = {"llama2-7b-tp8", "gpt3-175b-tp16"}
# The ninth GEMM hold-out set (--gemm-plan holdout9 -> gemm_holdout9.csv, set "holdout9"), fixed
# on 2026-11-27 after the eighth was read and the model changed in view of it (commit b2c710c: the
# unaligned fallback splits K and has small-M wmma tiles), before it was measured: layouts none of
# the earlier plans has, at M values none of them has for that format. gpt2-tp8's vocabulary share
# (6283) is odd. Nothing may be fitted on it.
HOLDOUT9_LAYERS = [
    ("llama2-70b-tp2", "lm_head", 8192, 16000), ("llama2-70b-tp4", "lm_head", 8192, 8000),
    ("llama2-13b-tp8", "lm_head", 5120, 4000), ("gpt2-xl-tp4", "attn_out", 400, 1600),
    ("bert-base-tp2", "attn_out", 384, 768), ("llama2-7b-half-tp8", "qkv", 2048, 768),
    ("llama2-7b-half-tp8", "gate_up", 2048, 1376), ("llama2-7b-half-tp8", "down", 688, 2048),
    ("llama2-7b-half-tp8", "o_proj", 256, 2048), ("gpt2-tp8", "lm_head", 768, 6283),
    ("bert-base-tp8", "lm_head", 768, 3816),
]
HOLDOUT9_M = {"bf16": [15, 22, 76, 124, 192, 296, 480, 840, 1600, 2600, 4800, 7200],
              "fp16": [5, 80, 400, 1400], "fp8": [144, 360, 880, 2600, 7000],
              "int8": [112, 288, 1200, 4400], "sparse": [10, 120, 448, 3000], "sparse_fp16": [44, 900],
              "fp32": [10, 160, 1600], "tf32": [10, 160, 1600]}
HOLDOUT9_FP32_MODELS = {"llama2-7b-half-tp8", "llama2-70b-tp4"}
# The tenth GEMM hold-out set (--gemm-plan holdout10 -> gemm_holdout10.csv, set "holdout10"), fixed
# on 2026-11-27 after the ninth was read and the model changed since (commits bfeaede: the
# fallback no longer streams K; d2c613d: int8's 128x64 tile rate, fitted on calibration rows),
# before it was measured: GPT-3 175B without TP (its largest layers), TP16 layouts, and M values
# none of the earlier plans has for that format. gpt3-175b's vocabulary (50257) and bert-base's TP4
# share (7631) are odd. Nothing may be fitted on it.
HOLDOUT10_LAYERS = [
    ("gpt3-175b", "qkv", 12288, 36864), ("gpt3-175b", "fc1", 12288, 49152),
    ("gpt3-175b", "fc2", 49152, 12288), ("gpt3-175b", "lm_head", 12288, 50257),
    ("llama2-7b-tp2", "gate_up", 4096, 11008), ("llama2-70b-tp16", "gate_up", 8192, 3584),
    ("llama2-70b-tp16", "down", 1792, 8192), ("llama3-8b-tp16", "gate_up", 4096, 1792),
    ("llama3-8b-tp16", "down", 896, 4096), ("llama3-70b-tp16", "lm_head", 8192, 8016),
    ("opt-6.7b-tp16", "fc1", 4096, 1024), ("bert-base-tp4", "lm_head", 768, 7631),
]
HOLDOUT10_M = {"bf16": [17, 33, 84, 150, 230, 330, 521, 900, 1500, 2400, 4000, 6001],
               "fp16": [7, 100, 450, 1600], "fp8": [112, 300, 800, 2000, 5200],
               "int8": [88, 264, 1000, 3200], "sparse": [12, 100, 400, 2800], "sparse_fp16": [36, 1000],
               "fp32": [9, 72, 1400], "tf32": [9, 72, 1400]}
HOLDOUT10_FP32_MODELS = {"llama3-8b-tp16", "opt-6.7b-tp16"}
# --gemm-plan NAME: (layers, M per family, models measured in fp32/tf32, row kind = CSV name)
EXTRA_GEMM_PLANS = {
    # Read as hold-outs once, calibration rows since: their files are gemm_calib<N>.csv.
    "fresh": (FRESH_LAYERS, FRESH_M, FRESH_FP32_MODELS, "gemm_calib2"),
    "holdout3": (HOLDOUT3_LAYERS, HOLDOUT3_M, HOLDOUT3_FP32_MODELS, "gemm_calib3"),
    "holdout4": (HOLDOUT4_LAYERS, HOLDOUT4_M, HOLDOUT4_FP32_MODELS, "gemm_calib4"),
    "holdout5": (HOLDOUT5_LAYERS, HOLDOUT5_M, HOLDOUT5_FP32_MODELS, "gemm_calib5"),
    "holdout6": (HOLDOUT6_LAYERS, HOLDOUT6_M, HOLDOUT6_FP32_MODELS, "gemm_holdout6"),
    "holdout7": (HOLDOUT7_LAYERS, HOLDOUT7_M, HOLDOUT7_FP32_MODELS, "gemm_holdout7"),
    "holdout8": (HOLDOUT8_LAYERS, HOLDOUT8_M, HOLDOUT8_FP32_MODELS, "gemm_holdout8"),
    "holdout9": (HOLDOUT9_LAYERS, HOLDOUT9_M, HOLDOUT9_FP32_MODELS, "gemm_holdout9"),
    "holdout10": (HOLDOUT10_LAYERS, HOLDOUT10_M, HOLDOUT10_FP32_MODELS, "gemm_holdout10"),
}


def unique_kn(layers=None):
    seen, out = {}, []
    for model, layer, k, n in layers or MODEL_LAYERS:
        if (k, n) in seen:
            seen[(k, n)]["also"].append(f"{model}:{layer}")
            continue
        d = {"model": model, "layer": layer, "K": k, "N": n, "also": []}
        seen[(k, n)] = d
        out.append(d)
    return out


def library_runs(fam, s):
    """Whether the library has a kernel for this format on shape s: fp8 (_scaled_mm) needs K and N
    multiples of 16, int8 (_int_mm) of 8, cuSPARSELt 2:4 N a multiple of 32 and K of 64 (and the
    plans leave the lm_head out of 2:4)."""
    k, n = s["K"], s["N"]
    if fam == "fp8":
        return k % 16 == 0 and n % 16 == 0
    if fam == "int8":
        return k % 8 == 0 and n % 8 == 0
    if fam.startswith("sparse"):
        return n % 32 == 0 and k % 64 == 0 and s["layer"] != "lm_head"
    return True


def extra_gemm_plan(which, families):
    """A later hold-out plan (EXTRA_GEMM_PLANS[which]), in gemm_plan's format."""
    layers, m_sets, fp32_models, _ = EXTRA_GEMM_PLANS[which]
    plan = []
    for fam in families + (["sparse_fp16"] if "sparse" in families else []):
        for s in unique_kn(layers):
            if library_runs(fam, s) and (fam not in ("fp32", "tf32") or s["model"] in fp32_models):
                plan.append((fam, s, m_sets[fam]))
    return plan


def gemm_plan(quick, families, which="main"):
    """[(family, shape dict, [M...])] in measurement order."""
    if which in EXTRA_GEMM_PLANS:
        return extra_gemm_plan(which, families)
    shapes = unique_kn()
    plan = []
    for fam in families:
        for s in shapes:
            model = s["model"]
            if not library_runs(fam, s):
                ms = []
            elif fam == "bf16":
                ms = M_POW2 + M_ODD
            elif fam == "fp16":
                ms = M_FP16
            elif fam in ("fp32", "tf32"):
                ms = M_FP32 if model in FP32_MODELS else []
            elif fam == "fp8":
                ms = M_FP8
            elif fam == "int8":
                ms = M_INT8
            elif fam == "sparse":
                ms = M_SP_BF16 if model in SPARSE_MODELS else []
            if quick:
                keep = {("gpt2", "qkv"), ("llama2-7b", "gate_up"), ("llama2-70b", "down")}
                ms = [m for m in ms if m in (1, 3, 16, 32, 256, 4096)] if (model, s["layer"]) in keep else []
            if ms:
                plan.append((fam, s, sorted(ms)))
    if "sparse" in families:  # fp16 2:4 on a smaller M set
        plan += [("sparse_fp16", s, M_SP_FP16 if not quick else [16]) for f, s, _ in list(plan) if f == "sparse"]
    return plan


def attention_plan(quick):
    cfgs = []
    heads = [(32, 32), (32, 8)]
    bs = [1, 4, 16, 64]
    pre = [128, 512, 1024, 2048, 4096]
    dec = [128, 512, 1024, 2048, 4096, 8192, 16384, 32768]
    if quick:
        bs, pre, dec = [1, 16], [512], [1024, 32768]
    for h, kvh in heads:
        for b in bs:
            for s in pre:
                cfgs.append(dict(phase="prefill", B=b, heads=h, kv_heads=kvh, head_dim=128, q_len=s, kv_len=s, causal=1))
            for s in dec:
                cfgs.append(dict(phase="decode", B=b, heads=h, kv_heads=kvh, head_dim=128, q_len=1, kv_len=s, causal=0))
    return cfgs


EW_OPS = ["rmsnorm", "layernorm", "gelu", "silu_mul", "softmax", "residual_add", "rope", "kv_append"]
EW_H = [768, 4096, 5120, 8192, 11008, 14336]
EW_T = [1 << i for i in range(15)]  # 1 .. 16384
# The RoPE and KV-cache writes of the e2e decoder below (rope_apply, kv_write), on their own.
# rope: H is the width of one rotated tensor (heads x 128): 1024 = a GQA key with 8 kv heads
# (llama3-8b, mistral-7b, llama2-70b), 4096 = llama2-7b's q or k (the e2e stack), 5120 =
# llama2-13b, 8192 = llama2-70b's q.  kv_append: H is the width of K (and of V), kv heads x 128,
# so that each of its two copies moves T x H elements.
ROPE_H = [1024, 4096, 5120, 8192]
KV_H = [1024, 4096, 5120]
HEAD_DIM = 128
DECODE_MAX_T = 256  # rows with T <= this are a decode step (B=T, S=1); above, one prompt (B=1, S=T)
KV_CTX = 1024       # tokens already in the cache, as in the e2e decode cases


def ew_widths(op):
    return {"rope": ROPE_H, "kv_append": KV_H}.get(op, EW_H)


def ew_bs(t):
    return (t, 1) if t <= DECODE_MAX_T else (1, t)


def elementwise_plan(quick, ops=None):
    ops = ops or EW_OPS
    plan = []
    for op in ops:
        ts, hs = EW_T, ew_widths(op)
        if quick:
            ts, hs = [1, 256, 16384], [h for h in hs if h in (1024, 2048, 4096, 14336)]
        plan += [(op, t, h) for h in hs for t in ts]
    return plan


def ew_bytes(op, t, h, esize=2):
    if op == "silu_mul":
        return 3 * t * h * esize
    if op == "residual_add":
        return 3 * t * h * esize
    if op == "rope":  # x read, result written, plus the [S, 128] cos and sin tables
        return 2 * t * h * esize + 2 * ew_bs(t)[1] * HEAD_DIM * esize
    if op == "kv_append":  # K and V, each read once and written once into the cache
        return 4 * t * h * esize
    extra = {"rmsnorm": h, "layernorm": 2 * h}.get(op, 0) * esize
    return 2 * t * h * esize + extra


# ---------------------------------------------------------------------------------------
def dry_run(args):
    fams = args.gemm_dtypes.split(",")
    plan = gemm_plan(args.quick, fams, args.gemm_plan)
    peak = {"bf16": 700e12, "fp16": 700e12, "fp8": 1300e12, "int8": 1300e12, "sparse": 700e12,
            "sparse_fp16": 700e12, "fp32": 50e12, "tf32": 350e12}
    esz = {"bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "sparse": 2, "sparse_fp16": 2, "fp32": 4, "tf32": 4}
    tot, rows = 0.0, 0
    per = {}
    for fam, s, ms in plan:
        for m in ms:
            fl = 2 * m * s["K"] * s["N"]
            by = esz[fam] * (m * s["K"] + s["K"] * s["N"] + m * s["N"])
            t = max(fl / peak[fam], by / 3.0e12, 4e-6)
            cost = 11 * max(args.target_ms * 1e-3, 2 * t) + 0.03
            tot += cost
            rows += 1
            per[fam] = per.get(fam, 0) + cost
    print(f"gemm: {rows} rows in {len(plan)} groups, est {tot:.0f} s  " +
          " ".join(f"{k}={v:.0f}s" for k, v in per.items()))
    counts = {}
    for fam, s, ms in plan:
        for m in ms:
            r = {"kind": EXTRA_GEMM_PLANS[args.gemm_plan][3] if args.gemm_plan in EXTRA_GEMM_PLANS else "gemm", "M": m, "K": s["K"], "N": s["N"], "model": s["model"]}
            counts[SPLIT.assign(r)] = counts.get(SPLIT.assign(r), 0) + 1
    print("  gemm split:", counts)
    print("  unique (K,N):", len(unique_kn()))
    at = attention_plan(args.quick)
    print(f"attention: {len(at)} configs")
    ew = elementwise_plan(args.quick, args.ew_ops.split(","))
    counts = {}
    for op, t, h in ew:
        k = (op, SPLIT.assign({"kind": "elementwise", "op": op, "T": t, "H": h}))
        counts[k] = counts.get(k, 0) + 1
    print(f"elementwise: {len(ew)} rows  " + " ".join(f"{o}/{s}={n}" for (o, s), n in sorted(counts.items())))


# ---------------------------------------------------------------------------------------
class Out:
    """Appends rows to CSVs in the output directory, flushing each row."""

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
        if "set" not in row and name != "env":
            row["set"] = SPLIT.assign(row)
        # no commas inside fields, so that naive CSV readers (the C++ side) stay simple
        row = {k: (v.replace(",", ";") if isinstance(v, str) else v) for k, v in row.items()}
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

    def env(self, key, value):
        self.row("env", {"run_id": self.run_id, "key": key, "value": value})


def nvsmi(out, tag):
    q = ("name,driver_version,pstate,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,"
         "power.draw,power.limit,temperature.gpu,persistence_mode,compute_mode,memory.used,memory.total")
    try:
        r = subprocess.run(["nvidia-smi", f"--query-gpu={q}", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=30)
        vals = [v.strip() for v in r.stdout.strip().split("\n")[0].split(",")]
        for k, v in zip(q.split(","), vals):
            out.env(f"nvsmi_{tag}.{k}", v)
        out.log(f"nvidia-smi {tag}: " + ", ".join(f"{k}={v}" for k, v in zip(q.split(","), vals)
                                                  if k.startswith(("clocks", "power.draw", "temp", "pstate"))))
    except Exception as e:  # read-only probe; its absence is not fatal
        out.log(f"nvidia-smi failed: {e}")


# ---------------------------------------------------------------------------------------
# Everything below needs torch and a GPU.
torch = F = triton = tl = None
CAP_STREAM = None


def import_gpu():
    global torch, F, triton, tl, CAP_STREAM
    import torch as _t
    import torch.nn.functional as _F
    import triton as _tr
    import triton.language as _tl
    torch, F, triton, tl = _t, _F, _tr, _tl
    CAP_STREAM = torch.cuda.Stream()


class Timer:
    def __init__(self, args, out):
        self.args, self.out = args, out
        self.t0 = time.time()

    def over_budget(self):
        return self.args.budget_s > 0 and time.time() - self.t0 > self.args.budget_s

    def bench(self, fns, use_graph=True, min_inner=None):
        """fns: one zero-arg callable per rotation copy; each call launches the kernel(s)
        under test. Returns per-call stats in ms."""
        a = self.args
        nc = len(fns)
        for f in fns:  # warm-up: algorithm selection, JIT, lazy init
            f()
        torch.cuda.synchronize()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for f in fns:
            f()
        e.record()
        e.synchronize()
        t_est = max(s.elapsed_time(e) / nc, 1e-4)
        n_inner = max(nc, min_inner or a.min_inner, int(math.ceil(a.target_ms / t_est)))
        # a graph longer than ~target is only needed to cover the rotation set
        n_inner = min(n_inner, max(nc, a.max_inner))
        n_inner = int(math.ceil(n_inner / nc) * nc)
        times, method = [], None
        if use_graph and not a.no_graph:
            g = None
            try:
                CAP_STREAM.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(CAP_STREAM):
                    for f in fns[: min(3, nc)]:
                        f()
                torch.cuda.current_stream().wait_stream(CAP_STREAM)
                torch.cuda.synchronize()
                g = torch.cuda.CUDAGraph()
                with torch.cuda.graph(g, stream=CAP_STREAM):
                    for i in range(n_inner):
                        fns[i % nc]()
                g.replay()
                torch.cuda.synchronize()
                for _ in range(a.reps):
                    s.record()
                    g.replay()
                    e.record()
                    e.synchronize()
                    times.append(s.elapsed_time(e) / n_inner)
                method = "graph"
            except Exception as ex:
                self.out.log(f"  graph capture failed ({type(ex).__name__}: {str(ex)[:200]}); eager timing")
                times = []
                torch.cuda.synchronize()
            finally:
                del g
        if not times:
            for _ in range(a.reps):
                s.record()
                for i in range(n_inner):
                    fns[i % nc]()
                e.record()
                e.synchronize()
                times.append(s.elapsed_time(e) / n_inner)
            method = "eager"
        times.sort()
        med = times[len(times) // 2] if len(times) % 2 else 0.5 * (times[len(times) // 2 - 1] + times[len(times) // 2])
        p90 = times[min(len(times) - 1, int(math.ceil(0.9 * len(times))) - 1)]
        return dict(median_ms=f"{med:.6g}", min_ms=f"{times[0]:.6g}", p90_ms=f"{p90:.6g}",
                    n_inner=n_inner, reps=len(times), timing=method, _med=med)


def rot_count(bytes_per_set, lo, hi):
    return int(min(hi, max(lo, math.ceil(ROT_BYTES / max(bytes_per_set, 1)))))


def free_mem():
    gc.collect()
    torch.cuda.empty_cache()


def relerr(y, ref):
    y, ref = y.double(), ref.double()
    return ((y - ref).norm() / ref.norm()).item()


# ---------------------------------------------------------------------------------------
# GEMM
FAM_DTYPE = {}


def gemm_make(fam, n, k, m, ncopy, wcache):
    """Returns (fns, op description). W copies are cached per group in wcache."""
    dev = "cuda"
    if fam in ("bf16", "fp16", "fp32", "tf32"):
        dt = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32, "tf32": torch.float32}[fam]
        ws = wcache.setdefault("w", [])
        while len(ws) < ncopy:
            ws.append(torch.randn(n, k, device=dev, dtype=dt) * (1.0 / math.sqrt(k)))
        xs = [torch.randn(m, k, device=dev, dtype=dt) for _ in range(ncopy)]
        fns = [(lambda x=x, w=w: torch.matmul(x, w.t())) for x, w in zip(xs, ws[:ncopy])]
        return fns, "x @ w.t() (cuBLAS)"
    if fam == "fp8":
        f8 = torch.float8_e4m3fn
        ws = wcache.setdefault("w", [])
        while len(ws) < ncopy:
            ws.append(torch.randn(n, k, device=dev).to(f8))
        xs = [torch.randn(m, k, device=dev).to(f8) for _ in range(ncopy)]
        sa = torch.tensor(1.0 / math.sqrt(k), device=dev, dtype=torch.float32)
        sb = torch.tensor(1.0, device=dev, dtype=torch.float32)
        fns = [(lambda x=x, w=w: torch._scaled_mm(x, w.t(), scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16))
               for x, w in zip(xs, ws[:ncopy])]
        return fns, "torch._scaled_mm(x_e4m3, w_e4m3.t(), per-tensor scales, out bf16)"
    if fam == "int8":
        ws = wcache.setdefault("w", [])
        while len(ws) < ncopy:
            ws.append(torch.randint(-127, 128, (n, k), device=dev, dtype=torch.int8))
        xs = [torch.randint(-127, 128, (m, k), device=dev, dtype=torch.int8) for _ in range(ncopy)]
        fns = [(lambda x=x, w=w: torch._int_mm(x, w.t())) for x, w in zip(xs, ws[:ncopy])]
        return fns, "torch._int_mm(x_i8, w_i8.t()) -> int32"
    if fam in ("sparse", "sparse_fp16"):
        from torch.sparse import to_sparse_semi_structured
        dt = torch.bfloat16 if fam == "sparse" else torch.float16
        ws = wcache.setdefault("w", [])
        while len(ws) < ncopy:
            w = torch.randn(n, k, device=dev, dtype=dt) * (1.0 / math.sqrt(k))
            g = w.view(n, k // 4, 4)
            idx = g.abs().topk(2, dim=-1).indices
            mask = torch.zeros_like(g, dtype=torch.bool).scatter_(-1, idx, True)
            ws.append(to_sparse_semi_structured((g * mask).view(n, k)))
            del w, g, idx, mask
        xs = [torch.randn(m, k, device=dev, dtype=dt) for _ in range(ncopy)]
        fns = [(lambda x=x, w=w: F.linear(x, w)) for x, w in zip(xs, ws[:ncopy])]
        return fns, f"F.linear(x, to_sparse_semi_structured(W)) [{type(ws[0]).__name__}; sparse operand = W]"
    raise ValueError(fam)


def gemm_check(out):
    """Correctness of each path on one small random shape versus float64."""
    m, k, n = 64, 512, 256
    x = torch.randn(m, k, device="cuda")
    w = torch.randn(n, k, device="cuda") / math.sqrt(k)
    ref = x.double() @ w.double().t()
    res = {}
    for fam in ["bf16", "fp16", "fp32", "tf32", "fp8", "int8", "sparse"]:
        try:
            set_tf32(fam == "tf32")
            if fam in ("bf16", "fp16", "fp32", "tf32"):
                dt = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(fam, torch.float32)
                y = x.to(dt) @ w.to(dt).t()
                res[fam] = relerr(y, ref)
            elif fam == "fp8":
                y = torch._scaled_mm(x.to(torch.float8_e4m3fn), (w * 16).to(torch.float8_e4m3fn).t(),
                                     scale_a=torch.tensor(1.0, device="cuda"),
                                     scale_b=torch.tensor(1 / 16, device="cuda"), out_dtype=torch.bfloat16)
                res[fam] = relerr(y, ref)
            elif fam == "int8":
                xi = torch.randint(-127, 128, (m, k), device="cuda", dtype=torch.int8)
                wi = torch.randint(-127, 128, (n, k), device="cuda", dtype=torch.int8)
                y = torch._int_mm(xi, wi.t())
                res[fam] = relerr(y, xi.double() @ wi.double().t())
            elif fam == "sparse":
                from torch.sparse import to_sparse_semi_structured
                g = w.to(torch.bfloat16).view(n, k // 4, 4)
                mask = torch.zeros_like(g, dtype=torch.bool).scatter_(-1, g.abs().topk(2, dim=-1).indices, True)
                wd = (g * mask).view(n, k)
                y = F.linear(x.to(torch.bfloat16), to_sparse_semi_structured(wd))
                res[fam] = relerr(y, x.double() @ wd.double().t())
        except Exception as e:
            res[fam] = f"FAIL {type(e).__name__}: {str(e)[:150]}"
    set_tf32(False)
    for fam, v in res.items():
        out.env(f"check_relerr.gemm_{fam}", v if isinstance(v, str) else f"{v:.3g}")
    out.log("gemm correctness (rel err vs fp64): " + ", ".join(
        f"{f}={v if isinstance(v, str) else format(v, '.2g')}" for f, v in res.items()))


def set_tf32(on):
    torch.set_float32_matmul_precision("high" if on else "highest")


def run_gemm(args, out, tm):
    fams = args.gemm_dtypes.split(",")
    gemm_check(out)
    plan = gemm_plan(args.quick, fams, args.gemm_plan)
    kind = EXTRA_GEMM_PLANS[args.gemm_plan][3] if args.gemm_plan in EXTRA_GEMM_PLANS else "gemm"
    esz = {"bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "sparse": 2, "sparse_fp16": 2, "fp32": 4, "tf32": 4}
    n_done = 0
    for fam, s, ms in plan:
        if tm.over_budget():
            out.log(f"BUDGET: skipping gemm {fam} K={s['K']} N={s['N']} and later groups")
            break
        k, n = s["K"], s["N"]
        dtype_name = {"sparse": "bf16", "sparse_fp16": "fp16"}.get(fam, fam)
        sparsity = "2:4" if fam.startswith("sparse") else "dense"
        wbytes = esz[fam] * n * k * (0.5625 if sparsity == "2:4" else 1.0)
        c_max = rot_count(wbytes + esz[fam] * ms[0] * k, 2, 512)
        wcache = {}
        n_fail = 0
        set_tf32(fam == "tf32")
        try:
            for m in ms:
                if tm.over_budget():
                    break
                xbytes = esz[fam] * m * k
                nc = min(c_max, rot_count(wbytes + xbytes, 2, 512))
                try:
                    fns, op = gemm_make(fam, n, k, m, nc, wcache)
                    r = tm.bench(fns)
                except torch.cuda.OutOfMemoryError as e:
                    out.log(f"FAIL gemm {fam} M={m} K={k} N={n}: OOM {str(e)[:120]}")
                    free_mem()
                    continue
                except Exception as e:
                    out.log(f"FAIL gemm {fam} M={m} K={k} N={n}: {type(e).__name__}: {str(e)[:300]}")
                    free_mem()
                    n_fail += 1
                    if n_fail >= 2 and n_fail == ms.index(m) + 1:
                        out.log(f"  giving up on gemm {fam} K={k} N={n}: first two M failed")
                        break
                    continue
                fl = 2 * m * k * n
                ybytes = (4 if fam == "int8" else (2 if fam == "fp8" else esz[fam])) * m * n
                bmin = xbytes + wbytes + ybytes
                med = r.pop("_med")
                row = dict(kind=kind, M=m, K=k, N=n, dtype=dtype_name, sparsity=sparsity,
                           model=s["model"], layer=s["layer"], also=";".join(s["also"]), **r,
                           rot_copies=nc, rot_MB=f"{nc * (wbytes + xbytes) / MiB:.0f}",
                           flops=fl, bytes_min=int(bmin), tflops=f"{fl / med / 1e9:.4g}",
                           gbps=f"{bmin / med / 1e6:.5g}", op=op)
                out.row(kind, row)
                n_done += 1
                if args.verbose or m in (1, 4096) or n_done % 50 == 0:
                    out.log(f"gemm {fam:11s} M={m:5d} K={k:5d} N={n:6d} {med * 1e3:10.2f} us "
                            f"{fl / med / 1e9:7.1f} TF/s {bmin / med / 1e6:7.0f} GB/s [{r['timing']} x{r['n_inner']}]")
                del fns
        finally:
            del wcache
            free_mem()
    set_tf32(False)
    out.log(f"gemm done: {n_done} rows")


def run_gemm_kernels(args, out, tm):
    """Records which kernels the libraries launch for every GEMM row of the plans named in
    --kernel-plans (no timing): one warm call, then one call under torch.profiler. The names carry
    the library's choices (nvjet/CUTLASS tile, cluster, split-K, stream-K), which the model's
    heuristic is meant to follow. Rows go to gemm_kernels.csv; their `set` is that of the timed
    row of the same shape, so hold-out rows' kernels are hold-out information too."""
    from torch.profiler import profile, ProfilerActivity
    fams = args.gemm_dtypes.split(",")
    n_done = 0
    for which in args.kernel_plans.split(","):
        plan = gemm_plan(False, fams, which)
        kind = EXTRA_GEMM_PLANS[which][3] if which in EXTRA_GEMM_PLANS else "gemm"
        for fam, s, ms in plan:
            if tm.over_budget():
                out.log(f"BUDGET: stopping gemm_kernels at {which} {fam} K={s['K']} N={s['N']}")
                return
            k, n = s["K"], s["N"]
            dtype_name = {"sparse": "bf16", "sparse_fp16": "fp16"}.get(fam, fam)
            sparsity = "2:4" if fam.startswith("sparse") else "dense"
            wcache = {}
            set_tf32(fam == "tf32")
            try:
                for m in ms:
                    try:
                        fns, _ = gemm_make(fam, n, k, m, 1, wcache)
                        fns[0]()
                        torch.cuda.synchronize()
                        with profile(activities=[ProfilerActivity.CUDA]) as prof:
                            fns[0]()
                            torch.cuda.synchronize()
                        names = [e.name for e in prof.events()
                                 if getattr(e, "device_type", None) is not None
                                 and str(e.device_type).endswith("CUDA")]
                    except Exception as e:
                        out.log(f"FAIL gemm_kernels {fam} M={m} K={k} N={n}: {type(e).__name__}: {str(e)[:200]}")
                        free_mem()
                        continue
                    row = dict(kind="gemm_kernels", plan_kind=kind, M=m, K=k, N=n, dtype=dtype_name,
                               sparsity=sparsity, model=s["model"], layer=s["layer"],
                               kernels=" | ".join(names))
                    row["set"] = SPLIT.assign(dict(row, kind=kind))
                    out.row("gemm_kernels", row)
                    n_done += 1
                    if n_done % 200 == 0:
                        out.log(f"gemm_kernels: {n_done} rows ({which} {fam} M={m} K={k} N={n}: {names})")
            finally:
                del wcache
                free_mem()
    set_tf32(False)
    out.log(f"gemm_kernels done: {n_done} rows")


# ---------------------------------------------------------------------------------------
# Attention
def run_attention(args, out, tm):
    from torch.nn.attention import sdpa_kernel, SDPBackend
    bf = torch.bfloat16
    # correctness check versus the math backend in fp32
    try:
        q = torch.randn(2, 32, 256, 128, device="cuda", dtype=bf)
        kk = torch.randn(2, 8, 256, 128, device="cuda", dtype=bf)
        vv = torch.randn(2, 8, 256, 128, device="cuda", dtype=bf)
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            y = F.scaled_dot_product_attention(q, kk, vv, is_causal=True, enable_gqa=True)
        ref = F.scaled_dot_product_attention(q.float(), kk.float().repeat_interleave(4, 1),
                                             vv.float().repeat_interleave(4, 1), is_causal=True)
        out.env("check_relerr.sdpa_flash_gqa_causal", f"{relerr(y, ref):.3g}")
        out.log(f"sdpa flash gqa check rel err {relerr(y, ref):.2g}")
    except Exception as e:
        out.log(f"sdpa check failed: {type(e).__name__}: {str(e)[:300]}")
    gqa_mode = {}
    for c in attention_plan(args.quick):
        if tm.over_budget():
            out.log("BUDGET: skipping remaining attention configs")
            break
        B, H, KVH, D, S, L = c["B"], c["heads"], c["kv_heads"], c["head_dim"], c["q_len"], c["kv_len"]
        causal = bool(c["causal"])
        qb = B * H * S * D * 2
        kvb = 2 * B * KVH * L * D * 2
        if qb * 2 + kvb > 24e9:
            out.log(f"SKIP attention {c}: {(2 * qb + kvb) / 1e9:.1f} GB does not fit the plan")
            continue
        nc = rot_count(qb + kvb, 1, 64)
        try:
            qs = [torch.randn(B, H, S, D, device="cuda", dtype=bf) for _ in range(nc)]
            ks = [torch.randn(B, KVH, L, D, device="cuda", dtype=bf) for _ in range(nc)]
            vs = [torch.randn(B, KVH, L, D, device="cuda", dtype=bf) for _ in range(nc)]
            backend = "flash"
            gqa = KVH != H
            mode = gqa_mode.get(gqa, "enable_gqa" if gqa else "mha")

            def mk(q, k, v, mode=mode):
                if mode == "repeat_kv":
                    rep = H // KVH
                    k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)  # outside timing

                    def f():
                        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                    return f

                def f():
                    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa)
                return f
            try:
                fns = [mk(q, k, v) for q, k, v in zip(qs, ks, vs)]
                r = tm.bench(fns)
            except torch.cuda.OutOfMemoryError:
                raise
            except Exception as e:
                if not gqa or mode == "repeat_kv":
                    raise
                out.log(f"flash enable_gqa failed ({type(e).__name__}: {str(e)[:200]}); falling back to repeat_kv")
                gqa_mode[gqa] = mode = "repeat_kv"
                fns = [mk(q, k, v, "repeat_kv") for q, k, v in zip(qs, ks, vs)]
                r = tm.bench(fns)
            if gqa:
                backend = "flash+" + mode
        except Exception as e:
            out.log(f"FAIL attention {c}: {type(e).__name__}: {str(e)[:300]}")
            qs = ks = vs = fns = None
            free_mem()
            continue
        med = r.pop("_med")
        if causal:
            fl = 4 * B * H * D * (S * (S + 1) // 2)
        else:
            fl = 4 * B * H * D * S * L
        bmin = 2 * qb + kvb
        row = dict(kind="attention", phase=c["phase"], B=B, heads=H, kv_heads=KVH, head_dim=D, q_len=S,
                   kv_len=L, causal=int(causal), dtype="bf16", backend=backend, **r, rot_copies=nc,
                   flops=fl, bytes_min=bmin, tflops=f"{fl / med / 1e9:.4g}", gbps=f"{bmin / med / 1e6:.5g}")
        out.row("attention", row)
        out.log(f"attn {c['phase']:7s} B={B:2d} H={H}/{KVH} q={S:5d} kv={L:5d} {med * 1e3:10.2f} us "
                f"{fl / med / 1e9:7.1f} TF/s {bmin / med / 1e6:7.0f} GB/s [{r['timing']} x{r['n_inner']}]")
        qs = ks = vs = fns = None
        free_mem()


# ---------------------------------------------------------------------------------------
# Elementwise: rmsnorm and silu_mul are single Triton kernels (as in vLLM-style stacks).
_rms_kernel = _silu_kernel = None


def build_triton():
    global _rms_kernel, _silu_kernel

    @triton.jit
    def rms_kernel(X, W, Y, stride_x, stride_y, H, eps, BLOCK: tl.constexpr):
        row = tl.program_id(0).to(tl.int64)
        cols = tl.arange(0, BLOCK)
        mask = cols < H
        x = tl.load(X + row * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
        var = tl.sum(x * x, axis=0) / H
        rstd = 1.0 / tl.sqrt(var + eps)
        w = tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
        tl.store(Y + row * stride_y + cols, (x * rstd * w).to(Y.dtype.element_ty), mask=mask)

    @triton.jit
    def silu_kernel(X, Y, H, stride_x, stride_y, BLOCK: tl.constexpr):
        row = tl.program_id(0).to(tl.int64)
        cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
        mask = cols < H
        g = tl.load(X + row * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
        u = tl.load(X + row * stride_x + H + cols, mask=mask, other=0.0).to(tl.float32)
        y = g / (1.0 + tl.exp(-g)) * u
        tl.store(Y + row * stride_y + cols, y.to(Y.dtype.element_ty), mask=mask)

    _rms_kernel, _silu_kernel = rms_kernel, silu_kernel


def rmsnorm(x, w, eps=1e-6):
    t, h = x.shape
    y = torch.empty_like(x)
    block = triton.next_power_of_2(h)
    nw = 16 if block >= 8192 else (8 if block >= 2048 else 4)
    _rms_kernel[(t,)](x, w, y, x.stride(0), y.stride(0), h, eps, BLOCK=block, num_warps=nw)
    return y


def silu_mul(x):
    t, h2 = x.shape
    h = h2 // 2
    y = torch.empty((t, h), device=x.device, dtype=x.dtype)
    block = 1024
    _silu_kernel[(t, triton.cdiv(h, block))](x, y, h, x.stride(0), y.stride(0), BLOCK=block, num_warps=4)
    return y


# The e2e decoder's RoPE and KV-cache write (run_e2e uses these same functions), measured on
# their own as the elementwise ops `rope` and `kv_append`.
def rope_tables(pos, hd=HEAD_DIM):
    """cos and sin [S, hd] in bf16 for the positions `pos` (rotate-half layout: angles twice)."""
    inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, device="cuda", dtype=torch.float32) / hd))
    ang = pos.float()[:, None] * inv[None, :]
    emb = torch.cat([ang, ang], -1)
    return emb.cos().to(torch.bfloat16), emb.sin().to(torch.bfloat16)


def rot_half(t):
    a, b = t.chunk(2, -1)
    return torch.cat([-b, a], -1)


def rope_apply(t, cos, sin):
    """t: [B, S, heads, hd] (a view into the fused QKV output). Five torch kernels: t*cos, -x2,
    cat, *sin, add."""
    return t * cos[None, :, None] + rot_half(t) * sin[None, :, None]


def kv_write(kc, vc, k, v, pos0):
    """Copies k, v [B, kv_heads, S, hd] into the static caches at positions pos0.. (two kernels)."""
    s = k.shape[2]
    kc[:, :, pos0:pos0 + s].copy_(k)
    vc[:, :, pos0:pos0 + s].copy_(v)


def rope_kv_check(out):
    bf = torch.bfloat16
    B, S, NH, HD = 3, 5, 4, HEAD_DIM
    qkv = torch.randn(B, S, 3, NH, HD, device="cuda", dtype=bf)
    q = qkv.unbind(2)[0]
    pos = torch.arange(7, 7 + S, device="cuda")
    cos, sin = rope_tables(pos)
    y = rope_apply(q, cos, sin)
    # reference: rotate each (x1, x2) pair by the angle, in float64
    inv = 1.0 / (10000 ** (torch.arange(0, HD, 2, device="cuda", dtype=torch.float64) / HD))
    ang = pos.double()[:, None] * inv[None, :]
    c, s_ = ang.cos()[None, :, None], ang.sin()[None, :, None]
    x1, x2 = q.double()[..., :HD // 2], q.double()[..., HD // 2:]
    ref = torch.cat([x1 * c - x2 * s_, x2 * c + x1 * s_], -1)
    e1 = relerr(y, ref)
    kc = torch.full((B, NH, S + 9, HD), float("nan"), device="cuda", dtype=bf)
    vc = torch.full_like(kc, float("nan"))
    k, v = y.transpose(1, 2), qkv.unbind(2)[2].transpose(1, 2)
    kv_write(kc, vc, k, v, 9)
    ok = bool(torch.equal(kc[:, :, 9:], k) and torch.equal(vc[:, :, 9:], v))
    out.env("check_relerr.rope_torch_ops", f"{e1:.3g}")
    out.env("check_exact.kv_write", int(ok))
    out.log(f"rope (torch ops) rel err {e1:.2g}, kv_write exact={ok}")


def ew_check(out):
    x = torch.randn(37, 5120, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(5120, device="cuda", dtype=torch.bfloat16)
    xf = x.float()
    ref = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-6) * w.float()
    e1 = relerr(rmsnorm(x, w), ref)
    xx = torch.randn(37, 2 * 5120, device="cuda", dtype=torch.bfloat16)
    ref2 = F.silu(xx[:, :5120].float()) * xx[:, 5120:].float()
    e2 = relerr(silu_mul(xx), ref2)
    out.env("check_relerr.triton_rmsnorm", f"{e1:.3g}")
    out.env("check_relerr.triton_silu_mul", f"{e2:.3g}")
    out.log(f"triton rmsnorm rel err {e1:.2g}, silu_mul rel err {e2:.2g}")


def run_elementwise(args, out, tm):
    build_triton()
    ops = args.ew_ops.split(",")
    if any(o in EW_OPS[:6] for o in ops):
        ew_check(out)
    if "rope" in ops or "kv_append" in ops:
        rope_kv_check(out)
    bf = torch.bfloat16
    impl = {"rmsnorm": "triton (1 kernel, fp32 accumulate)", "silu_mul": "triton (1 kernel)",
            "layernorm": "F.layer_norm", "gelu": "F.gelu(approximate='tanh')",
            "softmax": "torch.softmax(dim=-1)", "residual_add": "a + b",
            "rope": "rotate-half in torch ops as the e2e (5 kernels: x*cos, -x2, cat, *sin, add) on "
                    "the q view of a fused [B,S,3,H/128,128] QKV output; cos/sin [S,128]",
            "kv_append": "the e2e's 2 copy_ kernels into static [B,kv_heads,ctx+S,128] caches at ctx=1024: "
                         "K from a contiguous [B,S,kv_heads,128] tensor, V a view of the fused QKV output"}
    for op, t, h in elementwise_plan(args.quick, ops):
        if tm.over_budget():
            out.log("BUDGET: skipping remaining elementwise rows")
            break
        b = ew_bytes(op, t, h)
        nc = rot_count(b, 1, 64)
        try:
            w = torch.randn(h, device="cuda", dtype=bf)
            bias = torch.randn(h, device="cuda", dtype=bf)
            if op == "silu_mul":
                xs = [torch.randn(t, 2 * h, device="cuda", dtype=bf) for _ in range(nc)]
                fns = [(lambda x=x: silu_mul(x)) for x in xs]
            elif op == "residual_add":
                xs = [(torch.randn(t, h, device="cuda", dtype=bf), torch.randn(t, h, device="cuda", dtype=bf))
                      for _ in range(nc)]
                fns = [(lambda p=p: p[0] + p[1]) for p in xs]
            elif op == "rope":
                B, S = ew_bs(t)
                nh = h // HEAD_DIM
                cos, sin = rope_tables(torch.arange(KV_CTX, KV_CTX + S, device="cuda"))
                xs = [torch.randn(B, S, 3, nh, HEAD_DIM, device="cuda", dtype=bf).unbind(2)[0] for _ in range(nc)]
                fns = [(lambda x=x: rope_apply(x, cos, sin)) for x in xs]
            elif op == "kv_append":
                B, S = ew_bs(t)
                kvh = h // HEAD_DIM
                hq = max(kvh, 32) * HEAD_DIM  # the q part of the fused QKV row (32 q heads under GQA)
                kc = torch.randn(B, kvh, KV_CTX + S, HEAD_DIM, device="cuda", dtype=bf)
                vc = torch.randn_like(kc)
                xs = []
                for _ in range(nc):
                    k = torch.randn(B, S, kvh, HEAD_DIM, device="cuda", dtype=bf).transpose(1, 2)
                    qkv = torch.randn(B, S, hq + 2 * h, device="cuda", dtype=bf)
                    v = qkv[..., hq + h:].view(B, S, kvh, HEAD_DIM).transpose(1, 2)
                    xs.append((k, v))
                fns = [(lambda p=p: kv_write(kc, vc, p[0], p[1], KV_CTX)) for p in xs]
            else:
                xs = [torch.randn(t, h, device="cuda", dtype=bf) for _ in range(nc)]
                f = {"rmsnorm": lambda x: rmsnorm(x, w), "layernorm": lambda x: F.layer_norm(x, (h,), w, bias, 1e-5),
                     "gelu": lambda x: F.gelu(x, approximate="tanh"), "softmax": lambda x: torch.softmax(x, dim=-1)}[op]
                fns = [(lambda x=x, f=f: f(x)) for x in xs]
            r = tm.bench(fns)
        except Exception as e:
            out.log(f"FAIL elementwise {op} T={t} H={h}: {type(e).__name__}: {str(e)[:300]}")
            xs = fns = kc = vc = None
            free_mem()
            continue
        med = r.pop("_med")
        desc = impl[op] + (" (B={} S={})".format(*ew_bs(t)) if op in ("rope", "kv_append") else "")
        out.row("elementwise", dict(kind="elementwise", op=op, T=t, H=h, dtype="bf16", impl=desc, **r,
                                    rot_copies=nc, bytes_min=b, gbps=f"{b / med / 1e6:.5g}"))
        if args.verbose or t in (1, 16384):
            out.log(f"ew {op:12s} T={t:5d} H={h:5d} {med * 1e3:9.2f} us {b / med / 1e6:7.0f} GB/s "
                    f"[{r['timing']} x{r['n_inner']}]")
        xs = fns = kc = vc = None
        if b > 64 * MiB or op == "kv_append":
            free_mem()


# ---------------------------------------------------------------------------------------
def run_ceilings(args, out, tm):
    def put(name, value, unit, med, detail):
        out.row("ceilings", dict(kind="ceiling", name=name, value=f"{value:.6g}", unit=unit,
                                 median_ms=f"{med:.6g}", detail=detail))
        out.log(f"ceiling {name:28s} {value:10.4g} {unit}  ({detail})")

    # device-to-device copy and read-only reduction at several sizes; (src, dst) pairs rotate
    sizes = [64 * MiB, 256 * MiB, 1 << 30, 4 << 30] if not args.quick else [256 * MiB]
    for size in sizes:
        try:
            nc = int(min(8, max(2, math.ceil(512 * MiB / (2 * size)))))
            srcs = [torch.randn(size // 4, device="cuda", dtype=torch.float32) for _ in range(nc)]
            dsts = [torch.empty_like(srcs[0]) for _ in range(nc)]
            r = tm.bench([(lambda s=s, d=d: d.copy_(s)) for s, d in zip(srcs, dsts)], min_inner=2)
            tag = f"{size >> 20}MiB"
            put(f"d2d_copy_bw_{tag}", 2 * size / r["_med"] / 1e6, "GB/s", r["_med"],
                f"dst.copy_(src) of {tag} fp32, {nc} rotating pairs, bytes read+written")
            r = tm.bench([(lambda s=s: s.sum()) for s in srcs], min_inner=2)
            put(f"read_reduce_bw_{tag}", size / r["_med"] / 1e6, "GB/s", r["_med"],
                f"fp32 sum over {tag}, {nc} rotating buffers, bytes read")
            del srcs, dsts
            free_mem()
        except Exception as e:
            out.log(f"FAIL ceiling copy {size}: {type(e).__name__}: {e}")
            free_mem()
    # big matmuls
    n = 8192
    for fam in ["bf16", "fp16", "tf32", "fp32", "fp8", "int8"]:
        try:
            set_tf32(fam == "tf32")
            fns, op = gemm_make(fam, n, n, n, 2, {})
            r = tm.bench(fns, min_inner=2)
            put(f"matmul_8192_{fam}", 2 * n ** 3 / r["_med"] / 1e9, "TFLOP/s", r["_med"], op)
            del fns
            free_mem()
        except Exception as e:
            out.log(f"FAIL ceiling matmul {fam}: {type(e).__name__}: {str(e)[:200]}")
    set_tf32(False)
    # launch latencies
    x = torch.randn(1, device="cuda")
    for _ in range(50):
        x.add_(1.0)
    torch.cuda.synchronize()
    lat = []
    for _ in range(500 if not args.quick else 50):
        t0 = time.perf_counter()
        x.add_(1.0)
        torch.cuda.synchronize()
        lat.append(time.perf_counter() - t0)
    lat.sort()
    put("launch_sync_latency", lat[len(lat) // 2] * 1e6, "us", lat[len(lat) // 2] * 1e3,
        "host: 1-element x.add_(1) + torch.cuda.synchronize(), median")
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    nl = 2000
    ts = []
    for _ in range(5):
        s.record()
        for _ in range(nl):
            x.add_(1.0)
        e.record()
        e.synchronize()
        ts.append(s.elapsed_time(e) / nl)
    ts.sort()
    put("eager_launch_throughput", ts[2] * 1e3, "us/launch", ts[2], f"{nl} back-to-back eager x.add_(1), events")
    r = tm.bench([lambda: x.add_(1.0)], min_inner=1000)
    put("graph_tiny_kernel", r["_med"] * 1e3, "us/launch", r["_med"], "CUDA graph of 1000 x.add_(1), per launch")
    if _rms_kernel is None:
        build_triton()
    xw = torch.randn(1, 768, device="cuda", dtype=torch.bfloat16)
    ww = torch.randn(768, device="cuda", dtype=torch.bfloat16)
    r = tm.bench([lambda: rmsnorm(xw, ww)], min_inner=1000)
    put("graph_tiny_triton_kernel", r["_med"] * 1e3, "us/launch", r["_med"], "CUDA graph of 1000 rmsnorm T=1 H=768")


# ---------------------------------------------------------------------------------------
# End-to-end: a plain PyTorch llama-style decoder stack (llama2-7b shapes by default), bf16.
# (hidden, intermediate, q heads, kv heads). mistral-7b's layer shapes are llama3-8b's.
E2E_MODELS = {"llama2-7b": (4096, 11008, 32, 32), "llama3-8b": (4096, 14336, 32, 8)}
E2E_DESC = ("plain PyTorch llama decoder layers (Triton rmsnorm, cuBLAS QKV/O/gate_up/down, "
            "rotate-half RoPE in torch ops, SDPA flash, Triton silu_mul, residual adds); "
            "decode appends K/V to a static cache; no embedding/LM head; whole stack in one "
            "CUDA graph; distinct random weights per layer")


def e2e_weights(model, L):
    bf = torch.bfloat16
    H, I, NH, KV = E2E_MODELS[model]
    HD = HEAD_DIM
    sc = 1.0 / math.sqrt(H)
    return [dict(wqkv=torch.randn((NH + 2 * KV) * HD, H, device="cuda", dtype=bf) * sc,
                 wo=torch.randn(H, H, device="cuda", dtype=bf) * sc,
                 wgu=torch.randn(2 * I, H, device="cuda", dtype=bf) * sc,
                 wd=torch.randn(H, I, device="cuda", dtype=bf) / math.sqrt(I),
                 g1=torch.ones(H, device="cuda", dtype=bf) + 0.1 * torch.randn(H, device="cuda", dtype=bf),
                 g2=torch.ones(H, device="cuda", dtype=bf) + 0.1 * torch.randn(H, device="cuda", dtype=bf))
            for _ in range(L)]


def e2e_layer(model, x, p, B, S, cos, sin, cache, pos0, mm=None):
    """One decoder layer. mm(name, a, w) replaces the four projections when given (the
    stack-without-GEMMs diagnostic); by default a @ w.t()."""
    from torch.nn.attention import sdpa_kernel, SDPBackend
    H, I, NH, KV = E2E_MODELS[model]
    HD = HEAD_DIM
    mm = mm or (lambda name, a, w: a @ w.t())
    h = rmsnorm(x, p["g1"])
    if KV == NH:  # the original llama2-7b path, unchanged
        qkv = mm("qkv", h, p["wqkv"]).view(B, S, 3, NH, HD)
        q, k, v = qkv.unbind(2)
    else:
        qkv = mm("qkv", h, p["wqkv"])
        q = qkv[:, :NH * HD].view(B, S, NH, HD)
        k = qkv[:, NH * HD:(NH + KV) * HD].view(B, S, KV, HD)
        v = qkv[:, (NH + KV) * HD:].view(B, S, KV, HD)
    q = rope_apply(q, cos, sin).transpose(1, 2)
    k = rope_apply(k, cos, sin).transpose(1, 2)
    v = v.transpose(1, 2)
    if cache is not None:  # decode: append to the static cache, attend over it
        kc, vc = cache
        kv_write(kc, vc, k, v, pos0)
        k, v = kc[:, :, :pos0 + S], vc[:, :, :pos0 + S]
        causal = False
    else:
        causal = True
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        if KV == NH:
            a = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        else:
            a = F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
    x = x + mm("o", a.transpose(1, 2).reshape(B * S, H), p["wo"])
    h = rmsnorm(x, p["g2"])
    return x + mm("down", silu_mul(mm("gate_up", h, p["wgu"])), p["wd"])


E2E_HOLDOUT_CASES = "llama2-7b:prefill:1:512:0,llama2-7b:prefill:1:2048:0,llama2-7b:decode:1:1:1024,llama2-7b:decode:16:1:1024"


def parse_cases(text):
    cases = []
    for c in text.split(","):
        m, ph, b, s, ctx = c.strip().split(":")
        assert m in E2E_MODELS and ph in ("prefill", "decode"), c
        cases.append((m, ph, int(b), int(s), int(ctx)))
    return cases


class ClockSampler:
    """Reads SM clock and power with `nvidia-smi -lms` (read-only) in the background, so that each
    timed window can report the clocks it ran at."""

    def __init__(self, period_ms=10):
        import threading
        self.samples, self.p = [], None
        try:
            self.p = subprocess.Popen(["nvidia-smi", "--query-gpu=clocks.sm,power.draw", "--format=csv,noheader,nounits",
                                       f"-lms={period_ms}"], stdout=subprocess.PIPE, text=True)
            self.t = threading.Thread(target=self._read, daemon=True)
            self.t.start()
        except Exception:
            self.p = None

    def _read(self):
        for line in self.p.stdout:
            try:
                c, w = [float(v) for v in line.strip().split(",")[:2]]
                self.samples.append((time.time(), c, w))
            except ValueError:
                pass

    def window(self, t0, t1):
        xs = [(c, w) for t, c, w in self.samples if t0 <= t <= t1]
        if not xs:
            return dict(clk_mhz="", clk_min_mhz="", power_w="", samples=0)
        cs = sorted(c for c, _ in xs)
        return dict(clk_mhz=f"{sum(cs) / len(cs):.0f}", clk_min_mhz=f"{cs[0]:.0f}",
                    power_w=f"{max(w for _, w in xs):.0f}", samples=len(xs))

    def stop(self):
        if self.p:
            self.p.terminate()


def run_e2e(args, out, tm):
    if _rms_kernel is None:
        build_triton()
    bf = torch.bfloat16
    L = 4 if not args.quick else 2
    cases = parse_cases(args.e2e_cases)
    parts = set(parse_cases(args.e2e_parts)) if args.e2e_parts else set()
    if args.quick:
        cases = cases[:1] + cases[2:3]
    fname = args.e2e_file
    kind = "e2e_cal" if args.e2e_set == "calibration" else "e2e"
    weights = {}
    clk = ClockSampler() if parts else None
    for case in cases:
        model, phase, B, S, ctx = case
        H, I, NH, KV = E2E_MODELS[model]
        HD = HEAD_DIM
        try:
            if model not in weights:
                weights.clear()
                free_mem()
                weights[model] = e2e_weights(model, L)
            layers = weights[model]
            x0 = torch.randn(B * S, H, device="cuda", dtype=bf)
            pos = torch.arange(ctx, ctx + S, device="cuda")
            cos, sin = rope_tables(pos)
            caches = None
            if phase == "decode":
                caches = [(torch.randn(B, KV, ctx + S, HD, device="cuda", dtype=bf),
                           torch.randn(B, KV, ctx + S, HD, device="cuda", dtype=bf)) for _ in range(L)]

            def fwd(mm=None):
                x = x0
                for i, p in enumerate(layers):
                    x = e2e_layer(model, x, p, B, S, cos, sin, caches[i] if caches else None, ctx, mm)
                return x
            y = fwd()
            ok = bool(torch.isfinite(y).all().item())
            t0 = time.time()
            r = tm.bench([fwd], min_inner=1)
            t1 = time.time()
            med = r.pop("_med")
            row = dict(kind=kind, model=model, phase=phase, B=B, q_len=S, kv_len=ctx + S if phase == "decode" else S,
                       layers=L, total_ms=f"{med:.6g}", per_layer_ms=f"{med / L:.6g}",
                       min_ms=r["min_ms"], p90_ms=r["p90_ms"], timing=r["timing"], reps=r["reps"],
                       finite=int(ok), description=E2E_DESC)
            if kind == "e2e_cal":
                row["set"] = "calibration"
            out.row(fname, row)
            out.log(f"e2e {model} {phase} B={B} S={S} ctx={ctx}: {med:.3f} ms for {L} layers, {med / L:.3f} ms/layer [{r['timing']}]")
            if case in parts:
                e2e_parts(args, out, tm, clk, case, layers, fwd, med, (t0, t1), L)
            del caches, x0
            free_mem()
        except Exception as e:
            out.log(f"FAIL e2e {model} {phase} B={B} S={S}: {type(e).__name__}: {str(e)[:300]}")
            traceback.print_exc()
            free_mem()
    if clk:
        clk.stop()


def e2e_parts(args, out, tm, clk, case, layers, fwd, stack_ms, stack_win, L):
    """Where the stack's time goes, per layer (diagnostic rows in e2e_parts.csv, calibration only):
    stack: the whole stack in one graph (the e2e row); no_gemm: the same graph with the four
    projections replaced by preallocated outputs; gemms_graph: the stack's 4L GEMMs alone, back to
    back in one graph, same weights, inputs preallocated; <proj>_alone_rot: one projection timed
    like the GEMM dataset (rotated X and W, graph of ~2 ms, so back to back for milliseconds);
    <proj>_alone_short: the same GEMM over the stack's L weights only, a graph of L launches per
    replay (no long back-to-back run). Clock columns: nvidia-smi samples during the timed window."""
    model, phase, B, S, ctx = case
    H, I, NH, KV = E2E_MODELS[model]
    HD = HEAD_DIM
    T = B * S
    bf = torch.bfloat16
    shapes = {"qkv": (H, (NH + 2 * KV) * HD), "o": (H, H), "gate_up": (H, 2 * I), "down": (I, H)}
    wname = {"qkv": "wqkv", "o": "wo", "gate_up": "wgu", "down": "wd"}
    base = dict(kind="e2e_part", model=model, phase=phase, B=B, q_len=S, kv_len=ctx + S if phase == "decode" else S,
                layers=L, set="calibration")

    def put(part, per_layer_ms, r, win, detail=""):
        row = dict(base, part=part, per_layer_ms=f"{per_layer_ms:.6g}", min_ms=r.get("min_ms", ""),
                   p90_ms=r.get("p90_ms", ""), n_inner=r.get("n_inner", ""), reps=r.get("reps", ""), **clk.window(*win),
                   detail=detail)
        out.row("e2e_parts", row)
        out.log(f"  part {part:18s} {per_layer_ms * 1e3:9.1f} us/layer  clk {row['clk_mhz']} (min {row['clk_min_mhz']}) MHz "
                f"max {row['power_w']} W")

    old = (args.reps, args.target_ms, args.max_inner, args.min_inner)
    try:
        args.reps = 30
        put("stack", stack_ms / L, {}, stack_win, "the e2e row; clocks over its timed window")
        t0 = time.time()
        r_ = tm.bench([fwd], min_inner=1)
        put("stack_again", r_["_med"] / L, r_, (t0, time.time()), "stack re-timed with 30 reps")
        # no GEMMs: outputs preallocated (random, so the later kernels see real data)
        outs = {n: torch.randn(T, shapes[n][1], device="cuda", dtype=bf) for n in shapes}
        t0 = time.time()
        r = tm.bench([lambda: fwd(lambda name, a, w: outs[name])], min_inner=1)
        put("no_gemm", r["_med"] / L, r, (t0, time.time()), "stack with the 4 projections replaced by preallocated outputs")
        ins = {n: torch.randn(T, shapes[n][0], device="cuda", dtype=bf) for n in shapes}

        def gemms():
            for p in layers:
                for n in ("qkv", "o", "gate_up", "down"):
                    ins[n] @ p[wname[n]].t()
        t0 = time.time()
        r = tm.bench([gemms], min_inner=1)
        put("gemms_graph", r["_med"] / L, r, (t0, time.time()), "the 4L projections back to back in one graph")
        for n in ("qkv", "o", "gate_up", "down"):
            k, nn = shapes[n]
            ncopy = rot_count(2 * (T * k + nn * k), 2, 512)
            fns, _ = gemm_make("bf16", nn, k, T, ncopy, {})
            args.target_ms, args.max_inner = old[1], old[2]
            t0 = time.time()
            r = tm.bench(fns)
            put(f"{n}_alone_rot", r["_med"], r, (t0, time.time()), f"M={T} K={k} N={nn} as the gemm dataset; {ncopy} copies")
            fns = None
            free_mem()
            a = ins[n]
            fns = [(lambda w=p[wname[n]]: a @ w.t()) for p in layers]
            args.target_ms, args.max_inner = 1e-3, L
            t0 = time.time()
            r = tm.bench(fns)
            put(f"{n}_alone_short", r["_med"], r, (t0, time.time()), f"M={T} K={k} N={nn}; graph of the stack's {L} weights only")
            args.target_ms, args.max_inner = old[1], old[2]
    finally:
        args.reps, args.target_ms, args.max_inner, args.min_inner = old
        free_mem()


# ---------------------------------------------------------------------------------------
def write_env(out, args):
    out.env("date_utc", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    out.env("command", " ".join(sys.argv))
    p = torch.cuda.get_device_properties(0)
    out.env("gpu_name", p.name)
    out.env("compute_capability", f"{p.major}.{p.minor}")
    out.env("sm_count", p.multi_processor_count)
    out.env("l2_cache_bytes", getattr(p, "L2_cache_size", "n/a"))
    out.env("total_memory_bytes", p.total_memory)
    out.env("torch", torch.__version__)
    out.env("torch_cuda", torch.version.cuda)
    out.env("cudnn", torch.backends.cudnn.version())
    out.env("triton", triton.__version__)
    out.env("python", sys.version.split()[0])
    try:
        r = subprocess.run(["nvcc", "--version"], capture_output=True, text=True, timeout=20)
        out.env("nvcc", r.stdout.strip().split("\n")[-1])
    except Exception:
        pass
    try:
        r = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=20)
        for line in r.stdout.split("\n"):
            if "CUDA Version" in line:
                out.env("nvidia_smi_header", " ".join(line.strip("| ").split()))
    except Exception:
        pass
    out.env("timing", f"target_ms={args.target_ms} reps={args.reps} min_inner={args.min_inner} "
                      f"max_inner={args.max_inner} rot_bytes={ROT_BYTES} quick={int(args.quick)}")
    out.log(f"GPU {p.name} SMs={p.multi_processor_count} L2={getattr(p, 'L2_cache_size', '?')} "
            f"torch={torch.__version__} cuda={torch.version.cuda} triton={triton.__version__}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="validation/gpu/data")
    ap.add_argument("--quick", action="store_true", help="smoke test: few shapes, few repeats")
    ap.add_argument("--only", default="gemm,attention,elementwise,ceilings,e2e")
    ap.add_argument("--gemm-dtypes", default=",".join(GEMM_FAMILIES))
    ap.add_argument("--gemm-plan", default="main", choices=["main"] + list(EXTRA_GEMM_PLANS),
                    help="a later GEMM set, written to its own file: " +
                         "; ".join(f"{k} -> {v[3]}.csv" for k, v in EXTRA_GEMM_PLANS.items()))
    ap.add_argument("--kernel-plans", default="main," + ",".join(EXTRA_GEMM_PLANS),
                    help="with --only gemm_kernels: the GEMM plans whose kernels to record")
    ap.add_argument("--ew-ops", default=",".join(EW_OPS), help="elementwise ops to measure")
    ap.add_argument("--budget-s", type=float, default=0, help="stop starting new measurements after this")
    ap.add_argument("--target-ms", type=float, default=2.0, help="GPU time per timed replay")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--min-inner", type=int, default=1)
    ap.add_argument("--max-inner", type=int, default=2000)
    ap.add_argument("--no-graph", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--e2e-cases", default=E2E_HOLDOUT_CASES,
                    help="e2e cases MODEL:PHASE:B:S:CTX, comma separated (models: " + ",".join(E2E_MODELS) + ")")
    ap.add_argument("--e2e-set", default="holdout", choices=["holdout", "calibration"],
                    help="calibration writes kind e2e_cal rows (always calibration in split.py)")
    ap.add_argument("--e2e-file", default="e2e", help="e2e CSV name (without .csv)")
    ap.add_argument("--e2e-parts", default="", help="cases (as --e2e-cases) that also get the stack-vs-isolated "
                                                    "diagnostic rows in e2e_parts.csv")
    args = ap.parse_args()
    if args.quick:
        args.target_ms, args.reps, args.max_inner = min(args.target_ms, 0.5), min(args.reps, 3), min(args.max_inner, 400)
    if args.dry_run:
        return dry_run(args)
    import_gpu()
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "_" + args.only.replace(",", "+")
    out = Out(args.out, run_id)
    tm = Timer(args, out)
    torch.manual_seed(0)
    write_env(out, args)
    nvsmi(out, "start")
    sections = {"gemm": run_gemm, "gemm_kernels": run_gemm_kernels, "attention": run_attention,
                "elementwise": run_elementwise,
                "ceilings": run_ceilings, "e2e": run_e2e}
    for name in args.only.split(","):
        t0 = time.time()
        out.log(f"=== {name} ===")
        try:
            sections[name](args, out, tm)
        except Exception as e:
            out.log(f"SECTION {name} FAILED: {type(e).__name__}: {e}")
            traceback.print_exc()
            free_mem()
        out.env(f"section_seconds.{name}", f"{time.time() - t0:.1f}")
        nvsmi(out, f"after_{name}")
    out.log(f"total {time.time() - tm.t0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
