// One operator of an inference graph, as a real stack would launch it: shapes, number formats,
// floating-point operations and the minimum bytes it must move (each tensor read or written once).
// FLOPs count a multiply-add as 2; bytes are what crosses the device's main-memory interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/dtype.h"

namespace xpusim {

enum class OpKind { kGemm, kAttention, kElementwise, kEmbedding, kKvAppend, kCollective };
std::string_view op_kind_name(OpKind k);

// The elementwise kernels (and the embedding gather and KV-cache append, which the same kernel
// models time), declared once in ew_kinds(). Its order is the order of their per-kernel
// parameters in device schemas.
enum class EwKind {
  kRmsnorm,
  kLayernorm,
  kSoftmax,
  kGelu,
  kSiluMul,
  kResidualAdd,
  kRope,
  kKvAppend,
  kRelu,
  kEmbedding,
  kQuantize,
  kCopy,  // a device-to-device memcpy (cudaMemcpy's own copy kernel): reads and writes T x H
};
inline constexpr std::size_t kEwKindCount = 12;
constexpr std::size_t ew_index(EwKind k) { return static_cast<std::size_t>(k); }

struct EwKindInfo {
  EwKind kind;
  std::string_view name;      // as written in model files, predict CSVs and outputs
  OpKind op_kind;             // kElementwise, kEmbedding (a table gather) or kKvAppend
  double flops_per_elem;      // of the T x H output
  double reads_per_elem;      // activation elements read per output element
  double weights_per_col;     // weight vectors of length H read once (a norm's scale and shift)
  double weights_per_elem;    // weight elements read per output element (an embedding's rows)
  double out_bytes_per_elem;  // 0: one element of the op's format
  bool row_reduction;         // reduces along the row (norms, softmax): one CTA per row
  bool calibrated;            // measured, with its own kernel parameters per device; the others
                              // share the devices' `other` kernel
};
const std::vector<EwKindInfo>& ew_kinds();  // every kind, in EwKind order
const EwKindInfo& ew_info(EwKind k);
std::string_view ew_kind_name(EwKind k);
std::optional<EwKind> ew_kind_from_name(std::string_view name);

// Which fused-attention kernel runs an attention op (issue 15's software stacks): FlashAttention-2
// (sm80 mma.sync code: PyTorch's FLASH_ATTENTION backend), cuDNN's fused attention (PyTorch's
// default SDPA on Hopper: a wgmma kernel for prefill, a 16-query-row mma.sync kernel for decode),
// FlashAttention-3 (Hopper wgmma + TMA, what vLLM-style engines run there), or PyTorch's math
// SDPA (fp32 upcast, CUDA-core GEMMs, the mask and softmax as separate kernels).
enum class AttnImpl { kFlash2, kCudnn, kFlash3, kMath };
std::string_view attn_impl_name(AttnImpl a);
std::optional<AttnImpl> attn_impl_from_name(std::string_view name);

// How an elementwise op is launched: one kernel (a Triton or serving-engine kernel: kFused; what
// torch.compile generates: kCompiled), or the generic kernels that eager PyTorch launches for the
// op as Hugging Face writes it (kEager: RMSNorm as 8 kernels, SiLU·mul as 2 on strided halves).
enum class EwImpl { kFused, kCompiled, kEager };
std::string_view ew_impl_name(EwImpl e);

// How a GEMM's weight matrix is stored.
enum class WeightFormat { kDense, kSparse24, kCsr, kBitmap };
std::string_view weight_format_name(WeightFormat f);

struct Op {
  OpKind kind = OpKind::kGemm;
  std::string name;            // "attn.qkv", "mlp.down", "lm_head"
  DType dtype = DType::kBf16;  // activations and the arithmetic (the unit's input format)
  int64_t repeat = 1;          // identical instances in one forward pass (one per layer)
  int stage = 0;               // pipeline stage that runs it (not part of the signature)

  // kGemm: Y[M,N] = X[M,K] * W[N,K]^T
  int64_t M = 0, K = 0, N = 0;
  int64_t gemm_batch = 1;       // independent GEMMs of this shape in one launch (batched matmul)
  DType wdtype = DType::kBf16;  // weight storage; differs from dtype for weight-only quantisation
  WeightFormat wformat = WeightFormat::kDense;
  double density = 1.0;     // fraction of weights kept (pruning)
  bool sparse_2_4 = false;  // = (wformat == kSparse24), kept in step by finalize()
  int64_t group_size = 0;   // weight-only quantisation: one fp16 scale per group (0 = per channel)
  int threads = 0;          // CPU cores to use; 0 = all
  // Bytes the caller touches between two calls of this op (a model's weights and KV cache in a
  // decode loop, a benchmark's rotation of operand copies, or the op's own operands when a loop
  // re-runs it on the same buffers): what of it fits stays in the cache from one call to the
  // next (CPU: the weights in the LLC; GPU: its operands in L2, l2.reuse_*). 0 = unknown (the
  // operands come from main memory).
  double reuse_bytes = 0;

  // kAttention (fused, flash-style) and kKvAppend
  int64_t B = 0, heads = 0, kv_heads = 0, head_dim = 0, q_len = 0, kv_len = 0;
  bool causal = false;
  DType kv_dtype = DType::kBf16;  // KV-cache storage

  AttnImpl attn_impl = AttnImpl::kFlash2;

  // kElementwise / kEmbedding: T rows of H elements
  std::optional<EwKind> ew;  // also set (kKvAppend) on KV appends
  int64_t T = 0, H = 0;
  EwImpl ew_impl = EwImpl::kFused;
  // A norm that first adds the residual stream (fused add + norm): it also reads the residual and
  // writes the sum.
  bool ew_residual = false;

  // kCollective
  std::string collective;    // all_reduce | all_gather | reduce_scatter | all_to_all | send
  double message_bytes = 0;  // the whole buffer, as nccl-tests sizes it (all_gather: its output,
                             // reduce_scatter: its input)
  int ranks = 1;
  // Launched from eager PyTorch (not captured in a CUDA graph): back-to-back calls are issued by
  // the host, whose per-call cost can exceed the device's time for small messages.
  bool eager = false;

  // Derived by finalize() from the fields above.
  double flops = 0;
  double dequant_flops = 0;  // vector-unit work to expand compressed weights (weight-only schemes)
  double weight_bytes = 0;   // parameters read
  double in_bytes = 0;       // activations (and KV cache) read
  double out_bytes = 0;      // results written
  double total_bytes() const { return weight_bytes + in_bytes + out_bytes; }

  // Everything that determines the op's timing on a device; the op-result cache key.
  std::string signature() const;
};

// Recomputes flops and bytes from the shape and format fields; call after changing any of them.
void finalize(Op& op);

Op make_gemm(std::string name, int64_t M, int64_t K, int64_t N, DType dtype,
             bool sparse_2_4 = false);
Op make_attention(std::string name, int64_t B, int64_t heads, int64_t kv_heads, int64_t head_dim,
                  int64_t q_len, int64_t kv_len, bool causal, DType dtype);
// kind: any EwKind but kKvAppend (make_kv_append builds those).
Op make_elementwise(std::string name, EwKind kind, int64_t T, int64_t H, DType dtype);
// Appends q_len new tokens of K and V (kv_heads × head_dim each) for B sequences to the cache.
Op make_kv_append(std::string name, int64_t B, int64_t q_len, int64_t kv_heads, int64_t head_dim,
                  DType kv_dtype);
// message_bytes per rank; ranks >= 2.
Op make_collective(std::string name, std::string collective, double message_bytes, int ranks);

// A short description of the shape for tables and reports: "M=1 K=4096 N=12288 x8 w:int4",
// "B=1 h=32/8 d=128 q=1 kv=4096 causal", "all_reduce 65536 B x4 ranks", "rmsnorm T=16 H=4096".
std::string op_shape_label(const Op& op);

}  // namespace xpusim
