// A YAML document as a tree that remembers where every key and value came from (file:line:col),
// so that errors found after merging presets and overrides still point at the user's text.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sim/base/errors.h"

namespace xpusim {

class CfgNode {
 public:
  enum class Kind { kNull, kScalar, kMap, kSeq };

  // Declared here and defaulted in the .cpp: clang before 16 with libstdc++'s C++20 (constexpr)
  // vector rejects the implicit ones of a type holding vectors of itself (the fuzz build).
  CfgNode();
  CfgNode(const CfgNode&);
  CfgNode(CfgNode&&) noexcept;
  CfgNode& operator=(const CfgNode&);
  CfgNode& operator=(CfgNode&&) noexcept;
  ~CfgNode();
  static CfgNode empty_map(SourceLoc loc);

  Kind kind = Kind::kNull;
  std::string scalar;                                // for kScalar
  SourceLoc loc;                                     // where the value starts
  std::vector<std::pair<std::string, CfgNode>> map;  // for kMap, in file order
  std::vector<SourceLoc> key_locs;                   // parallel to map: where each key is
  std::vector<CfgNode> seq;                          // for kSeq

  bool is_map() const { return kind == Kind::kMap; }
  bool is_scalar() const { return kind == Kind::kScalar; }
  bool is_seq() const { return kind == Kind::kSeq; }
  const CfgNode* find(std::string_view key) const;
  CfgNode* find(std::string_view key);
  // Follows a dotted path ("gpu.sm.count"); nullptr when any part is missing.
  const CfgNode* find_path(std::string_view dotted) const;
  void set(std::string key, CfgNode value, SourceLoc key_loc = {});
  bool erase(std::string_view key);
  std::string kind_name() const;
};

// Parses YAML text; a syntax error becomes a ConfigError with file:line:col.
CfgNode parse_yaml(const std::string& text, const std::string& file_name);

// Overlays `over` on `base`: maps merge key by key, scalars and sequences replace.
void merge_into(CfgNode& base, const CfgNode& over);

// Applies "a.b.c=value" from the command line; the value is parsed as YAML (so lists work).
// `origin` names where it came from in error messages (default: "--set <assignment>").
void apply_override(CfgNode& root, const std::string& assignment, ErrorList& errors,
                    const std::string& origin = "");

// Writes the tree back as YAML (used for the resolved config written next to every result).
std::string to_yaml(const CfgNode& node);

}  // namespace xpusim
