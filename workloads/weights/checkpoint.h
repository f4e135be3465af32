// A Hugging Face safetensors checkpoint: one model.safetensors, or shards listed by
// model.safetensors.index.json (its weight_map names each tensor's shard). Gives fp32 tensors by
// name and checks a list of expected names and shapes, reporting every problem at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/weights/safetensors.h"

namespace xpusim::weights {

// A dense fp32 tensor, row-major, ready for the functional kernels.
struct Tensor {
  std::vector<std::int64_t> shape;
  std::vector<float> data;
  std::int64_t num_elements() const { return static_cast<std::int64_t>(data.size()); }
};

// A tensor a model expects: its name in the checkpoint and its shape there.
struct TensorSpec {
  std::string name;
  std::vector<std::int64_t> shape;
};

struct LoadOptions {
  // Convert only the first max_layers layers (-1: all), e.g. to run one layer of a large
  // model. Every layer's tensors are still checked.
  std::int64_t max_layers = -1;
};

class SafetensorsCheckpoint {
 public:
  static constexpr const char* kIndexFile = "model.safetensors.index.json";
  static constexpr const char* kSingleFile = "model.safetensors";
  static constexpr std::uint64_t kMaxIndexBytes = 64ull * 1024 * 1024;

  // `path` is a folder holding kIndexFile (preferred) or kSingleFile, or one .safetensors file.
  // Every shard's header is validated now; WeightsError lists every problem found.
  static SafetensorsCheckpoint open(const std::string& path);

  const std::string& source() const { return source_; }  // index or single file, for messages
  std::vector<std::string> names() const;                // sorted
  bool contains(std::string_view name) const { return shard_of_.find(name) != shard_of_.end(); }
  const SafetensorsFile& file_of(std::string_view name) const;  // WeightsError when absent
  const TensorInfo& info(std::string_view name) const { return file_of(name).info(name); }
  Tensor load(std::string_view name) const;  // converted to fp32

  // Checks that every spec is present with exactly that shape and a floating-point dtype;
  // throws one WeightsError listing every missing or mismatched tensor. `expected_from` (the
  // config.json path) is named in shape mismatches.
  void check(const std::vector<TensorSpec>& specs, const std::string& expected_from) const;

 private:
  std::string source_;
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, std::size_t, std::less<>> shard_of_;  // tensor name -> index in shards_
};

}  // namespace xpusim::weights
