// Tests of the bf16 / fp16 / fp8 conversions against known bit patterns, hand-built ties, an
// independent nearest-value oracle (double arithmetic over every representable value) and,
// where the CPU has them, the x86 F16C and AVX512-BF16 conversion instructions.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "workloads/numerics/formats.h"

// The hardware cross-checks use GCC's target attributes and CPU feature names.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define XPUSIM_TEST_X86 1
#endif

namespace xpusim::numerics {
namespace {

constexpr OverflowMode kSat = OverflowMode::kSaturating;
constexpr OverflowMode kNonSat = OverflowMode::kNonSaturating;
constexpr float kInf = std::numeric_limits<float>::infinity();

float f_bits(std::uint32_t b) { return std::bit_cast<float>(b); }
std::uint32_t bits_f(float f) { return std::bit_cast<std::uint32_t>(f); }

// One narrow format seen through the public API plus an independent model of its fields.
struct Fmt {
  const char* name;
  int exp_bits;
  int mant_bits;
  bool ieee;  // all-ones exponent is Inf/NaN
  std::uint32_t (*enc)(float, OverflowMode);
  float (*dec)(std::uint32_t);

  int bias() const { return (1 << (exp_bits - 1)) - 1; }
  int total_bits() const { return 1 + exp_bits + mant_bits; }
  std::uint32_t sign_bit() const { return 1u << (exp_bits + mant_bits); }
  std::uint32_t inf_code() const { return ((1u << exp_bits) - 1) << mant_bits; }
  std::uint32_t max_code() const { return ieee ? inf_code() - 1 : sign_bit() - 2; }
  std::uint32_t canonical_nan() const {
    return ieee ? inf_code() | (1u << (mant_bits - 1)) : sign_bit() - 1;
  }
  bool is_nan_code(std::uint32_t c) const {
    const std::uint32_t a = c & (sign_bit() - 1);
    return ieee ? a > inf_code() : a == sign_bit() - 1;
  }
  // Value of a finite code from its fields, in double: independent of the library's decode.
  double value(std::uint32_t c) const {
    const std::uint32_t a = c & (sign_bit() - 1);
    const int e = static_cast<int>(a >> mant_bits);
    const int m = static_cast<int>(a & ((1u << mant_bits) - 1));
    const double mag = e == 0 ? std::ldexp(m, 1 - bias() - mant_bits)
                              : std::ldexp((1 << mant_bits) + m, e - bias() - mant_bits);
    return (c & sign_bit()) ? -mag : mag;
  }
};

const Fmt kFormats[] = {
    {"bf16", 8, 7, true,
     [](float x, OverflowMode m) -> std::uint32_t { return float_to_bf16_bits(x, m); },
     [](std::uint32_t c) { return bf16_bits_to_float(static_cast<std::uint16_t>(c)); }},
    {"fp16", 5, 10, true,
     [](float x, OverflowMode m) -> std::uint32_t { return float_to_fp16_bits(x, m); },
     [](std::uint32_t c) { return fp16_bits_to_float(static_cast<std::uint16_t>(c)); }},
    {"e4m3", 4, 3, false,
     [](float x, OverflowMode m) -> std::uint32_t { return float_to_e4m3_bits(x, m); },
     [](std::uint32_t c) { return e4m3_bits_to_float(static_cast<std::uint8_t>(c)); }},
    {"e5m2", 5, 2, true,
     [](float x, OverflowMode m) -> std::uint32_t { return float_to_e5m2_bits(x, m); },
     [](std::uint32_t c) { return e5m2_bits_to_float(static_cast<std::uint8_t>(c)); }},
};

// Reference rounding: nearest representable value by binary search in double, ties to the
// even code (for these formats an even code is an even significand). Values beyond max are
// compared with a virtual next value max + ulp(max), whose code max_code + 1 gives its parity;
// choosing it means overflow.
std::uint32_t oracle_encode(const Fmt& f, float x, OverflowMode mode) {
  const std::uint32_t sign = std::signbit(x) ? f.sign_bit() : 0;
  if (std::isnan(x)) return sign | f.canonical_nan();
  const std::uint32_t ovf =
      mode == kSat ? f.max_code() : (f.ieee ? f.inf_code() : f.canonical_nan());
  if (std::isinf(x)) return sign | ovf;
  const double ax = std::fabs(static_cast<double>(x));
  const std::uint32_t top = f.max_code() + 1;  // virtual
  auto val = [&](std::uint32_t c) {
    return c == top ? 2 * f.value(f.max_code()) - f.value(f.max_code() - 1) : f.value(c);
  };
  std::uint32_t lo = 0, hi = top;  // invariant: val(lo) <= ax, search for the last such code
  if (ax >= val(top)) return sign | ovf;
  while (hi - lo > 1) {
    const std::uint32_t mid = (lo + hi) / 2;
    (val(mid) <= ax ? lo : hi) = mid;
  }
  const double dl = ax - val(lo), dh = val(hi) - ax;
  std::uint32_t c = dl < dh ? lo : (dh < dl ? hi : ((lo & 1) == 0 ? lo : hi));
  if (c == top) c = ovf;
  return sign | c;
}

// Known encodings, each checked both ways (value -> code and code -> value).
TEST(Formats, KnownBitPatterns) {
  enum { kBf16Fmt, kFp16Fmt, kE4M3Fmt, kE5M2Fmt };  // indices into kFormats
  struct Known {
    int fmt;
    float value;
    std::uint32_t code;
  };
  const Known known[] = {
      {kBf16Fmt, 1.0f, 0x3F80},         {kBf16Fmt, -2.0f, 0xC000},
      {kBf16Fmt, 0x1.fep127f, 0x7F7F},  {kBf16Fmt, 0x1p-133f, 0x0001},  // max, min subnormal
      {kFp16Fmt, 1.0f, 0x3C00},         {kFp16Fmt, 65504.0f, 0x7BFF},
      {kFp16Fmt, 0x1p-24f, 0x0001},     {kFp16Fmt, 0x1p-14f, 0x0400},  // min subnormal, normal
      {kFp16Fmt, 0x1.ff8p-15f, 0x03FF}, {kFp16Fmt, -0.5f, 0xB800},     // largest subnormal
      {kFp16Fmt, kInf, 0x7C00},         {kE4M3Fmt, 448.0f, 0x7E},
      {kE4M3Fmt, -448.0f, 0xFE},        {kE4M3Fmt, 0x1p-9f, 0x01},
      {kE4M3Fmt, 0x1p-6f, 0x08},        {kE4M3Fmt, 0x1.cp-7f, 0x07},  // min normal, max subnormal
      {kE4M3Fmt, 1.0f, 0x38},           {kE4M3Fmt, 256.0f, 0x78},     // exponent 1111 is normal
      {kE5M2Fmt, 57344.0f, 0x7B},       {kE5M2Fmt, 0x1p-16f, 0x01},
      {kE5M2Fmt, 1.0f, 0x3C},           {kE5M2Fmt, 1.5f, 0x3E},
      {kE5M2Fmt, -kInf, 0xFC},
  };
  for (const Known& k : known) {
    const Fmt& f = kFormats[k.fmt];
    EXPECT_EQ(f.enc(k.value, kNonSat), k.code) << f.name << " " << k.value;
    EXPECT_EQ(f.dec(k.code), k.value) << f.name << " 0x" << std::hex << k.code;
  }
}

TEST(Formats, FormatInfoMatchesEncodings) {
  EXPECT_EQ(format_info(FloatFormat::kBf16).max_finite, bf16_bits_to_float(0x7F7F));
  EXPECT_EQ(format_info(FloatFormat::kFp16).max_finite, fp16_bits_to_float(0x7BFF));
  EXPECT_EQ(format_info(FloatFormat::kFp8E4M3).max_finite, e4m3_bits_to_float(0x7E));
  EXPECT_EQ(format_info(FloatFormat::kFp8E5M2).max_finite, e5m2_bits_to_float(0x7B));
  EXPECT_EQ(format_info(FloatFormat::kFp16).min_subnormal, fp16_bits_to_float(0x0001));
  EXPECT_EQ(format_info(FloatFormat::kFp8E4M3).min_normal, e4m3_bits_to_float(0x08));
  EXPECT_EQ(format_info(FloatFormat::kFp8E5M2).min_normal, e5m2_bits_to_float(0x04));
  EXPECT_EQ(format_info(FloatFormat::kBf16).min_subnormal, bf16_bits_to_float(0x0001));
  EXPECT_EQ(format_info(FloatFormat::kFp8E4M3).mantissa_bits, 3);
  EXPECT_FALSE(format_info(FloatFormat::kFp8E4M3).has_infinity);
  EXPECT_THROW(format_info(static_cast<FloatFormat>(99)), std::invalid_argument);
}

TEST(Formats, HandPickedTiesGoToEven) {
  // Exactly halfway between two neighbours, then one fp32 ulp either side.
  EXPECT_EQ(float_to_bf16_bits(1.0f + 0x1p-8f), 0x3F80);  // 1 | 1+2^-7: 1 is even
  EXPECT_EQ(float_to_bf16_bits(1.0f + 0x3p-8f), 0x3F82);  // 1+2^-7 | 1+2^-6: upper even
  EXPECT_EQ(float_to_bf16_bits(std::nextafter(1.0f + 0x1p-8f, 2.0f)), 0x3F81);
  EXPECT_EQ(float_to_bf16_bits(std::nextafter(1.0f + 0x3p-8f, 0.0f)), 0x3F81);
  EXPECT_EQ(float_to_fp16_bits(2049.0f), 0x6800);  // 2048 | 2050 -> 2048
  EXPECT_EQ(float_to_fp16_bits(2051.0f), 0x6802);  // 2050 | 2052 -> 2052
  EXPECT_EQ(float_to_fp16_bits(std::nextafter(2049.0f, 3000.0f)), 0x6801);
  EXPECT_EQ(float_to_fp16_bits(0x1p-25f), 0x0000);  // 0 | 2^-24 -> +0
  EXPECT_EQ(float_to_fp16_bits(0x3p-25f), 0x0002);  // 2^-24 | 2^-23 -> 2^-23
  EXPECT_EQ(float_to_fp16_bits(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
  EXPECT_EQ(float_to_fp16_bits(-0x1p-25f), 0x8000);
  EXPECT_EQ(float_to_e4m3_bits(1.0f + 0x1p-4f), 0x38);
  EXPECT_EQ(float_to_e4m3_bits(1.0f + 0x3p-4f), 0x3A);
  EXPECT_EQ(float_to_e4m3_bits(0x1p-10f), 0x00);
  EXPECT_EQ(float_to_e4m3_bits(0x3p-10f), 0x02);
  EXPECT_EQ(float_to_e4m3_bits(std::nextafter(0x1p-10f, 0.0f)), 0x00);
  EXPECT_EQ(float_to_e4m3_bits(std::nextafter(0x1p-10f, 1.0f)), 0x01);
  EXPECT_EQ(float_to_e5m2_bits(1.0f + 0x1p-3f), 0x3C);
  EXPECT_EQ(float_to_e5m2_bits(1.0f + 0x3p-3f), 0x3E);
  EXPECT_EQ(float_to_e5m2_bits(0x1p-17f), 0x00);
  EXPECT_EQ(float_to_e5m2_bits(0x3p-17f), 0x02);
}

// Every pair of neighbouring finite values (0 | min subnormal, ..., max | the value one ulp
// beyond max): the exact midpoint (representable in fp32, as it needs mant_bits + 2 bits of
// significand) goes to the even code, and one fp32 ulp either side goes to the nearer value.
TEST(Formats, EveryMidpointTiesToEvenAndNeighboursRoundToNearest) {
  for (const Fmt& f : kFormats) {
    SCOPED_TRACE(f.name);
    for (std::uint32_t lo = 0; lo <= f.max_code(); ++lo) {
      const std::uint32_t hi = lo + 1;  // max_code + 1: overflow (Inf, NaN for e4m3)
      const double vhi = hi > f.max_code() ? 2 * f.value(lo) - f.value(lo - 1) : f.value(hi);
      const float mid = static_cast<float>((f.value(lo) + vhi) / 2);
      ASSERT_EQ(static_cast<double>(mid), (f.value(lo) + vhi) / 2);
      const std::uint32_t ovf = f.ieee ? f.inf_code() : f.canonical_nan();
      const std::uint32_t hi_code = hi > f.max_code() ? ovf : hi;
      const std::uint32_t even = (lo & 1) == 0 ? lo : hi_code;
      for (std::uint32_t sign : {0u, 1u}) {
        const float s = sign ? -1.0f : 1.0f;
        const std::uint32_t sb = sign ? f.sign_bit() : 0;
        ASSERT_EQ(f.enc(s * mid, kNonSat), sb | even) << "lo=" << lo;
        ASSERT_EQ(f.enc(s * std::nextafter(mid, 0.0f), kNonSat), sb | lo) << "lo=" << lo;
        ASSERT_EQ(f.enc(s * std::nextafter(mid, kInf), kNonSat), sb | hi_code) << "lo=" << lo;
      }
    }
  }
}

TEST(Formats, OverflowGoesToInfOrNaNOrSaturates) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(float_to_fp16_bits(65520.0f), 0x7C00);  // max + half ulp ties to even = Inf
  EXPECT_EQ(float_to_fp16_bits(std::nextafter(65520.0f, 0.0f)), 0x7BFF);
  EXPECT_EQ(float_to_fp16_bits(1e9f, kSat), 0x7BFF);
  EXPECT_EQ(float_to_fp16_bits(-inf), 0xFC00);
  EXPECT_EQ(float_to_fp16_bits(-inf, kSat), 0xFBFF);
  EXPECT_EQ(float_to_bf16_bits(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(float_to_bf16_bits(std::numeric_limits<float>::max(), kSat), 0x7F7F);
  EXPECT_EQ(float_to_bf16_bits(inf), 0x7F80);
  // e4m3: 464 is halfway between 448 (mantissa 110, even) and the missing 480: it stays 448.
  EXPECT_EQ(float_to_e4m3_bits(464.0f, kNonSat), 0x7E);
  EXPECT_EQ(float_to_e4m3_bits(std::nextafter(464.0f, 1e9f), kNonSat), 0x7F);
  EXPECT_EQ(float_to_e4m3_bits(1e6f, kSat), 0x7E);
  EXPECT_EQ(float_to_e4m3_bits(-1e6f, kSat), 0xFE);
  EXPECT_EQ(float_to_e4m3_bits(-1e6f, kNonSat), 0xFF);
  EXPECT_EQ(float_to_e4m3_bits(inf, kSat), 0x7E);
  EXPECT_EQ(float_to_e4m3_bits(-inf, kNonSat), 0xFF);
  EXPECT_EQ(float_to_e4m3_bits(1e6f), 0x7E);  // default is Hopper's satfinite
  // e5m2: 61440 is halfway between 57344 (odd) and 65536: overflow, or clamp when saturating.
  EXPECT_EQ(float_to_e5m2_bits(61440.0f, kNonSat), 0x7C);
  EXPECT_EQ(float_to_e5m2_bits(std::nextafter(61440.0f, 0.0f), kNonSat), 0x7B);
  EXPECT_EQ(float_to_e5m2_bits(61440.0f, kSat), 0x7B);
  EXPECT_EQ(float_to_e5m2_bits(-inf, kSat), 0xFB);
  EXPECT_EQ(float_to_e5m2_bits(-inf, kNonSat), 0xFC);
  EXPECT_EQ(round_to_e5m2(1e30f, kSat), 57344.0f);
  EXPECT_TRUE(std::isinf(round_to_e5m2(1e30f, kNonSat)));
  EXPECT_TRUE(std::isnan(round_to_e4m3(1e30f, kNonSat)));
}

TEST(Formats, NaNIsCanonicalisedWithSignKept) {
  const float qnan = std::numeric_limits<float>::quiet_NaN();
  const float snan_payload = f_bits(0x7F800001u);  // signalling NaN, payload only in low bits
  const float neg_payload = f_bits(0xFFC12345u);
  for (const Fmt& f : kFormats) {
    SCOPED_TRACE(f.name);
    for (OverflowMode mode : {kSat, kNonSat}) {
      EXPECT_EQ(f.enc(qnan, mode), f.canonical_nan());
      EXPECT_EQ(f.enc(snan_payload, mode), f.canonical_nan());
      EXPECT_EQ(f.enc(neg_payload, mode), f.sign_bit() | f.canonical_nan());
    }
    for (std::uint32_t c = 0; c < (1u << f.total_bits()); ++c) {
      if (!f.is_nan_code(c)) continue;
      const float d = f.dec(c);
      ASSERT_TRUE(std::isnan(d)) << c;
      ASSERT_EQ(std::signbit(d), (c & f.sign_bit()) != 0) << c;
      ASSERT_NE(bits_f(d) & 0x00400000u, 0u) << "decoded NaN must be quiet, code " << c;
    }
  }
  EXPECT_EQ(bits_f(bf16_bits_to_float(0x7FC1)), 0x7FC10000u);  // payload kept
  EXPECT_EQ(bits_f(fp16_bits_to_float(0x7C01)), 0x7FC02000u);  // quietened, payload kept
  EXPECT_EQ(bits_f(e4m3_bits_to_float(0xFF)), 0xFFC00000u);
  EXPECT_TRUE(std::isnan(round_to_bf16(qnan)));
  EXPECT_TRUE(std::isnan(round_to_e4m3(-qnan)));
  EXPECT_TRUE(std::signbit(round_to_e4m3(-qnan)));
}

TEST(Formats, SignedZeroAndUnderflowKeepSign) {
  for (const Fmt& f : kFormats) {
    SCOPED_TRACE(f.name);
    EXPECT_EQ(f.enc(0.0f, kSat), 0u);
    EXPECT_EQ(f.enc(-0.0f, kSat), f.sign_bit());
    EXPECT_EQ(f.enc(-1e-44f, kSat), f.sign_bit());  // fp32 subnormal, below every format
    EXPECT_TRUE(std::signbit(f.dec(f.sign_bit())));
    EXPECT_EQ(f.dec(f.sign_bit()), 0.0f);
  }
  // bf16 keeps fp32 subnormals (same exponent range): 2^-140 is a bf16 subnormal.
  EXPECT_EQ(round_to_bf16(0x1p-130f), 0x1p-130f);
  EXPECT_EQ(round_to_bf16(f_bits(0x00010000u)), f_bits(0x00010000u));  // smallest, 2^-133
  EXPECT_EQ(float_to_bf16_bits(f_bits(0x00008000u)), 0x0000);          // tie -> even 0
  EXPECT_EQ(float_to_bf16_bits(f_bits(0x00018000u)), 0x0002);
}

TEST(Formats, ExhaustiveDecodeMatchesFieldsAndReencodesToItself) {
  for (const Fmt& f : kFormats) {
    SCOPED_TRACE(f.name);
    for (std::uint32_t c = 0; c < (1u << f.total_bits()); ++c) {
      const float d = f.dec(c);
      for (OverflowMode mode : {kSat, kNonSat}) {
        const std::uint32_t sb = c & f.sign_bit();
        if (f.is_nan_code(c)) {
          ASSERT_EQ(f.enc(d, mode), sb | f.canonical_nan()) << c;
        } else if (f.ieee && (c & ~f.sign_bit()) == f.inf_code()) {
          ASSERT_TRUE(std::isinf(d));
          ASSERT_EQ(f.enc(d, mode), sb | (mode == kSat ? f.max_code() : f.inf_code())) << c;
        } else {
          ASSERT_EQ(static_cast<double>(d), f.value(c)) << c;
          ASSERT_EQ(f.enc(d, mode), c) << c;
        }
      }
    }
  }
}

TEST(Formats, MonotoneOverCodesAndOverAnFp32Sweep) {
  for (const Fmt& f : kFormats) {
    SCOPED_TRACE(f.name);
    for (std::uint32_t c = 1; c <= f.max_code(); ++c) ASSERT_LT(f.dec(c - 1), f.dec(c)) << c;
    // Every 1021st positive fp32 pattern, +0 through Inf; rounding must never step back, and
    // negation must commute with it.
    float prev = 0.0f;
    for (std::uint64_t b = 0; b <= 0x7F800000u; b += 1021) {
      const float x = f_bits(static_cast<std::uint32_t>(b));
      const float q = f.dec(f.enc(x, kSat));
      ASSERT_GE(q, prev) << "x=" << x;
      ASSERT_EQ(bits_f(f.dec(f.enc(-x, kSat))), bits_f(q) | 0x80000000u) << "x=" << x;
      prev = q;
    }
  }
}

// Round to nearest moves x by at most half an ulp, and ulp(x) <= 2^-mant_bits * |x| in the
// normal range, so |x - q(x)| <= 2^-(mant_bits+1) |x|: the unit roundoff u. It is nearly
// attained just below the midpoint 1 + u, which rounds down to 1 with relative error ~u/(1+u).
TEST(Formats, RelativeErrorWithinUnitRoundoffInNormalRange) {
  const FloatFormat ids[] = {FloatFormat::kBf16, FloatFormat::kFp16, FloatFormat::kFp8E4M3,
                             FloatFormat::kFp8E5M2};
  std::mt19937 rng(7);
  for (FloatFormat id : ids) {
    const FloatFormatInfo& info = format_info(id);
    SCOPED_TRACE(std::string(info.name));
    const double u = std::ldexp(1.0, -(info.mantissa_bits + 1));
    const double lg_lo = std::log2(info.min_normal), lg_hi = std::log2(info.max_finite);
    std::uniform_real_distribution<double> lg(lg_lo, lg_hi);
    for (int i = 0; i < 200000; ++i) {
      const float x = static_cast<float>(std::exp2(lg(rng))) * (i % 2 ? -1.0f : 1.0f);
      if (std::fabs(x) < info.min_normal || std::fabs(x) > info.max_finite) continue;
      const double q = round_to_format(x, id, kSat);
      ASSERT_LE(std::fabs(x - q), u * std::fabs(x)) << "x=" << x;
    }
    const float near_tie = std::nextafter(static_cast<float>(1.0 + u), 0.0f);
    EXPECT_EQ(round_to_format(near_tie, id, kSat), 1.0f);
    EXPECT_GT(std::fabs(near_tie - 1.0) / near_tie, 0.8 * u);
  }
}

// Random fp32 patterns (all exponents) and random values spread over each format's own range,
// compared with the nearest-value oracle in both overflow modes.
TEST(Formats, RandomValuesMatchNearestValueOracle) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  for (const Fmt& f : kFormats) {
    SCOPED_TRACE(f.name);
    const double lo = std::ldexp(1.0, 1 - f.bias() - f.mant_bits - 2);
    const double hi = 2.2 * f.value(f.max_code());
    std::uniform_real_distribution<double> lg(std::log2(lo), std::log2(hi));
    for (int i = 0; i < 150000; ++i) {
      const float x = i % 2 ? f_bits(any_bits(rng))
                            : static_cast<float>(std::exp2(lg(rng))) * (i % 4 ? 1.0f : -1.0f);
      for (OverflowMode mode : {kSat, kNonSat}) {
        ASSERT_EQ(f.enc(x, mode), oracle_encode(f, x, mode)) << "x=" << x << " bits=" << bits_f(x);
      }
    }
  }
}

// The array kernels of one format against its scalar functions (reached through `f`).
template <typename Code>
void expect_arrays_match_scalar(const Fmt& f, std::span<const float> in, OverflowMode mode,
                                void (*quant)(std::span<const float>, std::span<float>,
                                              OverflowMode),
                                void (*enc)(std::span<const float>, std::span<Code>, OverflowMode),
                                void (*dec)(std::span<const Code>, std::span<float>)) {
  SCOPED_TRACE(f.name);
  std::vector<float> out(in.size()), back(in.size());
  std::vector<Code> codes(in.size());
  quant(in, out, mode);
  enc(in, codes, mode);
  dec(codes, back);
  for (std::size_t i = 0; i < in.size(); ++i) {
    ASSERT_EQ(bits_f(out[i]), bits_f(f.dec(f.enc(in[i], mode)))) << i;
    ASSERT_EQ(codes[i], f.enc(in[i], mode)) << i;
    ASSERT_EQ(bits_f(back[i]), bits_f(f.dec(codes[i]))) << i;
  }
}

TEST(Formats, ArrayVersionsMatchScalarIncludingTailAndInPlace) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  std::normal_distribution<float> normal(0.0f, 300.0f);
  std::vector<float> in(1000 + 13);  // not a multiple of the internal block size
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = i % 3 ? normal(rng) : f_bits(any_bits(rng));
  for (OverflowMode mode : {kSat, kNonSat}) {
    expect_arrays_match_scalar<std::uint16_t>(kFormats[0], in, mode, quantize_bf16, encode_bf16,
                                              decode_bf16);
    expect_arrays_match_scalar<std::uint16_t>(kFormats[1], in, mode, quantize_fp16, encode_fp16,
                                              decode_fp16);
    expect_arrays_match_scalar<std::uint8_t>(kFormats[2], in, mode, quantize_e4m3, encode_e4m3,
                                             decode_e4m3);
    expect_arrays_match_scalar<std::uint8_t>(kFormats[3], in, mode, quantize_e5m2, encode_e5m2,
                                             decode_e5m2);
    std::vector<float> out(in.size());
    quantize(FloatFormat::kFp8E5M2, in, out, mode);
    for (std::size_t i = 0; i < in.size(); ++i)
      ASSERT_EQ(bits_f(out[i]), bits_f(round_to_e5m2(in[i], mode)));
  }
  std::vector<float> out(in.size());
  std::vector<std::uint16_t> c16(in.size());
  std::vector<std::uint8_t> c8(in.size());
  std::vector<float> inplace = in;
  quantize_fp16(inplace, inplace);
  for (std::size_t i = 0; i < in.size(); ++i)
    ASSERT_EQ(bits_f(inplace[i]), bits_f(round_to_fp16(in[i])));
  quantize(FloatFormat::kFp32, in, out, kSat);
  for (std::size_t i = 0; i < in.size(); ++i) ASSERT_EQ(bits_f(out[i]), bits_f(in[i]));

  std::vector<float> short_out(3);
  EXPECT_THROW(quantize_bf16(in, short_out), std::invalid_argument);
  EXPECT_THROW(encode_e4m3(in, std::span<std::uint8_t>(c8.data(), 5)), std::invalid_argument);
  EXPECT_THROW(decode_fp16(c16, short_out), std::invalid_argument);
}

#ifdef XPUSIM_TEST_X86
[[gnu::target("f16c")]] std::uint16_t hw_float_to_fp16(float x) {
  return static_cast<std::uint16_t>(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT));
}
[[gnu::target("f16c")]] float hw_fp16_to_float(std::uint16_t h) { return _cvtsh_ss(h); }

// An independent implementation: the F16C instructions (IEEE round to nearest even).
TEST(Formats, Fp16MatchesF16CHardware) {
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "CPU has no F16C";
  for (std::uint32_t c = 0; c < 0x10000u; ++c) {
    const std::uint16_t h = static_cast<std::uint16_t>(c);
    ASSERT_EQ(bits_f(fp16_bits_to_float(h)), bits_f(hw_fp16_to_float(h))) << c;
  }
  std::mt19937 rng(11);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  std::uniform_real_distribution<float> lg(-27.0f, 17.0f);
  for (int i = 0; i < 2000000; ++i) {
    const float x = i % 2 ? f_bits(any_bits(rng)) : std::exp2(lg(rng)) * (i % 4 ? 1.0f : -1.0f);
    const std::uint16_t hw = hw_float_to_fp16(x);
    if (std::isnan(x)) {  // F16C keeps the payload; we canonicalise (documented)
      ASSERT_EQ(float_to_fp16_bits(x) & 0x8000, hw & 0x8000);
      continue;
    }
    ASSERT_EQ(float_to_fp16_bits(x), hw) << "x=" << x << " bits=" << bits_f(x);
  }
}

// Through the 512-bit form: GCC 12's scalar _mm_cvtness_sbh trips -Wuninitialized in its header.
[[gnu::target("avx512bf16")]] std::uint16_t hw_float_to_bf16(float x) {
  const __m256bh packed = _mm512_cvtneps_pbh(_mm512_set1_ps(x));
  std::uint16_t lanes[16];
  std::memcpy(lanes, &packed, sizeof lanes);
  return lanes[0];
}

// AVX512-BF16 rounds to nearest even but flushes subnormals and keeps NaN payloads, so the
// comparison covers finite, normal inputs and results only.
TEST(Formats, Bf16MatchesAvx512Bf16HardwareInNormalRange) {
  if (!__builtin_cpu_supports("avx512bf16")) GTEST_SKIP() << "CPU has no AVX512-BF16";
  std::mt19937 rng(13);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  int compared = 0;
  for (int i = 0; i < 1000000; ++i) {
    const float x = f_bits(any_bits(rng));
    if (!std::isnormal(x) || std::fabs(x) > 0x1.fep127f) continue;
    ASSERT_EQ(float_to_bf16_bits(x), hw_float_to_bf16(x)) << "x=" << x;
    ++compared;
  }
  EXPECT_GT(compared, 900000);
}
#endif

}  // namespace
}  // namespace xpusim::numerics
