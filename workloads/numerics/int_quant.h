// Integer quantisation as LLM inference kernels do it: int8 with per-tensor, per-channel or
// per-token scales, and int4 with per-group scales, packed two values per byte. Inputs are fp32
// row-major [rows, cols] matrices; scales are fp32 (optionally rounded to fp16/bf16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "workloads/numerics/formats.h"

namespace xpusim::numerics {

// Symmetric: x ~ q * scale with zero point 0; scale = max|x| / qmax, and the integer range is
// made symmetric ([-127, 127] for int8, [-7, 7] for int4) so that q and -q are both
// representable and the most negative code never dequantises beyond -max|x|.
// Asymmetric: x ~ (q - zero_point) * scale over the full range ([-128, 127], [-8, 7]);
// the range quantised is [min(min x, 0), max(max x, 0)], so 0 is always exactly representable
// (zero padding stays zero), scale = (hi - lo) / (qmax - qmin) and
// zero_point = round(qmin - lo / scale), clamped to [qmin, qmax].
enum class QuantScheme { kSymmetric, kAsymmetric };

// Which elements share one scale (int8). kPerChannel and kPerToken both give one scale per row
// and are computed identically; they differ in what the matrix is: kPerChannel is for weights
// [out_channels, in_features] (static, one scale per output channel), kPerToken for
// activations [tokens, hidden] (dynamic, computed at run time per token). Keeping them apart
// lets cost models and reports say which was meant.
enum class Granularity { kPerTensor, kPerChannel, kPerToken };

// Rounding, the same everywhere (documented in the README): q = round_half_even(x / scale),
// then clamp to the integer range. x / scale is one correctly rounded fp32 division (not a
// multiply by a reciprocal), and ties go to even like the default IEEE mode and like cvt.rni
// on GPUs. Dequantisation is the single fp32 product (q - zero_point) * scale.
//
// Scales are computed in fp32 and, if `scale_format` is kFp16 or kBf16, rounded to that format
// to nearest even before use, as kernels that store half-precision scales do. Error bounds per
// element: |x - dequant(q)| <= scale / 2 (up to fp32 rounding) with fp32 scales; a rounded scale
// can be smaller than the exact one, which may clamp the extreme values and add up to
// (qmax - qmin) * u * scale, u being the scale format's unit roundoff (2^-8 bf16, 2^-11 fp16).
// A group whose scale is 0 (all zeros, or a scale that underflows fp16/bf16) is stored with
// scale 0, zero point 0 and all q = 0, and so dequantises to zeros. A scale that overflows the
// scale format throws std::range_error. Inputs must be finite (std::invalid_argument).

struct Int8QuantConfig {
  QuantScheme scheme = QuantScheme::kSymmetric;
  Granularity granularity = Granularity::kPerTensor;
  FloatFormat scale_format = FloatFormat::kFp32;  // kFp32, kFp16 or kBf16
};

struct QuantizedInt8 {
  std::size_t rows = 0;
  std::size_t cols = 0;
  QuantScheme scheme = QuantScheme::kSymmetric;
  Granularity granularity = Granularity::kPerTensor;
  FloatFormat scale_format = FloatFormat::kFp32;
  std::vector<std::int8_t> q;            // rows * cols, row-major
  std::vector<float> scale;              // 1 (per tensor) or rows (per channel / per token)
  std::vector<std::int32_t> zero_point;  // same length as scale if asymmetric, else empty

  float row_scale(std::size_t row) const;              // the scale that applies to `row`
  std::int32_t row_zero_point(std::size_t row) const;  // 0 when symmetric
};

// Throws std::invalid_argument for rows or cols of 0, x.size() != rows * cols, non-finite
// inputs or an unsupported scale format; std::range_error if a scale overflows its format.
QuantizedInt8 quantize_int8(std::span<const float> x, std::size_t rows, std::size_t cols,
                            const Int8QuantConfig& config = {});
void dequantize_int8(const QuantizedInt8& t, std::span<float> out);  // out: rows * cols
std::vector<float> dequantize_int8(const QuantizedInt8& t);

// int4 with one scale (and zero point) per group of `group_size` consecutive elements of a
// row. group_size must be positive, even (so that a group fills whole bytes) and divide cols;
// kernels use 32, 64 or 128.
struct Int4QuantConfig {
  QuantScheme scheme = QuantScheme::kSymmetric;
  std::size_t group_size = 128;
  FloatFormat scale_format = FloatFormat::kFp32;  // kFp32, kFp16 or kBf16
};

// Packing: element i of the row-major matrix lives in byte i / 2, in the low nibble when i is
// even and the high nibble when i is odd (low nibble first, as in GPTQ/AWQ-style kernels), as a
// 4-bit two's-complement value in [-8, 7]. Asymmetric values are kept signed with a signed zero
// point, so both schemes share one packing.
struct PackedInt4 {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t group_size = 0;
  QuantScheme scheme = QuantScheme::kSymmetric;
  FloatFormat scale_format = FloatFormat::kFp32;
  std::vector<std::uint8_t> packed;      // rows * cols / 2 bytes
  std::vector<float> scale;              // rows * groups_per_row(), row-major [row][group]
  std::vector<std::int32_t> zero_point;  // same length as scale if asymmetric, else empty

  std::size_t groups_per_row() const { return group_size == 0 ? 0 : cols / group_size; }
  std::int8_t value_at(std::size_t row, std::size_t col) const;  // unpacked, in [-8, 7]
};

// Throws as quantize_int8 does, and std::invalid_argument for a bad group size.
PackedInt4 quantize_int4(std::span<const float> x, std::size_t rows, std::size_t cols,
                         const Int4QuantConfig& config = {});
void dequantize_int4(const PackedInt4& t, std::span<float> out);  // out: rows * cols
std::vector<float> dequantize_int4(const PackedInt4& t);

// Raw nibble packing in the layout above. pack_int4 needs an even count of values in [-8, 7]
// (std::invalid_argument otherwise); unpack_int4 returns two values per byte.
std::vector<std::uint8_t> pack_int4(std::span<const std::int8_t> values);
std::vector<std::int8_t> unpack_int4(std::span<const std::uint8_t> packed);

}  // namespace xpusim::numerics
