// config.json -> HfModelConfig. Keys that fix tensor shapes are required; the others default
// as transformers' LlamaConfig / MistralConfig / GPT2Config do, so a checkpoint that loads in
// transformers loads here with the same meaning. Every problem is collected and reported at once.
#include "workloads/weights/hf_config.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "workloads/weights/file_bytes.h"
#include "workloads/weights/untrusted_json.h"
#include "workloads/weights/weights_error.h"

namespace xpusim::weights {
namespace {

// A JSON value as text for a message, cut to a readable length.
std::string shown(const nlohmann::json& v) {
  std::string text = v.dump();
  return text.size() > 60 ? text.substr(0, 60) + "..." : text;
}

// Typed access to the top-level keys of config.json. A missing or null key gives nullopt (an
// issue too when required); a mistyped or out-of-range one adds an issue and gives nullopt.
class Fields {
 public:
  Fields(const nlohmann::json& root, const std::string& file, IssueCollector& issues)
      : root_(root), file_(file), issues_(issues) {}

  bool present(const char* key) const { return root_.contains(key); }

  const nlohmann::json* find(const char* key, bool required) {
    auto it = root_.find(key);
    if (it == root_.end() || it->is_null()) {
      if (required) issues_.add(file_, key, "missing required key");
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::int64_t> integer(const char* key, bool required, std::int64_t lo,
                                      std::int64_t hi) {
    const auto* v = find(key, required);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) return mistyped(key, *v, "an integer");
    // Unsigned values above int64 max fail the range check through the unsigned comparison.
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(hi))
      return out_of_range(key, v->dump(), lo, hi);
    const auto x = v->get<std::int64_t>();
    if (x < lo || x > hi) return out_of_range(key, v->dump(), lo, hi);
    return x;
  }

  std::optional<double> positive_number(const char* key, bool required) {
    const auto* v = find(key, required);
    if (!v) return std::nullopt;
    if (!v->is_number()) return mistyped(key, *v, "a number");
    const double x = v->get<double>();
    if (!std::isfinite(x) || x <= 0.0) {
      issues_.add(file_, key, fmt::format("must be a positive number, got {}", shown(*v)));
      return std::nullopt;
    }
    return x;
  }

  std::optional<bool> boolean(const char* key) {
    const auto* v = find(key, false);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) return mistyped(key, *v, "true or false");
    return v->get<bool>();
  }

  std::optional<std::string> string(const char* key, bool required) {
    const auto* v = find(key, required);
    if (!v) return std::nullopt;
    if (!v->is_string()) return mistyped(key, *v, "a string");
    return v->get<std::string>();
  }

  void add(const char* key, std::string message) { issues_.add(file_, key, std::move(message)); }

 private:
  std::nullopt_t mistyped(const char* key, const nlohmann::json& v, const char* expected) {
    issues_.add(file_, key,
                fmt::format("expected {}, got {} ({})", expected, json_kind(v), shown(v)));
    return std::nullopt;
  }
  std::nullopt_t out_of_range(const char* key, const std::string& value, std::int64_t lo,
                              std::int64_t hi) {
    issues_.add(file_, key, fmt::format("{} is out of range [{}, {}]", value, lo, hi));
    return std::nullopt;
  }

  const nlohmann::json& root_;
  const std::string& file_;
  IssueCollector& issues_;
};

// What transformers assumes when a LLaMA-style key is absent (LlamaConfig / MistralConfig).
struct LlamaDefaults {
  std::int64_t max_position_embeddings;
  std::int64_t num_key_value_heads;  // 0: same as num_attention_heads
  std::int64_t sliding_window;       // 0: none
};

constexpr LlamaDefaults kLlamaDefaults{2048, 0, 0};
constexpr LlamaDefaults kMistralDefaults{4096 * 32, 8, 4096};

// The rotary base and scaling. transformers 5 writes them as rope_parameters {rope_theta,
// rope_type, ...}; older versions as a top-level rope_theta plus rope_scaling {rope_type or type,
// ...} or null. rope_type "default" means no scaling.
void read_rope(Fields& f, HfModelConfig& c) {
  c.rope_theta = f.positive_number("rope_theta", false).value_or(10000.0);
  for (const char* key : {"rope_scaling", "rope_parameters"}) {
    const auto* rs = f.find(key, false);
    if (!rs) continue;
    if (!rs->is_object()) {
      f.add(key, "expected an object or null, got " + json_kind(*rs));
      continue;
    }
    if (auto theta = rs->find("rope_theta"); theta != rs->end()) {
      if (theta->is_number() && std::isfinite(theta->get<double>()) && theta->get<double>() > 0)
        c.rope_theta = theta->get<double>();
      else
        f.add(key, "rope_theta must be a positive number, got " + shown(*theta));
    }
    auto type = rs->find("rope_type");
    if (type == rs->end()) type = rs->find("type");
    const bool scaling = std::string_view(key) == "rope_scaling";
    if (type == rs->end() ? scaling : !type->is_string())  // rope_parameters may omit the type
      f.add(key, "has no string 'rope_type' (or 'type')");
    else if (type != rs->end() && *type != "default")
      c.rope_scaling_type = type->get<std::string>();
  }
}

void read_llama(Fields& f, const LlamaDefaults& d, HfModelConfig& c) {
  c.family = HfFamily::kLlama;
  c.hidden_size = f.integer("hidden_size", true, 1, kMaxConfigDim).value_or(0);
  c.intermediate_size = f.integer("intermediate_size", true, 1, kMaxConfigDim).value_or(0);
  c.num_hidden_layers = f.integer("num_hidden_layers", true, 1, kMaxConfigLayers).value_or(0);
  c.num_attention_heads = f.integer("num_attention_heads", true, 1, kMaxConfigDim).value_or(0);
  c.vocab_size = f.integer("vocab_size", true, 1, kMaxConfigDim).value_or(0);
  c.num_key_value_heads =
      f.integer("num_key_value_heads", false, 1, kMaxConfigDim)
          .value_or(d.num_key_value_heads ? d.num_key_value_heads : c.num_attention_heads);
  c.max_position_embeddings = f.integer("max_position_embeddings", false, 1, kMaxConfigDim)
                                  .value_or(d.max_position_embeddings);
  const auto head_dim = f.integer("head_dim", false, 1, kMaxConfigDim);
  c.norm_eps = f.positive_number("rms_norm_eps", false).value_or(1e-6);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings").value_or(false);
  c.hidden_act = f.string("hidden_act", false).value_or("silu");
  c.attention_bias = f.boolean("attention_bias").value_or(false);
  c.mlp_bias = f.boolean("mlp_bias").value_or(false);
  // Absent: the family's default; null: no window.
  c.sliding_window = f.present("sliding_window")
                         ? f.integer("sliding_window", false, 1, kMaxConfigDim).value_or(0)
                         : d.sliding_window;
  read_rope(f, c);
  if (c.hidden_size > 0 && c.num_attention_heads > 0) {
    if (head_dim)
      c.head_dim = *head_dim;
    else if (c.hidden_size % c.num_attention_heads != 0)
      f.add("num_attention_heads", fmt::format("hidden_size {} is not a multiple of {} heads "
                                               "(and no head_dim is given)",
                                               c.hidden_size, c.num_attention_heads));
    else
      c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (c.num_attention_heads > 0 && c.num_key_value_heads > 0 &&
      c.num_attention_heads % c.num_key_value_heads != 0)
    f.add("num_key_value_heads", fmt::format("{} attention heads are not a multiple of {} "
                                             "key/value heads",
                                             c.num_attention_heads, c.num_key_value_heads));
}

void read_gpt2(Fields& f, HfModelConfig& c) {
  c.family = HfFamily::kGpt2;
  c.hidden_size = f.integer("n_embd", true, 1, kMaxConfigDim).value_or(0);
  c.num_hidden_layers = f.integer("n_layer", true, 1, kMaxConfigLayers).value_or(0);
  c.num_attention_heads = f.integer("n_head", true, 1, kMaxConfigDim).value_or(0);
  c.num_key_value_heads = c.num_attention_heads;
  c.max_position_embeddings = f.integer("n_positions", true, 1, kMaxConfigDim).value_or(0);
  c.vocab_size = f.integer("vocab_size", true, 1, kMaxConfigDim).value_or(0);
  const auto n_inner = f.integer("n_inner", false, 1, kMaxConfigDim);
  if (n_inner)
    c.intermediate_size = *n_inner;
  else if (c.hidden_size > kMaxConfigDim / 4)
    f.add("n_embd",
          fmt::format("{} is too large for the default n_inner = 4 * n_embd", c.hidden_size));
  else
    c.intermediate_size = 4 * c.hidden_size;
  c.norm_eps = f.positive_number("layer_norm_epsilon", false).value_or(1e-5);
  c.rope_theta = 0.0;
  c.tie_word_embeddings = f.boolean("tie_word_embeddings").value_or(true);
  c.hidden_act = f.string("activation_function", false).value_or("gelu_new");
  c.attention_bias = true;
  c.mlp_bias = true;
  if (c.hidden_size > 0 && c.num_attention_heads > 0) {
    if (c.hidden_size % c.num_attention_heads != 0)
      f.add("n_head", fmt::format("n_embd {} is not a multiple of {} heads", c.hidden_size,
                                  c.num_attention_heads));
    else
      c.head_dim = c.hidden_size / c.num_attention_heads;
  }
}

}  // namespace

HfModelConfig parse_hf_config(std::string_view json_text, const std::string& file) {
  const auto root = parse_untrusted_json(json_text, file, {});
  if (!root.is_object())
    throw WeightsError(file, "config.json holds " + json_kind(root) + ", expected a JSON object");
  IssueCollector issues;
  Fields f(root, file, issues);
  HfModelConfig c;
  c.file = file;
  const auto model_type = f.string("model_type", true);
  issues.throw_if_any();  // without model_type nothing else can be read
  c.model_type = *model_type;
  // transformers 5 writes "dtype" where 4.x wrote "torch_dtype".
  c.torch_dtype = f.string(f.present("torch_dtype") ? "torch_dtype" : "dtype", false).value_or("");
  if (c.model_type == "llama")
    read_llama(f, kLlamaDefaults, c);
  else if (c.model_type == "mistral")
    read_llama(f, kMistralDefaults, c);
  else if (c.model_type == "gpt2")
    read_gpt2(f, c);
  else
    f.add("model_type", fmt::format("unsupported model type {} (supported: llama, mistral, gpt2)",
                                    quote_name(c.model_type)));
  issues.throw_if_any();
  return c;
}

HfModelConfig read_hf_config(const std::string& path) {
  return parse_hf_config(read_text_file(path, kMaxConfigFileBytes), path);
}

}  // namespace xpusim::weights
