// The numerics column's disk cache: what a scheme does to the reference model on a datapath is
// computed once per (scheme, datapath, reference weights and text, xpusim commit) and read back
// afterwards, so a repeated `run` costs what its timing costs.
//
// Where: $XPUSIM_CACHE_DIR, else $XDG_CACHE_HOME/xpusim, else $HOME/.cache/xpusim, in
// numerics/<key>.json; XPUSIM_CACHE_DIR=off turns it off. An entry that cannot be read, parsed or
// does not match its key is ignored and recomputed; entries are written to a temporary file and
// renamed, so a reader never sees half of one.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "sim/run/experiment.h"

namespace xpusim {

// The cache folder from the environment; nullopt when turned off or when no home is known.
std::optional<std::filesystem::path> numerics_cache_dir_from_env();

// A digest of a reference model folder's content: config.json, every *.safetensors file and
// heldout_slice.bin, in name order. Empty when the folder cannot be read.
std::string reference_model_digest(const std::string& dir);

class NumericsDiskCache {
 public:
  explicit NumericsDiskCache(std::filesystem::path dir) : dir_(std::move(dir)) {}
  // `key` is a hex digest naming what was computed (see ExperimentRunner::numerics_for).
  std::optional<PointResult::Numerics> load(const std::string& key) const;
  // Best effort: a cache that cannot be written costs time, never a result.
  void store(const std::string& key, const PointResult::Numerics& n) const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path file_of(const std::string& key) const;
  std::filesystem::path dir_;
};

}  // namespace xpusim
