// Tests of checkpoint loading: tiny LLaMA and GPT-2 checkpoints written here (single-file and
// sharded), read back exactly in fp32, and the errors for missing, mis-shaped or misplaced
// tensors, bad index files and unsupported configs.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tests/unit/test_helpers.h"
#include "workloads/weights/gpt2_checkpoint.h"
#include "workloads/weights/llama_checkpoint.h"
#include "workloads/weights/safetensors_writer.h"
#include "workloads/weights/weights_error.h"

namespace xpusim::weights {
namespace {

using Values = std::map<std::string, std::vector<float>>;
using xpusim::testing::TempDir;

const char* kTinyLlama = R"({"model_type": "llama", "hidden_size": 16, "intermediate_size": 40,
  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 32,
  "rms_norm_eps": 1e-5, "tie_word_embeddings": false})";
const char* kTinyGpt2 = R"({"model_type": "gpt2", "n_embd": 8, "n_layer": 2, "n_head": 2,
  "n_positions": 6, "vocab_size": 11})";

// Values in [-2, 2) on a 1/16 grid, different for each tensor: exact in F32, F16 and BF16.
std::vector<float> values_for(const std::string& name, std::int64_t n) {
  const std::size_t seed = std::hash<std::string>{}(name);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<float>(static_cast<int>((seed + i * 37) % 64) - 32) / 16.0f;
  return v;
}

std::int64_t product(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

struct WriteOptions {
  TensorDtype dtype = TensorDtype::kF32;
  int shards = 1;  // > 1: model-0000k-of-0000n.safetensors plus the index file
  std::function<void(std::vector<TensorToWrite>&)> edit = nullptr;  // breaks the checkpoint
};

// Writes config.json and every tensor of `specs`; returns the values written.
Values write_checkpoint(const TempDir& dir, const std::string& config,
                        const std::vector<TensorSpec>& specs, const WriteOptions& opt = {}) {
  dir.write("config.json", config);
  Values values;
  std::vector<TensorToWrite> tensors;
  for (const auto& s : specs) {
    values[s.name] = values_for(s.name, product(s.shape));
    tensors.push_back(make_tensor(s.name, opt.dtype, s.shape, values[s.name]));
  }
  if (opt.edit) opt.edit(tensors);
  if (opt.shards == 1) {
    write_safetensors(dir.path("model.safetensors"), tensors);
    return values;
  }
  std::vector<std::vector<TensorToWrite>> parts(static_cast<std::size_t>(opt.shards));
  std::string index = R"({"metadata": {"total_size": 0}, "weight_map": {)";
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto k = i % parts.size();
    const auto file = "model-0000" + std::to_string(k + 1) + "-of-0000" +
                      std::to_string(opt.shards) + ".safetensors";
    index += (i ? ", \"" : "\"") + tensors[i].name + "\": \"" + file + "\"";
    parts[k].push_back(tensors[i]);
  }
  dir.write("model.safetensors.index.json", index + "}}");
  for (std::size_t k = 0; k < parts.size(); ++k)
    write_safetensors(dir.path("model-0000" + std::to_string(k + 1) + "-of-0000" +
                               std::to_string(opt.shards) + ".safetensors"),
                      parts[k]);
  return values;
}

void expect_tensor(const Tensor& t, const std::vector<std::int64_t>& shape,
                   const std::vector<float>& values, const std::string& name) {
  EXPECT_EQ(t.shape, shape) << name;
  EXPECT_EQ(t.data, values) << name;
}

std::string llama_error(const TempDir& dir) {
  return xpusim::testing::config_error_of([&] { load_llama_checkpoint(dir.path()); });
}

TEST(LlamaCheckpoint, SpecsFollowTransformersNames) {
  const auto c = parse_hf_config(kTinyLlama, "c");
  const auto specs = llama_tensor_specs(c);
  ASSERT_EQ(specs.size(), 1u + 2 * 9 + 2);
  EXPECT_EQ(specs[0].name, "model.embed_tokens.weight");
  EXPECT_EQ(specs[2].name, "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(specs[2].shape, (std::vector<std::int64_t>{16, 16}));
  EXPECT_EQ(specs[3].shape, (std::vector<std::int64_t>{8, 16}));  // 2 kv heads of 4
  EXPECT_EQ(specs.back().name, "lm_head.weight");
}

TEST(LlamaCheckpoint, LoadsEveryFloatDtypeExactly) {
  for (auto dtype : {TensorDtype::kF32, TensorDtype::kBF16, TensorDtype::kF16}) {
    TempDir dir;
    const auto c = parse_hf_config(kTinyLlama, "c");
    const auto values = write_checkpoint(dir, kTinyLlama, llama_tensor_specs(c), {dtype});
    const auto w = load_llama_checkpoint(dir.path());
    EXPECT_EQ(w.config.hidden_size, 16);
    ASSERT_EQ(w.layers.size(), 2u);
    expect_tensor(w.embed_tokens, {32, 16}, values.at("model.embed_tokens.weight"), "embed");
    expect_tensor(w.norm, {16}, values.at("model.norm.weight"), "norm");
    expect_tensor(w.lm_head, {32, 16}, values.at("lm_head.weight"), "lm_head");
    EXPECT_EQ(&w.output_weight(), &w.lm_head);
    const auto& L = w.layers[1];
    const std::string p = "model.layers.1.";
    expect_tensor(L.input_layernorm, {16}, values.at(p + "input_layernorm.weight"), "ln1");
    expect_tensor(L.q_proj, {16, 16}, values.at(p + "self_attn.q_proj.weight"), "q");
    expect_tensor(L.k_proj, {8, 16}, values.at(p + "self_attn.k_proj.weight"), "k");
    expect_tensor(L.v_proj, {8, 16}, values.at(p + "self_attn.v_proj.weight"), "v");
    expect_tensor(L.o_proj, {16, 16}, values.at(p + "self_attn.o_proj.weight"), "o");
    expect_tensor(L.post_attention_layernorm, {16},
                  values.at(p + "post_attention_layernorm.weight"), "ln2");
    expect_tensor(L.gate_proj, {40, 16}, values.at(p + "mlp.gate_proj.weight"), "gate");
    expect_tensor(L.up_proj, {40, 16}, values.at(p + "mlp.up_proj.weight"), "up");
    expect_tensor(L.down_proj, {16, 40}, values.at(p + "mlp.down_proj.weight"), "down");
  }
}

TEST(LlamaCheckpoint, TiedEmbeddingsNeedNoLmHead) {
  TempDir dir;
  std::string cfg = kTinyLlama;
  cfg.replace(cfg.find("\"tie_word_embeddings\": false"), 28, "\"tie_word_embeddings\": true");
  write_checkpoint(dir, cfg, llama_tensor_specs(parse_hf_config(cfg, "c")));
  const auto w = load_llama_checkpoint(dir.path());
  EXPECT_TRUE(w.lm_head.data.empty());
  EXPECT_EQ(&w.output_weight(), &w.embed_tokens);
}

TEST(LlamaCheckpoint, ShardedCheckpointWithIndex) {
  TempDir dir;
  const auto c = parse_hf_config(kTinyLlama, "c");
  const auto values =
      write_checkpoint(dir, kTinyLlama, llama_tensor_specs(c), {TensorDtype::kBF16, 3});
  const auto w = load_llama_checkpoint(dir.path());
  expect_tensor(w.layers[0].up_proj, {40, 16}, values.at("model.layers.0.mlp.up_proj.weight"),
                "up");
  expect_tensor(w.embed_tokens, {32, 16}, values.at("model.embed_tokens.weight"), "embed");
  const auto ckpt = SafetensorsCheckpoint::open(dir.path());
  EXPECT_EQ(ckpt.names().size(), values.size());
  EXPECT_NE(ckpt.source().find("model.safetensors.index.json"), std::string::npos);
}

TEST(LlamaCheckpoint, MaxLayersConvertsOnlyTheFirstLayers) {
  TempDir dir;
  write_checkpoint(dir, kTinyLlama, llama_tensor_specs(parse_hf_config(kTinyLlama, "c")));
  EXPECT_EQ(load_llama_checkpoint(dir.path(), {1}).layers.size(), 1u);
  EXPECT_EQ(load_llama_checkpoint(dir.path(), {0}).layers.size(), 0u);
  EXPECT_EQ(load_llama_checkpoint(dir.path(), {99}).layers.size(), 2u);
}

TEST(LlamaCheckpoint, EveryMissingOrMisshapedTensorIsReportedAtOnce) {
  TempDir dir;
  WriteOptions opt;
  opt.edit = [](std::vector<TensorToWrite>& ts) {
    std::vector<TensorToWrite> kept;
    for (auto& t : ts) {
      if (t.name == "model.norm.weight" || t.name == "model.layers.1.mlp.up_proj.weight") continue;
      if (t.name == "model.layers.0.self_attn.k_proj.weight") t.shape = {16, 8};
      if (t.name == "model.layers.0.input_layernorm.weight")
        t = {t.name, TensorDtype::kI32, t.shape, t.bytes};  // 16 int32 = 64 bytes, like 16 F32
      kept.push_back(t);
    }
    kept.push_back(
        make_tensor("model.extra.weight", TensorDtype::kF32, {1}, std::vector<float>{0}));
    ts = kept;
  };
  write_checkpoint(dir, kTinyLlama, llama_tensor_specs(parse_hf_config(kTinyLlama, "c")), opt);
  const auto msg = llama_error(dir);
  for (const char* expected :
       {"missing tensor 'model.norm.weight' (expected shape [16])",
        "missing tensor 'model.layers.1.mlp.up_proj.weight' (expected shape [40, 16])",
        "tensor 'model.layers.0.self_attn.k_proj.weight' has shape [16, 8], but",
        "config.json implies [8, 16]",
        "tensor 'model.layers.0.input_layernorm.weight' has dtype I32; weights must be a "
        "floating-point type"})
    EXPECT_NE(msg.find(expected), std::string::npos) << expected << "\n-- in --\n" << msg;
  EXPECT_EQ(msg.find("extra"), std::string::npos) << "extra tensors are not an error";
}

TEST(LlamaCheckpoint, WrongFolderContentsAreCleanErrors) {
  TempDir dir;
  auto msg = llama_error(dir);
  EXPECT_NE(msg.find("config.json: error: cannot open the file"), std::string::npos) << msg;
  dir.write("config.json", kTinyLlama);
  msg = llama_error(dir);
  EXPECT_NE(msg.find("folder has neither model.safetensors.index.json nor model.safetensors"),
            std::string::npos)
      << msg;
  dir.write("config.json", kTinyGpt2);
  msg = llama_error(dir);
  EXPECT_NE(msg.find("model_type: 'gpt2' is not a LLaMA-architecture model"), std::string::npos)
      << msg;
  std::string biased = kTinyLlama;
  biased.insert(1, "\"attention_bias\": true, ");
  dir.write("config.json", biased);
  msg = llama_error(dir);
  EXPECT_NE(msg.find("attention_bias: true is not supported"), std::string::npos) << msg;
  const auto open_msg = xpusim::testing::config_error_of(
      [&] { SafetensorsCheckpoint::open(dir.path("nothing-here")); });
  EXPECT_NE(open_msg.find("no such file or folder"), std::string::npos) << open_msg;
}

TEST(LlamaCheckpoint, IndexFileErrors) {
  const auto c = parse_hf_config(kTinyLlama, "c");
  auto index_error = [&](const std::string& index) {
    TempDir dir;
    write_checkpoint(dir, kTinyLlama, llama_tensor_specs(c), {TensorDtype::kF32, 2});
    dir.write("model.safetensors.index.json", index);
    return llama_error(dir);
  };
  const std::string shard1 = "model-00001-of-00002.safetensors";
  auto msg = index_error(
      R"({"weight_map": {"model.norm.weight": "../model-00001-of-00002.safetensors"}})");
  EXPECT_NE(msg.find("the shard must be a file name in the checkpoint folder"), std::string::npos)
      << msg;
  msg = index_error(R"({"weight_map": {"model.norm.weight": "/etc/passwd"}})");
  EXPECT_NE(msg.find("the shard must be a file name"), std::string::npos) << msg;
  msg = index_error(R"({"weight_map": {"model.norm.weight": 3}})");
  EXPECT_NE(msg.find("the shard must be a file name"), std::string::npos) << msg;
  msg = index_error(R"({"weight_map": {"model.norm.weight": "absent.safetensors"}})");
  EXPECT_NE(msg.find("absent.safetensors: error: cannot open the file"), std::string::npos) << msg;
  msg = index_error(R"({"metadata": {}})");
  EXPECT_NE(msg.find("weight_map: expected an object mapping tensor names"), std::string::npos)
      << msg;
  msg = index_error(R"({"weight_map": {"a": ")" + shard1 + R"(", "a": "x"}})");
  EXPECT_NE(msg.find("duplicate JSON key 'a'"), std::string::npos) << msg;
}

TEST(LlamaCheckpoint, TensorListedInTheWrongShardIsReported) {
  TempDir dir;
  write_checkpoint(dir, kTinyLlama, llama_tensor_specs(parse_hf_config(kTinyLlama, "c")),
                   {TensorDtype::kF32, 2});
  // Spec order puts model.embed_tokens.weight (index 0) in shard 1; claim it is in shard 2.
  dir.write("model.safetensors.index.json",
            R"({"weight_map": {"model.embed_tokens.weight": "model-00002-of-00002.safetensors"}})");
  const auto msg = llama_error(dir);
  EXPECT_NE(msg.find("tensor 'model.embed_tokens.weight' is not in its shard "
                     "'model-00002-of-00002.safetensors'"),
            std::string::npos)
      << msg;
}

TEST(Gpt2Checkpoint, LoadsWithOrWithoutPrefixAndTransposesConv1D) {
  const auto c = parse_hf_config(kTinyGpt2, "c");
  for (const std::string prefix : {"transformer.", ""}) {
    TempDir dir;
    auto specs = gpt2_tensor_specs(c, prefix);
    specs.push_back({prefix + "h.0.attn.bias", {1, 1, 6, 6}});  // old causal-mask buffer
    const auto values = write_checkpoint(dir, kTinyGpt2, specs);
    const auto w = load_gpt2_checkpoint(dir.path());
    ASSERT_EQ(w.layers.size(), 2u);
    expect_tensor(w.wte, {11, 8}, values.at(prefix + "wte.weight"), "wte");
    expect_tensor(w.wpe, {6, 8}, values.at(prefix + "wpe.weight"), "wpe");
    expect_tensor(w.ln_f_bias, {8}, values.at(prefix + "ln_f.bias"), "ln_f.bias");
    EXPECT_EQ(&w.output_weight(), &w.wte);
    const auto& L = w.layers[1];
    expect_tensor(L.attn_qkv_bias, {24}, values.at(prefix + "h.1.attn.c_attn.bias"), "qkv bias");
    EXPECT_EQ(L.attn_qkv_weight.shape, (std::vector<std::int64_t>{24, 8}));
    EXPECT_EQ(L.mlp_fc_weight.shape, (std::vector<std::int64_t>{32, 8}));
    EXPECT_EQ(L.mlp_proj_weight.shape, (std::vector<std::int64_t>{8, 32}));
    // Loaded [out, in] element (o, i) is on-disk Conv1D [in, out] element (i, o).
    const auto& disk_qkv = values.at(prefix + "h.1.attn.c_attn.weight");
    const auto& disk_fc = values.at(prefix + "h.1.mlp.c_fc.weight");
    for (int o = 0; o < 24; ++o)
      for (int i = 0; i < 8; ++i)
        ASSERT_EQ(L.attn_qkv_weight.data[o * 8 + i], disk_qkv[i * 24 + o]);
    for (int o = 0; o < 32; ++o)
      for (int i = 0; i < 8; ++i) ASSERT_EQ(L.mlp_fc_weight.data[o * 8 + i], disk_fc[i * 32 + o]);
  }
}

TEST(Gpt2Checkpoint, MissingTensorsAndWrongFamily) {
  TempDir dir;
  const auto c = parse_hf_config(kTinyGpt2, "c");
  WriteOptions opt;
  opt.edit = [](std::vector<TensorToWrite>& ts) {
    ts.erase(ts.begin() + 5);  // wte, wpe, h.0.ln_1.{weight,bias}, h.0.attn.c_attn.{weight,bias}
  };
  write_checkpoint(dir, kTinyGpt2, gpt2_tensor_specs(c, "transformer."), opt);
  auto msg = xpusim::testing::config_error_of([&] { load_gpt2_checkpoint(dir.path()); });
  EXPECT_NE(msg.find("missing tensor 'transformer.h.0.attn.c_attn.bias' (expected shape [24])"),
            std::string::npos)
      << msg;
  dir.write("config.json", kTinyLlama);
  msg = xpusim::testing::config_error_of([&] { load_gpt2_checkpoint(dir.path()); });
  EXPECT_NE(msg.find("'llama' is not a GPT-2 model"), std::string::npos) << msg;
}

}  // namespace
}  // namespace xpusim::weights
