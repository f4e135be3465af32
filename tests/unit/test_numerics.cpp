// The functional LLaMA forward against two references nobody here wrote: Hugging Face
// transformers' logits (recorded by validation/numerics/hf_crosscheck.py) and the training
// script's torch forward (the held-out loss it recorded), then the compression schemes' effects.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "arch/registry.h"
#include "sim/config/config_store.h"
#include "sim/run/numerics.h"
#include "workloads/functional/llama_forward.h"

namespace xpusim {
namespace {

const std::string kModelDir = std::string(XPUSIM_SOURCE_DIR) + "/workloads/models/tiny-llama";

const weights::LlamaWeights& tiny() {
  static const weights::LlamaWeights w = weights::load_llama_checkpoint(kModelDir);
  return w;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  return nlohmann::json::parse(in);
}

double rel_l2(const std::vector<float>& ours, const std::vector<std::vector<double>>& ref) {
  double e = 0, r = 0;
  const size_t V = ref[0].size();
  for (size_t t = 0; t < ref.size(); ++t)
    for (size_t j = 0; j < V; ++j) {
      const double d = double(ours[t * V + j]) - ref[t][j];
      e += d * d;
      r += ref[t][j] * ref[t][j];
    }
  return std::sqrt(e / r);
}

TEST(Numerics, Fp32ForwardMatchesTransformers) {
  // transformers 5.17 LlamaForCausalLM, float32 and float64, every position of two prompts.
  const auto rec =
      read_json(std::string(XPUSIM_SOURCE_DIR) + "/validation/numerics/transformers_logits.json");
  functional::LlamaForward model(tiny(), choose_scheme("fp32", {}).scheme);
  for (const auto& p : rec["prompts"]) {
    std::vector<int32_t> tokens = p["bytes"].get<std::vector<int32_t>>();
    const auto ours = model.logits(tokens);
    const auto hf32 = p["logits_fp32"].get<std::vector<std::vector<double>>>();
    const auto hf64 = p["logits_fp64"].get<std::vector<std::vector<double>>>();
    // The bar is 1e-4; two fp32 implementations that sum in different orders land near
    // 1e-6 (transformers' own fp32 vs fp64 differ by 3e-7), so 1e-5 is a real check.
    EXPECT_LT(rel_l2(ours, hf32), 1e-5) << p["text"];
    EXPECT_LT(rel_l2(ours, hf64), 1e-5) << p["text"];
    for (size_t t = 0; t < tokens.size(); ++t) {
      const float* row = ours.data() + t * 256;
      size_t ours_top = size_t(std::max_element(row, row + 256) - row);
      size_t hf_top = size_t(std::max_element(hf64[t].begin(), hf64[t].end()) - hf64[t].begin());
      EXPECT_EQ(ours_top, hf_top) << "position " << t;
    }
  }
}

TEST(Numerics, HeldOutLossMatchesTheTrainingScript) {
  // validation/numerics/train_tiny_llama.py measured 1.254892 nats/byte (fp32 and fp64) on the
  // 16 windows of 256 bytes in heldout_slice.bin; a 1e-5 relative difference allows for
  // summation order only.
  const auto eval = read_json(kModelDir + "/heldout_eval.json");
  std::ifstream in(kModelDir + "/heldout_slice.bin", std::ios::binary);
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
  ASSERT_EQ(bytes.size(), 4097u);
  functional::LlamaForward model(tiny(), choose_scheme("fp32", {}).scheme);
  const double loss = functional::windowed_loss(model, bytes, 256);
  EXPECT_NEAR(loss, 1.254892, 1.254892 * 1e-5);
  (void)eval;
}

TEST(Numerics, SchemesFollowThePresetsDatapath) {
  ConfigStore store;
  auto h100 = make_device(store.load("h100", "hw"), "h100");
  auto a100 = make_device(store.load("a100", "hw"), "a100");
  auto v1 = make_device(store.load("tpu-v1", "hw"), "tpu-v1");
  const DeviceFormats fh = device_formats(*h100), fa = device_formats(*a100),
                      f1 = device_formats(*v1);
  EXPECT_TRUE(fh.fp8);
  EXPECT_FALSE(fa.fp8);
  EXPECT_TRUE(fa.int8);
  EXPECT_FALSE(f1.bf16);
  EXPECT_EQ(choose_scheme("fp8", fh).scheme.linear.datapath.input, kernels::GemmInput::kFp8E4M3);
  // No fp8 unit: the weights are stored in fp8 and dequantised to bf16, as an A100 deployment does.
  EXPECT_EQ(choose_scheme("fp8", fa).scheme.linear.emulation,
            functional::LinearScheme::WeightEmulation::kFp8Dequant);
  EXPECT_EQ(choose_scheme("fp8", fa).scheme.linear.datapath.input, kernels::GemmInput::kBf16);
  EXPECT_FALSE(choose_scheme("bf16", f1).ok);
  EXPECT_TRUE(choose_scheme("fp32", f1).ok);
}

TEST(Numerics, CompressionDegradesInTheExpectedOrder) {
  ConfigStore store;
  auto dev = make_device(store.load("h100", "hw"), "h100");
  std::ifstream in(kModelDir + "/heldout_slice.bin", std::ios::binary);
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
  const NumericsInput input = byte_windows(tiny(), bytes, 256, 4);
  ASSERT_EQ(input.sequences.size(), 4u);
  auto rows = run_numerics(input, *dev, numerics_scheme_names(), {});
  std::map<std::string, NumericsRow> by;
  for (const auto& r : rows) by[r.scheme] = r;
  EXPECT_EQ(by["fp32"].logit_rel_err, 0.0);
  EXPECT_EQ(by["fp32"].top1_agreement, 1.0);
  // bf16 rounds each matrix input once (unit roundoff 2^-9 = 2e-3): logits move by ~1e-3.
  EXPECT_GT(by["bf16"].logit_rel_err, 1e-4);
  EXPECT_LT(by["bf16"].logit_rel_err, 5e-3);
  // 8-bit schemes lose more than bf16, 4-bit more than 8-bit, and pruning half the weights
  // without retraining most of all; perplexity follows.
  EXPECT_GT(by["int8"].logit_rel_err, by["bf16"].logit_rel_err);
  EXPECT_GT(by["fp8"].logit_rel_err, by["bf16"].logit_rel_err);
  EXPECT_GT(by["w4a16"].logit_rel_err, by["int8"].logit_rel_err);
  EXPECT_GT(by["2:4"].logit_rel_err, by["w4a16"].logit_rel_err);
  EXPECT_NEAR(*by["bf16"].perplexity, *by["fp32"].perplexity, 0.01 * *by["fp32"].perplexity);
  EXPECT_GT(*by["2:4"].perplexity, *by["w4a16"].perplexity);
  EXPECT_GT(*by["unstructured:0.5"].perplexity, *by["fp32"].perplexity);
}

// The layer-at-a-time evaluation (every scheme runs a layer before the next) gives exactly the
// logits of each scheme's own forward pass, sequence by sequence.
TEST(Numerics, LayerwiseLogitsEqualEachSchemesForwardPass) {
  const std::vector<functional::ModelScheme> schemes{choose_scheme("fp32", {}).scheme,
                                                     choose_scheme("bf16", {true}).scheme,
                                                     choose_scheme("int8", {true, false, false, true}).scheme};
  const std::vector<std::vector<int32_t>> seqs{{72, 101, 108, 108, 111}, {32, 119, 111, 114, 108, 100, 33}};
  functional::HeldLlamaWeights source(tiny());
  std::size_t calls = 0, steps = 0;
  functional::layerwise_logits(
      source, schemes, seqs, {},
      [&](std::size_t s, std::size_t b, std::span<const float> l) {
        const functional::LlamaForward model(tiny(), schemes[s]);
        const auto want = model.logits(seqs[b]);
        ASSERT_EQ(l.size(), want.size());
        EXPECT_TRUE(std::equal(l.begin(), l.end(), want.begin())) << "scheme " << s << " seq " << b;
        ++calls;
      },
      [&](std::size_t, std::size_t) { ++steps; });
  EXPECT_EQ(calls, schemes.size() * seqs.size());
  EXPECT_EQ(steps, schemes.size() * (std::size_t(tiny().config.num_hidden_layers) + 1));
}

TEST(Numerics, SyntheticWeightsAtARealModelsShapes) {
  ConfigStore store;
  auto dev = make_device(store.load("h100", "hw"), "h100");
  // LLaMA-3 8B's layer shapes (GQA 32/8, FFN 14336), one layer, a 1024-entry vocabulary cut.
  NumericsInput input;
  input.source = synthetic_llama(4096, 32, 8, 14336, 1024, 1, 8192, 7);
  input.sequences.push_back({1, 5, 9, 300, 1000, 42, 7, 8});
  auto rows = run_numerics(input, *dev, {"fp32", "bf16", "int8"}, {});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_FALSE(rows[1].perplexity.has_value());
  EXPECT_GT(rows[2].logit_rel_err, 0.0);
  EXPECT_LT(rows[2].logit_rel_err, 0.1);
}

}  // namespace
}  // namespace xpusim
