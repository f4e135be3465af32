// One R x C systolic array running a GEMM Y[M,N] = X[M,K] * W[K,N] in a weight-, output- or
// input-stationary dataflow: how the GEMM folds onto the array and how many cycles each fold
// takes, in array clock cycles, with no memory stalls. Operand traffic per fold for a
// double-buffered SRAM in front of each operand (words).
//
// The mapping and the cycle counts are those of SCALE-Sim v2's released code
// (github.com/scalesim-project/scale-sim-v2, scalesim/compute/systolic_compute_{ws,os,is}.py at
// commit 22f88b17f1dd3160e18bff5df165035bf8146e83), which builds per-fold demand matrices whose
// row count is the fold's cycle count. SCALE-Sim runs a GEMM as a 1-wide convolution, so its
// ifmap operand is X (M x K), its filter W (K x N) and its ofmap Y (M x N). Each dataflow puts
// two of M, K, N on the array (Sr on the rows, Sc on the columns) and streams the third (T):
//
//   dataflow  Sr  Sc  T   cycles of one fold              stationary in the PEs
//   ws        K   N   M   2R + C + T - 2                  weights (filter)
//   os        M   N   K   R + C + T - 2                   outputs (partial sums)
//   is        K   M   N   2R + C + T - 2                  inputs (ifmap)
//
// ws and is: R cycles to shift the stationary operand in, then the streaming operand enters with
// an R-1 cycle skew across the rows, T values per row, and the last result drains through C-1
// more columns (R + (T + R + C - 2)). os: no stationary load; T operands enter with R-1 and C-1
// cycles of skew along the two edges. The SCALE-Sim paper (Samajdar et al., ISPASS 2020) counts
// 2R + C + T - 2 for os as well; the released code's os fold is R cycles shorter, and this model
// follows the code.
//
//   folds          = ceil(Sr / R) * ceil(Sc / C)       (row folds x column folds)
//   compute cycles = folds * fold cycles
//   mapping eff.   = mean over folds of used PEs / (R C) = Sr Sc / (folds R C)
// SCALE-Sim reports "Total Cycles" as the index of the last busy cycle, counted from 0: with no
// stalls (its CALC bandwidth mode) that is compute cycles - 1.
//
// Its fold order is column folds outer, row folds inner. The data each fold needs: ws: the
// R x C block of W and the T x R slice of X for its row fold; it writes a T x C block of partial
// sums of Y (so Y is written once per row fold). os: the R x T slice of X and the T x C slice of
// W; it writes its R x C block of Y once. is: the R x C block of X (transposed) and the T x R
// slice of W; it writes T x C partial sums of Y (once per row fold).
#pragma once

#include <cstdint>
#include <string_view>

namespace xpusim {

enum class Dataflow { kWs, kOs, kIs };
std::string_view dataflow_name(Dataflow d);  // "ws", "os", "is"

struct SystolicArray {
  int64_t rows = 1, cols = 1;
  Dataflow dataflow = Dataflow::kWs;
  // Multiply-adds one PE completes per cycle for the op's format (2 for int8 on a TPU v5e MXU):
  // the streamed dimension T passes through in ceil(T / macs_per_pe) cycles.
  int64_t macs_per_pe = 1;
};

struct FoldPlan {
  int64_t sr = 0, sc = 0, t = 0;  // the GEMM dimensions on rows, columns and time
  int64_t row_folds = 0, col_folds = 0;
  int64_t folds = 0;
  int64_t fold_cycles = 0;
  int64_t compute_cycles = 0;  // folds * fold_cycles
  double mapping_eff = 0;      // 0..1
  // Words one pass over all folds moves between the SRAMs and the array, per operand, when every
  // fold refetches its operands (the SRAM traffic); ifmap = X, filter = W, ofmap = Y.
  double ifmap_words = 0, filter_words = 0, ofmap_words = 0;
};

// M, K, N >= 1 and rows, cols >= 1 (asserted).
FoldPlan plan_folds(const SystolicArray& a, int64_t M, int64_t K, int64_t N);

// Main-memory words of each operand when each sits in its own double-buffered SRAM of
// `*_words` words (half active, half filling): an operand whose whole matrix fits in the active
// half is read once; otherwise it is read again on every pass over it that the fold order makes
// (ws: X once per column fold; os: X once per column fold, and W once per fold unless the
// K x C slice that the inner row-fold loop reuses fits; is: W once per column fold). Y's partial
// sums leave once per fold that writes them (the ofmap buffer drains, it does not accumulate across
// row folds, as in SCALE-Sim).
struct OperandTraffic {
  double ifmap_words = 0, filter_words = 0, ofmap_words = 0;
};
// reorder: a compiler may instead cut M into tiles whose X fits the active half and stream all
// of W once per tile (X read once, W read ceil(M K / half) times); it picks whichever order moves
// fewer words. With accumulators (acc_words > 0: the fp32 partial sums the output buffer's active
// half holds) it may also block the output: m x n tiles of Y stay in the accumulators while K
// streams through the input halves, so X is read ceil(N / n) times and W ceil(M / m) times (the
// tile as square as the accumulators allow, in whole array widths), XLA's blocked GEMM.
OperandTraffic dram_traffic(const SystolicArray& a, int64_t M, int64_t K, int64_t N,
                            double ifmap_sram_words, double filter_sram_words,
                            bool reorder = false, double acc_words = 0);

}  // namespace xpusim
