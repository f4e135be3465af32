// Quantisation schemes and pruning transforms.
#include "workloads/compression.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sim/base/units.h"

namespace xpusim {

const std::vector<std::string>& quant_scheme_names() {
  static const std::vector<std::string> names = {"bf16", "fp16", "fp8", "int8", "w8a16", "w4a16"};
  return names;
}

double QuantScheme::weight_bytes_per_param() const {
  const double scales = group_size > 0 ? 2.0 / double(group_size) : 0.0;
  return dtype_bytes(weights) + scales;
}

std::optional<QuantScheme> parse_quant(const std::string& name) {
  QuantScheme q;
  q.name = name;
  if (name == "bf16") return q;
  if (name == "fp16") {
    q.activations = q.weights = DType::kFp16;
    return q;
  }
  if (name == "fp8") {
    q.activations = q.weights = DType::kFp8;
    return q;
  }
  if (name == "int8") {
    q.activations = q.weights = DType::kInt8;
    return q;
  }
  if (name == "w8a16") {
    q.weights = DType::kInt8;
    return q;
  }
  if (name == "w4a16") {
    q.weights = DType::kInt4;
    q.group_size = 128;
    return q;
  }
  return std::nullopt;
}

std::optional<DType> parse_kv_quant(const std::string& name) {
  if (name == "bf16") return DType::kBf16;
  if (name == "fp16") return DType::kFp16;
  if (name == "int8") return DType::kInt8;
  if (name == "fp8") return DType::kFp8;
  return std::nullopt;
}

std::optional<PruneScheme> parse_prune(const std::string& text, std::string* why) {
  PruneScheme p;
  p.text = text;
  auto fail = [&](std::string msg) -> std::optional<PruneScheme> {
    if (why) *why = std::move(msg);
    return std::nullopt;
  };
  if (text == "none" || text.empty()) return p;
  if (text == "2:4") {
    p.kind = PruneScheme::Kind::k24;
    p.value = 0.5;
    p.format = WeightFormat::kSparse24;
    return p;
  }
  const size_t colon = text.find(':');
  if (colon == std::string::npos)
    return fail(fmt::format(
        "'{}' is not a pruning scheme; expected 2:4, unstructured:D[:csr|bitmap], heads:F, "
        "ffn:F or layers:F",
        text));
  const std::string kind = text.substr(0, colon);
  std::string rest = text.substr(colon + 1);
  std::string format;
  if (kind == "unstructured") {
    if (size_t c2 = rest.find(':'); c2 != std::string::npos) {
      format = rest.substr(c2 + 1);
      rest = rest.substr(0, c2);
    }
  }
  auto v = parse_number(rest);
  if (!v) return fail(fmt::format("'{}' in '{}' is not a number", rest, text));
  if (kind == "unstructured") {
    if (*v <= 0 || *v > 1)
      return fail(fmt::format("density {} must be in (0, 1]: the fraction of weights kept", *v));
    p.kind = PruneScheme::Kind::kUnstructured;
    p.value = *v;
    if (format.empty() || format == "dense")
      p.format = WeightFormat::kDense;
    else if (format == "csr")
      p.format = WeightFormat::kCsr;
    else if (format == "bitmap")
      p.format = WeightFormat::kBitmap;
    else
      return fail(fmt::format("sparse format '{}' is not one of dense, csr, bitmap", format));
    return p;
  }
  if (*v < 0 || *v >= 1)
    return fail(fmt::format("fraction {} must be in [0, 1): the fraction removed", *v));
  p.value = *v;
  if (kind == "heads")
    p.kind = PruneScheme::Kind::kHeads;
  else if (kind == "ffn")
    p.kind = PruneScheme::Kind::kFfn;
  else if (kind == "layers")
    p.kind = PruneScheme::Kind::kLayers;
  else
    return fail(fmt::format(
        "'{}' is not a pruning kind; expected unstructured, heads, ffn or layers", kind));
  return p;
}

ModelConfig apply_structured_pruning(const ModelConfig& m, const PruneScheme& p) {
  ModelConfig out = m;
  const double keep = 1.0 - p.value;
  switch (p.kind) {
    case PruneScheme::Kind::kHeads: {
      // Heads are removed evenly from every KV group, so grouped-query attention stays regular.
      const int64_t kv = m.kv_heads_or_heads();
      const int64_t group = m.heads / kv;
      const int64_t kept_group = std::max<int64_t>(1, std::llround(double(group) * keep));
      out.head_dim = m.head_dim_or_default();
      if (kv == m.heads) {
        out.heads = std::max<int64_t>(1, std::llround(double(m.heads) * keep));
        out.kv_heads = out.heads;
      } else {
        out.heads = kv * kept_group;
      }
      break;
    }
    case PruneScheme::Kind::kFfn:
      // Kept channels round to a multiple of 8, as pruned checkpoints keep GEMM-friendly shapes.
      out.ffn = std::max<int64_t>(8, std::llround(double(m.ffn) * keep / 8.0) * 8);
      break;
    case PruneScheme::Kind::kLayers:
      out.layers = std::max<int64_t>(1, std::llround(double(m.layers) * keep));
      break;
    default:
      break;
  }
  return out;
}

namespace {

// The weight format and arithmetic of one linear layer under the schemes.
void compress_linear(Op& op, const QuantScheme& q, const PruneScheme& p) {
  op.dtype = q.activations;
  op.wdtype = q.weights;
  op.group_size = q.group_size;
  if (p.kind == PruneScheme::Kind::k24) {
    op.wformat = WeightFormat::kSparse24;
    op.density = 0.5;
  } else if (p.kind == PruneScheme::Kind::kUnstructured) {
    op.wformat = p.format;
    op.density = p.value;
  }
  finalize(op);
}

bool is_linear_layer(const Op& op) {
  return op.kind == OpKind::kGemm && op.name != "lm_head" && op.name != "moe.router" &&
         op.name != "attn.qk" && op.name != "attn.pv";
}

}  // namespace

double linear_bytes_per_param(const QuantScheme& q, const PruneScheme& p) {
  // One [N,K] matrix, run through the same byte count as the graph's linear layers.
  Op op = make_gemm("probe", 1, 1024, 1024, q.activations);
  compress_linear(op, q, p);
  return op.weight_bytes / (1024.0 * 1024.0);
}

void apply_compression(std::vector<Op>& ops, const QuantScheme& q, const PruneScheme& p) {
  for (Op& op : ops)
    if (is_linear_layer(op)) compress_linear(op, q, p);
}

}  // namespace xpusim
