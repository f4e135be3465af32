// Fold plans and cycle counts of one systolic array (formulas and their source in systolic.h).
#include "arch/tpu/systolic.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/base/errors.h"

namespace xpusim {

std::string_view dataflow_name(Dataflow d) {
  switch (d) {
    case Dataflow::kWs:
      return "ws";
    case Dataflow::kOs:
      return "os";
    case Dataflow::kIs:
      return "is";
  }
  return "?";
}

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

FoldPlan plan_folds(const SystolicArray& a, int64_t M, int64_t K, int64_t N) {
  XPUSIM_ASSERT(M >= 1 && K >= 1 && N >= 1, "a GEMM on the array needs M, K, N >= 1");
  XPUSIM_ASSERT(a.rows >= 1 && a.cols >= 1 && a.macs_per_pe >= 1, "array of at least 1 x 1 PE");
  const int64_t R = a.rows, C = a.cols;
  FoldPlan p;
  int64_t stationary_load = 0;  // cycles to shift the stationary operand into the PEs
  switch (a.dataflow) {
    case Dataflow::kWs:
      p.sr = K, p.sc = N, p.t = M, stationary_load = R;
      break;
    case Dataflow::kOs:
      p.sr = M, p.sc = N, p.t = K, stationary_load = 0;
      break;
    case Dataflow::kIs:
      p.sr = K, p.sc = M, p.t = N, stationary_load = R;
      break;
  }
  p.row_folds = ceil_div(p.sr, R);
  p.col_folds = ceil_div(p.sc, C);
  p.folds = p.row_folds * p.col_folds;
  const int64_t stream = ceil_div(p.t, a.macs_per_pe);
  p.fold_cycles = stationary_load + R + C + stream - 2;
  // Shapes near the input limits (2^31 per dimension on a 1 x 1 array) would overflow; the
  // device refuses such an operator as too long to simulate, so saturate instead.
  const int64_t max = std::numeric_limits<int64_t>::max();
  p.compute_cycles = p.folds > max / p.fold_cycles ? max : p.folds * p.fold_cycles;
  p.mapping_eff = double(p.sr) * double(p.sc) / (double(p.folds) * double(R) * double(C));
  const double m = double(M), k = double(K), n = double(N);
  switch (a.dataflow) {
    case Dataflow::kWs:
      p.ifmap_words = m * k * double(p.col_folds);
      p.filter_words = k * n;
      p.ofmap_words = m * n * double(p.row_folds);
      break;
    case Dataflow::kOs:
      p.ifmap_words = m * k * double(p.col_folds);
      p.filter_words = k * n * double(p.row_folds);
      p.ofmap_words = m * n;
      break;
    case Dataflow::kIs:
      p.ifmap_words = m * k;
      p.filter_words = k * n * double(p.col_folds);
      p.ofmap_words = m * n * double(p.row_folds);
      break;
  }
  return p;
}

OperandTraffic dram_traffic(const SystolicArray& a, int64_t M, int64_t K, int64_t N,
                            double ifmap_sram_words, double filter_sram_words, bool reorder,
                            double acc_words) {
  const FoldPlan p = plan_folds(a, M, K, N);
  const double m = double(M), k = double(K), n = double(N);
  const double if_half = ifmap_sram_words / 2, f_half = filter_sram_words / 2;
  OperandTraffic t;
  t.ofmap_words = p.ofmap_words;
  switch (a.dataflow) {
    case Dataflow::kWs:
      t.filter_words = k * n;
      t.ifmap_words = m * k <= if_half ? m * k : p.ifmap_words;
      break;
    case Dataflow::kOs: {
      t.ifmap_words = m * k <= if_half ? m * k : p.ifmap_words;
      const double slice = k * double(std::min<int64_t>(N, a.cols));
      t.filter_words = k * n <= f_half || slice <= f_half ? k * n : p.filter_words;
      break;
    }
    case Dataflow::kIs:
      t.ifmap_words = m * k;
      t.filter_words = k * n <= f_half ? k * n : p.filter_words;
      break;
  }
  if (reorder) {
    const double m_tiles = std::ceil(m * k / std::max(1.0, if_half));
    const double tiled = m * k + k * n * m_tiles;
    if (tiled < t.ifmap_words + t.filter_words)
      t.ifmap_words = m * k, t.filter_words = k * n * m_tiles;
    const double width = double(std::max(a.rows, a.cols));
    if (acc_words >= width * width) {
      const double side = std::floor(std::sqrt(acc_words) / width) * width;
      const double mt = std::min(m, side);
      const double nt = std::min(n, std::floor(acc_words / mt / width) * width);
      const double x = m * k * std::ceil(n / nt), w = k * n * std::ceil(m / mt);
      if (x + w < t.ifmap_words + t.filter_words) t.ifmap_words = x, t.filter_words = w;
    }
  }
  return t;
}

}  // namespace xpusim
