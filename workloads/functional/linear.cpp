// Weight preparation per scheme and dispatch to the GEMM kernels.
#include "workloads/functional/linear.h"

#include <stdexcept>

#include "workloads/numerics/formats.h"
#include "workloads/numerics/int_quant.h"

namespace xpusim::functional {

Linear::Linear(std::span<const float> w, std::size_t out_features, std::size_t in_features,
               const LinearScheme& s)
    : n_(out_features), k_(in_features), s_(s), view_(w) {
  if (w.size() != n_ * k_)
    throw std::invalid_argument("Linear: weight size does not match its shape");
  // A scheme that changes the weights keeps its own copy; otherwise the Linear reads the
  // checkpoint's weights in place (the datapath rounds its inputs as it multiplies), so that
  // several schemes of a 7B model do not each hold a copy of it.
  using E = LinearScheme::WeightEmulation;
  if (s_.emulation == E::kFp8Dequant) {
    // Per-tensor scale as fp8 deployments use, e4m3 rounding with saturation, back to fp32.
    w_.assign(w.begin(), w.end());
    const float scale = kernels::fp8_tensor_scale(w_, numerics::FloatFormat::kFp8E4M3);
    for (float& v : w_) v = numerics::round_to_e4m3(v / scale) * scale;
  } else if (s_.emulation == E::kInt8Dequant) {
    numerics::Int8QuantConfig cfg;
    cfg.granularity = numerics::Granularity::kPerChannel;
    w_ = numerics::dequantize_int8(numerics::quantize_int8(w, n_, k_, cfg));
  }
  const std::span<const float> src = w_.empty() ? w : std::span<const float>(w_);
  if (s_.datapath.input == kernels::GemmInput::kInt4Bf16) {
    numerics::Int4QuantConfig cfg;
    // The scheme's group size, or the largest of 64 and 32 that divides a narrow layer's width.
    cfg.group_size = s_.datapath.int4_group_size;
    while (cfg.group_size > 32 && k_ % cfg.group_size != 0) cfg.group_size /= 2;
    int4_ = numerics::quantize_int4(src, n_, k_, cfg);
  }
  if (s_.prune == LinearScheme::Prune::k24) s24_ = kernels::prune_2_4(src, n_, k_);
  if (s_.prune == LinearScheme::Prune::kUnstructured)
    csr_ = kernels::prune_unstructured(src, n_, k_, s_.density);
  if (int4_ || s24_ || csr_) {  // the packed form is all that apply() reads
    w_.clear();
    w_.shrink_to_fit();
    view_ = {};
  }
}

void Linear::apply(std::span<const float> x, std::span<float> y, std::size_t m,
                   const kernels::KernelOptions& opt) const {
  if (s24_) return kernels::gemm_sparse24(s_.datapath, x, *s24_, y, m, opt);
  if (csr_) return kernels::gemm_csr(s_.datapath, x, *csr_, y, m, opt);
  if (int4_) return kernels::gemm_w4a16(x, *int4_, y, m, opt);
  // Own weights after emulation, else the checkpoint's (read through view_).
  kernels::gemm(s_.datapath, x, w_.empty() ? view_ : std::span<const float>(w_), y,
                kernels::GemmShape{m, n_, k_}, opt);
}

}  // namespace xpusim::functional
