// Issue 12 outputs and serving mechanisms on a TPU: predict's array columns (before the
// prediction's own, which stay last), and generate with a fixed-shape (static) KV cache.
#include <gtest/gtest.h>

#include <sstream>

#include "arch/registry.h"
#include "arch/tpu/systolic.h"
#include "reports/experiment_output.h"
#include "sim/config/config_store.h"
#include "sim/config/config_tree.h"
#include "sim/run/experiment.h"
#include "sim/run/op_cache.h"
#include "sim/run/predict.h"
#include "workloads/model.h"

namespace xpusim {
namespace {

TEST(TpuOutputs, PredictAddsTheArrayFiguresOnATpuOnly) {
  ConfigStore store;
  std::istringstream in("M,K,N,dtype\n256,512,512,int8\n");
  const CsvTable t = read_csv(in, "ops.csv");
  OpCache cache;
  auto tpu = make_device(store.load("systolic", "hw"), "systolic");
  const auto rows = predict_table(*tpu, cache, t);
  const std::vector<std::string> want = {"M",
                                         "K",
                                         "N",
                                         "dtype",
                                         "compute_cycles",
                                         "stall_cycles",
                                         "util",
                                         "mapping_eff",
                                         "dram_read_bytes",
                                         "dram_write_bytes",
                                         "pred_ms",
                                         "pred_cycles",
                                         "pred_energy_j",
                                         "pred_avg_power_w",
                                         "pred_clock_mhz",
                                         "bound",
                                         "pred_error"};
  ASSERT_EQ(rows[0], want);
  const auto& r = rows[1];
  const double compute = std::stod(r[4]), stall = std::stod(r[5]), cycles = std::stod(r[11]);
  EXPECT_EQ(compute, double(plan_folds({32, 32, Dataflow::kWs, 1}, 256, 512, 512).compute_cycles));
  EXPECT_NEAR(compute + stall, cycles, 1.0);
  EXPECT_NEAR(std::stod(r[6]), 100.0 * 256 * 512 * 512 / (cycles * 32 * 32), 0.01);
  EXPECT_EQ(r[7], "100");  // 512 and 512 fill 32 x 32 folds
  EXPECT_GT(std::stod(r[8]), 256.0 * 512 + 512.0 * 512 - 1);
  EXPECT_GT(std::stod(r[9]), 0);
  auto gpu = make_device(store.load("h100", "hw"), "h100");
  EXPECT_EQ(predict_table(*gpu, cache, t)[0].size(), 11u);
}

// A fixed-shape cache makes every decode step read prompt + gen positions: slower than reading
// the tokens so far, and every step as slow as the last one of a dynamic cache.
TEST(TpuOutputs, StaticKvCacheAttendsOverTheWholeAllocation) {
  ConfigStore store;
  auto dev = make_device(store.load("tpu-v5e", "hw"), "tpu-v5e");
  const ModelConfig model = parse_model(store.load("llama2-7b", "models"));
  PointSpec p;
  p.phase = Phase::kGenerate;
  p.batch = 8, p.prompt = 512, p.gen = 256;
  p.quant = *parse_quant("int8");
  p.kv_dtype = DType::kInt8;
  p.tp = 2;
  OpCache cache;
  const PointResult dynamic = evaluate_point(*dev, cache, model, p);
  p.static_kv = true;
  const PointResult fixed = evaluate_point(*dev, cache, model, p);
  ASSERT_TRUE(dynamic.ok && fixed.ok) << dynamic.reason << fixed.reason;
  EXPECT_LT(fixed.tokens_per_s, dynamic.tokens_per_s);
  EXPECT_EQ(*fixed.ttft_s, *dynamic.ttft_s);
  PointSpec last = p;
  last.phase = Phase::kDecode, last.ctx = 512 + 256, last.static_kv = false;
  const PointResult step = evaluate_point(*dev, cache, model, last);
  ASSERT_TRUE(step.ok) << step.reason;
  EXPECT_NEAR(*fixed.tpot_s, step.latency_s, 1e-9 * step.latency_s);
  // run's JSON carries the array figures per operator on a TPU.
  const auto j = point_to_json(step);
  int with_figures = 0;
  for (const auto& o : j["ops"]) {
    if (!o.contains("compute_cycles")) continue;
    ++with_figures;
    EXPECT_GE(o["stall_cycles"].get<double>(), 0);
    EXPECT_GE(o["dram_read_bytes"].get<double>(), 0);
    if (o["kind"] == "gemm") EXPECT_GT(o["util_pct"].get<double>(), 0);
  }
  EXPECT_EQ(with_figures, int(j["ops"].size()));
}

// Decode buckets (praxis's list of max_decode_steps): the generated cache grows in fixed sizes,
// so a step reads more than the tokens so far and less than the whole allocation.
TEST(TpuOutputs, DecodeBucketsSitBetweenDynamicAndStaticCaches) {
  ConfigStore store;
  auto dev = make_device(store.load("tpu-v5e", "hw"), "tpu-v5e");
  const ModelConfig model = parse_model(store.load("gpt-j-6b", "models"));
  PointSpec p;
  p.phase = Phase::kGenerate;
  p.batch = 8, p.prompt = 512, p.gen = 128;
  p.beams = 4;
  p.tp = 4;
  OpCache cache;
  const PointResult dynamic = evaluate_point(*dev, cache, model, p);
  p.decode_buckets = {32, 64, 128};
  const PointResult buckets = evaluate_point(*dev, cache, model, p);
  p.decode_buckets = {};
  p.static_kv = true;
  const PointResult fixed = evaluate_point(*dev, cache, model, p);
  ASSERT_TRUE(dynamic.ok && buckets.ok && fixed.ok);
  EXPECT_LT(*dynamic.tpot_s, *buckets.tpot_s);
  EXPECT_LT(*buckets.tpot_s, *fixed.tpot_s);
  // The last bucket is the whole allocation: one bucket of 128 is the static cache.
  p.static_kv = false;
  p.decode_buckets = {128};
  EXPECT_NEAR(*evaluate_point(*dev, cache, model, p).tpot_s, *fixed.tpot_s, 1e-12);
}

}  // namespace
}  // namespace xpusim
