// GEMM with weights converted once (PreparedWeights): the same datapaths as gemm(), minus the
// per-call rounding or quantisation of W. Only X is rounded or quantised per call.
#include <algorithm>
#include <stdexcept>

#include "workloads/kernels/float_operand.h"
#include "workloads/kernels/gemm.h"
#include "workloads/kernels/gemm_engine.h"

namespace xpusim::kernels {

PreparedWeights::PreparedWeights(const Datapath& dp, std::span<const float> w, std::size_t n,
                                 std::size_t k, unsigned num_threads)
    : dp_(dp), n_(n), k_(k) {
  if (const std::string err = datapath_error(dp); !err.empty())
    throw std::invalid_argument("kernels: datapath " + datapath_name(dp) + ": " + err);
  detail::check_size(w.size(), n * k, "W");
  const unsigned threads = resolve_threads(num_threads);
  if (dp.input == GemmInput::kFp64) {
    values_.assign(w.begin(), w.end());
  } else if (dp.input == GemmInput::kInt8) {
    if (n != 0 && k != 0)
      int8_ = numerics::quantize_int8(w, n, k, {.granularity = numerics::Granularity::kPerChannel});
  } else if (dp.input == GemmInput::kInt4Bf16) {
    if (n != 0 && k != 0)
      int4_ = numerics::quantize_int4(w, n, k, {.group_size = dp.int4_group_size});
  } else {
    const detail::FloatOperand op = detail::make_float_operand(dp.input, w);
    values_ = detail::round_matrix(w, op, threads);
    scale_ = op.scale;
  }
}

void gemm(const PreparedWeights& w, std::span<const float> x, std::span<float> y, std::size_t m,
          const KernelOptions& opt) {
  const Datapath& dp = w.dp_;
  const GemmShape s{m, w.n_, w.k_};
  detail::check_size(x.size(), s.m * s.k, "X");
  detail::check_size(y.size(), s.m * s.n, "Y");
  const unsigned threads = resolve_threads(opt.num_threads);
  if (s.m == 0 || s.n == 0) return;
  if (dp.input == GemmInput::kFp64) return gemm(dp, x, w.values_, y, s, opt);
  if (s.k == 0) {
    std::fill(y.begin(), y.end(), 0.0f);
  } else if (dp.input == GemmInput::kInt8) {
    const auto qx =
        numerics::quantize_int8(x, s.m, s.k, {.granularity = numerics::Granularity::kPerToken});
    gemm_int8(qx, w.int8_, y, opt);
  } else if (dp.input == GemmInput::kInt4Bf16) {
    gemm_w4a16(x, w.int4_, y, s.m, opt);
  } else {
    const detail::FloatOperand ox = detail::make_float_operand(dp.input, x);
    detail::WeightRows rows;
    rows.dense = w.values_.data();
    rows.ld = s.k;
    if (ox.identity()) {
      detail::f32_gemm_engine(x.data(), s.m, s.n, s.k, rows, y.data(), opt);
    } else {
      const std::vector<float> xr = detail::round_matrix(x, ox, threads);
      detail::f32_gemm_engine(xr.data(), s.m, s.n, s.k, rows, y.data(), opt);
    }
    detail::finish_output(y, ox.scale * w.scale_, numerics::FloatFormat::kFp32, threads);
  }
  detail::finish_output(y, 1.0f, dp.output, threads);
}

}  // namespace xpusim::kernels
