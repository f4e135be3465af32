// Opening of single-file and sharded safetensors checkpoints. The index file is untrusted too:
// shard names must be plain file names in the checkpoint folder (no paths, so an index cannot
// point outside it), and every tensor it lists must be in the shard it names.
#include "workloads/weights/checkpoint.h"

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "workloads/weights/untrusted_json.h"
#include "workloads/weights/weights_error.h"

namespace xpusim::weights {
namespace {

namespace fs = std::filesystem;

bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\\\0", 3)) == std::string::npos;
}

void add_all(IssueCollector& issues, const ConfigError& e) {
  for (const auto& i : e.issues()) issues.add(i.loc.file, i.key_path, i.message);
}

}  // namespace

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::string& path) {
  SafetensorsCheckpoint ckpt;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::exists(path, ec)) throw WeightsError(path, "no such file or folder");
    ckpt.source_ = path;
    ckpt.shards_.push_back(SafetensorsFile::open(path));
    for (const auto& name : ckpt.shards_[0].names()) ckpt.shard_of_.emplace(name, 0);
    return ckpt;
  }
  const fs::path dir(path);
  const std::string index_path = (dir / kIndexFile).string();
  if (!fs::exists(index_path, ec)) {
    const std::string single = (dir / kSingleFile).string();
    if (!fs::exists(single, ec))
      throw WeightsError(path,
                         fmt::format("folder has neither {} nor {}", kIndexFile, kSingleFile));
    return open(single);
  }

  ckpt.source_ = index_path;
  const auto root =
      parse_untrusted_json(read_text_file(index_path, kMaxIndexBytes), index_path, {});
  if (!root.is_object() || !root.contains("weight_map") || !root["weight_map"].is_object())
    throw WeightsError(index_path, "weight_map",
                       "expected an object mapping tensor names to shard files");
  const auto& weight_map = root["weight_map"];

  IssueCollector issues;
  std::map<std::string, std::size_t> shard_index;  // shard file name -> index in shards_
  std::set<std::string> failed_shards;
  for (const auto& [name, shard] : weight_map.items()) {
    if (!shard.is_string() || !is_plain_file_name(shard.get<std::string>())) {
      issues.add(
          index_path, "weight_map",
          fmt::format("tensor {}: the shard must be a file name in the checkpoint folder, got {}",
                      quote_name(name), quote_name(shard.dump())));
      continue;
    }
    const auto& file = shard.get_ref<const std::string&>();
    if (failed_shards.count(file)) continue;
    auto it = shard_index.find(file);
    if (it == shard_index.end()) {
      try {
        ckpt.shards_.push_back(SafetensorsFile::open((dir / file).string()));
      } catch (const ConfigError& e) {
        add_all(issues, e);
        failed_shards.insert(file);
        continue;
      }
      it = shard_index.emplace(file, ckpt.shards_.size() - 1).first;
    }
    if (!ckpt.shards_[it->second].contains(name)) {
      issues.add(
          index_path, "weight_map",
          fmt::format("tensor {} is not in its shard {}", quote_name(name), quote_name(file)));
      continue;
    }
    ckpt.shard_of_.emplace(name, it->second);
  }
  issues.throw_if_any();
  return ckpt;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(shard_of_.size());
  for (const auto& [name, shard] : shard_of_) out.push_back(name);
  return out;
}

const SafetensorsFile& SafetensorsCheckpoint::file_of(std::string_view name) const {
  auto it = shard_of_.find(name);
  if (it == shard_of_.end()) throw WeightsError(source_, "no tensor named " + quote_name(name));
  return shards_[it->second];
}

Tensor SafetensorsCheckpoint::load(std::string_view name) const {
  const auto& file = file_of(name);
  return Tensor{file.info(name).shape, file.to_float(name)};
}

void SafetensorsCheckpoint::check(const std::vector<TensorSpec>& specs,
                                  const std::string& expected_from) const {
  IssueCollector issues;
  for (const auto& spec : specs) {
    if (!contains(spec.name)) {
      issues.add(source_, "",
                 fmt::format("missing tensor {} (expected shape {})", quote_name(spec.name),
                             shape_str(spec.shape)));
      continue;
    }
    const auto& file = file_of(spec.name);
    const auto& info = file.info(spec.name);
    if (info.shape != spec.shape)
      issues.add(file.path(), "",
                 fmt::format("tensor {} has shape {}, but {} implies {}", quote_name(spec.name),
                             shape_str(info.shape), expected_from, shape_str(spec.shape)));
    else if (!dtype_is_float(info.dtype))
      issues.add(file.path(), "",
                 fmt::format("tensor {} has dtype {}; weights must be a floating-point type",
                             quote_name(spec.name), dtype_name(info.dtype)));
  }
  issues.throw_if_any();
}

}  // namespace xpusim::weights
