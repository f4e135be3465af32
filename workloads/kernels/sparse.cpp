// Magnitude pruning into the 2:4 and CSR formats of sparse.h, and their expansion back to
// dense fp32 matrices (for tests and for the dense reference of a pruned model).
#include "workloads/kernels/sparse.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "workloads/kernels/float_operand.h"

namespace xpusim::kernels {

std::pair<int, int> Sparse24Matrix::positions(std::size_t row, std::size_t group) const {
  const std::uint8_t byte = meta.at(row * meta_bytes_per_row() + group / 2);
  const int nibble = (group % 2 ? byte >> 4 : byte) & 0x0F;
  return {nibble & 3, nibble >> 2};
}

Sparse24Matrix prune_2_4(std::span<const float> w, std::size_t rows, std::size_t cols) {
  if (cols % 4 != 0)
    throw std::invalid_argument("prune_2_4: cols = " + std::to_string(cols) +
                                " is not a multiple of 4");
  detail::check_size(w.size(), rows * cols, "W");
  Sparse24Matrix s;
  s.rows = rows;
  s.cols = cols;
  s.values.reserve(rows * cols / 2);
  s.meta.assign(rows * s.meta_bytes_per_row(), 0);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t g = 0; g < s.groups_per_row(); ++g) {
      const float* v = w.data() + r * cols + 4 * g;
      // The largest, then the largest of the rest; strict > keeps the lower position on ties.
      int first = 0;
      for (int i = 1; i < 4; ++i)
        if (std::fabs(v[i]) > std::fabs(v[first])) first = i;
      int second = first == 0 ? 1 : 0;
      for (int i = 0; i < 4; ++i)
        if (i != first && std::fabs(v[i]) > std::fabs(v[second])) second = i;
      const int lo = std::min(first, second), hi = std::max(first, second);
      s.values.push_back(v[lo]);
      s.values.push_back(v[hi]);
      const auto nibble = static_cast<std::uint8_t>(lo | (hi << 2));
      s.meta[r * s.meta_bytes_per_row() + g / 2] |= g % 2 ? nibble << 4 : nibble;
    }
  }
  return s;
}

std::vector<float> to_dense(const Sparse24Matrix& s) {
  std::vector<float> out(s.rows * s.cols, 0.0f);
  for (std::size_t r = 0; r < s.rows; ++r)
    for (std::size_t g = 0; g < s.groups_per_row(); ++g) {
      const auto [lo, hi] = s.positions(r, g);
      const std::size_t v = (r * s.groups_per_row() + g) * 2;
      out[r * s.cols + 4 * g + lo] = s.values.at(v);
      out[r * s.cols + 4 * g + hi] = s.values.at(v + 1);
    }
  return out;
}

CsrMatrix prune_unstructured(std::span<const float> w, std::size_t rows, std::size_t cols,
                             double density) {
  if (!(density >= 0.0 && density <= 1.0))
    throw std::invalid_argument("prune_unstructured: density " + std::to_string(density) +
                                " is outside [0, 1]");
  detail::check_size(w.size(), rows * cols, "W");
  const std::size_t keep = static_cast<std::size_t>(std::llround(density * double(w.size())));
  std::vector<std::uint32_t> order(w.size());
  std::iota(order.begin(), order.end(), 0u);
  // A strict total order (|w| descending, then index), so the kept set is deterministic.
  const auto before = [&](std::uint32_t a, std::uint32_t b) {
    const float fa = std::fabs(w[a]), fb = std::fabs(w[b]);
    return fa != fb ? fa > fb : a < b;
  };
  if (keep < order.size())
    std::nth_element(order.begin(), order.begin() + keep, order.end(), before);
  std::vector<bool> kept(w.size(), false);
  for (std::size_t i = 0; i < keep; ++i) kept[order[i]] = true;

  CsrMatrix s;
  s.rows = rows;
  s.cols = cols;
  s.row_ptr.assign(rows + 1, 0);
  s.col_index.reserve(keep);
  s.values.reserve(keep);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c)
      if (kept[r * cols + c]) {
        s.col_index.push_back(static_cast<std::uint32_t>(c));
        s.values.push_back(w[r * cols + c]);
      }
    s.row_ptr[r + 1] = s.values.size();
  }
  return s;
}

CsrMatrix to_csr(std::span<const float> w, std::size_t rows, std::size_t cols) {
  detail::check_size(w.size(), rows * cols, "W");
  CsrMatrix s;
  s.rows = rows;
  s.cols = cols;
  s.row_ptr.assign(rows + 1, 0);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c)
      if (w[r * cols + c] != 0.0f) {
        s.col_index.push_back(static_cast<std::uint32_t>(c));
        s.values.push_back(w[r * cols + c]);
      }
    s.row_ptr[r + 1] = s.values.size();
  }
  return s;
}

std::vector<float> to_dense(const CsrMatrix& s) {
  std::vector<float> out(s.rows * s.cols, 0.0f);
  for (std::size_t r = 0; r < s.rows; ++r)
    for (std::size_t i = s.row_ptr.at(r); i < s.row_ptr.at(r + 1); ++i)
      out[r * s.cols + s.col_index.at(i)] = s.values.at(i);
  return out;
}

}  // namespace xpusim::kernels
