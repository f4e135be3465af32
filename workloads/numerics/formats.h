// Bit-exact emulation of the narrow floating-point formats used by LLM inference kernels:
// bf16, IEEE fp16 and the two OCP fp8 formats (e4m3 "FN" as on NVIDIA Hopper, and e5m2).
// Every conversion from fp32 rounds to nearest, ties to even; values are plain fp32 numbers
// (no units), encodings are the format's raw bits.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace xpusim::numerics {

enum class FloatFormat { kFp32, kBf16, kFp16, kFp8E4M3, kFp8E5M2 };

// What happens to a finite value beyond the largest finite number, and to +-Inf.
//  - kNonSaturating: IEEE behaviour. Overflow gives +-Inf where the format has Inf (fp16, bf16,
//    e5m2) and NaN where it has none (e4m3).
//  - kSaturating: overflow and +-Inf clamp to +-max finite, as Hopper's cvt ... .satfinite does
//    (the only fp8 conversion Hopper offers). NaN stays NaN in both modes.
enum class OverflowMode { kNonSaturating, kSaturating };

struct FloatFormatInfo {
  std::string_view name;  // "bf16", "fp16", "fp8_e4m3", "fp8_e5m2", "fp32"
  int total_bits;
  int exponent_bits;
  int mantissa_bits;  // stored fraction bits; unit roundoff is 2^-(mantissa_bits + 1)
  int exponent_bias;
  bool has_infinity;
  float max_finite;
  float min_normal;
  float min_subnormal;
};

const FloatFormatInfo& format_info(FloatFormat f);

// NaN handling, the same for every format (documented in the README):
//  - Encoding a NaN gives the format's canonical quiet NaN with the input's sign kept and the
//    payload dropped: bf16 0x7FC0, fp16 0x7E00, e4m3 0x7F, e5m2 0x7E (each | sign bit).
//    Hence decode -> encode is the identity on every non-NaN pattern, and maps every NaN
//    pattern to the canonical NaN of the same sign.
//  - Decoding a NaN gives an fp32 quiet NaN with the same sign: the payload is kept in the top
//    fraction bits and the quiet bit forced on, as x86 F16C does (e4m3's one NaN -> 0x7FC00000).
//
// fp32 subnormal inputs are honoured (no flush to zero); they round to +-0 in fp16 and fp8 and
// to the nearest bf16 subnormal in bf16. Results assume the default floating-point environment
// (round to nearest), which C++ programs start in; FTZ/DAZ do not change them.

// ---- bf16: 1-8-7, bias 127, same exponent range as fp32. -----------------------------------
std::uint16_t float_to_bf16_bits(float x, OverflowMode mode = OverflowMode::kNonSaturating);
float bf16_bits_to_float(std::uint16_t bits);
float round_to_bf16(float x, OverflowMode mode = OverflowMode::kNonSaturating);

// ---- fp16: IEEE binary16, 1-5-10, bias 15, max 65504, min subnormal 2^-24. -----------------
std::uint16_t float_to_fp16_bits(float x, OverflowMode mode = OverflowMode::kNonSaturating);
float fp16_bits_to_float(std::uint16_t bits);
float round_to_fp16(float x, OverflowMode mode = OverflowMode::kNonSaturating);

// ---- fp8 e4m3 (OCP E4M3FN): 1-4-3, bias 7, no Inf, max 448 = 0x7E, NaN = S.1111.111,
// min subnormal 2^-9. Default is saturating because that is what Hopper hardware does. --------
std::uint8_t float_to_e4m3_bits(float x, OverflowMode mode = OverflowMode::kSaturating);
float e4m3_bits_to_float(std::uint8_t bits);
float round_to_e4m3(float x, OverflowMode mode = OverflowMode::kSaturating);

// ---- fp8 e5m2: 1-5-2, bias 15, IEEE-like with Inf, max 57344 = 0x7B, min subnormal 2^-16. --
std::uint8_t float_to_e5m2_bits(float x, OverflowMode mode = OverflowMode::kSaturating);
float e5m2_bits_to_float(std::uint8_t bits);
float round_to_e5m2(float x, OverflowMode mode = OverflowMode::kSaturating);

// Any format chosen at run time; kFp32 is the identity (mode ignored).
float round_to_format(float x, FloatFormat f, OverflowMode mode);

// ---- Array versions. ------------------------------------------------------------------------
// Each requires in.size() == out.size() (else std::invalid_argument). `out` may be the same
// memory as `in` (in-place); any other overlap is undefined. The loops are branch-free per
// element and are written in fixed-size blocks so GCC vectorises them even at -O2.
// "quantize" means fp32 -> format -> fp32 (fake quantisation, the value a kernel would see).
void quantize_bf16(std::span<const float> in, std::span<float> out,
                   OverflowMode mode = OverflowMode::kNonSaturating);
void quantize_fp16(std::span<const float> in, std::span<float> out,
                   OverflowMode mode = OverflowMode::kNonSaturating);
void quantize_e4m3(std::span<const float> in, std::span<float> out,
                   OverflowMode mode = OverflowMode::kSaturating);
void quantize_e5m2(std::span<const float> in, std::span<float> out,
                   OverflowMode mode = OverflowMode::kSaturating);
void quantize(FloatFormat f, std::span<const float> in, std::span<float> out, OverflowMode mode);

void encode_bf16(std::span<const float> in, std::span<std::uint16_t> out,
                 OverflowMode mode = OverflowMode::kNonSaturating);
void encode_fp16(std::span<const float> in, std::span<std::uint16_t> out,
                 OverflowMode mode = OverflowMode::kNonSaturating);
void encode_e4m3(std::span<const float> in, std::span<std::uint8_t> out,
                 OverflowMode mode = OverflowMode::kSaturating);
void encode_e5m2(std::span<const float> in, std::span<std::uint8_t> out,
                 OverflowMode mode = OverflowMode::kSaturating);

void decode_bf16(std::span<const std::uint16_t> in, std::span<float> out);
void decode_fp16(std::span<const std::uint16_t> in, std::span<float> out);
void decode_e4m3(std::span<const std::uint8_t> in, std::span<float> out);
void decode_e5m2(std::span<const std::uint8_t> in, std::span<float> out);

}  // namespace xpusim::numerics
