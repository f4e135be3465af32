// int8 (per-tensor / per-channel / per-token) and packed int4 (per-group) quantisation of fp32
// row-major matrices. Every granularity reduces to "one scale per contiguous run of
// elements", so one group routine does the arithmetic for all of them.
#include "workloads/numerics/int_quant.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace xpusim::numerics {
namespace {

struct IntRange {
  int qmin;
  int qmax;
};

// Symmetric schemes drop the most negative code (see the header).
IntRange int_range(int bits, QuantScheme scheme) {
  const int half = 1 << (bits - 1);
  return scheme == QuantScheme::kSymmetric ? IntRange{-(half - 1), half - 1}
                                           : IntRange{-half, half - 1};
}

// Round half to even for |v| < 2^22: adding 1.5 * 2^23 puts v in a binade whose ulp is 1, so
// the FPU's default round-to-nearest-even does the rounding; the subtraction is then exact.
// Unlike std::nearbyint it inlines and vectorises on plain SSE2. (Requires no -ffast-math,
// which would be free to fold the two operations away.)
inline float round_half_even(float v) {
  constexpr float kMagic = 0x1.8p23f;
  return (v + kMagic) - kMagic;
}

struct GroupParams {
  float scale;
  std::int32_t zero_point;
};

float round_scale(float s, FloatFormat format) {
  const float r = round_to_format(s, format, OverflowMode::kNonSaturating);
  if (std::isinf(r)) {
    throw std::range_error("int quantisation: scale " + std::to_string(s) + " overflows " +
                           std::string(format_info(format).name) +
                           "; use fp32 scales for data this large");
  }
  return r;
}

GroupParams choose_params(std::span<const float> g, QuantScheme scheme, IntRange range,
                          FloatFormat scale_format) {
  float lo = 0.0f, hi = 0.0f;  // starting at 0 keeps 0 inside the range (see the header)
  for (float v : g) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (scheme == QuantScheme::kSymmetric) {
    const float amax = std::max(-lo, hi);
    return {round_scale(amax / static_cast<float>(range.qmax), scale_format), 0};
  }
  const float span = hi - lo;  // may overflow to Inf for values near FLT_MAX: reported below
  if (std::isinf(span)) {
    throw std::range_error("int quantisation: value range [" + std::to_string(lo) + ", " +
                           std::to_string(hi) + "] overflows fp32");
  }
  const float scale = round_scale(span / static_cast<float>(range.qmax - range.qmin), scale_format);
  if (scale == 0.0f) return {0.0f, 0};
  const float zp = round_half_even(static_cast<float>(range.qmin) - lo / scale);
  return {scale, static_cast<std::int32_t>(std::clamp(zp, static_cast<float>(range.qmin),
                                                      static_cast<float>(range.qmax)))};
}

// Writes round_half_even(x / scale) + zero_point, clamped to the range. Clamping x / scale
// to [qmin - zp, qmax - zp] first keeps |v| small for round_half_even; as the bounds are
// integers, clamping before rounding equals clamping after.
template <typename Sink>
void quantize_group(std::span<const float> g, GroupParams p, IntRange range, Sink&& sink) {
  if (p.scale == 0.0f) {
    for (std::size_t i = 0; i < g.size(); ++i) sink(i, 0);
    return;
  }
  const float lo = static_cast<float>(range.qmin - p.zero_point);
  const float hi = static_cast<float>(range.qmax - p.zero_point);
  for (std::size_t i = 0; i < g.size(); ++i) {
    const float v = round_half_even(std::clamp(g[i] / p.scale, lo, hi));
    sink(i, static_cast<int>(v) + p.zero_point);
  }
}

void validate_matrix(std::span<const float> x, std::size_t rows, std::size_t cols,
                     FloatFormat scale_format, const char* what) {
  const std::string w(what);
  if (rows == 0 || cols == 0) {
    throw std::invalid_argument(w + ": rows and cols must be positive (got " +
                                std::to_string(rows) + " x " + std::to_string(cols) + ")");
  }
  if (cols > x.size() / rows || x.size() != rows * cols) {
    throw std::invalid_argument(w + ": input has " + std::to_string(x.size()) +
                                " elements, expected rows * cols = " + std::to_string(rows) +
                                " * " + std::to_string(cols));
  }
  if (scale_format != FloatFormat::kFp32 && scale_format != FloatFormat::kFp16 &&
      scale_format != FloatFormat::kBf16) {
    throw std::invalid_argument(w + ": scale format must be fp32, fp16 or bf16");
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) {
      throw std::invalid_argument(w + ": element " + std::to_string(i) + " (row " +
                                  std::to_string(i / cols) + ", col " + std::to_string(i % cols) +
                                  ") is not finite");
    }
  }
}

void check_out_size(std::size_t got, std::size_t rows, std::size_t cols, const char* what) {
  if (got != rows * cols) {
    throw std::invalid_argument(std::string(what) + ": output has " + std::to_string(got) +
                                " elements, expected " + std::to_string(rows * cols));
  }
}

std::int8_t nibble_to_int(std::uint8_t n) {
  return static_cast<std::int8_t>(static_cast<int>((n & 0x0F) ^ 0x08) - 8);  // sign-extend 4 bits
}

}  // namespace

float QuantizedInt8::row_scale(std::size_t row) const {
  return granularity == Granularity::kPerTensor ? scale.at(0) : scale.at(row);
}

std::int32_t QuantizedInt8::row_zero_point(std::size_t row) const {
  if (scheme == QuantScheme::kSymmetric) return 0;
  return granularity == Granularity::kPerTensor ? zero_point.at(0) : zero_point.at(row);
}

QuantizedInt8 quantize_int8(std::span<const float> x, std::size_t rows, std::size_t cols,
                            const Int8QuantConfig& config) {
  validate_matrix(x, rows, cols, config.scale_format, "quantize_int8");
  QuantizedInt8 t;
  t.rows = rows;
  t.cols = cols;
  t.scheme = config.scheme;
  t.granularity = config.granularity;
  t.scale_format = config.scale_format;
  t.q.resize(rows * cols);
  const IntRange range = int_range(8, config.scheme);
  const bool per_tensor = config.granularity == Granularity::kPerTensor;
  const std::size_t group_len = per_tensor ? rows * cols : cols;
  for (std::size_t start = 0; start < x.size(); start += group_len) {
    const std::span<const float> g = x.subspan(start, group_len);
    const GroupParams p = choose_params(g, config.scheme, range, config.scale_format);
    t.scale.push_back(p.scale);
    if (config.scheme == QuantScheme::kAsymmetric) t.zero_point.push_back(p.zero_point);
    quantize_group(g, p, range,
                   [&](std::size_t i, int q) { t.q[start + i] = static_cast<std::int8_t>(q); });
  }
  return t;
}

void dequantize_int8(const QuantizedInt8& t, std::span<float> out) {
  check_out_size(out.size(), t.rows, t.cols, "dequantize_int8");
  if (t.q.size() != t.rows * t.cols) {
    throw std::invalid_argument("dequantize_int8: q has " + std::to_string(t.q.size()) +
                                " elements, expected rows * cols");
  }
  for (std::size_t r = 0; r < t.rows; ++r) {
    const float s = t.row_scale(r);
    const std::int32_t zp = t.row_zero_point(r);
    for (std::size_t c = 0; c < t.cols; ++c) {
      const std::size_t i = r * t.cols + c;
      out[i] = static_cast<float>(t.q[i] - zp) * s;
    }
  }
}

std::vector<float> dequantize_int8(const QuantizedInt8& t) {
  std::vector<float> out(t.rows * t.cols);
  dequantize_int8(t, out);
  return out;
}

std::int8_t PackedInt4::value_at(std::size_t row, std::size_t col) const {
  if (row >= rows || col >= cols) {
    throw std::out_of_range("PackedInt4::value_at(" + std::to_string(row) + ", " +
                            std::to_string(col) + ") outside " + std::to_string(rows) + " x " +
                            std::to_string(cols));
  }
  const std::size_t i = row * cols + col;
  return nibble_to_int(static_cast<std::uint8_t>(packed.at(i / 2) >> (i % 2 ? 4 : 0)));
}

PackedInt4 quantize_int4(std::span<const float> x, std::size_t rows, std::size_t cols,
                         const Int4QuantConfig& config) {
  validate_matrix(x, rows, cols, config.scale_format, "quantize_int4");
  const std::size_t gs = config.group_size;
  if (gs == 0 || gs % 2 != 0 || cols % gs != 0) {
    throw std::invalid_argument("quantize_int4: group size " + std::to_string(gs) +
                                " must be positive, even and divide cols (" + std::to_string(cols) +
                                "); kernels use 32, 64 or 128");
  }
  PackedInt4 t;
  t.rows = rows;
  t.cols = cols;
  t.group_size = gs;
  t.scheme = config.scheme;
  t.scale_format = config.scale_format;
  t.packed.assign(rows * cols / 2, 0);
  const IntRange range = int_range(4, config.scheme);
  // Groups never straddle rows (gs divides cols), so the flat index walks them in order.
  for (std::size_t start = 0; start < x.size(); start += gs) {
    const std::span<const float> g = x.subspan(start, gs);
    const GroupParams p = choose_params(g, config.scheme, range, config.scale_format);
    t.scale.push_back(p.scale);
    if (config.scheme == QuantScheme::kAsymmetric) t.zero_point.push_back(p.zero_point);
    quantize_group(g, p, range, [&](std::size_t i, int q) {
      const std::size_t k = start + i;  // start is even, so k's parity is i's
      const auto nibble = static_cast<std::uint8_t>(q & 0x0F);
      t.packed[k / 2] |= static_cast<std::uint8_t>(k % 2 ? nibble << 4 : nibble);
    });
  }
  return t;
}

void dequantize_int4(const PackedInt4& t, std::span<float> out) {
  check_out_size(out.size(), t.rows, t.cols, "dequantize_int4");
  const std::size_t gpr = t.groups_per_row();
  if (t.packed.size() * 2 != t.rows * t.cols || t.scale.size() != t.rows * gpr ||
      (t.scheme == QuantScheme::kAsymmetric && t.zero_point.size() != t.scale.size())) {
    throw std::invalid_argument(
        "dequantize_int4: packed, scale or zero_point sizes do not "
        "match rows, cols and group size");
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t group = (i / t.cols) * gpr + (i % t.cols) / t.group_size;
    const std::int32_t zp = t.scheme == QuantScheme::kAsymmetric ? t.zero_point[group] : 0;
    const int q = nibble_to_int(static_cast<std::uint8_t>(t.packed[i / 2] >> (i % 2 ? 4 : 0)));
    out[i] = static_cast<float>(q - zp) * t.scale[group];
  }
}

std::vector<float> dequantize_int4(const PackedInt4& t) {
  std::vector<float> out(t.rows * t.cols);
  dequantize_int4(t, out);
  return out;
}

std::vector<std::uint8_t> pack_int4(std::span<const std::int8_t> values) {
  if (values.size() % 2 != 0) {
    throw std::invalid_argument("pack_int4: need an even number of values, got " +
                                std::to_string(values.size()));
  }
  std::vector<std::uint8_t> out(values.size() / 2);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] < -8 || values[i] > 7) {
      throw std::invalid_argument("pack_int4: value " + std::to_string(values[i]) + " at index " +
                                  std::to_string(i) + " is outside [-8, 7]");
    }
    const auto nibble = static_cast<std::uint8_t>(values[i] & 0x0F);
    out[i / 2] |= static_cast<std::uint8_t>(i % 2 ? nibble << 4 : nibble);
  }
  return out;
}

std::vector<std::int8_t> unpack_int4(std::span<const std::uint8_t> packed) {
  std::vector<std::int8_t> out(packed.size() * 2);
  for (std::size_t i = 0; i < packed.size(); ++i) {
    out[2 * i] = nibble_to_int(packed[i]);
    out[2 * i + 1] = nibble_to_int(static_cast<std::uint8_t>(packed[i] >> 4));
  }
  return out;
}

}  // namespace xpusim::numerics
