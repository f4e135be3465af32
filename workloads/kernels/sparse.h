// Sparse weight matrices for GEMM: 2:4 semi-structured (two kept values in every group of four
// along k, with 2-bit positions, as NVIDIA sparse tensor cores store them) and unstructured
// CSR, both produced by magnitude pruning of a dense fp32 [rows, cols] matrix, and the GEMMs
// Y[m, rows] = X[m, cols] * W^T that read them in any floating-point datapath.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "workloads/kernels/gemm.h"

namespace xpusim::kernels {

struct Sparse24Matrix {
  std::size_t rows = 0;
  std::size_t cols = 0;  // a multiple of 4
  // rows * cols / 2 kept values: for each group of 4 along a row, its two kept values in
  // ascending position order.
  std::vector<float> values;
  // The positions: per group 4 bits (first position in bits 0-1, second in bits 2-3, first <
  // second), two groups per byte (the even group in the low nibble); a row takes
  // meta_bytes_per_row() bytes.
  std::vector<std::uint8_t> meta;

  std::size_t groups_per_row() const { return cols / 4; }
  std::size_t meta_bytes_per_row() const { return (groups_per_row() + 1) / 2; }
  // The two positions (0..3) kept in group g of `row`.
  std::pair<int, int> positions(std::size_t row, std::size_t group) const;
};

// Keeps the two largest |w| of every group of four (on ties, the lower position). Throws
// std::invalid_argument unless cols % 4 == 0 and w.size() == rows * cols.
Sparse24Matrix prune_2_4(std::span<const float> w, std::size_t rows, std::size_t cols);
std::vector<float> to_dense(const Sparse24Matrix& s);

struct CsrMatrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<std::size_t> row_ptr;      // rows + 1 offsets into col_index / values
  std::vector<std::uint32_t> col_index;  // ascending within a row
  std::vector<float> values;

  std::size_t nnz() const { return values.size(); }
  double density() const { return rows * cols == 0 ? 0.0 : double(nnz()) / double(rows * cols); }
};

// Magnitude pruning over the whole matrix: keeps the round(density * rows * cols) entries of
// largest |w| (on ties, the lower row-major index), density in [0, 1]. Kept zeros are stored.
CsrMatrix prune_unstructured(std::span<const float> w, std::size_t rows, std::size_t cols,
                             double density);
// Every non-zero of a dense matrix.
CsrMatrix to_csr(std::span<const float> w, std::size_t rows, std::size_t cols);
std::vector<float> to_dense(const CsrMatrix& s);

// Sparse GEMMs in a floating-point datapath (kFp32, kBf16, kFp16, kFp8E4M3, kFp8E5M2 inputs,
// fp32 accumulation; fp8 scales from the kept values). Skipping a zero product never changes
// an fp32 FMA chain that starts at +0, so both give results bit-identical to
// gemm(dp, x, to_dense(w)) for finite inputs. x: [m, w.cols]; y: [m, w.rows].
// gemm_sparse24 decompresses panels into the dense engine (the speed of a dense GEMM; the
// timing model, not this kernel, gives 2:4 its 2x). gemm_csr is a row-wise sparse kernel whose
// work scales with the non-zeros.
void gemm_sparse24(const Datapath& dp, std::span<const float> x, const Sparse24Matrix& w,
                   std::span<float> y, std::size_t m, const KernelOptions& opt = {});
void gemm_csr(const Datapath& dp, std::span<const float> x, const CsrMatrix& w, std::span<float> y,
              std::size_t m, const KernelOptions& opt = {});

}  // namespace xpusim::kernels
