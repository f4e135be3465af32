// Software stacks (issue 15): the presets and their overrides, the graph each stack builds (eager
// and fused elementwise kernels, residual adds fused into the norms), the kernels the GPU model
// runs for them (cuDNN and FlashAttention-3 attention, PyTorch eager's kernel chains,
// torch.compile's kernels), and the accuracy on the H200 stack dataset's frozen hold-out.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "arch/gpu/gpu_config.h"
#include "arch/gpu/gpu_kernels.h"
#include "arch/registry.h"
#include "sim/config/config_store.h"
#include "validation/validate.h"
#include "workloads/graph.h"
#include "workloads/stack.h"

namespace xpusim {
namespace {

GpuConfig config_of(const std::string& preset) {
  ConfigStore store;
  ErrorList errors;
  GpuConfig c = gpu_schema().parse(store.load(preset, "hw"), errors);
  EXPECT_TRUE(errors.empty());
  return c;
}

std::vector<std::string> names(const std::vector<Op>& ops) {
  std::vector<std::string> n;
  for (const Op& op : ops) n.push_back(op.name);
  return n;
}

TEST(Stacks, PresetsAndOverrides) {
  std::string why;
  auto eager = parse_stack("torch-eager", &why);
  ASSERT_TRUE(eager) << why;
  EXPECT_EQ(eager->attention, AttnImpl::kCudnn);
  EXPECT_EQ(eager->elementwise, EwImpl::kEager);
  EXPECT_EQ(eager->rope, StackKernels::Rope::kTorchRotateHalf);
  EXPECT_EQ(eager->kv_write, StackKernels::KvWrite::kCopies);
  EXPECT_FALSE(eager->fused_residual);
  auto serving = parse_stack("serving", &why);
  ASSERT_TRUE(serving);
  EXPECT_EQ(serving->attention, AttnImpl::kFlash3);
  EXPECT_TRUE(serving->fused_residual);
  auto ref = parse_stack("reference", &why);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->attention, AttnImpl::kFlash2);
  EXPECT_EQ(ref->elementwise, EwImpl::kFused);
  auto o = parse_stack("torch-eager,attention=flash2,elementwise=compiled,residual=fused", &why);
  ASSERT_TRUE(o) << why;
  EXPECT_EQ(o->attention, AttnImpl::kFlash2);
  EXPECT_EQ(o->elementwise, EwImpl::kCompiled);
  EXPECT_TRUE(o->fused_residual);
  EXPECT_NE(o->describe().find("attention flash2"), std::string::npos);
  auto m = parse_stack("serving,attention=math", &why);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->attention, AttnImpl::kMath);
  // Bad input names what is allowed.
  EXPECT_FALSE(parse_stack("vllm", &why));
  EXPECT_NE(why.find("torch-eager"), std::string::npos) << why;
  EXPECT_FALSE(parse_stack("serving,attention=flash4", &why));
  EXPECT_NE(why.find("flash2, cudnn, flash3 or math"), std::string::npos) << why;
  EXPECT_FALSE(parse_stack("serving,colour=blue", &why));
  EXPECT_NE(why.find("not a stack key"), std::string::npos) << why;
  EXPECT_FALSE(parse_stack("serving,gemm=triton", &why));
}

TEST(Stacks, GraphFollowsTheStack) {
  const ModelConfig m = parse_model(ConfigStore().load("llama2-7b", "models"));
  ForwardShape s;
  s.batch = 4;
  s.q_len = 1;
  s.kv_len = 1025;
  s.prefill = false;
  parse_stack("torch-compiled", nullptr)->apply(s);
  const auto ops = build_forward(m, s);
  const auto n = names(ops);
  // The residual adds run inside the norms; only the last layer's stays a kernel of its own.
  EXPECT_EQ(std::count(n.begin(), n.end(), "attn.residual"), 0);
  EXPECT_EQ(std::count(n.begin(), n.end(), "final.residual"), 1);
  for (const Op& op : ops) {
    if (op.name == "mlp.norm") {
      EXPECT_TRUE(op.ew_residual);
      EXPECT_EQ(op.ew_impl, EwImpl::kCompiled);
      // reads x and the residual (the weight is counted apart); writes the sum and the result
      EXPECT_EQ(op.in_bytes, 2.0 * 4 * 4096 * 2);
      EXPECT_EQ(op.out_bytes, 2.0 * 4 * 4096 * 2);
    }
    if (op.kind == OpKind::kAttention) {
      EXPECT_EQ(op.attn_impl, AttnImpl::kCudnn);
    }
  }
  ForwardShape e = s;
  parse_stack("torch-eager", nullptr)->apply(e);
  const auto eager = names(build_forward(m, e));
  EXPECT_EQ(std::count(eager.begin(), eager.end(), "attn.residual"), 1);
  EXPECT_EQ(std::count(eager.begin(), eager.end(), "final.residual"), 0);
  // attention=math: still one attention op (PyTorch's math SDPA), planned as its kernel chain
  ForwardShape u = s;
  parse_stack("torch-eager,attention=math", nullptr)->apply(u);
  for (const Op& op : build_forward(m, u))
    if (op.kind == OpKind::kAttention) {
      EXPECT_EQ(op.attn_impl, AttnImpl::kMath);
    }
}

TEST(Stacks, EagerElementwiseIsAChainOfKernels) {
  const GpuConfig c = config_of("h200");
  Op norm = make_elementwise("n", EwKind::kRmsnorm, 1024, 4096, DType::kBf16);
  const KernelPlan fused = plan_kernel(c, norm);
  norm.ew_impl = EwImpl::kEager;
  const KernelPlan eager = plan_kernel(c, norm);
  // HF's RMSNorm: 8 kernels, 8 launch gaps, and 36 bytes per element against the fused 4:
  // bf16 -> fp32 (2 + 4), pow (4 + 4), mean (4), x * rstd (4 + 4), -> bf16 (4 + 2), * w (2 + 2).
  EXPECT_EQ(eager.groups.size(), 8u);
  EXPECT_DOUBLE_EQ(eager.launch_s, 8 * c.launch_overhead_s);
  EXPECT_DOUBLE_EQ(fused.launch_s, c.launch_overhead_s);
  const double n = 1024.0 * 4096;
  EXPECT_NEAR(eager.hbm_bytes() / n, 36.0, 0.02);
  EXPECT_NEAR(fused.hbm_bytes() / n, 4.0, 0.01);
  norm.ew_residual = true;
  EXPECT_EQ(plan_kernel(c, norm).groups.size(), 9u);  // the add first
  // SiLU·mul on the strided halves: two unvectorised kernels; one row's halves are contiguous.
  Op act = make_elementwise("a", EwKind::kSiluMul, 64, 11008, DType::kBf16);
  act.ew_impl = EwImpl::kEager;
  const KernelPlan two = plan_kernel(c, act);
  ASSERT_EQ(two.groups.size(), 2u);
  EXPECT_EQ(two.groups[0].hbm_bw_frac, c.eager.strided.bw);
  act.T = 1;
  finalize(act);
  EXPECT_EQ(plan_kernel(c, act).groups[0].hbm_bw_frac, c.eager.vectorized.bw);
  // A residual add is one torch kernel in every stack.
  Op add = make_elementwise("r", EwKind::kResidualAdd, 64, 4096, DType::kBf16);
  add.ew_impl = EwImpl::kEager;
  EXPECT_EQ(plan_kernel(c, add).groups.size(), 1u);
}

TEST(Stacks, AttentionImplementations) {
  const GpuConfig h = config_of("h200"), a = config_of("a100");
  Op pre = make_attention("a", 1, 32, 32, 128, 2048, 2048, true, DType::kBf16);
  const KernelPlan fa2 = plan_kernel(h, pre);
  pre.attn_impl = AttnImpl::kCudnn;
  const KernelPlan cudnn = plan_kernel(h, pre);
  EXPECT_NE(cudnn.kernel.find("cudnn prefill"), std::string::npos) << cudnn.kernel;
  // cuDNN's wgmma kernel: the measured 1.8-2x over FA2 in prefill
  EXPECT_GT(fa2.compute_s(), 1.6 * cudnn.compute_s());
  // No Hopper kernel on the A100: PyTorch runs FA2 there.
  EXPECT_NE(plan_kernel(a, pre).kernel.find("flash attention"), std::string::npos);
  pre.attn_impl = AttnImpl::kFlash3;
  EXPECT_NE(plan_kernel(h, pre).kernel.find("flash3 prefill 128x128"), std::string::npos);
  EXPECT_NE(plan_kernel(a, pre).kernel.find("flash attention"), std::string::npos);
  // cuDNN decode: 16-query tiles; the keys split (lean reduction) when few tiles and > 512 keys.
  Op dec = make_attention("d", 1, 32, 32, 128, 1, 1025, false, DType::kBf16);
  dec.attn_impl = AttnImpl::kCudnn;
  const KernelPlan split = plan_kernel(h, dec);
  EXPECT_EQ(split.tile_m, 16);
  EXPECT_GT(split.split_k, 1);
  dec.kv_len = 512;
  finalize(dec);
  EXPECT_EQ(plan_kernel(h, dec).split_k, 1);
  dec.B = 64;
  dec.kv_len = 2048;
  finalize(dec);
  EXPECT_EQ(plan_kernel(h, dec).split_k, 1);  // 2048 tiles fill the SMs
  // PyTorch's math SDPA: casts, scales, the causal mask, two fp32 GEMMs, softmax, the guard, the
  // cast back: 18 launches for a causal MHA prefill, and slower than any fused kernel by far.
  Op math = make_attention("m", 1, 32, 32, 128, 2048, 2048, true, DType::kBf16);
  math.attn_impl = AttnImpl::kMath;
  const KernelPlan mp = plan_kernel(h, math);
  ASSERT_TRUE(mp.ok) << mp.reason;
  EXPECT_GE(mp.launch_s, 18 * h.launch_overhead_s);
  EXPECT_GT(mp.hbm_bytes(), 40.0 * 32 * 2048 * 2048);  // ~45 bytes per fp32 score and more
}

// Mechanisms chosen on the diag3 calibration kernels (gpt2 steps): the flash kernels' softmax work
// per score, which head_dim does not shrink; inductor's own LayerNorm and GELU kernels; and
// index_select's small-index kernel for at most 16 embedding rows.
TEST(Stacks, HeadDimSoftmaxCompiledKernelsAndSmallIndexEmbedding) {
  GpuConfig h = config_of("h200");
  ASSERT_GT(h.attention.softmax_cycles_per_score, 0);
  GpuConfig none = h;
  none.attention.softmax_cycles_per_score = 0;
  for (AttnImpl impl : {AttnImpl::kFlash2, AttnImpl::kCudnn}) {
    for (int64_t q : {int64_t(1), int64_t(512)}) {
      Op a128 = make_attention("a", 64, 32, 32, 128, q, 513, q > 1, DType::kBf16);
      Op a64 = make_attention("a", 64, 12, 12, 64, q, 513, q > 1, DType::kBf16);
      a128.attn_impl = a64.attn_impl = impl;
      // head_dim 128 is where the rates were fitted: unchanged by the softmax term.
      EXPECT_DOUBLE_EQ(plan_kernel(h, a128).compute_s(), plan_kernel(none, a128).compute_s());
      // head_dim 64: more scores per tensor FLOP, so more SM time (cuDNN's decode is load-bound).
      if (impl == AttnImpl::kFlash2 || q > 1)
        EXPECT_GT(plan_kernel(h, a64).compute_s(), 1.05 * plan_kernel(none, a64).compute_s())
            << int(impl) << " q=" << q;
    }
  }
  // Compiled LayerNorm and GELU take their own kernels' parameters, RMSNorm and SiLU·mul not.
  GpuConfig slow = h;
  slow.compiled.layernorm.bw = h.compiled.layernorm.bw / 2;
  slow.compiled.gelu.bw = h.compiled.gelu.bw / 2;
  for (EwKind k : {EwKind::kLayernorm, EwKind::kGelu, EwKind::kRmsnorm, EwKind::kSiluMul}) {
    Op op = make_elementwise("e", k, 4096, 4096, DType::kBf16);
    op.ew_impl = EwImpl::kCompiled;
    finalize(op);
    const bool own = k == EwKind::kLayernorm || k == EwKind::kGelu;
    EXPECT_EQ(plan_kernel(slow, op).hbm_bw < plan_kernel(h, op).hbm_bw, own) << ew_kind_name(k);
  }
  // F.embedding: at most 16 rows walk the indices one latency after another; 17 rows gather.
  auto embed_fill = [&](int64_t T) {
    Op e = make_elementwise("embed", EwKind::kEmbedding, T, 768, DType::kBf16);
    finalize(e);
    return plan_kernel(h, e).fill_s;
  };
  // (plus the pointwise chunk's own latency over 16 rows instead of one: tens of ns)
  EXPECT_NEAR(embed_fill(16) - embed_fill(1), 15 * h.hbm.latency_s, 1e-7);
  EXPECT_LT(embed_fill(17), embed_fill(16) - 10 * h.hbm.latency_s);
}

// The rows of the files whose name contains `part` (the first hold-out, read once and now
// calibration, is in <kind>_calibration_was_holdout.csv, the second in
// <kind>_calibration_was_holdout2.csv, the third in <kind>_calibration_was_holdout3.csv), as one
// set.
std::map<std::string, CategoryStats> stack_stats(const std::string& part) {
  ConfigStore store;
  auto dev = make_device(store.load("h200", "hw"), "h200");
  auto rows = load_gpu_dataset(XPUSIM_SOURCE_DIR "/validation/gpu/stacks/h200");
  std::erase_if(rows,
                [&](const ValidationRow& r) { return r.file.find(part) == std::string::npos; });
  const std::string set = rows.empty() ? "" : rows.front().set;
  predict_rows(*dev, rows);
  std::map<std::string, CategoryStats> out;
  for (const auto& s : summarize(rows))
    if (s.set == set) out[s.category] = s;
  return out;
}

// Regression test on the stack dataset's first hold-out (read once, 2026-12-03, after the fit;
// calibration since): the MAPE then, in %, with thresholds just above it. Never widen one to make
// a change pass.
TEST(Stacks, HoldoutErrorsStayAtTheirRecordedLevel) {
  const auto s = stack_stats("_was_holdout.csv");
  const std::map<std::string, double> limit = {
      {"attention cudnn prefill", 5.5},           // 4.9
      {"attention cudnn decode", 4.0},            // 3.6
      {"attention default(cudnn) prefill", 5.5},  // 4.9
      {"attention flash2 prefill", 2.5},          // 2.2
      {"elementwise rmsnorm eager", 11.5},        // 11.0
      {"elementwise add_rmsnorm eager", 13.5},    // 13.2
      {"elementwise silu_mul eager", 10.5},       // 9.9
      {"elementwise silu_mul compiled", 19.0},    // 18.3
      {"e2e torch-eager decode", 6.0},            // 5.7
      {"e2e torch-compiled decode", 5.5},         // 5.2
      {"e2e serving decode", 9.0},                // 8.5
      {"e2e torch-eager prefill", 9.5},           // 7.5 on the stacks model; 8.9 once merged
                                                  // with the energy model's power limiter
  };
  for (const auto& [cat, pct] : limit) {
    auto it = s.find(cat);
    ASSERT_NE(it, s.end()) << cat;
    EXPECT_LT(it->second.mape * 100, pct) << cat << ": " << it->second.worst_label;
  }
}

// Regression test on the second hold-out (holdout2: new shapes, planned before its run, read once
// on 2026-12-03 with the model of ca2e848; calibration since): the MAPE then, in %, with
// thresholds about 0.5 points above it. Never widen one to make a change pass.
TEST(Stacks, SecondHoldoutErrorsStayAtTheirRecordedLevel) {
  const auto s = stack_stats("_was_holdout2.csv");
  const std::map<std::string, double> limit = {
      {"attention cudnn prefill", 8.9},            // 8.4
      {"attention cudnn decode", 2.9},             // 2.35
      {"attention default(cudnn) prefill", 8.9},   // 8.4
      {"attention default(cudnn) decode", 2.7},    // 2.1
      {"attention flash2 prefill", 2.4},           // 1.8
      {"attention flash2 decode", 5.0},            // 4.45
      {"attention math prefill", 7.3},             // 6.75
      {"attention math decode", 11.4},             // 10.9
      {"elementwise rmsnorm eager", 9.7},          // 9.2
      {"elementwise add_rmsnorm eager", 8.5},      // 7.9
      {"elementwise rmsnorm compiled", 15.7},      // 15.2
      {"elementwise add_rmsnorm compiled", 15.6},  // 15.1
      {"elementwise silu_mul eager", 15.6},        // 15.1
      {"elementwise silu_mul compiled", 27.0},     // 26.5
      {"e2e torch-eager prefill", 7.7},            // 7.2
      {"e2e torch-eager decode", 8.1},             // 7.6
      {"e2e torch-compiled prefill", 12.9},        // 12.4
      {"e2e torch-compiled decode", 8.6},          // 8.1
      {"e2e serving prefill", 12.2},               // 11.7
      {"e2e serving decode", 10.7},                // 10.2
  };
  for (const auto& [cat, pct] : limit) {
    auto it = s.find(cat);
    ASSERT_NE(it, s.end()) << cat;
    EXPECT_LT(it->second.mape * 100, pct) << cat << ": " << it->second.worst_label;
  }
}

// Regression test on the third hold-out (holdout3: new shapes, head_dim 64 and two new models,
// planned before its run, read once on 2026-12-03 with the model of 5d4b849; calibration since):
// the MAPE then, in %, with thresholds about 0.5 points above it. Never widen one to make a change
// pass.
TEST(Stacks, ThirdHoldoutErrorsStayAtTheirRecordedLevel) {
  const auto s = stack_stats("_was_holdout3.csv");
  const std::map<std::string, double> limit = {
      {"attention cudnn prefill", 7.9},             // 7.4
      {"attention cudnn decode", 3.6},              // 3.1
      {"attention default(cudnn) prefill", 7.9},    // 7.4
      {"attention default(cudnn) decode", 3.3},     // 2.8
      {"attention flash2 prefill", 6.7},            // 6.2
      {"attention flash2 decode", 11.4},            // 10.9
      {"attention math prefill", 5.7},              // 5.2
      {"attention math decode", 12.7},              // 12.2
      {"elementwise rmsnorm eager", 11.2},          // 10.7
      {"elementwise add_rmsnorm eager", 9.6},       // 9.1
      {"elementwise rmsnorm compiled", 15.4},       // 14.9
      {"elementwise add_rmsnorm compiled", 16.8},   // 16.3
      {"elementwise silu_mul eager", 16.2},         // 15.7
      {"elementwise silu_mul compiled", 27.8},      // 27.3
      {"e2e torch-eager prefill", 5.1},             // 4.6
      {"e2e torch-eager decode", 6.5},              // 6.0
      {"e2e torch-compiled prefill", 10.0},         // 9.5
      {"e2e torch-compiled decode", 5.5},           // 5.0
      {"e2e serving prefill", 9.5},                 // 9.0
      {"e2e serving decode", 8.9},                  // 8.4
  };
  for (const auto& [cat, pct] : limit) {
    auto it = s.find(cat);
    ASSERT_NE(it, s.end()) << cat;
    EXPECT_LT(it->second.mape * 100, pct) << cat << ": " << it->second.worst_label;
  }
}

}  // namespace
}  // namespace xpusim
