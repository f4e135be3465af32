// Norms, softmax, activations and RoPE against closed forms evaluated in fp64. Tolerances count
// the fp32 roundings of each formula (u = 2^-24 relative per operation, libm's expf, erff,
// tanhf, sinf, cosf within 2 ulp) and are stated per test.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>
#include <vector>

#include "workloads/kernels/elementwise.h"
#include "workloads/kernels/rope.h"

namespace xpusim::kernels {
namespace {

const double kU = std::ldexp(1.0, -24);

std::vector<float> random_vec(std::size_t n, unsigned seed, float lo = -4.0f, float hi = 4.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(KernelsElementwise, RmsNormMatchesClosedForm) {
  // mean (rounded once), + eps, sqrt, reciprocal, two products: <= 6 roundings of u, plus
  // libm-free (sqrt is correctly rounded): |err| <= 8 u |ref|.
  const std::size_t rows = 5, dim = 96;
  const auto x = random_vec(rows * dim, 1), wt = random_vec(dim, 2, 0.5f, 1.5f);
  std::vector<float> out(x.size());
  rms_norm(x, wt, out, rows, 1e-5f);
  for (std::size_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (std::size_t i = 0; i < dim; ++i) ss += double(x[r * dim + i]) * x[r * dim + i];
    const double inv = 1.0 / std::sqrt(ss / dim + 1e-5);
    for (std::size_t i = 0; i < dim; ++i) {
      const double want = wt[i] * x[r * dim + i] * inv;
      ASSERT_NEAR(out[r * dim + i], want, 8 * kU * std::fabs(want) + 1e-30);
    }
  }
  auto inplace = x;
  rms_norm(inplace, wt, inplace, rows, 1e-5f);
  EXPECT_EQ(inplace, out);
}

TEST(KernelsElementwise, LayerNormMatchesClosedFormWithLargeMean) {
  // A mean of 1000 and unit spread: the two-pass variance keeps full precision. x - mean is
  // exact to within u |mean| (mean rounded to fp32), then <= 6 roundings: tol = 8 u |ref| +
  // u |mean| * r |gamma|.
  const std::size_t rows = 3, dim = 64;
  auto x = random_vec(rows * dim, 3, 999.0f, 1001.0f);
  const auto g = random_vec(dim, 4, 0.5f, 1.5f), b = random_vec(dim, 5, -1.0f, 1.0f);
  std::vector<float> out(x.size()), no_bias(x.size());
  layer_norm(x, g, b, out, rows, 1e-5f);
  layer_norm(x, g, {}, no_bias, rows, 1e-5f);
  for (std::size_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (std::size_t i = 0; i < dim; ++i) mean += x[r * dim + i];
    mean /= dim;
    for (std::size_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
    const double inv = 1.0 / std::sqrt(var / dim + 1e-5);
    for (std::size_t i = 0; i < dim; ++i) {
      const double v = (x[r * dim + i] - mean) * inv * g[i];
      const double tol = 8 * kU * (std::fabs(v) + std::fabs(b[i])) + kU * 1001 * inv * g[i];
      ASSERT_NEAR(out[r * dim + i], v + b[i], tol);
      ASSERT_NEAR(no_bias[r * dim + i], v, tol);
    }
  }
}

TEST(KernelsElementwise, SoftmaxIsStableAndMatchesClosedForm) {
  // x - max rounds with u |x - max|, which expf turns into that much relative error, plus
  // expf (2 ulp) and the division: tol = (|x - max| + 4) u relative.
  const std::size_t rows = 4, dim = 50;
  auto x = random_vec(rows * dim, 6, -20.0f, 20.0f);
  x[0] = 1000.0f;  // overflow without the max subtraction
  std::vector<float> out(x.size());
  softmax(x, out, rows);
  for (std::size_t r = 0; r < rows; ++r) {
    double mx = -INFINITY, sum = 0;
    for (std::size_t i = 0; i < dim; ++i) mx = std::max(mx, double(x[r * dim + i]));
    for (std::size_t i = 0; i < dim; ++i) sum += std::exp(x[r * dim + i] - mx);
    double total = 0;
    for (std::size_t i = 0; i < dim; ++i) {
      const double want = std::exp(x[r * dim + i] - mx) / sum;
      ASSERT_NEAR(out[r * dim + i], want, (std::fabs(x[r * dim + i] - mx) + 4) * kU * want + 1e-45);
      total += out[r * dim + i];
    }
    EXPECT_NEAR(total, 1.0, dim * 4 * kU);
  }
  EXPECT_THROW(softmax(x, out, 3), std::invalid_argument);
}

TEST(KernelsElementwise, ActivationsMatchClosedForms) {
  const auto x = random_vec(1000, 7, -12.0f, 12.0f), up = random_vec(1000, 8);
  std::vector<float> s(x.size()), sw(x.size()), ge(x.size()), gt(x.size());
  silu(x, s);
  swiglu(x, up, sw);
  gelu_erf(x, ge);
  gelu_tanh(x, gt);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    // silu: expf (2 ulp), the sum and the division: 5 u relative.
    const double silu_ref = v / (1 + std::exp(-v));
    ASSERT_NEAR(s[i], silu_ref, 5 * kU * std::fabs(silu_ref) + 1e-40);
    ASSERT_NEAR(sw[i], silu_ref * up[i], 6 * kU * std::fabs(silu_ref * up[i]) + 1e-40);
    // GELU: 1 + erf (or tanh) cancels for negative x, so the 2-ulp error of erff/tanhf (< 2^-23
    // absolute, the value being below 1) is absolute, scaled by |x|/2; other roundings 5 u rel.
    const double ge_ref = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    ASSERT_NEAR(ge[i], ge_ref, 5 * kU * std::fabs(ge_ref) + std::fabs(v) * 2 * kU);
    const double gt_ref =
        0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    // The tanh argument also rounds (4 ops, 4 u relative), moving tanh by at most its
    // derivative (<= 1) times that.
    const double arg = std::fabs(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v));
    ASSERT_NEAR(gt[i], gt_ref, 5 * kU * std::fabs(gt_ref) + std::fabs(v) * (2 * kU + 2 * kU * arg));
  }
  // The two GELUs agree to about 1e-3 (the tanh approximation's own error).
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(ge[i], gt[i], 2e-3);
}

TEST(KernelsElementwise, RopeIsAComplexRotationOfHalfPairs) {
  const RopeConfig cfg{64, 500000.0f};
  const std::size_t tokens = 6, heads = 3, half = cfg.head_dim / 2;
  const std::vector<std::int64_t> pos = {0, 1, 7, 100, 2047, 8191};
  const auto x = random_vec(tokens * heads * cfg.head_dim, 9, -1.0f, 1.0f);
  auto y = x;
  apply_rope(y, tokens, heads, pos, cfg);
  std::vector<float> inv(half);
  rope_inv_freq(cfg, inv);
  for (std::size_t t = 0; t < tokens; ++t)
    for (std::size_t h = 0; h < heads; ++h)
      for (std::size_t i = 0; i < half; ++i) {
        const std::size_t o = (t * heads + h) * cfg.head_dim;
        const std::complex<double> z(x[o + i], x[o + i + half]);
        // (1) Against exact angles pos * theta^(-2i/d): the fp32 angle errs by <= 4 u |angle|
        // (exponent, pow, reciprocal, product), which moves the output by that times |z|.
        const double exact = double(pos[t]) * std::pow(500000.0, -2.0 * i / cfg.head_dim);
        const auto r = z * std::polar(1.0, exact);
        const double tol = (4 * kU * exact + 6 * kU) * std::abs(z) * 2;
        ASSERT_NEAR(y[o + i], r.real(), tol);
        ASSERT_NEAR(y[o + i + half], r.imag(), tol);
        // (2) Against the same fp32 angle: only cosf/sinf (2 ulp) and 3 roundings remain.
        const float a = float(pos[t]) * inv[i];
        const auto r2 = z * std::polar(1.0, double(a));
        ASSERT_NEAR(y[o + i], r2.real(), 6 * kU * std::abs(z) * 2);
        ASSERT_NEAR(y[o + i + half], r2.imag(), 6 * kU * std::abs(z) * 2);
      }
  auto z = x;
  apply_rope(z, tokens, heads, std::size_t{0}, cfg);  // positions 0..5: token 0 unchanged
  for (std::size_t i = 0; i < heads * cfg.head_dim; ++i) EXPECT_EQ(z[i], x[i]);
  EXPECT_THROW(apply_rope(z, tokens, heads, std::size_t{0}, RopeConfig{63}), std::invalid_argument);
}

}  // namespace
}  // namespace xpusim::kernels
