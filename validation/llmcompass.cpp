// LLMCompass's public A100 measurements (matmul, softmax, LayerNorm, GELU, one GPT-3 175B layer
// with tensor parallelism 4) as validation rows, with the errors LLMCompass published for them.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <string>
#include <vector>

#include "sim/base/file_read.h"
#include "sim/base/errors.h"
#include "validation/validate.h"

namespace xpusim {

namespace fs = std::filesystem;

namespace {

// LLMCompass's files have no header: numbers separated by commas, one point per line.
std::vector<std::pair<int, std::vector<double>>> read_numbers(const fs::path& p, size_t columns,
                                                              ErrorList& errors,
                                                              bool skip_header = false) {
  std::istringstream in(read_file_bounded(p.string(), "--a100-data", kMaxTableFileBytes));
  std::vector<std::pair<int, std::vector<double>>> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos || (skip_header && n == 1)) continue;
    std::vector<double> values;
    size_t start = 0;
    bool ok = true;
    for (size_t c = 0; c < columns && ok; ++c) {
      size_t comma = line.find(',', start);
      std::string field =
          line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      size_t b = field.find_first_not_of(" \t\r");
      size_t e = field.find_last_not_of(" \t\r");
      field = b == std::string::npos ? "" : field.substr(b, e - b + 1);
      // "0.1900ms" and "101.7Tflops" carry units: take the leading number.
      double v = 0;
      size_t used = 0;
      try {
        v = std::stod(field, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || !std::isfinite(v)) {
        errors.add({p.string(), n, int(start) + 1}, "", fmt::format("'{}' is not a number", field));
        ok = false;
      }
      values.push_back(v);
      if (comma == std::string::npos && c + 1 < columns) {
        errors.add({p.string(), n, int(line.size()) + 1}, "",
                   fmt::format("expected {} values", columns));
        ok = false;
      }
      start = comma == std::string::npos ? line.size() : comma + 1;
    }
    if (ok) out.emplace_back(n, std::move(values));
  }
  return out;
}

ValidationRow a100_row(const fs::path& p, int line, std::string category, std::string label,
                       std::vector<Op> ops, double measured_s, double published) {
  ValidationRow v;
  v.file = p.filename().string();
  v.line = line;
  v.category = std::move(category);
  v.set = "holdout";
  v.label = std::move(label);
  v.ops = std::move(ops);
  v.measured_s = measured_s;
  v.published_error = published;
  return v;
}

}  // namespace

std::vector<ValidationRow> load_llmcompass_a100(const std::string& dir) {
  const fs::path root(dir);
  if (!fs::is_directory(root))
    throw ConfigError(SourceLoc{dir, 0, 0}, "--a100-data", "is not a directory");
  ErrorList errors;
  std::vector<ValidationRow> rows;
  const DType fp16 = DType::kFp16;
  // LLMCompass's published average errors on this data (README of the reference data).
  for (auto& [line, v] : read_numbers(root / "matmul_A100.csv", 3, errors)) {
    int64_t M = std::llround(v[0]), N = std::llround(v[1]), K = std::llround(v[2]);
    rows.push_back(a100_row(root / "matmul_A100.csv", line, "a100 matmul",
                            fmt::format("M={} K={} N={}", M, K, N),
                            {make_gemm("matmul", M, K, N, fp16)}, 0, 0.090));
  }
  // Latencies from the same files: the 4th column is "0.1900ms".
  {
    std::istringstream in(
        read_file_bounded((root / "matmul_A100.csv").string(), "--a100-data", kMaxTableFileBytes));
    std::string line;
    size_t i = 0;
    int n = 0;
    while (std::getline(in, line) && i < rows.size()) {
      ++n;
      if (rows[i].line != n) continue;
      size_t pos = 0;
      for (int c = 0; c < 3; ++c) pos = line.find(',', pos) + 1;
      try {
        rows[i].measured_s = std::stod(line.substr(pos)) * 1e-3;
      } catch (const std::exception&) {
        errors.add({(root / "matmul_A100.csv").string(), n, int(pos) + 1}, "",
                   "latency is not a number");
      }
      ++i;
    }
  }
  auto rows_per_s = [&](const char* file, EwKind kind, double published) {
    const std::string op(ew_kind_name(kind));
    for (auto& [line, v] : read_numbers(root / file, 3, errors)) {
      int64_t M = std::llround(v[0]), N = std::llround(v[1]);
      rows.push_back(a100_row(root / file, line, "a100 " + op,
                              fmt::format("{} M={} N={}", op, M, N),
                              {make_elementwise(op, kind, M, N, fp16)},
                              double(M) * double(N) / (v[2] * 1e9), published));
    }
  };
  rows_per_s("softmax_A100.csv", EwKind::kSoftmax, 0.120);
  rows_per_s("layernorm_A100.csv", EwKind::kLayernorm, 0.138);
  for (auto& [line, v] : read_numbers(root / "gelu_A100.csv", 2, errors)) {
    int64_t n = std::llround(v[0]);
    rows.push_back(a100_row(root / "gelu_A100.csv", line, "a100 gelu", fmt::format("gelu n={}", n),
                            {make_elementwise("gelu", EwKind::kGelu, 1, n, fp16)},
                            double(n) / (v[1] * 1e9), 0.050));
  }
  // One GPT-3 175B layer per GPU with tensor parallelism 4 (d=12288, 24 of 96 heads, head 128),
  // batch 8, prompt 2048; the measured rows are unfused PyTorch ops. Q·Kᵀ and A·V are batched
  // GEMMs, approximated as one GEMM with the batch folded into M. The all-reduce rows are left
  // out (a link model, not the GPU's). Decode: the 1024th new token (context 3072); its Q·Kᵀ,
  // softmax and A·V are compared with our fused decode attention.
  {
    const int64_t b = 8, s = 2048, d = 12288, h = 24, hd = 128, T = b * s;
    auto layer = read_numbers(root / "transformer_A100.csv", 1, errors);
    auto decode = read_numbers(root / "transformerAR_A100.csv", 1, errors);
    if (layer.size() >= 10) {
      std::vector<Op> ops = {make_gemm("qkv", T, d, 3 * d / 4, fp16),
                             make_gemm("qk", b * h * s, hd, s, fp16),
                             make_gemm("av", b * h * s, s, hd, fp16),
                             make_gemm("wo", T, d / 4, d, fp16),
                             make_gemm("w1", T, d, d, fp16),
                             make_gemm("w2", T, d, d, fp16),
                             make_elementwise("softmax", EwKind::kSoftmax, b * h * s, s, fp16),
                             make_elementwise("ln1", EwKind::kLayernorm, T, d, fp16),
                             make_elementwise("ln2", EwKind::kLayernorm, T, d, fp16),
                             make_elementwise("gelu", EwKind::kGelu, T, d, fp16)};
      double measured = 0;
      for (size_t i = 0; i < 10; ++i) measured += layer[i].second[0];
      rows.push_back(a100_row(root / "transformer_A100.csv", 1, "a100 gpt3 layer prefill",
                              "gpt3-175b tp4 B=8 prompt 2048, rows 1-10 (no all-reduce)", ops,
                              measured, 0.0069));
    }
    if (decode.size() >= 10) {
      const int64_t ctx = s + 1024;
      std::vector<Op> ops = {make_gemm("qkv", b, d, 3 * d / 4, fp16),
                             make_attention("attn", b, h, h, hd, 1, ctx, false, fp16),
                             make_gemm("wo", b, d / 4, d, fp16),
                             make_gemm("w1", b, d, d, fp16),
                             make_gemm("w2", b, d, d, fp16),
                             make_elementwise("ln1", EwKind::kLayernorm, b, d, fp16),
                             make_elementwise("ln2", EwKind::kLayernorm, b, d, fp16),
                             make_elementwise("gelu", EwKind::kGelu, b, d, fp16)};
      double measured = 0;
      for (size_t i = 0; i < 10; ++i) measured += decode[i].second[0];
      rows.push_back(
          a100_row(root / "transformerAR_A100.csv", 1, "a100 gpt3 layer decode",
                   "gpt3-175b tp4 B=8 ctx 3072, rows 1-10 (no all-reduce; fused attention)", ops,
                   measured, 0.075));
    }
  }
  // nccl-tests all-reduce across the 4 GPUs (NVLink): bytes per rank, latency in µs; the file has
  // a header row.
  {
    auto ar = read_numbers(root / "allreduce_4xA100_nvlink.csv", 2, errors, /*skip_header=*/true);
    for (auto& [line, v] : ar)
      rows.push_back(a100_row(root / "allreduce_4xA100_nvlink.csv", line, "a100 all-reduce",
                              fmt::format("all-reduce {:.0f} B x4", v[0]),
                              {make_collective("all_reduce", "all_reduce", v[0], 4)}, v[1] * 1e-6,
                              0.149));
  }
  errors.throw_if_any();
  // The measurements ran eagerly (PyTorch 2.0, torch.compile for LayerNorm and GELU), so small
  // kernels show the host's launch floor (~13 us softmax, ~50 us LayerNorm/GELU), which is not
  // the GPU's. The rows whose time is at least 4x their file's smallest are repeated in the set
  // "kernel-dominated", where the floor is under a quarter of the time.
  std::map<std::string, double> floor_s;
  for (const auto& r : rows)
    if (r.ops.size() == 1)
      floor_s[r.file] =
          floor_s.count(r.file) ? std::min(floor_s[r.file], r.measured_s) : r.measured_s;
  const size_t n = rows.size();
  for (size_t i = 0; i < n; ++i) {
    if (rows[i].ops.size() != 1 || rows[i].ops[0].kind == OpKind::kCollective ||
        rows[i].measured_s < 4 * floor_s[rows[i].file])
      continue;
    ValidationRow copy = rows[i];
    copy.set = "kernel-dominated";
    rows.push_back(std::move(copy));
  }
  return rows;
}

}  // namespace xpusim
