// Issue 12's published LLM anchors on the TPU v5e preset, each computed as the README's table
// states it (the same points `xpusim run` times) and checked against the target: within
// 25 % of the published figure. The published figures and their sources are in README.md
// ("Published LLM anchors"); what each point assumes is written next to it there.
#include <gtest/gtest.h>

#include <cmath>

#include "arch/registry.h"
#include "sim/config/config_store.h"
#include "sim/run/experiment.h"
#include "sim/run/op_cache.h"
#include "workloads/graph.h"
#include "workloads/model.h"

namespace xpusim {
namespace {

std::unique_ptr<Device> v5e() {
  ConfigStore store;
  return make_device(store.load("tpu-v5e", "hw"), "tpu-v5e");
}

ModelConfig model(const std::string& name) {
  return parse_model(ConfigStore().load(name, "models"));
}

double error(double ours, double published) { return ours / published - 1.0; }

// JetStream's MaxText engine on a v5e-8: Llama-2-7B, 96 sequences of 1,024 prompt tokens and
// 1,024 generated, 8-way tensor parallel, fixed-shape (static) caches.
PointResult jetstream(const std::string& quant) {
  PointSpec p;
  p.phase = Phase::kGenerate;
  p.batch = 96, p.prompt = 1024, p.gen = 1024;
  p.quant = *parse_quant(quant);
  p.kv_dtype = quant == "int8" ? DType::kInt8 : DType::kBf16;
  p.tp = 8;
  p.static_kv = true;
  p.enforce_limits = false;  // xpusim's activation estimate is conservative here (README)
  OpCache cache;
  auto dev = v5e();
  return evaluate_point(*dev, cache, model("llama2-7b"), p);
}

TEST(TpuAnchors, JetStreamLlama2Bf16OnV5e8) {
  const PointResult r = jetstream("bf16");
  ASSERT_TRUE(r.ok) << r.reason;
  std::printf("JetStream bf16: %.0f tok/s (published 3,663): %+.1f %%\n", r.tokens_per_s,
              100 * error(r.tokens_per_s, 3663));
  EXPECT_LT(std::abs(error(r.tokens_per_s, 3663)), 0.25);
}

// MaxText's int8 mode: weights and activations int8 on the arrays (AQT), and the int8 KV cache
// expanded to bf16 on the vector unit before each decode step's attention GEMMs.
TEST(TpuAnchors, JetStreamLlama2Int8OnV5e8) {
  const PointResult r = jetstream("int8");
  ASSERT_TRUE(r.ok) << r.reason;
  std::printf("JetStream int8: %.0f tok/s (published 4,783): %+.1f %%\n", r.tokens_per_s,
              100 * error(r.tokens_per_s, 4783));
  EXPECT_LT(std::abs(error(r.tokens_per_s, 4783)), 0.25);
  // The mechanism: a decode step's attention is bound by the expansion, not by the arrays.
  for (const OpRecord& o : r.ops)
    if (o.op.name == "attn.sdpa" && o.op.q_len == 1) {
      ASSERT_TRUE(o.result.array.has_value());
      EXPECT_GT(o.result.time_s * 1.5e9, 1.2 * o.result.array->compute_cycles);
    }
}

// MLPerf Inference v4.0 closed, GPT-J 99 % offline on a TPU v5e-4 (Saxml): 32 articles per
// batch, 4 beams each sharing the article's cache, 128 decode steps in Saxml's decode-step
// buckets (32, 64, 128), int8 weights (Saxml's weight-only int8), bf16 cache, 4-way model
// parallel. Saxml pads each prompt to its bucket (512, 1,024 or 1,919 tokens); the benchmark's
// share of each is not published, so the shares come from a log-normal article length with the
// derived mean of 975 tokens and the published 3 % beyond 1,919 (README): 8.1 %, 54.5 %, 37.3 %
// (the 3 % truncated to 1,919 included).
TEST(TpuAnchors, MlperfGptjOfflineOnV5e4) {
  const struct {
    int64_t prompt;
    double share;
  } buckets[] = {{512, 0.081}, {1024, 0.545}, {1919, 0.373}};
  double seconds_per_sample = 0;
  for (const auto& b : buckets) {
    PointSpec p;
    p.phase = Phase::kGenerate;
    p.batch = 32, p.prompt = b.prompt, p.gen = 128;
    p.beams = 4;
    p.decode_buckets = {32, 64, 128};
    p.quant = *parse_quant("w8a16");
    p.kv_dtype = DType::kBf16;
    p.tp = 4;
    OpCache cache;
    auto dev = v5e();
    const PointResult r = evaluate_point(*dev, cache, model("gpt-j-6b"), p);
    ASSERT_TRUE(r.ok) << r.reason;
    std::printf("MLPerf GPT-J, %lld-token bucket: %.2f samples/s\n",
                static_cast<long long>(b.prompt), double(p.batch) / r.latency_s);
    seconds_per_sample += b.share * r.latency_s / double(p.batch);
  }
  const double samples_per_s = 1.0 / seconds_per_sample;
  std::printf("MLPerf GPT-J: %.2f samples/s (published 10.15): %+.1f %%\n", samples_per_s,
              100 * error(samples_per_s, 10.15));
  EXPECT_LT(std::abs(error(samples_per_s, 10.15)), 0.25);
}

// MaxText's benchmark models (MaxText/configs/v5e/*.sh at 3075bbe): base.yml's llama2 block
// scaled by global_parameter_scale as pyconfig.get_individual_scales does it.
ModelConfig maxtext_model(int scale) {
  const int log2_scale = int(std::lround(std::log2(double(scale))));
  const int base = log2_scale / 3, rem = log2_scale % 3;
  const int heads = base + (rem > 0 ? 1 : 0), emb = base + (rem > 1 ? 1 : 0), layers = base;
  ModelConfig m = model("maxtext-16b");
  m.name = "maxtext-" + std::to_string(scale) + "b";
  m.hidden = 2048 << emb;
  m.heads = m.kv_heads = 16 << heads;
  m.ffn = 7168 << heads;
  m.layers = 16 << layers;
  return m;
}

// One MaxText training step on one chip of a v5e-256 (FSDP; its collectives overlap the compute
// under the script's async-collective flags and are not timed here): the forward pass, the same
// forward again inside the backward pass (remat_policy=full recomputes each layer), and the
// backward pass: for every GEMM Y = X W its two gradient GEMMs dX = dY Wᵀ and dW = Xᵀ dY, for
// attention two more passes of the forward's size (flash attention's backward), and for every
// elementwise operator two more of its size (it reads the gradient and its input, writes one).
// Logits are computed for every token. Returns MaxText's MFU: its own FLOP count
// (maxtext_utils.calculate_tflops_training_per_device: 6 x parameters x tokens plus causal
// attention) over the step time at the chip's peak.
double maxtext_mfu(int scale, int64_t per_device_batch) {
  const ModelConfig m = maxtext_model(scale);
  const int64_t L = 2048;
  ForwardShape s;
  s.batch = per_device_batch;
  s.q_len = s.kv_len = L;
  s.prefill = true;
  s.kernels.prefill_writes_kv = false;  // training keeps no cache
  std::vector<Op> step;
  for (Op op : build_forward(m, s)) {
    if (op.name == "final.norm")
      op = make_elementwise("final.norm", EwKind::kRmsnorm, per_device_batch * L, m.hidden,
                            DType::kBf16);
    if (op.name == "lm_head") op = make_gemm("lm_head", per_device_batch * L, m.hidden, m.vocab,
                                             DType::kBf16);
    const int64_t n = std::max<int64_t>(1, op.repeat);
    auto add = [&](Op o, int64_t times) {
      o.repeat = n * times;
      step.push_back(std::move(o));
    };
    add(op, 2);  // the forward, and its recomputation in the backward pass
    if (op.kind == OpKind::kGemm) {
      add(make_gemm(op.name + ".dx", op.M, op.N, op.K, op.dtype), 1);
      add(make_gemm(op.name + ".dw", op.K, op.M, op.N, op.dtype), 1);
    } else if (op.kind != OpKind::kKvAppend) {
      add(op, 2);
    }
  }
  auto dev = v5e();
  const Evaluation ev = dev->run(step);
  EXPECT_TRUE(ev.ok) << ev.reason;
  double step_s = 0, executed = 0;
  for (size_t i = 0; i < step.size(); ++i) {
    step_s += ev.results[i].time_s * double(step[i].repeat);
    executed += step[i].flops * double(step[i].repeat);
  }
  const double peak = dev->roofline(DType::kBf16).peak_flops_per_s;
  std::printf("MaxText %dB step on one chip: %.2f s, %.1f %% of peak in the FLOPs it executes "
              "(remat included)\n",
              scale, step_s, 100 * executed / (step_s * peak));
  const double tokens = double(per_device_batch * L);
  const double flops = 6.0 * m.parameter_count() * tokens +
                       12.0 * double(m.heads * m.layers * m.head_dim_or_default()) * double(L) *
                           tokens / 2.0;
  return flops / (step_s * peak);
}

TEST(TpuAnchors, MaxTextTrainingMfuOnV5e) {
  // MaxText/configs/v5e/README.md (3075bbe), 1 x v5e-256: 16B 61.10 %, 32B 66.86 %, 64B 59.90 %
  // (per-device batches 6, 4, 2; remat_policy=full).
  const struct {
    int scale;
    int64_t batch;
    double published;
  } rows[] = {{16, 6, 0.6110}, {32, 4, 0.6686}, {64, 2, 0.5990}};
  for (const auto& row : rows) {
    const double mfu = maxtext_mfu(row.scale, row.batch);
    std::printf("MaxText %dB: MFU %.1f %% (published %.2f %%): %+.1f %%\n", row.scale, 100 * mfu,
                100 * row.published, 100 * error(mfu, row.published));
    EXPECT_LT(std::abs(error(mfu, row.published)), 0.25) << row.scale << "B";
  }
}

}  // namespace
}  // namespace xpusim
