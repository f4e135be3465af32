// Sparse weights: 2:4 and unstructured magnitude pruning keep exactly the largest entries, the
// compressed forms expand back to the pruned matrix, and both sparse GEMMs are bit-identical
// to the dense GEMM on the pruned matrix in every floating-point datapath and ISA (skipping a
// zero product leaves an fp32 FMA chain from +0 unchanged).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "workloads/kernels/sparse.h"

namespace xpusim::kernels {
namespace {

std::vector<float> random_vec(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa i : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512})
    if (isa_supported(i)) out.push_back(i);
  return out;
}

const Datapath kFloatDatapaths[] = {kDatapathFp32, kDatapathBf16, kDatapathFp16, kDatapathFp8E4M3};

TEST(KernelsSparse, Prune24KeepsTwoLargestPerGroupWithPackedPositions) {
  const std::vector<float> w = {0.1f, -3.0f, 2.0f,  0.5f,   // keeps 1, 2
                                1.0f, 1.0f,  1.0f,  1.0f,   // ties: keeps 0, 1
                                0.0f, 0.0f,  -0.0f, 4.0f};  // keeps 0 (lower on a tie), 3
  const Sparse24Matrix s = prune_2_4(w, 1, 12);
  EXPECT_EQ(s.values, (std::vector<float>{-3.0f, 2.0f, 1.0f, 1.0f, 0.0f, 4.0f}));
  EXPECT_EQ(s.positions(0, 0), std::make_pair(1, 2));
  EXPECT_EQ(s.positions(0, 1), std::make_pair(0, 1));
  EXPECT_EQ(s.positions(0, 2), std::make_pair(0, 3));
  EXPECT_EQ(s.meta, (std::vector<std::uint8_t>{0x49, 0x0C}));  // 0b1001 | 0b0100 << 4, 0b1100
  EXPECT_EQ(to_dense(s), (std::vector<float>{0, -3, 2, 0, 1, 1, 0, 0, 0, 0, 0, 4}));
  EXPECT_THROW(prune_2_4(w, 2, 6), std::invalid_argument);
}

TEST(KernelsSparse, Prune24OnRandomMatrixIsHalfDenseAndDominates) {
  const std::size_t n = 7, k = 36;
  const auto w = random_vec(n * k, 1);
  const auto d = to_dense(prune_2_4(w, n, k));
  for (std::size_t g = 0; g < n * k / 4; ++g) {
    int kept = 0;
    float min_kept = INFINITY, max_dropped = 0;
    for (int i = 0; i < 4; ++i) {
      const float orig = w[4 * g + i], v = d[4 * g + i];
      if (v != 0.0f) {
        ++kept;
        EXPECT_EQ(v, orig);
        min_kept = std::min(min_kept, std::fabs(v));
      } else {
        max_dropped = std::max(max_dropped, std::fabs(orig));
      }
    }
    EXPECT_EQ(kept, 2);
    EXPECT_GE(min_kept, max_dropped);
  }
}

TEST(KernelsSparse, UnstructuredPruningKeepsLargestAtDensity) {
  const std::size_t n = 10, k = 33;
  const auto w = random_vec(n * k, 2);
  for (double density : {0.0, 0.1, 0.5, 1.0}) {
    const CsrMatrix s = prune_unstructured(w, n, k, density);
    EXPECT_EQ(s.nnz(), std::size_t(std::llround(density * n * k)));
    std::vector<float> mags;
    for (float v : w) mags.push_back(std::fabs(v));
    std::sort(mags.rbegin(), mags.rend());
    for (float v : s.values) EXPECT_GE(std::fabs(v), s.nnz() < mags.size() ? mags[s.nnz()] : 0.0f);
    for (std::size_t r = 0; r < n; ++r)
      EXPECT_TRUE(std::is_sorted(s.col_index.begin() + s.row_ptr[r],
                                 s.col_index.begin() + s.row_ptr[r + 1]));
    const auto d = to_dense(s);
    for (std::size_t i = 0; i < w.size(); ++i) EXPECT_TRUE(d[i] == 0.0f || d[i] == w[i]);
  }
  EXPECT_THROW(prune_unstructured(w, n, k, 1.5), std::invalid_argument);
  EXPECT_EQ(to_dense(to_csr(to_dense(prune_unstructured(w, n, k, 0.3)), n, k)),
            to_dense(prune_unstructured(w, n, k, 0.3)));
}

TEST(KernelsSparse, Sparse24GemmEqualsDenseGemmOnPrunedMatrix) {
  const std::size_t m = 14, n = 37, k = 264;  // k crosses a 256 panel boundary mid-row
  const auto x = random_vec(m * k, 3), w = random_vec(n * k, 4);
  const Sparse24Matrix s = prune_2_4(w, n, k);
  const auto pruned = to_dense(s);
  for (const Datapath& dp : kFloatDatapaths) {
    std::vector<float> want(m * n);
    gemm(dp, x, pruned, want, {m, n, k});
    for (Isa isa : supported_isas()) {
      std::vector<float> y(m * n);
      gemm_sparse24(dp, x, s, y, m, {2, isa});
      ASSERT_EQ(y, want) << datapath_name(dp) << " " << isa_name(isa);
    }
  }
}

TEST(KernelsSparse, CsrGemmEqualsDenseGemmOnPrunedMatrix) {
  const std::size_t m = 35, n = 70, k = 50;  // m crosses the 32-row X block; n the 64-row task
  const auto x = random_vec(m * k, 5), w = random_vec(n * k, 6);
  for (double density : {0.5, 0.05}) {
    const CsrMatrix s = prune_unstructured(w, n, k, density);
    const auto pruned = to_dense(s);
    for (const Datapath& dp : kFloatDatapaths) {
      std::vector<float> want(m * n);
      gemm(dp, x, pruned, want, {m, n, k});
      for (Isa isa : supported_isas()) {
        std::vector<float> y(m * n);
        gemm_csr(dp, x, s, y, m, {2, isa});
        ASSERT_EQ(y, want) << datapath_name(dp) << " " << isa_name(isa) << " density " << density;
      }
    }
  }
}

TEST(KernelsSparse, RejectsMalformedInputs) {
  const auto w = random_vec(8 * 8, 7);
  std::vector<float> x(2 * 8), y(2 * 8);
  CsrMatrix s = prune_unstructured(w, 8, 8, 0.5);
  s.col_index[0] = 8;
  EXPECT_THROW(gemm_csr(kDatapathFp32, x, s, y, 2), std::invalid_argument);
  EXPECT_THROW(gemm_csr(kDatapathInt8, x, prune_unstructured(w, 8, 8, 0.5), y, 2),
               std::invalid_argument);
  EXPECT_THROW(gemm_sparse24(kDatapathW4A16, x, prune_2_4(w, 8, 8), y, 2), std::invalid_argument);
  std::vector<float> short_y(3);
  EXPECT_THROW(gemm_sparse24(kDatapathFp32, x, prune_2_4(w, 8, 8), short_y, 2),
               std::invalid_argument);
}

}  // namespace
}  // namespace xpusim::kernels
