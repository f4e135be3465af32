// Bit-exact fp32 <-> bf16 / fp16 / fp8 (e4m3, e5m2) conversions, round to nearest even.
// One template, parameterised by the format's field widths, serves every format, so the
// rounding, overflow and NaN rules are written (and tested) once. Values are unitless fp32.
#include "workloads/numerics/formats.h"

#include <bit>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>

namespace xpusim::numerics {
namespace {

// Field layout of a narrow format. `ieee_specials`: the all-ones exponent holds Inf/NaN (fp16,
// bf16, e5m2). Without it (e4m3 "FN"), that exponent holds normal numbers and only the
// all-ones pattern S.1111.111 is NaN, which buys one more binade (max 448 instead of 240).
struct Layout {
  int exp_bits;
  int mant_bits;
  bool ieee_specials;

  constexpr int bias() const { return (1 << (exp_bits - 1)) - 1; }
  constexpr int emin() const { return 1 - bias(); }
  constexpr int shift() const { return 23 - mant_bits; }  // fp32 fraction bits dropped
  constexpr std::uint32_t sign_bit() const { return 1u << (exp_bits + mant_bits); }
  constexpr std::uint32_t exp_all_ones() const { return (1u << exp_bits) - 1; }
  constexpr std::uint32_t inf_code() const { return exp_all_ones() << mant_bits; }
  constexpr std::uint32_t max_code() const {
    return ieee_specials ? inf_code() - 1 : (1u << (exp_bits + mant_bits)) - 2;
  }
  // Canonical quiet NaN: top fraction bit set (IEEE), or the single NaN pattern of e4m3.
  constexpr std::uint32_t nan_code() const {
    return ieee_specials ? inf_code() | (1u << (mant_bits - 1)) : max_code() + 1;
  }
  constexpr std::uint32_t overflow_code(bool saturate) const {
    return saturate ? max_code() : (ieee_specials ? inf_code() : nan_code());
  }
};

constexpr Layout kBf16{8, 7, true};
constexpr Layout kFp16{5, 10, true};
constexpr Layout kE4M3{4, 3, false};
constexpr Layout kE5M2{5, 2, true};

constexpr std::uint32_t kF32AbsMask = 0x7FFFFFFFu;
constexpr std::uint32_t kF32Inf = 0x7F800000u;
constexpr std::uint32_t kF32QuietBit = 0x00400000u;

// Drops the low `shift` bits of v, rounding to nearest with ties to even: adding
// (half - 1) + lsb carries into the kept bits exactly when the dropped part is above half,
// or equal to half with an odd kept part. Needs v + 2^(shift-1) to fit in 32 bits.
constexpr std::uint32_t shift_right_rne(std::uint32_t v, std::uint32_t shift) {
  const std::uint32_t lsb = (v >> shift) & 1u;
  return (v + ((1u << shift) >> 1) - 1u + lsb) >> shift;
}

// Branch-free select. Plain `c ? a : b` would let GCC sink the floating-point operations that
// feed only one side into a branch, and with -ftrapping-math (the default) it then refuses to
// if-convert and vectorise the loop.
[[gnu::always_inline]] inline std::uint32_t select(bool c, std::uint32_t a, std::uint32_t b) {
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(c);
  return (a & mask) | (b & ~mask);
}

// fp32 bits -> narrow code (sign included). Branch-free so that array loops vectorise; forced
// inline because at -O2 GCC would otherwise keep it (and decode) as calls inside the loops.
template <Layout L>
[[gnu::always_inline]] inline std::uint32_t encode(std::uint32_t u, std::uint32_t overflow_code) {
  const std::uint32_t sign = (u >> 31) * L.sign_bit();
  const std::uint32_t a = u & kF32AbsMask;
  const std::uint32_t exp_field = a >> 23;

  // Normal result: round the fp32 fraction, then rebias the exponent. A carry out of the
  // fraction correctly bumps the exponent (and turns max + half ulp into the next code).
  // For |x| below the format's normal range the subtraction wraps; that value is then unused.
  std::uint32_t r =
      shift_right_rne(a, L.shift()) - (static_cast<std::uint32_t>(127 - L.bias()) << L.mant_bits);

  if constexpr (L.bias() != 127) {
    // Below the format's smallest normal the result is a fixed-point multiple of the smallest
    // subnormal Q = 2^(emin - mant_bits). Adding C = 2^23 * Q makes the FPU align |x| to C's
    // ulp, which is Q, rounding to nearest even; the low bits of the sum are then the code
    // (a sum that reaches 2^mant_bits * Q is the smallest normal code, as it should be). This
    // is exact IEEE arithmetic in the default rounding mode, unaffected by FTZ/DAZ (an fp32
    // subnormal input rounds to 0 here anyway), and unlike a per-element variable shift it
    // vectorises on plain SSE2. bf16 shares fp32's exponent range and needs no such path.
    constexpr float kAlign =
        std::bit_cast<float>(static_cast<std::uint32_t>(L.emin() - L.mant_bits + 23 + 127) << 23);
    const std::uint32_t r_sub = std::bit_cast<std::uint32_t>(std::bit_cast<float>(a) + kAlign) -
                                std::bit_cast<std::uint32_t>(kAlign);
    constexpr std::uint32_t kFirstNormalField = static_cast<std::uint32_t>(L.emin() + 127);
    r = select(exp_field < kFirstNormalField, r_sub, r);
  }
  r = select(r > L.max_code(), overflow_code, r);  // also catches +-Inf (and NaN, fixed just below)
  r = select(a > kF32Inf, L.nan_code(), r);
  return sign | r;
}

// Narrow code -> fp32 bits. Exact: every narrow value is an fp32 value.
template <Layout L>
[[gnu::always_inline]] inline std::uint32_t decode(std::uint32_t h) {
  const std::uint32_t sign = ((h >> (L.exp_bits + L.mant_bits)) & 1u) << 31;
  const std::uint32_t e = (h >> L.mant_bits) & L.exp_all_ones();
  const std::uint32_t m = h & ((1u << L.mant_bits) - 1u);

  const std::uint32_t normal =
      ((e + static_cast<std::uint32_t>(127 - L.bias())) << 23) | (m << L.shift());
  std::uint32_t r = normal;
  if constexpr (L.bias() != 127) {
    // Subnormal m * 2^(emin - mant_bits): m is a small integer and the factor a power of two
    // inside fp32's normal range, so the int->float conversion and the product are both exact.
    constexpr float kQuantum =
        std::bit_cast<float>(static_cast<std::uint32_t>(L.emin() - L.mant_bits + 127) << 23);
    const std::uint32_t sub =
        std::bit_cast<std::uint32_t>(static_cast<float>(static_cast<std::int32_t>(m)) * kQuantum);
    r = select(e == 0, sub, r);
  }
  if constexpr (L.ieee_specials) {
    const std::uint32_t special = kF32Inf | (m << L.shift()) | select(m != 0, kF32QuietBit, 0u);
    r = select(e == L.exp_all_ones(), special, r);
  } else {
    r = select((h & ~L.sign_bit()) == L.nan_code(), kF32Inf | kF32QuietBit, r);
  }
  return sign | r;
}

template <Layout L>
std::uint32_t encode_float(float x, OverflowMode mode) {
  return encode<L>(std::bit_cast<std::uint32_t>(x),
                   L.overflow_code(mode == OverflowMode::kSaturating));
}

template <Layout L>
float decode_float(std::uint32_t h) {
  return std::bit_cast<float>(decode<L>(h));
}

void check_sizes(std::size_t in, std::size_t out, const char* what) {
  if (in != out) {
    throw std::invalid_argument(std::string(what) + ": input has " + std::to_string(in) +
                                " elements but output has " + std::to_string(out));
  }
}

// Fixed-size blocks staged through local arrays: the inner loops have a constant trip count
// and cannot alias the caller's buffers, which lets GCC's -O2 "very cheap" vectoriser take them
// (it refuses loops that need a runtime alias check or a scalar epilogue). The staging also
// makes in-place calls well defined.
constexpr std::size_t kBlock = 16;

template <Layout L, typename Code>
void encode_array(std::span<const float> in, std::span<Code> out, OverflowMode mode,
                  const char* what) {
  check_sizes(in.size(), out.size(), what);
  const std::uint32_t ovf = L.overflow_code(mode == OverflowMode::kSaturating);
  std::size_t i = 0;
  for (; i + kBlock <= in.size(); i += kBlock) {
    std::uint32_t bits[kBlock];
    Code codes[kBlock];
    std::memcpy(bits, in.data() + i, sizeof bits);
    for (std::size_t j = 0; j < kBlock; ++j) codes[j] = static_cast<Code>(encode<L>(bits[j], ovf));
    std::memcpy(out.data() + i, codes, sizeof codes);
  }
  for (; i < in.size(); ++i) {
    out[i] = static_cast<Code>(encode<L>(std::bit_cast<std::uint32_t>(in[i]), ovf));
  }
}

template <Layout L, typename Code>
void decode_array(std::span<const Code> in, std::span<float> out, const char* what) {
  check_sizes(in.size(), out.size(), what);
  std::size_t i = 0;
  for (; i + kBlock <= in.size(); i += kBlock) {
    Code codes[kBlock];
    std::uint32_t bits[kBlock];
    std::memcpy(codes, in.data() + i, sizeof codes);
    for (std::size_t j = 0; j < kBlock; ++j) bits[j] = decode<L>(codes[j]);
    std::memcpy(out.data() + i, bits, sizeof bits);
  }
  for (; i < in.size(); ++i) out[i] = decode_float<L>(in[i]);
}

template <Layout L>
void quantize_array(std::span<const float> in, std::span<float> out, OverflowMode mode,
                    const char* what) {
  check_sizes(in.size(), out.size(), what);
  const std::uint32_t ovf = L.overflow_code(mode == OverflowMode::kSaturating);
  std::size_t i = 0;
  for (; i + kBlock <= in.size(); i += kBlock) {
    std::uint32_t bits[kBlock];
    std::memcpy(bits, in.data() + i, sizeof bits);
    for (std::size_t j = 0; j < kBlock; ++j) bits[j] = decode<L>(encode<L>(bits[j], ovf));
    std::memcpy(out.data() + i, bits, sizeof bits);
  }
  for (; i < in.size(); ++i) {
    out[i] = decode_float<L>(encode<L>(std::bit_cast<std::uint32_t>(in[i]), ovf));
  }
}

}  // namespace

const FloatFormatInfo& format_info(FloatFormat f) {
  // Limits written as exact hexadecimal float literals, derived from the layouts above.
  static constexpr FloatFormatInfo kFp32Info{"fp32",          32,        8,        23, 127, true,
                                             0x1.fffffep127f, 0x1p-126f, 0x1p-149f};
  static constexpr FloatFormatInfo kBf16Info{"bf16", 16,          8,         7,        127,
                                             true,   0x1.fep127f, 0x1p-126f, 0x1p-133f};
  static constexpr FloatFormatInfo kFp16Info{"fp16", 16,       5,        10,      15,
                                             true,   65504.0f, 0x1p-14f, 0x1p-24f};
  static constexpr FloatFormatInfo kE4M3Info{"fp8_e4m3", 8,      4,       3,      7,
                                             false,      448.0f, 0x1p-6f, 0x1p-9f};
  static constexpr FloatFormatInfo kE5M2Info{"fp8_e5m2", 8,        5,        2,       15,
                                             true,       57344.0f, 0x1p-14f, 0x1p-16f};
  switch (f) {
    case FloatFormat::kFp32:
      return kFp32Info;
    case FloatFormat::kBf16:
      return kBf16Info;
    case FloatFormat::kFp16:
      return kFp16Info;
    case FloatFormat::kFp8E4M3:
      return kE4M3Info;
    case FloatFormat::kFp8E5M2:
      return kE5M2Info;
  }
  throw std::invalid_argument("format_info: unknown FloatFormat " +
                              std::to_string(static_cast<int>(f)));
}

std::uint16_t float_to_bf16_bits(float x, OverflowMode mode) {
  return static_cast<std::uint16_t>(encode_float<kBf16>(x, mode));
}
float bf16_bits_to_float(std::uint16_t bits) { return decode_float<kBf16>(bits); }
float round_to_bf16(float x, OverflowMode mode) {
  return decode_float<kBf16>(encode_float<kBf16>(x, mode));
}

std::uint16_t float_to_fp16_bits(float x, OverflowMode mode) {
  return static_cast<std::uint16_t>(encode_float<kFp16>(x, mode));
}
float fp16_bits_to_float(std::uint16_t bits) { return decode_float<kFp16>(bits); }
float round_to_fp16(float x, OverflowMode mode) {
  return decode_float<kFp16>(encode_float<kFp16>(x, mode));
}

std::uint8_t float_to_e4m3_bits(float x, OverflowMode mode) {
  return static_cast<std::uint8_t>(encode_float<kE4M3>(x, mode));
}
float e4m3_bits_to_float(std::uint8_t bits) { return decode_float<kE4M3>(bits); }
float round_to_e4m3(float x, OverflowMode mode) {
  return decode_float<kE4M3>(encode_float<kE4M3>(x, mode));
}

std::uint8_t float_to_e5m2_bits(float x, OverflowMode mode) {
  return static_cast<std::uint8_t>(encode_float<kE5M2>(x, mode));
}
float e5m2_bits_to_float(std::uint8_t bits) { return decode_float<kE5M2>(bits); }
float round_to_e5m2(float x, OverflowMode mode) {
  return decode_float<kE5M2>(encode_float<kE5M2>(x, mode));
}

float round_to_format(float x, FloatFormat f, OverflowMode mode) {
  switch (f) {
    case FloatFormat::kFp32:
      return x;
    case FloatFormat::kBf16:
      return round_to_bf16(x, mode);
    case FloatFormat::kFp16:
      return round_to_fp16(x, mode);
    case FloatFormat::kFp8E4M3:
      return round_to_e4m3(x, mode);
    case FloatFormat::kFp8E5M2:
      return round_to_e5m2(x, mode);
  }
  throw std::invalid_argument("round_to_format: unknown FloatFormat " +
                              std::to_string(static_cast<int>(f)));
}

void quantize_bf16(std::span<const float> in, std::span<float> out, OverflowMode mode) {
  quantize_array<kBf16>(in, out, mode, "quantize_bf16");
}
void quantize_fp16(std::span<const float> in, std::span<float> out, OverflowMode mode) {
  quantize_array<kFp16>(in, out, mode, "quantize_fp16");
}
void quantize_e4m3(std::span<const float> in, std::span<float> out, OverflowMode mode) {
  quantize_array<kE4M3>(in, out, mode, "quantize_e4m3");
}
void quantize_e5m2(std::span<const float> in, std::span<float> out, OverflowMode mode) {
  quantize_array<kE5M2>(in, out, mode, "quantize_e5m2");
}

void quantize(FloatFormat f, std::span<const float> in, std::span<float> out, OverflowMode mode) {
  switch (f) {
    case FloatFormat::kFp32:
      check_sizes(in.size(), out.size(), "quantize");
      if (in.data() != out.data()) std::memmove(out.data(), in.data(), in.size_bytes());
      return;
    case FloatFormat::kBf16:
      return quantize_bf16(in, out, mode);
    case FloatFormat::kFp16:
      return quantize_fp16(in, out, mode);
    case FloatFormat::kFp8E4M3:
      return quantize_e4m3(in, out, mode);
    case FloatFormat::kFp8E5M2:
      return quantize_e5m2(in, out, mode);
  }
  throw std::invalid_argument("quantize: unknown FloatFormat " +
                              std::to_string(static_cast<int>(f)));
}

void encode_bf16(std::span<const float> in, std::span<std::uint16_t> out, OverflowMode mode) {
  encode_array<kBf16>(in, out, mode, "encode_bf16");
}
void encode_fp16(std::span<const float> in, std::span<std::uint16_t> out, OverflowMode mode) {
  encode_array<kFp16>(in, out, mode, "encode_fp16");
}
void encode_e4m3(std::span<const float> in, std::span<std::uint8_t> out, OverflowMode mode) {
  encode_array<kE4M3>(in, out, mode, "encode_e4m3");
}
void encode_e5m2(std::span<const float> in, std::span<std::uint8_t> out, OverflowMode mode) {
  encode_array<kE5M2>(in, out, mode, "encode_e5m2");
}

void decode_bf16(std::span<const std::uint16_t> in, std::span<float> out) {
  decode_array<kBf16>(in, out, "decode_bf16");
}
void decode_fp16(std::span<const std::uint16_t> in, std::span<float> out) {
  decode_array<kFp16>(in, out, "decode_fp16");
}
void decode_e4m3(std::span<const std::uint8_t> in, std::span<float> out) {
  decode_array<kE4M3>(in, out, "decode_e4m3");
}
void decode_e5m2(std::span<const std::uint8_t> in, std::span<float> out) {
  decode_array<kE5M2>(in, out, "decode_e5m2");
}

}  // namespace xpusim::numerics
