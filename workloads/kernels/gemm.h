// Functional GEMM kernels, Y[m,n] = X[m,k] * W[n,k]^T (W row-major [out, in], as a Linear
// layer), emulating an accelerator datapath: the input format both operands are rounded or
// quantised to, and the accumulator. All tensors are row-major fp32 at the interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "workloads/kernels/kernel_options.h"
#include "workloads/numerics/formats.h"
#include "workloads/numerics/int_quant.h"

namespace xpusim::kernels {

struct GemmShape {
  std::size_t m = 0;  // rows of X and Y (tokens)
  std::size_t n = 0;  // rows of W, columns of Y (output features)
  std::size_t k = 0;  // columns of X and W (input features)
};

// What the multiplier consumes. Float formats round both operands to nearest even with the
// numerics library: bf16/fp16 as IEEE conversions (overflow -> Inf), fp8 after dividing by a
// per-tensor fp32 scale s = amax / max_finite and saturating as Hopper does, the fp32 result
// then multiplied by (s_x * s_w). Each product enters an fp32 FMA unrounded (and products of
// bf16, fp16 or fp8 values are exact in fp32 anyway), so the only rounding is the sequential
// fp32 accumulation. A tensor core's internal adder tree and alignment are not modelled.
enum class GemmInput {
  kFp64,      // reference: fp64 products and sums (accumulate must be kFp64)
  kFp32,      // plain fp32 (AVX-512 / SIMT fp32)
  kBf16,      // bf16 x bf16
  kFp16,      // fp16 x fp16
  kFp8E4M3,   // e4m3 x e4m3, per-tensor scales
  kFp8E5M2,   // e5m2 x e5m2, per-tensor scales
  kInt8,      // W8A8: symmetric per-channel int8 W, symmetric per-token int8 X, int32 sums
  kInt4Bf16,  // W4A16: symmetric group-quantised int4 W dequantised to bf16, bf16 X
};

enum class Accumulator { kFp64, kFp32, kInt32 };

struct Datapath {
  GemmInput input = GemmInput::kFp32;
  Accumulator accumulate = Accumulator::kFp32;
  // Y is rounded to this format at the end (kFp32: left as accumulated).
  numerics::FloatFormat output = numerics::FloatFormat::kFp32;
  std::size_t int4_group_size = 128;  // kInt4Bf16 only; must divide k
};

inline constexpr Datapath kDatapathFp64{GemmInput::kFp64, Accumulator::kFp64};
inline constexpr Datapath kDatapathFp32{GemmInput::kFp32, Accumulator::kFp32};
inline constexpr Datapath kDatapathBf16{GemmInput::kBf16, Accumulator::kFp32};
inline constexpr Datapath kDatapathFp16{GemmInput::kFp16, Accumulator::kFp32};
inline constexpr Datapath kDatapathFp8E4M3{GemmInput::kFp8E4M3, Accumulator::kFp32};
inline constexpr Datapath kDatapathInt8{GemmInput::kInt8, Accumulator::kInt32};
inline constexpr Datapath kDatapathW4A16{GemmInput::kInt4Bf16, Accumulator::kFp32};

// "bf16*bf16->fp32", "int8*int8->int32", ... with "->bf16 out" when the output is rounded.
std::string datapath_name(const Datapath& dp);
// Empty when the combination is one a kernel implements, else why not (e.g. int8 inputs with
// an fp32 accumulator). gemm() throws std::invalid_argument with this text.
std::string datapath_error(const Datapath& dp);

// ---- Dense GEMM ---------------------------------------------------------------------------
// Sizes: x.size() == m*k, w.size() == n*k, y.size() == m*n, else std::invalid_argument.
// Float datapaths give bit-identical results for any thread count and ISA: each output is one
// chain of fp32 FMAs in ascending k, starting from +0, exactly like the naive loop
//   acc = 0; for (k) acc = fmaf(x[m][k], w[n][k], acc);
// (on the rounded operands). Tiling, threads and SIMD width never change the sum order.
void gemm_f32(std::span<const float> x, std::span<const float> w, std::span<float> y,
              GemmShape shape, const KernelOptions& opt = {});

// Any datapath: rounds or quantises X and W as it says, then multiplies. int8 quantises W per
// channel and X per token (symmetric, fp32 scales); int4 quantises W in groups of
// int4_group_size (symmetric, fp32 scales). Output is fp32, rounded to dp.output.
void gemm(const Datapath& dp, std::span<const float> x, std::span<const float> w,
          std::span<float> y, GemmShape shape, const KernelOptions& opt = {});

// ---- Weights converted once ---------------------------------------------------------------
// W [n, k] held in a datapath's weight storage: rounded (float formats, with the fp8 scale),
// int8 per channel, or int4 in groups, so that repeated GEMMs (a model's layers) pay the
// conversion at load time, as an inference engine does. gemm() with prepared weights gives
// results bit-identical to gemm(dp, x, w, ...) with the original W.
class PreparedWeights {
 public:
  // Throws std::invalid_argument for an unsupported datapath or w.size() != n * k.
  PreparedWeights(const Datapath& dp, std::span<const float> w, std::size_t n, std::size_t k,
                  unsigned num_threads = 0);
  const Datapath& datapath() const { return dp_; }
  std::size_t n() const { return n_; }
  std::size_t k() const { return k_; }

 private:
  friend void gemm(const PreparedWeights& w, std::span<const float> x, std::span<float> y,
                   std::size_t m, const KernelOptions& opt);
  Datapath dp_;
  std::size_t n_ = 0, k_ = 0;
  std::vector<float> values_;  // float datapaths: round(w / scale_); fp64: w
  float scale_ = 1.0f;
  numerics::QuantizedInt8 int8_;
  numerics::PackedInt4 int4_;
};

// Y[m, w.n()] = X[m, w.k()] * W^T in w's datapath.
void gemm(const PreparedWeights& w, std::span<const float> x, std::span<float> y, std::size_t m,
          const KernelOptions& opt = {});

// The fp64 reference: y[m][n] = sum_k double(x) * double(w) (products exact, fp64 sums).
std::vector<double> gemm_reference_f64(std::span<const float> x, std::span<const float> w,
                                       GemmShape shape, unsigned num_threads = 0);

// Per-tensor fp32 scale that maps max|x| to the format's largest finite value (fp8); 1 for
// an all-zero tensor. Throws std::invalid_argument for non-finite input.
float fp8_tensor_scale(std::span<const float> x, numerics::FloatFormat f);

// ---- int8 x int8 -> int32 (W8A8) ----------------------------------------------------------
// x: [m, k] quantised per tensor or per token, symmetric or asymmetric; w: [n, k] quantised
// symmetric, per tensor or per channel. acc[m][n] = sum_k (qx - zx[m]) * qw — exact: the kernel
// accumulates in int32 and k <= 65536 guarantees |acc| < 2^31 (255 * 127 * 65536 < 2^31).
// Throws std::invalid_argument for mismatched shapes, asymmetric w or k > 65536.
void gemm_int8_accumulate(const numerics::QuantizedInt8& x, const numerics::QuantizedInt8& w,
                          std::span<std::int32_t> acc, const KernelOptions& opt = {});
// Dequantised: y[m][n] = (float(acc[m][n]) * x_scale(m)) * w_scale(n), each product one fp32
// rounding, in that order.
void gemm_int8(const numerics::QuantizedInt8& x, const numerics::QuantizedInt8& w,
               std::span<float> y, const KernelOptions& opt = {});
constexpr std::size_t kInt8MaxK = 65536;

// ---- int4 weights, bf16 activations (W4A16, dequantise-to-bf16 path) -----------------------
// Each weight is dequantised as a kernel like Marlin does before its bf16 MMA:
//   w_bf16 = round_to_bf16(float(q - zero_point) * scale)  (symmetric or asymmetric groups),
// X is rounded to bf16, and the products accumulate in fp32 as in gemm_f32. x: [m, w.cols].
void gemm_w4a16(std::span<const float> x, const numerics::PackedInt4& w, std::span<float> y,
                std::size_t m, const KernelOptions& opt = {});
// The bf16 weight matrix that gemm_w4a16 multiplies by (for tests and error analysis).
std::vector<float> dequantize_w4_to_bf16(const numerics::PackedInt4& w);

}  // namespace xpusim::kernels
