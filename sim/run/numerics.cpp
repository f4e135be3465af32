// Scheme selection per preset datapath, and the cross-check metrics.
#include "sim/run/numerics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>

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
  in.weights = &w;
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
  // Sequences to run: the reference's, then each scheme's (fp32 reuses the reference).
  const size_t n = in.sequences.size();
  const size_t total =
      n * (1 + size_t(std::count_if(schemes.begin(), schemes.end(),
                                    [](const std::string& s) { return s != "fp32"; })));
  size_t done = 0;
  auto step = [&](const std::string& what) {
    ++done;
    if (progress) progress(done, total, what);
  };
  // The reference: fp32 arithmetic everywhere (released before the schemes run).
  std::vector<std::vector<float>> ref_logits;
  std::size_t V = 0;
  {
    functional::LlamaForward ref(*in.weights, choose_scheme("fp32", formats).scheme, opt);
    for (const auto& s : in.sequences) {
      ref_logits.push_back(ref.logits(s));
      step("fp32 reference");
    }
    V = ref.vocab();
  }

  std::vector<NumericsRow> rows;
  for (const auto& name : schemes) {
    NumericsRow row;
    row.scheme = name;
    SchemeChoice c = choose_scheme(name, formats);
    row.datapath = c.datapath;
    if (!c.ok) {
      row.ok = false;
      row.reason = c.reason;
      rows.push_back(row);
      continue;
    }
    functional::LlamaForward model(*in.weights, c.scheme, opt);
    double err2 = 0, ref2 = 0, loss = 0;
    std::size_t agree = 0, positions = 0, targets = 0;
    for (std::size_t s = 0; s < in.sequences.size(); ++s) {
      const auto l = name == "fp32" ? ref_logits[s] : model.logits(in.sequences[s]);
      if (name != "fp32") step(name);
      const auto& r = ref_logits[s];
      const std::size_t T = in.sequences[s].size();
      for (std::size_t t = 0; t < T; ++t) {
        const float* a = l.data() + t * V;
        const float* b = r.data() + t * V;
        for (std::size_t j = 0; j < V; ++j) {
          err2 += double(a[j] - b[j]) * double(a[j] - b[j]);
          ref2 += double(b[j]) * double(b[j]);
        }
        agree += (std::max_element(a, a + V) - a) == (std::max_element(b, b + V) - b) ? 1 : 0;
        ++positions;
        if (in.has_targets) {
          const int32_t target = t + 1 < T ? in.sequences[s][t + 1] : in.targets_tail[s];
          double mx = *std::max_element(a, a + V), sum = 0;
          for (std::size_t j = 0; j < V; ++j) sum += std::exp(double(a[j]) - mx);
          loss += mx + std::log(sum) - double(a[target]);
          ++targets;
        }
      }
    }
    row.logit_rel_err = ref2 > 0 ? std::sqrt(err2 / ref2) : 0;
    row.top1_agreement = positions ? double(agree) / double(positions) : 0;
    if (in.has_targets && targets) {
      row.loss = loss / double(targets);
      row.perplexity = std::exp(*row.loss);
    }
    rows.push_back(row);
  }
  return rows;
}

weights::LlamaWeights synthetic_llama(int64_t hidden, int64_t heads, int64_t kv_heads, int64_t ffn,
                                      int64_t vocab, int64_t layers, int64_t max_positions,
                                      uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  auto tensor = [&](int64_t rows, int64_t cols) {
    weights::Tensor t;
    t.shape = {rows, cols};
    t.data.resize(static_cast<std::size_t>(rows * cols));
    for (float& v : t.data) v = normal(rng);
    return t;
  };
  auto ones = [](int64_t n) {
    weights::Tensor t;
    t.shape = {n};
    t.data.assign(static_cast<std::size_t>(n), 1.0f);
    return t;
  };
  const int64_t hd = hidden / heads;
  weights::LlamaWeights w;
  auto& c = w.config;
  c.model_type = "llama";
  c.hidden_size = hidden;
  c.intermediate_size = ffn;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = hd;
  c.vocab_size = vocab;
  c.max_position_embeddings = max_positions;
  c.norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  w.embed_tokens = tensor(vocab, hidden);
  for (int64_t i = 0; i < layers; ++i) {
    w.layers.push_back({ones(hidden), tensor(heads * hd, hidden), tensor(kv_heads * hd, hidden),
                        tensor(kv_heads * hd, hidden), tensor(hidden, heads * hd), ones(hidden),
                        tensor(ffn, hidden), tensor(ffn, hidden), tensor(hidden, ffn)});
  }
  w.norm = ones(hidden);
  w.lm_head = tensor(vocab, hidden);
  return w;
}

}  // namespace xpusim
