// Dense GEMM datapaths against independent references: the fp32 engine is bit-identical to a
// naive fmaf loop on every ISA and thread count; each float datapath meets its rounding-error
// bound against fp64; int8 equals an int64 loop exactly; W4A16 equals bf16 GEMM on the
// dequantised weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "workloads/kernels/gemm.h"

namespace xpusim::kernels {
namespace {

using numerics::FloatFormat;

std::vector<float> random_vec(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
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

// The documented semantics: one fmaf per product, ascending k, from +0.
std::vector<float> naive_fma(const std::vector<float>& x, const std::vector<float>& w,
                             GemmShape s) {
  std::vector<float> y(s.m * s.n);
  for (std::size_t i = 0; i < s.m; ++i)
    for (std::size_t j = 0; j < s.n; ++j) {
      float acc = 0.0f;
      for (std::size_t k = 0; k < s.k; ++k) acc = std::fma(x[i * s.k + k], w[j * s.k + k], acc);
      y[i * s.n + j] = acc;
    }
  return y;
}

std::vector<float> rounded(std::vector<float> v, FloatFormat f, float scale = 1.0f) {
  for (auto& x : v)
    x = numerics::round_to_format(x / scale, f, numerics::OverflowMode::kSaturating);
  return v;
}

// Sum_k |x_k w_k| per output: the scale of every error bound below.
std::vector<double> abs_products(const std::vector<float>& x, const std::vector<float>& w,
                                 GemmShape s) {
  std::vector<float> ax(x), aw(w);
  for (auto& v : ax) v = std::fabs(v);
  for (auto& v : aw) v = std::fabs(v);
  return gemm_reference_f64(ax, aw, s, 1);
}

// Edge shapes around every ISA's tile sizes (mr 4/6/12, nr 16/32, k block 256) and a degenerate k.
const GemmShape kShapes[] = {{1, 1, 1},     {5, 17, 3},    {13, 33, 300},
                             {25, 70, 257}, {12, 32, 512}, {7, 9, 0}};

TEST(KernelsGemm, Fp32BitIdenticalToNaiveFmaLoopOnEveryIsaAndThreadCount) {
  for (const GemmShape s : kShapes) {
    const auto x = random_vec(s.m * s.k, 1), w = random_vec(s.n * s.k, 2);
    const auto want = naive_fma(x, w, s);
    for (Isa isa : supported_isas())
      for (unsigned threads : {1u, 3u}) {
        std::vector<float> y(s.m * s.n, 123.0f);
        gemm_f32(x, w, y, s, {threads, isa});
        ASSERT_EQ(y, want) << "isa " << isa_name(isa) << " threads " << threads << " shape " << s.m
                           << "x" << s.n << "x" << s.k;
      }
  }
}

TEST(KernelsGemm, Fp32WithinSequentialSummationBoundOfFp64) {
  // Sequential fp32 FMA accumulation: |y - exact| <= gamma_k * sum|x w|, gamma_k = k u / (1 - k u),
  // u = 2^-24 (each of the k FMAs rounds once; products are exact inside an FMA).
  const GemmShape s{9, 40, 1000};
  const auto x = random_vec(s.m * s.k, 3), w = random_vec(s.n * s.k, 4);
  std::vector<float> y(s.m * s.n);
  gemm_f32(x, w, y, s);
  const auto ref = gemm_reference_f64(x, w, s);
  const auto mag = abs_products(x, w, s);
  const double u = std::ldexp(1.0, -24), gamma = s.k * u / (1 - s.k * u);
  for (std::size_t i = 0; i < y.size(); ++i)
    EXPECT_LE(std::fabs(y[i] - ref[i]), gamma * mag[i]) << i;
}

TEST(KernelsGemm, FloatDatapathsEqualFmaLoopOnRoundedOperandsAndMeetErrorBound) {
  // Each input rounds with relative error <= u_in (bf16 2^-8, fp16 2^-11, e4m3 2^-4, e5m2 2^-3)
  // or, for values in fp8's subnormal range, absolute error <= scale * 2^-(bias + mantissa) / 2.
  // A product then errs by <= |x||dw| + |dx||w^| and the fp32 sum adds gamma_k * sum|x^ w^|
  // (no sqrt(k) luck assumed: the bound is deterministic), plus the final fp8 rescale (2 u).
  struct Case {
    Datapath dp;
    FloatFormat f;
    double u_in, sub_abs;  // unit roundoff, half the smallest subnormal (unscaled)
  };
  const Case cases[] = {
      {kDatapathBf16, FloatFormat::kBf16, std::ldexp(1.0, -8), std::ldexp(1.0, -134)},
      {kDatapathFp16, FloatFormat::kFp16, std::ldexp(1.0, -11), std::ldexp(1.0, -25)},
      {kDatapathFp8E4M3, FloatFormat::kFp8E4M3, std::ldexp(1.0, -4), std::ldexp(1.0, -10)},
      {{GemmInput::kFp8E5M2, Accumulator::kFp32},
       FloatFormat::kFp8E5M2,
       std::ldexp(1.0, -3),
       std::ldexp(1.0, -17)}};
  const GemmShape s{6, 37, 300};
  const auto x = random_vec(s.m * s.k, 5, -2.0f, 2.0f), w = random_vec(s.n * s.k, 6, -0.05f, 0.05f);
  const auto ref = gemm_reference_f64(x, w, s);
  const double u = std::ldexp(1.0, -24), gamma = s.k * u / (1 - s.k * u);
  for (const Case& c : cases) {
    const bool fp8 = c.f == FloatFormat::kFp8E4M3 || c.f == FloatFormat::kFp8E5M2;
    const float sx = fp8 ? fp8_tensor_scale(x, c.f) : 1.0f,
                sw = fp8 ? fp8_tensor_scale(w, c.f) : 1.0f;
    const auto xr = rounded(x, c.f, sx), wr = rounded(w, c.f, sw);
    auto want = naive_fma(xr, wr, s);
    for (auto& v : want) v *= sx * sw;
    for (Isa isa : supported_isas()) {
      std::vector<float> y(s.m * s.n);
      gemm(c.dp, x, w, y, s, {2, isa});
      ASSERT_EQ(y, want) << datapath_name(c.dp) << " on " << isa_name(isa);
    }
    std::vector<float> y(s.m * s.n);
    gemm(c.dp, x, w, y, s);
    double err2 = 0, ref2 = 0;
    for (std::size_t i = 0; i < s.m; ++i)
      for (std::size_t j = 0; j < s.n; ++j) {
        double bound = 0, mag = 0;
        for (std::size_t k = 0; k < s.k; ++k) {
          const double xv = x[i * s.k + k], wv = w[j * s.k + k];
          const double dx = std::max(c.u_in * std::fabs(xv), c.sub_abs * sx);
          const double dw = std::max(c.u_in * std::fabs(wv), c.sub_abs * sw);
          bound += std::fabs(xv) * dw + dx * (std::fabs(wv) + dw);
          mag += (std::fabs(xv) + dx) * (std::fabs(wv) + dw);
        }
        bound += gamma * mag + 2 * u * mag;
        const double e = y[i * s.n + j] - ref[i * s.n + j];
        EXPECT_LE(std::fabs(e), bound) << datapath_name(c.dp) << " at " << i << "," << j;
        err2 += e * e, ref2 += ref[i * s.n + j] * ref[i * s.n + j];
      }
    // The rounding really happened: the relative error is of the order of u_in / sqrt-ish,
    // clearly above fp32's (~1e-7) and below the worst case.
    const double rel = std::sqrt(err2 / ref2);
    EXPECT_GT(rel, c.u_in / 64) << datapath_name(c.dp);
    EXPECT_LT(rel, 2 * c.u_in) << datapath_name(c.dp);
  }
}

TEST(KernelsGemm, OutputRoundedToBf16AndFp64ReferenceDatapath) {
  const GemmShape s{4, 20, 50};
  const auto x = random_vec(s.m * s.k, 7), w = random_vec(s.n * s.k, 8);
  std::vector<float> y32(s.m * s.n), y(s.m * s.n), y64(s.m * s.n);
  gemm(kDatapathBf16, x, w, y32, s);
  Datapath dp = kDatapathBf16;
  dp.output = FloatFormat::kBf16;
  gemm(dp, x, w, y, s);
  EXPECT_EQ(datapath_name(dp), "bf16*bf16->fp32->bf16 out");
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y[i], numerics::round_to_bf16(y32[i]));
  gemm(kDatapathFp64, x, w, y64, s);
  const auto ref = gemm_reference_f64(x, w, s);
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y64[i], float(ref[i]));
}

TEST(KernelsGemm, Int8ExactAgainstInt64Loop) {
  using numerics::Granularity;
  using numerics::QuantScheme;
  const std::size_t m = 13, n = 45, k = 301;  // odd k: the last k-pair is half padding
  const auto x = random_vec(m * k, 9, -3.0f, 1.0f), w = random_vec(n * k, 10);
  const auto qw = numerics::quantize_int8(w, n, k, {.granularity = Granularity::kPerChannel});
  for (QuantScheme scheme : {QuantScheme::kSymmetric, QuantScheme::kAsymmetric})
    for (Granularity g : {Granularity::kPerTensor, Granularity::kPerToken}) {
      const auto qx = numerics::quantize_int8(x, m, k, {.scheme = scheme, .granularity = g});
      std::vector<std::int32_t> want(m * n);
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          std::int64_t acc = 0;
          for (std::size_t kk = 0; kk < k; ++kk)
            acc += std::int64_t{qx.q[i * k + kk] - qx.row_zero_point(i)} * qw.q[j * k + kk];
          want[i * n + j] = static_cast<std::int32_t>(acc);
        }
      for (Isa isa : supported_isas()) {
        std::vector<std::int32_t> acc(m * n, -1);
        gemm_int8_accumulate(qx, qw, acc, {2, isa});
        ASSERT_EQ(acc, want) << isa_name(isa);
      }
      std::vector<float> y(m * n);
      gemm_int8(qx, qw, y);
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j)
          ASSERT_EQ(y[i * n + j], (float(want[i * n + j]) * qx.row_scale(i)) * qw.row_scale(j));
    }
}

TEST(KernelsGemm, Int8ExtremesDoNotOverflowAndDatapathQuantisesPerTokenPerChannel) {
  // All codes at the range's corner: |acc| = 127 * 127 * k, the largest a symmetric pair gives.
  const std::size_t m = 3, n = 2, k = 4096;
  std::vector<float> x(m * k, 1.0f), w(n * k, -1.0f);
  std::vector<float> y(m * n), want(m * n);
  gemm(kDatapathInt8, x, w, y, {m, n, k});
  const auto qx =
      numerics::quantize_int8(x, m, k, {.granularity = numerics::Granularity::kPerToken});
  const auto qw =
      numerics::quantize_int8(w, n, k, {.granularity = numerics::Granularity::kPerChannel});
  std::vector<std::int32_t> acc(m * n);
  gemm_int8_accumulate(qx, qw, acc);
  for (auto a : acc) EXPECT_EQ(a, -127 * 127 * std::int32_t(k));
  gemm_int8(qx, qw, want);
  EXPECT_EQ(y, want);
}

TEST(KernelsGemm, W4A16EqualsBf16GemmOnDequantisedBf16Weights) {
  const GemmShape s{5, 40, 256};
  const auto x = random_vec(s.m * s.k, 11), w = random_vec(s.n * s.k, 12);
  for (auto scheme : {numerics::QuantScheme::kSymmetric, numerics::QuantScheme::kAsymmetric}) {
    const auto q = numerics::quantize_int4(w, s.n, s.k, {.scheme = scheme, .group_size = 64});
    const auto wb = dequantize_w4_to_bf16(q);
    const auto fp32 = numerics::dequantize_int4(q);
    for (std::size_t i = 0; i < wb.size(); ++i) ASSERT_EQ(wb[i], numerics::round_to_bf16(fp32[i]));
    const auto want = naive_fma(rounded(x, FloatFormat::kBf16), wb, s);
    for (Isa isa : supported_isas()) {
      std::vector<float> y(s.m * s.n);
      gemm_w4a16(x, q, y, s.m, {2, isa});
      ASSERT_EQ(y, want) << isa_name(isa);
    }
  }
  Datapath dp = kDatapathW4A16;
  dp.int4_group_size = 64;
  std::vector<float> y(s.m * s.n), direct(s.m * s.n);
  gemm(dp, x, w, y, s);
  gemm_w4a16(x, numerics::quantize_int4(w, s.n, s.k, {.group_size = 64}), direct, s.m);
  EXPECT_EQ(y, direct);
}

TEST(KernelsGemm, PreparedWeightsGiveTheSameResultsAsPerCallConversion) {
  const GemmShape s{7, 33, 256};
  const auto x = random_vec(s.m * s.k, 13), w = random_vec(s.n * s.k, 14);
  Datapath bf16_out = kDatapathBf16;
  bf16_out.output = FloatFormat::kBf16;
  Datapath w4 = kDatapathW4A16;
  w4.int4_group_size = 64;
  for (const Datapath& dp : {kDatapathFp64, kDatapathFp32, kDatapathBf16, kDatapathFp16,
                             kDatapathFp8E4M3, kDatapathInt8, w4, bf16_out}) {
    std::vector<float> want(s.m * s.n), y(s.m * s.n);
    gemm(dp, x, w, want, s);
    const PreparedWeights pw(dp, w, s.n, s.k);
    gemm(pw, x, y, s.m);
    EXPECT_EQ(y, want) << datapath_name(dp);
  }
}

TEST(KernelsGemm, Fp16OverflowsToInfinityWhileFp8Saturates) {
  // bf16/fp16 conversions are IEEE (cvt.rn): 1e5 exceeds fp16's 65504 and becomes +Inf. fp8
  // inputs are scaled to fit, and saturate (Hopper's .satfinite) if they still do not.
  const std::vector<float> x = {1e5f, 1.0f}, w = {1.0f, 0.0f};
  std::vector<float> y(1);
  gemm(kDatapathFp16, x, w, y, {1, 1, 2});
  EXPECT_EQ(y[0], INFINITY);
  gemm(kDatapathBf16, x, w, y, {1, 1, 2});
  EXPECT_EQ(y[0], 99840.0f);  // bf16(1e5) = 0x47C3 = 99840
  gemm(kDatapathFp8E4M3, x, w, y, {1, 1, 2});
  EXPECT_FLOAT_EQ(y[0], 1e5f);  // amax maps to 448 exactly: (448 * s) * 1 = 1e5 up to rounding
}

TEST(KernelsGemm, RejectsBadShapesAndDatapaths) {
  std::vector<float> x(6), w(6), y(4);
  EXPECT_THROW(gemm_f32(x, w, y, {2, 2, 4}), std::invalid_argument);
  EXPECT_THROW(gemm({GemmInput::kInt8, Accumulator::kFp32}, x, w, y, {2, 2, 3}),
               std::invalid_argument);
  EXPECT_THROW(gemm({GemmInput::kBf16, Accumulator::kFp64}, x, w, y, {2, 2, 3}),
               std::invalid_argument);
  EXPECT_NE(datapath_error({GemmInput::kFp64, Accumulator::kFp32}), "");
  EXPECT_EQ(datapath_error(kDatapathW4A16), "");
  EXPECT_EQ(datapath_name(kDatapathInt8), "int8*int8->int32");
  const auto qx = numerics::quantize_int8(x, 2, 3),
             qw = numerics::quantize_int8(w, 2, 3, {.scheme = numerics::QuantScheme::kAsymmetric});
  std::vector<std::int32_t> acc(4);
  EXPECT_THROW(gemm_int8_accumulate(qx, qw, acc), std::invalid_argument);
  if (!isa_supported(Isa::kAvx512)) {
    EXPECT_THROW(gemm_f32(x, w, y, {2, 2, 3}, {1, Isa::kAvx512}), std::invalid_argument);
  }
}

}  // namespace
}  // namespace xpusim::kernels
