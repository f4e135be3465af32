// Cross-checks of the weight loaders against files written by the reference implementations
// (Hugging Face safetensors 0.8 and transformers 5.17 save_pretrained, recorded by
// tests/data/weights/make_fixtures.py on the device machine), and the reverse: the recorded
// result of the reference reader loading a file that xpusim's writer made.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "workloads/weights/gpt2_checkpoint.h"
#include "workloads/weights/llama_checkpoint.h"
#include "workloads/weights/safetensors.h"

namespace xpusim::weights {
namespace {

const std::string kDir = std::string(XPUSIM_SOURCE_DIR) + "/tests/data/weights/";

nlohmann::json read_json(const std::string& name) {
  std::ifstream in(kDir + name);
  EXPECT_TRUE(in.good()) << kDir + name;
  return nlohmann::json::parse(in);
}

// Compares a loaded tensor with the reference's summary: shape, first values (exactly: every
// value is a bf16 or fp32 number, exact in fp32) and sums (accumulated in double in another
// order, hence a relative tolerance far above double rounding and far below any real error).
// `transposed_from_disk`: the tensor was [in, out] on disk (GPT-2 Conv1D) and is [out, in] now.
void expect_matches(const Tensor& t, const nlohmann::json& want, const std::string& name,
                    bool transposed_from_disk = false) {
  std::vector<std::int64_t> shape = want["shape"].get<std::vector<std::int64_t>>();
  if (transposed_from_disk) std::swap(shape[0], shape[1]);
  ASSERT_EQ(t.shape, shape) << name;
  const auto first = want["first"].get<std::vector<double>>();
  for (std::size_t i = 0; i < first.size(); ++i) {
    // On disk element i of row 0 is [0][i]; after the transpose it is [i][0].
    const std::size_t at = transposed_from_disk ? i * static_cast<std::size_t>(shape[1]) : i;
    EXPECT_EQ(t.data[at], static_cast<float>(first[i])) << name << " element " << i;
  }
  double sum = 0, abs_sum = 0;
  for (float v : t.data) sum += v, abs_sum += std::fabs(v);
  EXPECT_NEAR(sum, want["sum"].get<double>(), 1e-12 * abs_sum + 1e-300) << name;
  EXPECT_NEAR(abs_sum, want["abs_sum"].get<double>(), 1e-12 * abs_sum + 1e-300) << name;
}

TEST(WeightsInterop, ReadsEveryDtypeThatSafetensorsWrote) {
  const auto file = SafetensorsFile::open(kDir + "hf_dtypes.safetensors");
  const auto want = read_json("expected_dtypes.json");
  EXPECT_EQ(file.metadata().at("made_by"), "make_fixtures.py");
  EXPECT_EQ(file.size(), want.size());
  for (const auto& [name, w] : want.items()) {
    const auto& info = file.info(name);
    EXPECT_EQ(dtype_name(info.dtype), w["dtype"].get<std::string>()) << name;
    EXPECT_EQ(info.shape, w["shape"].get<std::vector<std::int64_t>>()) << name;
    const auto values = w["values"].get<std::vector<double>>();
    const auto got = file.to_float(name);
    ASSERT_EQ(got.size(), values.size()) << name;
    for (std::size_t i = 0; i < got.size(); ++i) {
      // Exact for every dtype but F64, which to_float rounds to the nearest float.
      EXPECT_EQ(got[i], static_cast<float>(values[i])) << name << " element " << i;
      EXPECT_EQ(std::signbit(got[i]), std::signbit(values[i])) << name << " element " << i;
    }
  }
}

void expect_llama_matches(const LlamaWeights& w, const nlohmann::json& want) {
  std::map<std::string, const Tensor*> by_name = {{"model.embed_tokens.weight", &w.embed_tokens},
                                                  {"model.norm.weight", &w.norm},
                                                  {"lm_head.weight", &w.lm_head}};
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    const auto p = "model.layers." + std::to_string(l) + ".";
    const auto& L = w.layers[l];
    by_name[p + "input_layernorm.weight"] = &L.input_layernorm;
    by_name[p + "self_attn.q_proj.weight"] = &L.q_proj;
    by_name[p + "self_attn.k_proj.weight"] = &L.k_proj;
    by_name[p + "self_attn.v_proj.weight"] = &L.v_proj;
    by_name[p + "self_attn.o_proj.weight"] = &L.o_proj;
    by_name[p + "post_attention_layernorm.weight"] = &L.post_attention_layernorm;
    by_name[p + "mlp.gate_proj.weight"] = &L.gate_proj;
    by_name[p + "mlp.up_proj.weight"] = &L.up_proj;
    by_name[p + "mlp.down_proj.weight"] = &L.down_proj;
  }
  EXPECT_EQ(by_name.size(), want.size());
  for (const auto& [name, t] : by_name) {
    ASSERT_TRUE(want.contains(name)) << name;
    expect_matches(*t, want[name], name);
  }
}

TEST(WeightsInterop, LoadsTransformersLlamaCheckpoints) {
  const auto want = read_json("expected_tiny_llama.json");
  for (const char* folder : {"hf_tiny_llama", "hf_tiny_llama_sharded"}) {
    SCOPED_TRACE(folder);
    const auto w = load_llama_checkpoint(kDir + folder);
    // transformers 5 writes rope_parameters and "dtype" instead of rope_theta and torch_dtype.
    EXPECT_EQ(w.config.head_dim, 4);
    EXPECT_EQ(w.config.num_key_value_heads, 2);
    EXPECT_DOUBLE_EQ(w.config.rope_theta, 10000.0);
    EXPECT_EQ(w.config.rope_scaling_type, "");
    EXPECT_EQ(w.config.torch_dtype, "bfloat16");
    EXPECT_EQ(SafetensorsCheckpoint::open(kDir + folder).info("model.norm.weight").dtype,
              TensorDtype::kBF16);
    expect_llama_matches(w, want);
  }
}

TEST(WeightsInterop, LoadsTransformersGpt2Checkpoint) {
  const auto want = read_json("expected_tiny_gpt2.json");
  const auto w = load_gpt2_checkpoint(kDir + "hf_tiny_gpt2");
  EXPECT_TRUE(w.config.tie_word_embeddings);
  EXPECT_EQ(w.config.intermediate_size, 32);
  const std::string t = "transformer.";
  std::size_t checked = 0;
  auto check = [&](const std::string& name, const Tensor& tensor, bool conv1d = false) {
    ASSERT_TRUE(want.contains(name)) << name;
    expect_matches(tensor, want[name], name, conv1d);
    ++checked;
  };
  check(t + "wte.weight", w.wte);
  check(t + "wpe.weight", w.wpe);
  check(t + "ln_f.weight", w.ln_f_weight);
  check(t + "ln_f.bias", w.ln_f_bias);
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    const auto p = t + "h." + std::to_string(l) + ".";
    const auto& L = w.layers[l];
    check(p + "ln_1.weight", L.ln_1_weight);
    check(p + "ln_1.bias", L.ln_1_bias);
    check(p + "attn.c_attn.weight", L.attn_qkv_weight, true);
    check(p + "attn.c_attn.bias", L.attn_qkv_bias);
    check(p + "attn.c_proj.weight", L.attn_proj_weight, true);
    check(p + "attn.c_proj.bias", L.attn_proj_bias);
    check(p + "ln_2.weight", L.ln_2_weight);
    check(p + "ln_2.bias", L.ln_2_bias);
    check(p + "mlp.c_fc.weight", L.mlp_fc_weight, true);
    check(p + "mlp.c_fc.bias", L.mlp_fc_bias);
    check(p + "mlp.c_proj.weight", L.mlp_proj_weight, true);
    check(p + "mlp.c_proj.bias", L.mlp_proj_bias);
  }
  EXPECT_EQ(checked, want.size());
}

TEST(WeightsInterop, ReferenceReaderAcceptedOurWriter) {
  // Recorded by make_fixtures.py: safetensors.torch.load_file on xpusim_written.safetensors.
  const auto check = read_json("xpusim_written_check.json");
  EXPECT_TRUE(check["reference_reader_agrees"].get<bool>());
  const auto file = SafetensorsFile::open(kDir + "xpusim_written.safetensors");
  EXPECT_EQ(file.metadata().at("writer"), "xpusim");
  for (const auto& [name, w] : check["tensors"].items()) {
    EXPECT_EQ(dtype_name(file.info(name).dtype), w["dtype"].get<std::string>()) << name;
    EXPECT_EQ(file.info(name).shape, w["shape"].get<std::vector<std::int64_t>>()) << name;
    const auto values = w["values"].get<std::vector<double>>();
    const auto got = file.to_float(name);
    ASSERT_EQ(got.size(), values.size());
    for (std::size_t i = 0; i < got.size(); ++i)
      EXPECT_EQ(got[i], static_cast<float>(values[i])) << name;
  }
}

}  // namespace
}  // namespace xpusim::weights
