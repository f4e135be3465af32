// Weight preparation per scheme and dispatch to the GEMM kernels.
#include "workloads/functional/linear.h"

#include <stdexcept>

#include "workloads/numerics/formats.h"
#include "workloads/numerics/int_quant.h"

namespace xpusim::functional {

Linear::Linear(std::span<const float> w, std::size_t out_features, std::size_t in_features,
               const LinearScheme& s)
    : n_(out_features), k_(in_features), s_(s), w_(w.begin(), w.end()) {
  if (w.size() != n_ * k_)
    throw std::invalid_argument("Linear: weight size does not match its shape");
  using E = LinearScheme::WeightEmulation;
  if (s_.emulation == E::kFp8Dequant) {
    // Per-tensor scale as fp8 deployments use, e4m3 rounding with saturation, back to fp32.
    const float scale = kernels::fp8_tensor_scale(w_, numerics::FloatFormat::kFp8E4M3);
    for (float& v : w_) v = numerics::round_to_e4m3(v / scale) * scale;
  } else if (s_.emulation == E::kInt8Dequant) {
    numerics::Int8QuantConfig cfg;
    cfg.granularity = numerics::Granularity::kPerChannel;
    w_ = numerics::dequantize_int8(numerics::quantize_int8(w_, n_, k_, cfg));
  }
  if (s_.datapath.input == kernels::GemmInput::kInt4Bf16) {
    numerics::Int4QuantConfig cfg;
    // The scheme's group size, or the largest of 64 and 32 that divides a narrow layer's width.
    cfg.group_size = s_.datapath.int4_group_size;
    while (cfg.group_size > 32 && k_ % cfg.group_size != 0) cfg.group_size /= 2;
    int4_ = numerics::quantize_int4(w_, n_, k_, cfg);
  }
  if (s_.prune == LinearScheme::Prune::k24) s24_ = kernels::prune_2_4(w_, n_, k_);
  if (s_.prune == LinearScheme::Prune::kUnstructured)
    csr_ = kernels::prune_unstructured(w_, n_, k_, s_.density);
}

void Linear::apply(std::span<const float> x, std::span<float> y, std::size_t m,
                   const kernels::KernelOptions& opt) const {
  if (s24_) return kernels::gemm_sparse24(s_.datapath, x, *s24_, y, m, opt);
  if (csr_) return kernels::gemm_csr(s_.datapath, x, *csr_, y, m, opt);
  if (int4_) return kernels::gemm_w4a16(x, *int4_, y, m, opt);
  kernels::gemm(s_.datapath, x, w_, y, kernels::GemmShape{m, n_, k_}, opt);
}

}  // namespace xpusim::functional
