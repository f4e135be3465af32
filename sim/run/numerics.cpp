// Scheme selection per preset datapath, and the cross-check metrics.
#include "sim/run/numerics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "sim/base/hash.h"
#include "workloads/compression.h"

namespace xpusim {
namespace {

using functional::LinearScheme;

// A GEMM in `d` runs in its own format on one of the device's matrix datapaths: tensor cores, an
// MXU, AMX, or the SIMD units of a CPU without a matrix unit for it.
bool native(const Device& device, DType d) {
  for (ComputeUnit u :
       {ComputeUnit::kTensorCore, ComputeUnit::kMxu, ComputeUnit::kAmx, ComputeUnit::kSimd})
    if (device.supports(d, u)) return true;
  return false;
}

kernels::KvFormat kv_of(const kernels::Datapath& base) {
  return base.input == kernels::GemmInput::kFp16 ? kernels::KvFormat::kFp16
                                                 : kernels::KvFormat::kBf16;
}

}  // namespace

DeviceFormats device_formats(Device& device) {
  DeviceFormats f;
  f.bf16 = native(device, DType::kBf16);
  f.fp16 = native(device, DType::kFp16);
  f.fp8 = native(device, DType::kFp8);
  f.int8 = native(device, DType::kInt8);
  return f;
}

const std::vector<std::string>& numerics_scheme_names() {
  static const std::vector<std::string> names = {
      "fp32", "bf16", "fp8", "int8", "w4a16", "2:4", "unstructured:0.5"};
  return names;
}

SchemeChoice choose_scheme(const std::string& name, const DeviceFormats& f) {
  SchemeChoice c;
  if (name == "fp32") {
    c.scheme.linear.datapath = c.scheme.lm_head.datapath = kernels::kDatapathFp32;
    c.scheme.kv = kernels::KvFormat::kFp32;
    c.datapath = "fp32*fp32->fp32 (reference)";
    return c;
  }
  // Structured pruning removes heads, FFN columns or layers: a different model, whose accuracy
  // needs the pruned model evaluated (or retrained), not a datapath emulated.
  if (name.starts_with("heads:") || name.starts_with("ffn:") || name.starts_with("layers:")) {
    c.ok = false;
    c.reason =
        "structured pruning (heads, ffn, layers) removes parts of the model; its accuracy "
        "is not emulated on a datapath (the timing of `run --prune` still applies)";
    return c;
  }
  // The preset's 16-bit floating-point matrix path carries everything that is not quantised;
  // fp16 asks for the fp16 path itself.
  std::optional<kernels::Datapath> base;
  if (name == "fp16") {
    if (f.fp16) base = kernels::kDatapathFp16;
  } else if (f.bf16) {
    base = kernels::kDatapathBf16;
  } else if (f.fp16) {
    base = kernels::kDatapathFp16;
  }
  if (!base && name == "fp16") {
    c.ok = false;
    c.reason = "no fp16 matrix unit on this device";
    return c;
  }
  if (!base) {
    c.ok = false;
    c.reason = "no 16-bit floating-point matrix unit (bf16 or fp16)";
    return c;
  }
  c.scheme.linear.datapath = c.scheme.lm_head.datapath = *base;
  c.scheme.kv = kv_of(*base);
  const std::string base_name = kernels::datapath_name(*base);
  c.datapath = base_name;
  if (name == "bf16" || name == "fp16") return c;
  if (name == "w8a16") {
    // Weight-only int8 (per output channel), multiplied in the 16-bit format after dequantising.
    c.scheme.linear.emulation = LinearScheme::WeightEmulation::kInt8Dequant;
    c.datapath = "int8 weights (per channel) dequantised to " + base_name + " (weight-only)";
    return c;
  }
  if (name == "fp8") {
    if (f.fp8) {
      c.scheme.linear.datapath = kernels::kDatapathFp8E4M3;
      c.datapath = kernels::datapath_name(kernels::kDatapathFp8E4M3) + " (per-tensor scales)";
    } else {
      c.scheme.linear.emulation = LinearScheme::WeightEmulation::kFp8Dequant;
      c.datapath = "no fp8 unit: e4m3 weights dequantised to " + base_name;
    }
    return c;
  }
  if (name == "int8") {
    if (f.int8) {
      c.scheme.linear.datapath = kernels::kDatapathInt8;
      c.datapath = kernels::datapath_name(kernels::kDatapathInt8) + " (per-channel W, per-token X)";
    } else {
      c.scheme.linear.emulation = LinearScheme::WeightEmulation::kInt8Dequant;
      c.datapath = "no int8 unit: int8 weights dequantised to " + base_name;
    }
    return c;
  }
  if (name == "w4a16") {
    c.scheme.linear.datapath = kernels::kDatapathW4A16;
    c.datapath = kernels::datapath_name(kernels::kDatapathW4A16) +
                 " (group 128, or 64/32 where 128 does not divide the width)";
    return c;
  }
  if (name == "2:4") {
    c.scheme.linear.prune = LinearScheme::Prune::k24;
    c.datapath = base_name + ", 2:4 magnitude-pruned weights";
    return c;
  }
  if (name.starts_with("unstructured:")) {
    // The same parser as run's --prune (no std::stod: it throws on denormals like 1e-320).
    std::string why;
    const auto prune = parse_prune(name, &why);
    if (!prune) {
      c.ok = false;
      c.reason = why;
      return c;
    }
    const double d = prune->value;
    c.scheme.linear.prune = LinearScheme::Prune::kUnstructured;
    c.scheme.linear.density = d;
    c.datapath = fmt::format("{}, {:.0f}% of weights kept (magnitude)", base_name, d * 100);
    return c;
  }
  c.ok = false;
  c.reason = fmt::format("unknown scheme '{}'", name);
  return c;
}

NumericsInput byte_windows(const weights::LlamaWeights& w, std::span<const uint8_t> text,
                           std::size_t seq, std::size_t windows) {
  NumericsInput in;
  in.source = std::make_shared<functional::HeldLlamaWeights>(w);
  in.has_targets = true;
  for (std::size_t i = 0; i < windows && (i + 1) * seq < text.size(); ++i) {
    in.sequences.emplace_back(text.begin() + long(i * seq), text.begin() + long((i + 1) * seq));
    in.targets_tail.push_back(text[(i + 1) * seq]);
  }
  return in;
}

std::vector<NumericsRow> run_numerics(const NumericsInput& in, Device& device,
                                      const std::vector<std::string>& schemes,
                                      const kernels::KernelOptions& opt,
                                      const NumericsProgress& progress) {
  const DeviceFormats formats = device_formats(device);
  // Scheme 0 of the layer-by-layer run is the fp32 reference; then each scheme the preset can
  // run, except fp32 itself, whose row reuses the reference.
  std::vector<functional::ModelScheme> run_schemes{choose_scheme("fp32", formats).scheme};
  std::vector<std::string> run_names{"fp32 reference"};
  std::vector<NumericsRow> rows;
  std::vector<std::size_t> run_of;  // rows[i] is run_schemes[run_of[i]]
  for (const auto& name : schemes) {
    NumericsRow row;
    row.scheme = name;
    SchemeChoice c = choose_scheme(name, formats);
    row.datapath = c.datapath;
    row.ok = c.ok;
    row.reason = c.reason;
    if (c.ok && name != "fp32") {
      run_of.push_back(run_schemes.size());
      run_schemes.push_back(c.scheme);
      run_names.push_back(name);
    } else {
      run_of.push_back(0);
    }
    rows.push_back(row);
  }
  const std::size_t layers = static_cast<std::size_t>(in.source->config().num_hidden_layers);
  const std::size_t V = static_cast<std::size_t>(in.source->config().vocab_size);
  const std::size_t total = run_schemes.size() * (layers + 1);
  std::size_t done = 0;

  struct Acc {
    double err2 = 0, ref2 = 0, loss = 0;
    std::size_t agree = 0, positions = 0, targets = 0;
  };
  std::vector<Acc> acc(run_schemes.size());
  std::vector<std::vector<float>> ref_logits(in.sequences.size());
  auto sink = [&](std::size_t s, std::size_t b, std::span<const float> l) {
    if (s == 0) ref_logits[b].assign(l.begin(), l.end());
    const auto& r = ref_logits[b];
    Acc& a = acc[s];
    const std::size_t T = in.sequences[b].size();
    for (std::size_t t = 0; t < T; ++t) {
      const float* x = l.data() + t * V;
      const float* y = r.data() + t * V;
      for (std::size_t j = 0; j < V; ++j) {
        a.err2 += double(x[j] - y[j]) * double(x[j] - y[j]);
        a.ref2 += double(y[j]) * double(y[j]);
      }
      a.agree += (std::max_element(x, x + V) - x) == (std::max_element(y, y + V) - y) ? 1 : 0;
      ++a.positions;
      if (in.has_targets) {
        const int32_t target = t + 1 < T ? in.sequences[b][t + 1] : in.targets_tail[b];
        double mx = *std::max_element(x, x + V), sum = 0;
        for (std::size_t j = 0; j < V; ++j) sum += std::exp(double(x[j]) - mx);
        a.loss += mx + std::log(sum) - double(x[target]);
        ++a.targets;
      }
    }
  };
  functional::layerwise_logits(
      *in.source, run_schemes, in.sequences, opt, sink, [&](std::size_t s, std::size_t l) {
        ++done;
        if (progress)
          progress(done, total,
                   l < layers ? fmt::format("{}: layer {}/{}", run_names[s], l + 1, layers)
                              : fmt::format("{}: LM head", run_names[s]));
      });
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].ok) continue;
    const Acc& a = acc[run_of[i]];
    rows[i].logit_rel_err = a.ref2 > 0 ? std::sqrt(a.err2 / a.ref2) : 0;
    rows[i].top1_agreement = a.positions ? double(a.agree) / double(a.positions) : 0;
    if (in.has_targets && a.targets) {
      rows[i].loss = a.loss / double(a.targets);
      rows[i].perplexity = std::exp(*rows[i].loss);
    }
  }
  return rows;
}

namespace {

// Seeded synthetic weights made one layer at a time: each tensor from its own stream (the seed,
// the layer and the tensor), so that any layer can be made alone and a model of any depth costs
// the memory of one layer and the LM head (llama2-7b: 0.8 GB and 0.5 GB in fp32).
class SyntheticLlama final : public functional::LlamaWeightSource {
 public:
  SyntheticLlama(weights::HfModelConfig c, uint64_t seed) : c_(std::move(c)), seed_(seed) {
    norm_.assign(static_cast<std::size_t>(c_.hidden_size), 1.0f);
  }
  const weights::HfModelConfig& config() const override { return c_; }
  void embed(int32_t token, std::span<float> row) const override {
    fill(row, stream(1, static_cast<uint64_t>(token)));
  }
  const weights::LlamaLayerWeights& layer(std::size_t i) override {
    head_ = {};
    const int64_t H = c_.hidden_size, hd = c_.head_dim, F = c_.intermediate_size;
    const int64_t q = c_.num_attention_heads * hd, kv = c_.num_key_value_heads * hd;
    auto& l = layer_;
    ones(l.input_layernorm, H);
    ones(l.post_attention_layernorm, H);
    weights::Tensor* mats[] = {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj,
                               &l.gate_proj, &l.up_proj, &l.down_proj};
    const int64_t shapes[][2] = {{q, H}, {kv, H}, {kv, H}, {H, q}, {F, H}, {F, H}, {H, F}};
    for (std::size_t m = 0; m < 7; ++m) {
      mats[m]->shape = {shapes[m][0], shapes[m][1]};
      mats[m]->data.resize(static_cast<std::size_t>(shapes[m][0] * shapes[m][1]));
      fill(mats[m]->data, stream(2 + m, i));
    }
    return layer_;
  }
  std::span<const float> final_norm() const override { return norm_; }
  const weights::Tensor& output_weight() override {
    layer_ = {};
    if (head_.data.empty()) {
      head_.shape = {c_.vocab_size, c_.hidden_size};
      head_.data.resize(static_cast<std::size_t>(c_.vocab_size * c_.hidden_size));
      fill(head_.data, stream(9, 0));
    }
    return head_;
  }

 private:
  uint64_t stream(uint64_t tensor, uint64_t index) const {
    return Fnv1a64()
        .field(std::to_string(seed_))
        .field(std::to_string(tensor))
        .field(std::to_string(index))
        .value();
  }
  static void fill(std::span<float> v, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    for (float& x : v) x = normal(rng);
  }
  static void ones(weights::Tensor& t, int64_t n) {
    t.shape = {n};
    t.data.assign(static_cast<std::size_t>(n), 1.0f);
  }
  weights::HfModelConfig c_;
  uint64_t seed_;
  std::vector<float> norm_;
  weights::LlamaLayerWeights layer_;
  weights::Tensor head_;
};

}  // namespace

std::shared_ptr<functional::LlamaWeightSource> synthetic_llama(
    int64_t hidden, int64_t heads, int64_t kv_heads, int64_t ffn, int64_t vocab, int64_t layers,
    int64_t max_positions, uint64_t seed) {
  weights::HfModelConfig c;
  c.model_type = "llama";
  c.hidden_size = hidden;
  c.intermediate_size = ffn;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = hidden / heads;
  c.vocab_size = vocab;
  c.max_position_embeddings = max_positions;
  c.norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  return std::make_shared<SyntheticLlama>(std::move(c), seed);
}

}  // namespace xpusim
