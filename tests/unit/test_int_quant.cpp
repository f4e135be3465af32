// Tests of int8 (per-tensor / per-channel / per-token) and packed int4 (per-group) quantisation:
// hand-computed examples, ties to even, zero points, nibble packing, error bounds on random
// matrices (in units of each group's scale) and argument validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "workloads/numerics/int_quant.h"

namespace xpusim::numerics {
namespace {

std::vector<float> random_matrix(std::size_t rows, std::size_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(rows * cols);
  for (std::size_t r = 0; r < rows; ++r) {
    const float row_mag = std::ldexp(1.0f, static_cast<int>(r % 9) - 4);  // rows differ
    for (std::size_t c = 0; c < cols; ++c) x[r * cols + c] = normal(rng) * row_mag + 0.3f * row_mag;
  }
  return x;
}

// Largest extra error a scale rounded to `f` can add by clamping the extreme values: the
// rounded scale may be smaller than the exact one by up to u (the format's unit roundoff), so
// an extreme value lands up to (qmax - qmin) * u codes beyond the range (see int_quant.h).
double scale_rounding_slack(FloatFormat f, int levels) {
  if (f == FloatFormat::kFp32) return 0.0;
  return levels * std::ldexp(1.0, -(format_info(f).mantissa_bits + 1));
}

// |x - dequant| <= scale / 2 per element, plus fp32 rounding of the division and the product
// (a few ulps of |x|), plus the clamping slack of a rounded scale.
void expect_within_half_scale(float x, float dq, float scale, double slack) {
  const double bound = scale * (0.5 + slack) * (1 + 1e-6) + std::fabs(x) * 0x1p-22;
  ASSERT_LE(std::fabs(static_cast<double>(x) - dq), bound) << "x=" << x << " scale=" << scale;
}

TEST(IntQuant, Int8SymmetricPerTensorKnownValuesAndTiesToEven) {
  // max|x| = 254 -> scale 2; x / 2 = 127, -127, 0.5, 1.5, 2.5, -0.5, 1.45, 0.
  const std::vector<float> x = {254, -254, 1, 3, 5, -1, 2.9f, 0};
  const QuantizedInt8 t = quantize_int8(x, 2, 4);
  ASSERT_EQ(t.scale.size(), 1u);
  EXPECT_EQ(t.scale[0], 2.0f);
  EXPECT_TRUE(t.zero_point.empty());
  EXPECT_EQ(t.q, (std::vector<std::int8_t>{127, -127, 0, 2, 2, 0, 1, 0}));
  EXPECT_EQ(dequantize_int8(t), (std::vector<float>{254, -254, 0, 4, 4, 0, 2, 0}));
}

TEST(IntQuant, Int8PerChannelScaleIsRowMaxOver127) {
  const std::size_t rows = 16, cols = 96;
  const std::vector<float> x = random_matrix(rows, cols, 1);
  for (Granularity g : {Granularity::kPerChannel, Granularity::kPerToken}) {
    const QuantizedInt8 t = quantize_int8(x, rows, cols, {QuantScheme::kSymmetric, g});
    EXPECT_EQ(t.granularity, g);
    ASSERT_EQ(t.scale.size(), rows);
    const std::vector<float> dq = dequantize_int8(t);
    for (std::size_t r = 0; r < rows; ++r) {
      float amax = 0;
      for (std::size_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(x[r * cols + c]));
      EXPECT_EQ(t.scale[r], amax / 127.0f);
      EXPECT_EQ(t.row_scale(r), t.scale[r]);
      for (std::size_t c = 0; c < cols; ++c) {
        const std::size_t i = r * cols + c;
        ASSERT_GE(t.q[i], -127);  // symmetric range never uses -128
        expect_within_half_scale(x[i], dq[i], t.scale[r], 0.0);
      }
    }
  }
  // Per-token and per-channel are the same arithmetic on rows.
  const QuantizedInt8 a =
      quantize_int8(x, rows, cols, {QuantScheme::kAsymmetric, Granularity::kPerToken});
  const QuantizedInt8 b =
      quantize_int8(x, rows, cols, {QuantScheme::kAsymmetric, Granularity::kPerChannel});
  EXPECT_EQ(a.q, b.q);
  EXPECT_EQ(a.scale, b.scale);
  EXPECT_EQ(a.zero_point, b.zero_point);
}

TEST(IntQuant, Int8AsymmetricZeroPoint) {
  // [0, 255] -> scale 1, zero point -128: q = x - 128, every value exact.
  const QuantizedInt8 t = quantize_int8(std::vector<float>{0, 1, 128, 255}, 1, 4,
                                        {QuantScheme::kAsymmetric, Granularity::kPerTensor});
  EXPECT_EQ(t.scale[0], 1.0f);
  EXPECT_EQ(t.zero_point[0], -128);
  EXPECT_EQ(t.q, (std::vector<std::int8_t>{-128, -127, 0, 127}));
  EXPECT_EQ(dequantize_int8(t), (std::vector<float>{0, 1, 128, 255}));

  // [-10, 5] -> scale 15/255 = 1/17, zero point round(-128 + 170) = 42; 0 maps to 42 exactly.
  const QuantizedInt8 u = quantize_int8(std::vector<float>{-10, 0, 5, 2, -3}, 1, 5,
                                        {QuantScheme::kAsymmetric, Granularity::kPerTensor});
  EXPECT_EQ(u.scale[0], 15.0f / 255.0f);
  EXPECT_EQ(u.zero_point[0], 42);
  EXPECT_EQ(u.row_zero_point(0), 42);
  EXPECT_EQ(u.q[0], -128);
  EXPECT_EQ(u.q[1], 42);
  EXPECT_EQ(u.q[2], 127);
  const std::vector<float> dq = dequantize_int8(u);
  EXPECT_EQ(dq[1], 0.0f);
  for (int i = 0; i < 5; ++i)
    expect_within_half_scale(std::vector<float>{-10, 0, 5, 2, -3}[i], dq[i], u.scale[0], 0.0);

  // All-positive data: the range is widened to include 0, so the zero point sits at qmin.
  const QuantizedInt8 p = quantize_int8(std::vector<float>{2, 4, 6}, 1, 3,
                                        {QuantScheme::kAsymmetric, Granularity::kPerTensor});
  EXPECT_EQ(p.zero_point[0], -128);
  EXPECT_EQ(p.q[2], 127);
  // All-negative data: the zero point sits at qmax.
  const QuantizedInt8 n = quantize_int8(std::vector<float>{-2, -4, -6}, 1, 3,
                                        {QuantScheme::kAsymmetric, Granularity::kPerTensor});
  EXPECT_EQ(n.zero_point[0], 127);
  EXPECT_EQ(n.q[2], -128);
}

TEST(IntQuant, Int8RandomRoundTripWithinHalfScaleForEveryConfig) {
  const std::size_t rows = 24, cols = 128;
  const std::vector<float> x = random_matrix(rows, cols, 2);
  for (QuantScheme s : {QuantScheme::kSymmetric, QuantScheme::kAsymmetric}) {
    for (Granularity g :
         {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerToken}) {
      for (FloatFormat f : {FloatFormat::kFp32, FloatFormat::kFp16, FloatFormat::kBf16}) {
        const QuantizedInt8 t = quantize_int8(x, rows, cols, {s, g, f});
        const std::vector<float> dq = dequantize_int8(t);
        const int levels = s == QuantScheme::kSymmetric ? 254 : 255;
        for (std::size_t i = 0; i < x.size(); ++i) {
          const std::size_t r = i / cols;
          ASSERT_EQ(round_to_format(t.row_scale(r), f, OverflowMode::kNonSaturating),
                    t.row_scale(r));
          const std::int32_t zp = t.row_zero_point(r);
          ASSERT_TRUE(zp >= -128 && zp <= 127);
          expect_within_half_scale(x[i], dq[i], t.row_scale(r), scale_rounding_slack(f, levels));
        }
      }
    }
  }
}

TEST(IntQuant, ZeroRowsAndUnderflowingScalesDequantiseToZero) {
  std::vector<float> x(2 * 8, 0.0f);
  for (std::size_t c = 0; c < 8; ++c) x[8 + c] = 1e-9f * static_cast<float>(c);  // row 1: tiny
  const QuantizedInt8 t = quantize_int8(
      x, 2, 8, {QuantScheme::kSymmetric, Granularity::kPerChannel, FloatFormat::kFp16});
  EXPECT_EQ(t.scale, (std::vector<float>{0.0f, 0.0f}));  // 7e-9/127 underflows fp16 -> flushed
  for (std::int8_t q : t.q) EXPECT_EQ(q, 0);
  for (float v : dequantize_int8(t)) EXPECT_EQ(v, 0.0f);
  const QuantizedInt8 a = quantize_int8(std::vector<float>(4, 0.0f), 2, 2,
                                        {QuantScheme::kAsymmetric, Granularity::kPerToken});
  EXPECT_EQ(a.zero_point, (std::vector<std::int32_t>{0, 0}));
  EXPECT_EQ(dequantize_int8(a), std::vector<float>(4, 0.0f));
}

TEST(IntQuant, Int8RejectsBadArguments) {
  const std::vector<float> x(12, 1.0f);
  EXPECT_THROW(quantize_int8(x, 0, 12), std::invalid_argument);
  EXPECT_THROW(quantize_int8(x, 5, 3), std::invalid_argument);
  EXPECT_THROW(quantize_int8(x, 3, 0), std::invalid_argument);
  std::vector<float> bad = x;
  bad[7] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(quantize_int8(bad, 3, 4), std::invalid_argument);
  bad[7] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(quantize_int8(bad, 3, 4), std::invalid_argument);
  EXPECT_THROW(
      quantize_int8(x, 3, 4,
                    {QuantScheme::kSymmetric, Granularity::kPerTensor, FloatFormat::kFp8E4M3}),
      std::invalid_argument);
  // max|x| / 127 = 78740 does not fit in fp16 (max 65504).
  EXPECT_THROW(
      quantize_int8(std::vector<float>(4, 1e7f), 1, 4,
                    {QuantScheme::kSymmetric, Granularity::kPerTensor, FloatFormat::kFp16}),
      std::range_error);
  const QuantizedInt8 t = quantize_int8(x, 3, 4);
  std::vector<float> out(5);
  EXPECT_THROW(dequantize_int8(t, out), std::invalid_argument);
}

TEST(IntQuant, Int4PackUnpackRoundTripAndNibbleOrder) {
  EXPECT_EQ(pack_int4(std::vector<std::int8_t>{1, -1}), (std::vector<std::uint8_t>{0xF1}));
  EXPECT_EQ(pack_int4(std::vector<std::int8_t>{-8, 7, 0, -2}),
            (std::vector<std::uint8_t>{0x78, 0xE0}));
  std::vector<std::int8_t> all;
  for (int lo = -8; lo <= 7; ++lo) {
    for (int hi = -8; hi <= 7; ++hi) {
      all.push_back(static_cast<std::int8_t>(lo));
      all.push_back(static_cast<std::int8_t>(hi));
    }
  }
  const std::vector<std::uint8_t> packed = pack_int4(all);
  ASSERT_EQ(packed.size(), 256u);
  EXPECT_EQ(unpack_int4(packed), all);
  for (std::size_t b = 0; b < 256; ++b)
    EXPECT_EQ(pack_int4(unpack_int4(std::vector<std::uint8_t>{static_cast<std::uint8_t>(b)}))[0],
              b);
  EXPECT_THROW(pack_int4(std::vector<std::int8_t>{1, 2, 3}), std::invalid_argument);
  EXPECT_THROW(pack_int4(std::vector<std::int8_t>{1, 8}), std::invalid_argument);
  EXPECT_THROW(pack_int4(std::vector<std::int8_t>{-9, 0}), std::invalid_argument);
}

TEST(IntQuant, Int4GroupsHaveIndependentScalesAndBoundaries) {
  // One row, four groups of 64; group g holds values up to 7 * 10^g... kept small: 7 * 2^g.
  const std::size_t gs = 64, cols = 4 * gs;
  std::vector<float> x(2 * cols);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t g = (i % cols) / gs;
    const float step = std::ldexp(1.0f, static_cast<int>(g));
    x[i] = step * static_cast<float>(static_cast<int>(i % 15) - 7);  // exact multiples, -7..7
  }
  const PackedInt4 t = quantize_int4(x, 2, cols, {QuantScheme::kSymmetric, gs});
  ASSERT_EQ(t.groups_per_row(), 4u);
  ASSERT_EQ(t.scale.size(), 8u);
  ASSERT_EQ(t.packed.size(), x.size() / 2);
  for (std::size_t k = 0; k < 8; ++k)
    EXPECT_EQ(t.scale[k], std::ldexp(1.0f, static_cast<int>(k % 4)));
  EXPECT_EQ(dequantize_int4(t), x);  // every value is an exact multiple of its group's scale
  EXPECT_EQ(t.value_at(0, 0), -7);
  EXPECT_EQ(t.value_at(0, 14), 7);
  EXPECT_EQ(t.value_at(1, gs), static_cast<int>((cols + gs) % 15) - 7);
  EXPECT_THROW(t.value_at(2, 0), std::out_of_range);

  // Raising the last element of group 0 changes group 0's scale only.
  std::vector<float> y = x;
  y[gs - 1] = 70.0f;
  const PackedInt4 u = quantize_int4(y, 2, cols, {QuantScheme::kSymmetric, gs});
  EXPECT_EQ(u.scale[0], 10.0f);
  for (std::size_t k = 1; k < 8; ++k) EXPECT_EQ(u.scale[k], t.scale[k]);
  for (std::size_t i = gs / 2; i < u.packed.size(); ++i) ASSERT_EQ(u.packed[i], t.packed[i]);
}

TEST(IntQuant, Int4AsymmetricUsesFullRange) {
  // [0, 15] -> scale 1, zero point -8: q = x - 8 covers all of [-8, 7].
  std::vector<float> x(64);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 16);
  const PackedInt4 t = quantize_int4(x, 1, 64, {QuantScheme::kAsymmetric, 64});
  EXPECT_EQ(t.scale[0], 1.0f);
  EXPECT_EQ(t.zero_point[0], -8);
  for (std::size_t i = 0; i < 16; ++i) EXPECT_EQ(t.value_at(0, i), static_cast<int>(i) - 8);
  EXPECT_EQ(dequantize_int4(t), x);
}

TEST(IntQuant, Int4RandomRoundTripWithinHalfScale) {
  const std::size_t rows = 8, cols = 512;
  const std::vector<float> x = random_matrix(rows, cols, 3);
  for (std::size_t gs : {64u, 128u}) {
    for (QuantScheme s : {QuantScheme::kSymmetric, QuantScheme::kAsymmetric}) {
      for (FloatFormat f : {FloatFormat::kFp32, FloatFormat::kFp16, FloatFormat::kBf16}) {
        const PackedInt4 t = quantize_int4(x, rows, cols, {s, gs, f});
        ASSERT_EQ(t.scale.size(), rows * cols / gs);
        ASSERT_EQ(t.zero_point.size(), s == QuantScheme::kAsymmetric ? t.scale.size() : 0u);
        const std::vector<float> dq = dequantize_int4(t);
        const int levels = s == QuantScheme::kSymmetric ? 14 : 15;
        for (std::size_t i = 0; i < x.size(); ++i) {
          const std::size_t group = i / gs;  // gs divides cols, so flat groups match [row][group]
          const int q = t.value_at(i / cols, i % cols);
          ASSERT_GE(q, s == QuantScheme::kSymmetric ? -7 : -8);
          expect_within_half_scale(x[i], dq[i], t.scale[group], scale_rounding_slack(f, levels));
        }
      }
    }
  }
}

TEST(IntQuant, Int4RejectsBadGroupSizes) {
  const std::vector<float> x(2 * 128, 0.5f);
  for (std::size_t gs : {0u, 3u, 63u, 96u, 256u}) {
    EXPECT_THROW(quantize_int4(x, 2, 128, {QuantScheme::kSymmetric, gs}), std::invalid_argument)
        << "group size " << gs;
  }
  EXPECT_NO_THROW(quantize_int4(x, 2, 128, {QuantScheme::kSymmetric, 128}));
  EXPECT_NO_THROW(quantize_int4(x, 4, 64, {QuantScheme::kSymmetric, 64}));
  EXPECT_THROW(quantize_int4(x, 3, 128), std::invalid_argument);  // size mismatch
  PackedInt4 t = quantize_int4(x, 2, 128, {QuantScheme::kAsymmetric, 64});
  t.scale.pop_back();
  EXPECT_THROW(dequantize_int4(t), std::invalid_argument);
}

}  // namespace
}  // namespace xpusim::numerics
