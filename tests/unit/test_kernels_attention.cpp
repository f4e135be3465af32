// Causal GQA attention over a KV cache against a naive fp64 softmax(QK^T / sqrt d) V that maps
// query head h to KV head h / (n_heads / n_kv_heads), for prefill onto an existing cache and
// for decode, with every KV storage format (reference built from the stored values).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "workloads/kernels/attention.h"
#include "workloads/numerics/formats.h"

namespace xpusim::kernels {
namespace {

std::vector<float> random_vec(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

struct Shape {
  std::size_t n_heads, n_kv, d;
};

// out[t][h] over positions 0..first + t, from the cache's stored (dequantised) K and V.
std::vector<double> naive_attention(const std::vector<float>& q, std::size_t q_len,
                                    const KvCache& cache, Shape s) {
  const std::size_t first = cache.length() - q_len, row = s.n_heads * s.d;
  std::vector<double> out(q_len * row, 0.0);
  for (std::size_t t = 0; t < q_len; ++t)
    for (std::size_t h = 0; h < s.n_heads; ++h) {
      const std::size_t kvh = h / (s.n_heads / s.n_kv);
      const float* keys = cache.keys(kvh);
      const float* vals = cache.values(kvh);
      const std::size_t n = first + t + 1;
      std::vector<double> p(n);
      double mx = -INFINITY, sum = 0;
      for (std::size_t j = 0; j < n; ++j) {
        double dot = 0;
        for (std::size_t i = 0; i < s.d; ++i)
          dot += double(q[t * row + h * s.d + i]) * keys[j * s.d + i];
        p[j] = dot / std::sqrt(double(s.d));
        mx = std::max(mx, p[j]);
      }
      for (auto& v : p) sum += (v = std::exp(v - mx));
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < s.d; ++i)
          out[t * row + h * s.d + i] += p[j] / sum * vals[j * s.d + i];
    }
  return out;
}

// Error budget (inputs in [-1, 1], values |v| <= 1): each score is a d-term fp32 dot product,
// |ds| <= gamma_d * sum|q k| / sqrt d <= d u sqrt d (plus one rounding for the scale); exp and
// the max subtraction add <= (|s - max| + 2) u relative to each weight, the normalisation sum
// gamma_n, and the weighted sum of values gamma_n more. Weights change by <= 2 max|ds| + those
// relative terms, so |d out| <= 2 max|ds| + (2 |s|max + 2 n + 8) u with |v| <= 1.
double tolerance(Shape s, std::size_t n_keys) {
  const double u = std::ldexp(1.0, -24), ds = (s.d + 2) * u * std::sqrt(double(s.d));
  return 2 * ds + (2 * std::sqrt(double(s.d)) + 2.0 * n_keys + 8) * u;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << i;
}

TEST(KernelsAttention, PrefillOntoExistingCacheThenDecodeWithGqa) {
  const Shape s{8, 2, 32};  // group of 4: h / 4, which differs from h % 2 for most heads
  KvCache cache({s.n_kv, s.d, 64, KvFormat::kFp32});
  const std::size_t kv_row = s.n_kv * s.d, q_row = s.n_heads * s.d;
  // An existing cache of L = 21 positions, then a prefill of 19 tokens, then 2 decode steps.
  cache.append(random_vec(21 * kv_row, 1), random_vec(21 * kv_row, 2), 21);
  std::size_t seed = 10;
  for (std::size_t q_len : {19, 1, 1}) {
    cache.append(random_vec(q_len * kv_row, seed), random_vec(q_len * kv_row, seed + 1), q_len);
    const auto q = random_vec(q_len * q_row, seed + 2);
    seed += 3;
    for (Isa isa : {Isa::kScalar, Isa::kAuto}) {
      std::vector<float> out(q_len * q_row);
      attention(q, q_len, cache, out, {s.n_heads}, {3, isa});
      expect_close(out, naive_attention(q, q_len, cache, s), tolerance(s, cache.length()));
    }
  }
  EXPECT_EQ(cache.length(), 42u);
}

TEST(KernelsAttention, CausalMaskIgnoresFutureTokens) {
  // Changing the last token's K and V must not change any earlier query's output.
  const Shape s{4, 4, 16};
  const std::size_t n = 9, row = s.n_heads * s.d;
  const auto q = random_vec(n * row, 20), k = random_vec(n * row, 21), v = random_vec(n * row, 22);
  auto k2 = k, v2 = v;
  for (std::size_t i = (n - 1) * row; i < n * row; ++i) k2[i] = 5.0f, v2[i] = -7.0f;
  KvCache a({s.n_kv, s.d, n}), b({s.n_kv, s.d, n});
  a.append(k, v, n);
  b.append(k2, v2, n);
  std::vector<float> oa(n * row), ob(n * row);
  attention(q, n, a, oa, {s.n_heads});
  attention(q, n, b, ob, {s.n_heads});
  for (std::size_t i = 0; i < (n - 1) * row; ++i) ASSERT_EQ(oa[i], ob[i]);
  EXPECT_NE(oa.back(), ob.back());
}

TEST(KernelsAttention, KvStorageFormatsRoundAsDocumentedAndAttendToStoredValues) {
  const Shape s{4, 2, 64};
  const std::size_t n = 12, kv_row = s.n_kv * s.d, q_row = s.n_heads * s.d;
  const auto k = random_vec(n * kv_row, 30), v = random_vec(n * kv_row, 31),
             q = random_vec(n * q_row, 32);
  KvCache exact({s.n_kv, s.d, n});
  exact.append(k, v, n);
  std::vector<float> o_exact(n * q_row);
  attention(q, n, exact, o_exact, {s.n_heads});
  // Per-element storage error: bf16 2^-8 and fp16 2^-11 relative; fp8 e4m3 2^-4 relative or
  // half a subnormal step of the per-token scale; int8 half a step, scale = amax / 127.
  for (KvFormat f : {KvFormat::kBf16, KvFormat::kFp16, KvFormat::kFp8E4M3, KvFormat::kInt8}) {
    KvCache c({s.n_kv, s.d, n, f});
    c.append(k, v, n);
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t h = 0; h < s.n_kv; ++h) {
        const float* src = k.data() + (t * s.n_kv + h) * s.d;
        const float* got = c.keys(h) + t * s.d;
        float amax = 0;
        for (std::size_t i = 0; i < s.d; ++i) amax = std::max(amax, std::fabs(src[i]));
        for (std::size_t i = 0; i < s.d; ++i) {
          const double e = std::fabs(got[i] - src[i]), a = std::fabs(src[i]);
          switch (f) {
            case KvFormat::kBf16:
              ASSERT_EQ(got[i], numerics::round_to_bf16(src[i]));
              break;
            case KvFormat::kFp16:
              ASSERT_EQ(got[i], numerics::round_to_fp16(src[i]));
              break;
            case KvFormat::kFp8E4M3:
              ASSERT_LE(e, std::max(a / 16, amax / 448 * std::ldexp(1.0, -10)) * (1 + 1e-6));
              break;
            default:
              ASSERT_LE(e, amax / 127 / 2 * (1 + 1e-6));
              break;
          }
        }
      }
    std::vector<float> out(n * q_row);
    attention(q, n, c, out, {s.n_heads});
    expect_close(out, naive_attention(q, n, c, s), tolerance(s, n));
    double diff = 0;
    for (std::size_t i = 0; i < out.size(); ++i)
      diff = std::max(diff, double(std::fabs(out[i] - o_exact[i])));
    EXPECT_GT(diff, 0.0) << kv_format_name(f);  // the format was really applied
    EXPECT_LT(diff, 0.2) << kv_format_name(f);
  }
}

TEST(KernelsAttention, RejectsBadShapesAndOverfullCache) {
  KvCache c({2, 8, 4});
  c.append(std::vector<float>(3 * 16), std::vector<float>(3 * 16), 3);
  EXPECT_THROW(c.append(std::vector<float>(2 * 16), std::vector<float>(2 * 16), 2),
               std::length_error);
  std::vector<float> q(4 * 8 * 2), out(q.size());
  EXPECT_THROW(attention(q, 2, c, out, {3}), std::invalid_argument);  // 3 heads over 2 KV heads
  std::vector<float> q4(4 * 32), out4(4 * 32);
  EXPECT_THROW(attention(q4, 4, c, out4, {4}), std::invalid_argument);  // q_len beyond the cache
  EXPECT_THROW(KvCache({0, 8, 4}), std::invalid_argument);
}

}  // namespace
}  // namespace xpusim::kernels
