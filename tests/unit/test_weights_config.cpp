// Tests of the config.json reader: real-world LLaMA, Mistral and GPT-2 configs, transformers'
// defaults for absent keys, and errors that name the key and the file.
#include <gtest/gtest.h>

#include <string>

#include "tests/unit/test_helpers.h"
#include "workloads/weights/hf_config.h"
#include "workloads/weights/weights_error.h"

namespace xpusim::weights {
namespace {

// The config.json of Llama-2-7b-hf as published (keys that are not read left in on purpose).
const char* kLlama2Config = R"({
  "_name_or_path": "meta-llama/Llama-2-7b-hf",
  "architectures": ["LlamaForCausalLM"],
  "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 4096,
  "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 4096,
  "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32,
  "num_key_value_heads": 32, "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null,
  "tie_word_embeddings": false, "torch_dtype": "float16", "transformers_version": "4.31.0.dev0",
  "use_cache": true, "vocab_size": 32000
})";

std::string error_of(const std::string& text) {
  return xpusim::testing::config_error_of([&] { parse_hf_config(text, "cfg/config.json"); });
}

TEST(HfConfig, ReadsLlama2) {
  const auto c = parse_hf_config(kLlama2Config, "config.json");
  EXPECT_EQ(c.family, HfFamily::kLlama);
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 11008);
  EXPECT_EQ(c.num_hidden_layers, 32);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_key_value_heads, 32);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.vocab_size, 32000);
  EXPECT_EQ(c.max_position_embeddings, 4096);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.hidden_act, "silu");
  EXPECT_EQ(c.torch_dtype, "float16");
  EXPECT_EQ(c.rope_scaling_type, "");
  EXPECT_EQ(c.sliding_window, 0);
  EXPECT_EQ(c.file, "config.json");
}

TEST(HfConfig, ReadsLlama3WithGqaHeadDimAndRopeScaling) {
  const auto c = parse_hf_config(R"({"model_type": "llama", "hidden_size": 3072,
    "intermediate_size": 8192, "num_hidden_layers": 28, "num_attention_heads": 24,
    "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 128256, "rms_norm_eps": 1e-05,
    "rope_theta": 500000.0, "tie_word_embeddings": true, "max_position_embeddings": 131072,
    "rope_scaling": {"factor": 32.0, "rope_type": "llama3"}})",
                                 "c");
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.rope_scaling_type, "llama3");
}

TEST(HfConfig, ReadsTransformers5RopeParametersAndDtype) {
  const std::string base = R"("model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 256, "dtype": "bfloat16")";
  auto c = parse_hf_config("{" + base + R"(, "rope_parameters": {"rope_theta": 500000.0,
    "rope_type": "default"}})",
                           "c");
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling_type, "");
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  c = parse_hf_config("{" + base + R"(, "rope_parameters": {"rope_theta": 500000.0,
    "rope_type": "llama3", "factor": 8.0}})",
                      "c");
  EXPECT_EQ(c.rope_scaling_type, "llama3");
  auto msg = error_of("{" + base + R"(, "rope_parameters": {"rope_theta": "big"}})");
  EXPECT_NE(msg.find("rope_parameters: rope_theta must be a positive number, got \"big\""),
            std::string::npos)
      << msg;
  msg = error_of("{" + base + R"(, "rope_scaling": {"factor": 2.0}})");
  EXPECT_NE(msg.find("rope_scaling: has no string 'rope_type' (or 'type')"), std::string::npos)
      << msg;
}

TEST(HfConfig, AbsentOptionalKeysTakeTransformersDefaults) {
  const std::string base = R"("hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "vocab_size": 256)";
  const auto llama =
      parse_hf_config(R"({"model_type": "llama", "num_attention_heads": 4, )" + base + "}", "c");
  EXPECT_EQ(llama.num_key_value_heads, 4);  // = num_attention_heads
  EXPECT_EQ(llama.max_position_embeddings, 2048);
  EXPECT_DOUBLE_EQ(llama.norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(llama.rope_theta, 10000.0);
  EXPECT_EQ(llama.hidden_act, "silu");
  EXPECT_EQ(llama.head_dim, 16);
  const auto mistral =
      parse_hf_config(R"({"model_type": "mistral", "num_attention_heads": 16, )" + base + "}", "c");
  EXPECT_EQ(mistral.num_key_value_heads, 8);  // MistralConfig's default, not the head count
  EXPECT_EQ(mistral.sliding_window, 4096);
  EXPECT_EQ(mistral.max_position_embeddings, 131072);
  const auto no_window =
      parse_hf_config(R"({"model_type": "mistral", "sliding_window": null, "num_attention_heads": 4,
        "num_key_value_heads": 2, )" +
                          base + "}",
                      "c");
  EXPECT_EQ(no_window.sliding_window, 0);
  EXPECT_EQ(no_window.num_key_value_heads, 2);
}

TEST(HfConfig, ReadsGpt2) {
  const auto c = parse_hf_config(R"({"activation_function": "gelu_new", "architectures":
    ["GPT2LMHeadModel"], "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024,
    "n_embd": 768, "n_head": 12, "n_inner": null, "n_layer": 12, "n_positions": 1024,
    "vocab_size": 50257})",
                                 "gpt2.json");
  EXPECT_EQ(c.family, HfFamily::kGpt2);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.num_key_value_heads, 12);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.max_position_embeddings, 1024);
  EXPECT_EQ(c.vocab_size, 50257);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.hidden_act, "gelu_new");
  EXPECT_TRUE(c.attention_bias);
}

TEST(HfConfig, MissingAndMistypedKeysAreAllNamedWithTheFile) {
  const auto msg = error_of(R"({"model_type": "llama", "hidden_size": "4096",
    "intermediate_size": 11008.5, "num_attention_heads": 32, "vocab_size": -1,
    "rms_norm_eps": 0, "tie_word_embeddings": "false", "rope_theta": "1e4"})");
  for (const char* expected :
       {"cfg/config.json: error: hidden_size: expected an integer, got a string (\"4096\")",
        "cfg/config.json: error: intermediate_size: expected an integer, got a floating-point "
        "number",
        "cfg/config.json: error: num_hidden_layers: missing required key",
        "cfg/config.json: error: vocab_size: -1 is out of range [1, 2147483647]",
        "cfg/config.json: error: rms_norm_eps: must be a positive number, got 0",
        "cfg/config.json: error: tie_word_embeddings: expected true or false, got a string",
        "cfg/config.json: error: rope_theta: expected a number, got a string"})
    EXPECT_NE(msg.find(expected), std::string::npos) << expected << "\n-- in --\n" << msg;
}

TEST(HfConfig, ModelTypeErrors) {
  EXPECT_NE(error_of(R"({"hidden_size": 1})").find("model_type: missing required key"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model_type": "bert"})")
                .find("unsupported model type 'bert' (supported: llama, mistral, gpt2)"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model_type": 3})").find("model_type: expected a string"),
            std::string::npos);
}

TEST(HfConfig, InconsistentShapesAreRejected) {
  const std::string base =
      R"("model_type": "llama", "intermediate_size": 128, "num_hidden_layers": 2, "vocab_size": 256)";
  auto msg = error_of("{" + base + R"(, "hidden_size": 60, "num_attention_heads": 8})");
  EXPECT_NE(msg.find("hidden_size 60 is not a multiple of 8 heads"), std::string::npos) << msg;
  msg = error_of("{" + base +
                 R"(, "hidden_size": 64, "num_attention_heads": 8, "num_key_value_heads": 3})");
  EXPECT_NE(msg.find("8 attention heads are not a multiple of 3 key/value heads"),
            std::string::npos)
      << msg;
  msg = error_of("{" + base + R"(, "hidden_size": 4294967296, "num_attention_heads": 8})");
  EXPECT_NE(msg.find("hidden_size: 4294967296 is out of range"), std::string::npos) << msg;
  msg =
      error_of("{" + base + R"(, "hidden_size": 18446744073709551615, "num_attention_heads": 8})");
  EXPECT_NE(msg.find("is out of range"), std::string::npos) << msg;
  msg = error_of(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 1000000, "num_attention_heads": 8, "vocab_size": 256})");
  EXPECT_NE(msg.find("num_hidden_layers: 1000000 is out of range [1, 65536]"), std::string::npos)
      << msg;
  msg = error_of(
      R"({"model_type": "gpt2", "n_embd": 10, "n_head": 3, "n_layer": 1, "n_positions": 8, "vocab_size": 5})");
  EXPECT_NE(msg.find("n_embd 10 is not a multiple of 3 heads"), std::string::npos) << msg;
  msg =
      error_of("{" + base + R"(, "hidden_size": 64, "num_attention_heads": 8, "rope_scaling": 2})");
  EXPECT_NE(msg.find("rope_scaling: expected an object or null"), std::string::npos) << msg;
}

TEST(HfConfig, JsonErrorsPointAtLineAndColumn) {
  auto msg = error_of("{\n  \"model_type\": \"llama\",\n  \"hidden_size\": 64,,\n}");
  EXPECT_NE(msg.find("cfg/config.json:3:21: error: invalid JSON"), std::string::npos) << msg;
  msg = error_of(R"({"model_type": "llama", "model_type": "gpt2"})");
  EXPECT_NE(msg.find("duplicate JSON key 'model_type'"), std::string::npos) << msg;
  msg = error_of("[1, 2]");
  EXPECT_NE(msg.find("holds an array, expected a JSON object"), std::string::npos) << msg;
  msg = error_of(std::string(100, '[') + std::string(100, ']'));
  EXPECT_NE(msg.find("nested more than 64 levels"), std::string::npos) << msg;
  msg = error_of("");
  EXPECT_NE(msg.find("invalid JSON"), std::string::npos) << msg;
}

TEST(HfConfig, ReadsFromDiskWithClearFileErrors) {
  xpusim::testing::TempDir dir;
  const auto path = dir.write("config.json", kLlama2Config);
  EXPECT_EQ(read_hf_config(path).hidden_size, 4096);
  const auto msg = xpusim::testing::config_error_of([&] { read_hf_config(dir.path("nope.json")); });
  EXPECT_NE(msg.find("nope.json: error: cannot open the file"), std::string::npos) << msg;
}

}  // namespace
}  // namespace xpusim::weights
