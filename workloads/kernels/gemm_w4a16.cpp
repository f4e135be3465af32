// W4A16 GEMM: group-quantised int4 weights (packed two per byte, numerics/int_quant.h) are
// dequantised to bf16 while each W panel is packed, then multiplied with bf16-rounded
// activations on the fp32-accumulating engine: the dequantise-to-bf16 path of Marlin/AWQ-style
// kernels, where the tensor core itself only ever sees bf16.
#include <stdexcept>
#include <string>
#include <vector>

#include "workloads/kernels/float_operand.h"
#include "workloads/kernels/gemm.h"
#include "workloads/kernels/gemm_engine.h"

namespace xpusim::kernels {
namespace {

void check_int4(const numerics::PackedInt4& w) {
  if (w.group_size == 0 || w.group_size % 2 != 0 || w.cols % w.group_size != 0)
    throw std::invalid_argument("gemm_w4a16: bad int4 group size " + std::to_string(w.group_size));
  detail::check_size(w.packed.size(), w.rows * w.cols / 2, "packed int4 W");
  detail::check_size(w.scale.size(), w.rows * w.groups_per_row(), "int4 scales");
  if (w.scheme == numerics::QuantScheme::kAsymmetric)
    detail::check_size(w.zero_point.size(), w.scale.size(), "int4 zero points");
}

// Row `row`, columns [k0, k0 + count) of the bf16 weights; k0 and count are even.
void dequantize_row_bf16(const numerics::PackedInt4& w, std::size_t row, std::size_t k0,
                         std::size_t count, float* dst) {
  const bool asym = w.scheme == numerics::QuantScheme::kAsymmetric;
  const std::uint8_t* bytes = w.packed.data() + (row * w.cols + k0) / 2;
  const std::size_t g_base = row * w.groups_per_row();
  for (std::size_t i = 0; i < count; i += 2) {
    const std::size_t g = g_base + (k0 + i) / w.group_size;  // a byte never straddles groups
    const float s = w.scale[g];
    const int z = asym ? w.zero_point[g] : 0;
    const std::uint8_t b = bytes[i / 2];
    const int lo = static_cast<int>(b & 0x0F) - ((b & 0x08) ? 16 : 0);
    const int hi = static_cast<int>(b >> 4) - ((b & 0x80) ? 16 : 0);
    dst[i] = static_cast<float>(lo - z) * s;
    dst[i + 1] = static_cast<float>(hi - z) * s;
  }
  numerics::quantize_bf16({dst, count}, {dst, count});
}

}  // namespace

void gemm_w4a16(std::span<const float> x, const numerics::PackedInt4& w, std::span<float> y,
                std::size_t m, const KernelOptions& opt) {
  check_int4(w);
  const std::size_t n = w.rows, k = w.cols;
  detail::check_size(x.size(), m * k, "X");
  detail::check_size(y.size(), m * n, "Y");
  if (m == 0 || n == 0) return;
  const unsigned threads = resolve_threads(opt.num_threads);
  const std::vector<float> xr =
      detail::round_matrix(x, {numerics::FloatFormat::kBf16, 1.0f}, threads);
  detail::WeightRows rows;
  // Panels start at multiples of the (even) block size, and kc is even unless k is, which the
  // even group size excludes, so every call covers whole bytes.
  rows.fill = [&](std::size_t n0, std::size_t r, std::size_t k0, std::size_t kc, float* dst) {
    for (std::size_t i = 0; i < r; ++i) dequantize_row_bf16(w, n0 + i, k0, kc, dst + i * kc);
  };
  detail::f32_gemm_engine(xr.data(), m, n, k, rows, y.data(), opt);
}

std::vector<float> dequantize_w4_to_bf16(const numerics::PackedInt4& w) {
  check_int4(w);
  std::vector<float> out(w.rows * w.cols);
  for (std::size_t r = 0; r < w.rows; ++r)
    dequantize_row_bf16(w, r, 0, w.cols, out.data() + r * w.cols);
  return out;
}

}  // namespace xpusim::kernels
