// Operator constructors and the FLOP and minimum-byte counts of each kind and format.
#include "workloads/op.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "sim/base/errors.h"

namespace xpusim {

std::string_view op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::kGemm:
      return "gemm";
    case OpKind::kAttention:
      return "attention";
    case OpKind::kElementwise:
      return "elementwise";
    case OpKind::kEmbedding:
      return "embedding";
    case OpKind::kKvAppend:
      return "kv_append";
    case OpKind::kCollective:
      return "collective";
  }
  return "?";
}

std::string_view weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::kDense:
      return "dense";
    case WeightFormat::kSparse24:
      return "2:4";
    case WeightFormat::kCsr:
      return "csr";
    case WeightFormat::kBitmap:
      return "bitmap";
  }
  return "?";
}

std::string_view attn_impl_name(AttnImpl a) {
  switch (a) {
    case AttnImpl::kFlash2:
      return "flash2";
    case AttnImpl::kCudnn:
      return "cudnn";
    case AttnImpl::kFlash3:
      return "flash3";
    case AttnImpl::kMath:
      return "math";
  }
  return "?";
}

std::optional<AttnImpl> attn_impl_from_name(std::string_view name) {
  for (AttnImpl a : {AttnImpl::kFlash2, AttnImpl::kCudnn, AttnImpl::kFlash3, AttnImpl::kMath})
    if (attn_impl_name(a) == name) return a;
  return std::nullopt;
}

std::string_view ew_impl_name(EwImpl e) {
  switch (e) {
    case EwImpl::kFused:
      return "fused";
    case EwImpl::kCompiled:
      return "compiled";
    case EwImpl::kEager:
      return "eager";
  }
  return "?";
}

const std::vector<EwKindInfo>& ew_kinds() {
  using K = EwKind;
  constexpr OpKind ew = OpKind::kElementwise;
  // FLOPs per element follow the usual counts: a norm needs a reduction, a scale and a weight
  // multiply; tanh-GELU about 8; SiLU·mul about 5 (exp, add, divide, two multiplies). A KV
  // append's work is counted by finalize() from its heads (kKvAppend); quantize writes 8 bits with
  // a per-row scale. Columns as in EwKindInfo: kind, name, op kind, flops, reads and weights per
  // column and per element, bytes out per element, row reduction, calibrated.
  static const std::vector<EwKindInfo> kinds = {
      {K::kRmsnorm, "rmsnorm", ew, 4, 1, 1, 0, 0, true, true},
      {K::kLayernorm, "layernorm", ew, 7, 1, 2, 0, 0, true, true},
      {K::kSoftmax, "softmax", ew, 5, 1, 0, 0, 0, true, true},
      {K::kGelu, "gelu", ew, 8, 1, 0, 0, 0, false, true},
      {K::kSiluMul, "silu_mul", ew, 5, 2, 0, 0, 0, false, true},
      {K::kResidualAdd, "residual_add", ew, 1, 2, 0, 0, 0, false, true},
      {K::kRope, "rope", ew, 3, 1, 0, 0, 0, false, true},
      {K::kKvAppend, "kv_append", OpKind::kKvAppend, 0, 1, 0, 0, 0, false, true},
      {K::kRelu, "relu", ew, 1, 1, 0, 0, 0, false, false},
      {K::kEmbedding, "embedding", OpKind::kEmbedding, 0, 0, 0, 1, 0, false, false},
      {K::kQuantize, "quantize", ew, 3, 1, 0, 0, 1, false, false},
      {K::kCopy, "copy", ew, 0, 1, 0, 0, 0, false, true},
  };
  return kinds;
}

const EwKindInfo& ew_info(EwKind k) {
  const EwKindInfo& e = ew_kinds().at(ew_index(k));
  XPUSIM_ASSERT(e.kind == k, "ew_kinds() is not in EwKind order");
  return e;
}

std::string_view ew_kind_name(EwKind k) { return ew_info(k).name; }

std::optional<EwKind> ew_kind_from_name(std::string_view name) {
  for (const auto& e : ew_kinds())
    if (e.name == name) return e.kind;
  return std::nullopt;
}

std::string Op::signature() const {
  return fmt::format(
      "{}|{}|{}|{}|{},{},{}x{}|{}:{}:{}:{}|{},{},{},{},{},{},{}|{}|{},{}|{}:{}:{}:{}|t{}|{}|{}{}",
      op_kind_name(kind), dtype_name(dtype), dtype_name(wdtype), ew ? ew_kind_name(*ew) : "", M, K,
      N, gemm_batch, weight_format_name(wformat), density, group_size, dtype_name(kv_dtype), B,
      heads, kv_heads, head_dim, q_len, kv_len, causal, flops, T, H, collective, message_bytes,
      ranks, eager ? "eager" : "graph", threads, attn_impl_name(attn_impl), ew_impl_name(ew_impl),
      ew_residual ? "+res" : "") +
         (reuse_bytes > 0 ? fmt::format("|r{}", reuse_bytes) : std::string());
}

namespace {

// Bytes of a [N,K] weight matrix in its storage format.
double weight_matrix_bytes(const Op& op) {
  const double n = double(op.K) * double(op.N);
  const double b = dtype_bytes(op.wdtype);
  // Weight-only schemes keep one fp16 scale per group of a row (GPTQ/AWQ layout).
  const double scales =
      op.group_size > 0 ? std::ceil(double(op.K) / double(op.group_size)) * op.N * 2.0 : 0.0;
  switch (op.wformat) {
    case WeightFormat::kDense:
      return n * b + scales;
    // 2:4 keeps half the values plus a 2-bit position for each kept value.
    case WeightFormat::kSparse24:
      return n / 2 * b + n / 2 * 2.0 / 8.0 + scales;
    // CSR: values and 32-bit column indices of the kept weights, and N+1 row pointers.
    case WeightFormat::kCsr:
      return n * op.density * (b + 4.0) + (double(op.N) + 1) * 4.0;
    // Bitmap: the kept values packed, plus one bit per position.
    case WeightFormat::kBitmap:
      return n * op.density * b + n / 8.0;
  }
  return n * b;
}

void finalize_gemm(Op& op) {
  const double dense_flops = 2.0 * double(op.M) * double(op.K) * double(op.N);
  // Sparse formats (CSR, bitmap) skip the pruned products. 2:4 counts dense-equivalent FLOPs:
  // hardware with 2:4 support runs them at twice the dense rate, other hardware at the dense rate.
  op.flops = (op.wformat == WeightFormat::kCsr || op.wformat == WeightFormat::kBitmap)
                 ? dense_flops * op.density
                 : dense_flops;
  op.weight_bytes = weight_matrix_bytes(op);
  op.in_bytes = double(op.M) * double(op.K) * dtype_bytes(op.dtype);
  // Integer and fp8 GEMMs write a 16-bit result (dequantised in the epilogue), as real kernels do.
  const bool wide = op.dtype == DType::kFp32 || op.dtype == DType::kTf32;
  op.out_bytes = double(op.M) * double(op.N) * (wide ? 4.0 : 2.0);
  // Weight-only quantisation: each weight is expanded (scale multiply and convert, 2 ops) once
  // per 128-row block of activations, as dequantising GEMM kernels do.
  const bool weight_only = op.wdtype != op.dtype && dtype_bytes(op.wdtype) < dtype_bytes(op.dtype);
  op.dequant_flops =
      weight_only ? 2.0 * double(op.K) * double(op.N) * std::ceil(double(op.M) / 128.0) : 0.0;
  const double g = double(op.gemm_batch);
  op.flops *= g;
  op.dequant_flops *= g;
  op.weight_bytes *= g;
  op.in_bytes *= g;
  op.out_bytes *= g;
}

void finalize_attention(Op& op) {
  // Query i (of q_len, aligned to the end of the kv_len keys) sees kv_len - q_len + i + 1 keys
  // when causal; all kv_len keys otherwise.
  const double q = double(op.q_len), kv = double(op.kv_len);
  const double pairs = op.causal ? q * (kv - q) + q * (q + 1) / 2.0 : q * kv;
  op.flops = 4.0 * double(op.B) * double(op.heads) * double(op.head_dim) * pairs;  // Q·Kᵀ and P·V
  const double b = dtype_bytes(op.dtype);
  // An 8-bit KV cache carries one fp16 scale per token and head for K and for V.
  const double kv_scale = dtype_bytes(op.kv_dtype) < 2 ? 2.0 / double(op.head_dim) : 0.0;
  op.in_bytes = double(op.B) * double(op.head_dim) *
                (double(op.heads) * q * b +
                 2.0 * double(op.kv_heads) * kv * (dtype_bytes(op.kv_dtype) + kv_scale));
  op.out_bytes = double(op.B) * double(op.heads) * q * double(op.head_dim) * b;
  op.weight_bytes = 0;
}

void finalize_elementwise(Op& op) {
  const double b = dtype_bytes(op.dtype);
  const double n = double(op.T) * double(op.H);
  double per_elem = 0, reads = 1, weights = 0, out_b = b;
  if (op.ew) {
    const EwKindInfo& e = ew_info(*op.ew);
    per_elem = e.flops_per_elem;
    reads = e.reads_per_elem;
    weights = e.weights_per_col * double(op.H) + e.weights_per_elem * n;
    if (e.out_bytes_per_elem > 0) out_b = e.out_bytes_per_elem;
  }
  if (op.ew_residual) {  // fused add + norm: the residual is read and the sum written too
    per_elem += 1;
    reads += 1;
  }
  op.flops = per_elem * n;
  op.in_bytes = reads * n * b;
  op.weight_bytes = weights * b;
  op.out_bytes = n * out_b * (op.ew_residual ? 2.0 : 1.0);
}

}  // namespace

void finalize(Op& op) {
  op.dequant_flops = 0;
  op.sparse_2_4 = op.wformat == WeightFormat::kSparse24;
  switch (op.kind) {
    case OpKind::kGemm:
      finalize_gemm(op);
      break;
    case OpKind::kAttention:
      finalize_attention(op);
      break;
    case OpKind::kElementwise:
    case OpKind::kEmbedding:
      finalize_elementwise(op);
      break;
    case OpKind::kKvAppend: {
      const double n =
          double(op.B) * double(op.q_len) * 2.0 * double(op.kv_heads) * double(op.head_dim);
      op.flops =
          dtype_bytes(op.kv_dtype) < 2 ? 3.0 * n : 0.0;  // quantising to 8 bits costs a few ops
      op.in_bytes = n * dtype_bytes(op.dtype);
      op.out_bytes = n * dtype_bytes(op.kv_dtype);
      op.weight_bytes = 0;
      break;
    }
    case OpKind::kCollective:
      op.flops = op.collective == "all_reduce" || op.collective == "reduce_scatter"
                     ? op.message_bytes / dtype_bytes(op.dtype)
                     : 0.0;
      op.in_bytes = op.message_bytes;
      op.out_bytes = op.message_bytes;
      op.weight_bytes = 0;
      break;
  }
}

Op make_gemm(std::string name, int64_t M, int64_t K, int64_t N, DType dtype, bool sparse_2_4) {
  Op op;
  op.kind = OpKind::kGemm;
  op.name = std::move(name);
  op.dtype = dtype;
  op.wdtype = dtype;
  op.M = M;
  op.K = K;
  op.N = N;
  op.wformat = sparse_2_4 ? WeightFormat::kSparse24 : WeightFormat::kDense;
  op.density = sparse_2_4 ? 0.5 : 1.0;
  finalize(op);
  return op;
}

Op make_attention(std::string name, int64_t B, int64_t heads, int64_t kv_heads, int64_t head_dim,
                  int64_t q_len, int64_t kv_len, bool causal, DType dtype) {
  Op op;
  op.kind = OpKind::kAttention;
  op.name = std::move(name);
  op.dtype = dtype;
  op.kv_dtype = dtype;
  op.B = B;
  op.heads = heads;
  op.kv_heads = kv_heads;
  op.head_dim = head_dim;
  op.q_len = q_len;
  op.kv_len = kv_len;
  op.causal = causal;
  finalize(op);
  return op;
}

Op make_elementwise(std::string name, EwKind kind, int64_t T, int64_t H, DType dtype) {
  const EwKindInfo& e = ew_info(kind);
  if (e.op_kind == OpKind::kKvAppend)
    throw std::invalid_argument(fmt::format("'{}' is not an elementwise op", e.name));
  Op op;
  op.kind = e.op_kind;
  op.name = std::move(name);
  op.dtype = dtype;
  op.ew = kind;
  op.T = T;
  op.H = H;
  finalize(op);
  return op;
}

Op make_kv_append(std::string name, int64_t B, int64_t q_len, int64_t kv_heads, int64_t head_dim,
                  DType kv_dtype) {
  Op op;
  op.kind = OpKind::kKvAppend;
  op.name = std::move(name);
  op.ew = EwKind::kKvAppend;
  op.dtype = DType::kBf16;
  op.kv_dtype = kv_dtype;
  op.B = B;
  op.q_len = q_len;
  op.kv_heads = kv_heads;
  op.head_dim = head_dim;
  op.T = B * q_len;
  op.H = 2 * kv_heads * head_dim;
  finalize(op);
  return op;
}

Op make_collective(std::string name, std::string collective, double message_bytes, int ranks) {
  Op op;
  op.kind = OpKind::kCollective;
  op.name = std::move(name);
  op.collective = std::move(collective);
  op.message_bytes = message_bytes;
  op.ranks = ranks;
  finalize(op);
  return op;
}

std::string op_shape_label(const Op& op) {
  switch (op.kind) {
    case OpKind::kGemm:
      return fmt::format("M={} K={} N={}{}{}", op.M, op.K, op.N,
                         op.gemm_batch > 1 ? fmt::format(" x{}", op.gemm_batch) : "",
                         op.wdtype != op.dtype ? fmt::format(" w:{}", dtype_name(op.wdtype)) : "");
    case OpKind::kAttention:
      return fmt::format("B={} h={}/{} d={} q={} kv={}{}", op.B, op.heads, op.kv_heads, op.head_dim,
                         op.q_len, op.kv_len, op.causal ? " causal" : "");
    case OpKind::kCollective:
      return fmt::format("{} {:.0f} B x{} ranks{}", op.collective, op.message_bytes, op.ranks,
                         op.eager ? " eager" : "");
    default:
      return fmt::format("{} T={} H={}", op.ew ? ew_kind_name(*op.ew) : "", op.T, op.H);
  }
}

}  // namespace xpusim
