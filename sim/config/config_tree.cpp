// YAML parsing into a location-preserving tree, merging, command-line overrides and emission.
#include "sim/config/config_tree.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace xpusim {
namespace {

SourceLoc loc_of(const YAML::Mark& m, const std::string& file) {
  if (m.line < 0) return {file, 0, 0};
  return {file, m.line + 1, m.column + 1};
}

// A configuration is a few hundred values; aliases can make a small file expand without bound
// ("billion laughs"), so conversion stops at a budget instead of hanging.
constexpr size_t kMaxConfigNodes = 200000;

CfgNode convert(const YAML::Node& n, const std::string& file, ErrorList& errors, size_t& budget) {
  if (budget == 0) {
    throw ConfigError(loc_of(n.Mark(), file), "",
                      fmt::format("the document expands to more than {} values (nested aliases?)",
                                  kMaxConfigNodes));
  }
  --budget;
  CfgNode out;
  out.loc = loc_of(n.Mark(), file);
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out.kind = CfgNode::Kind::kNull;
      break;
    case YAML::NodeType::Scalar:
      out.kind = CfgNode::Kind::kScalar;
      out.scalar = n.Scalar();
      break;
    case YAML::NodeType::Sequence:
      out.kind = CfgNode::Kind::kSeq;
      for (const auto& item : n) out.seq.push_back(convert(item, file, errors, budget));
      break;
    case YAML::NodeType::Map:
      out.kind = CfgNode::Kind::kMap;
      {
        std::unordered_set<std::string> keys;  // duplicates found in O(1): a map may be large
        for (const auto& kv : n) {
          SourceLoc kloc = loc_of(kv.first.Mark(), file);
          if (!kv.first.IsScalar()) {
            errors.add(kloc, "", "map keys must be plain names");
            continue;
          }
          std::string key = kv.first.Scalar();
          if (!keys.insert(key).second) {
            errors.add(kloc, key, "duplicate key");
            continue;
          }
          CfgNode value = convert(kv.second, file, errors, budget);
          out.map.emplace_back(std::move(key), std::move(value));
          out.key_locs.push_back(std::move(kloc));
        }
      }
      break;
  }
  return out;
}

void emit(YAML::Emitter& e, const CfgNode& n) {
  switch (n.kind) {
    case CfgNode::Kind::kNull:
      e << YAML::Null;
      break;
    case CfgNode::Kind::kScalar:
      e << n.scalar;
      break;
    case CfgNode::Kind::kSeq:
      e << YAML::Flow << YAML::BeginSeq;
      for (const auto& c : n.seq) emit(e, c);
      e << YAML::EndSeq;
      break;
    case CfgNode::Kind::kMap:
      e << YAML::BeginMap;
      for (const auto& [k, v] : n.map) {
        e << YAML::Key << k << YAML::Value;
        emit(e, v);
      }
      e << YAML::EndMap;
      break;
  }
}

}  // namespace

CfgNode::CfgNode() = default;
CfgNode::CfgNode(const CfgNode&) = default;
CfgNode::CfgNode(CfgNode&&) noexcept = default;
CfgNode& CfgNode::operator=(const CfgNode&) = default;
CfgNode& CfgNode::operator=(CfgNode&&) noexcept = default;
CfgNode::~CfgNode() = default;

CfgNode CfgNode::empty_map(SourceLoc loc) {
  CfgNode n;
  n.kind = Kind::kMap;
  n.loc = std::move(loc);
  return n;
}

const CfgNode* CfgNode::find(std::string_view key) const {
  for (const auto& [k, v] : map)
    if (k == key) return &v;
  return nullptr;
}

CfgNode* CfgNode::find(std::string_view key) {
  for (auto& [k, v] : map)
    if (k == key) return &v;
  return nullptr;
}

const CfgNode* CfgNode::find_path(std::string_view dotted) const {
  const CfgNode* cur = this;
  while (cur) {
    size_t dot = dotted.find('.');
    std::string_view head = dotted.substr(0, dot);
    if (!cur->is_map()) return nullptr;
    cur = cur->find(head);
    if (dot == std::string_view::npos) return cur;
    dotted.remove_prefix(dot + 1);
  }
  return nullptr;
}

void CfgNode::set(std::string key, CfgNode value, SourceLoc key_loc) {
  if (kind != Kind::kMap) {
    *this = CfgNode();
    kind = Kind::kMap;
  }
  if (CfgNode* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  map.emplace_back(std::move(key), std::move(value));
  key_locs.push_back(std::move(key_loc));
}

bool CfgNode::erase(std::string_view key) {
  for (size_t i = 0; i < map.size(); ++i) {
    if (map[i].first == key) {
      map.erase(map.begin() + static_cast<long>(i));
      key_locs.erase(key_locs.begin() + static_cast<long>(i));
      return true;
    }
  }
  return false;
}

std::string CfgNode::kind_name() const {
  switch (kind) {
    case Kind::kNull:
      return "nothing";
    case Kind::kScalar:
      return "a value";
    case Kind::kMap:
      return "a map";
    case Kind::kSeq:
      return "a list";
  }
  return "?";
}

CfgNode parse_yaml(const std::string& text, const std::string& file_name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(loc_of(e.mark, file_name), "", fmt::format("invalid YAML: {}", e.msg));
  }
  ErrorList errors;
  size_t budget = kMaxConfigNodes;
  CfgNode out = convert(root, file_name, errors, budget);
  errors.throw_if_any();
  if (out.kind == CfgNode::Kind::kNull) {
    out.kind = CfgNode::Kind::kMap;  // an empty file is an empty map
    out.loc = {file_name, 1, 1};
  }
  if (!out.is_map())
    throw ConfigError(out.loc, "",
                      fmt::format("the file must hold a map of keys, not {}", out.kind_name()));
  return out;
}

void merge_into(CfgNode& base, const CfgNode& over) {
  if (base.is_map() && over.is_map()) {
    // An index of base's keys keeps a merge linear in the number of keys.
    std::unordered_map<std::string, size_t> index;
    for (size_t i = 0; i < base.map.size(); ++i) index.emplace(base.map[i].first, i);
    for (size_t i = 0; i < over.map.size(); ++i) {
      const auto& [k, v] = over.map[i];
      if (auto it = index.find(k); it != index.end()) {
        merge_into(base.map[it->second].second, v);
      } else {
        index.emplace(k, base.map.size());
        base.map.emplace_back(k, v);
        base.key_locs.push_back(over.key_locs[i]);
      }
    }
    return;
  }
  base = over;
}

void apply_override(CfgNode& root, const std::string& assignment, ErrorList& errors,
                    const std::string& origin) {
  const SourceLoc cli{"<command line: " + (origin.empty() ? "--set " + assignment : origin) + ">",
                      0, 0};
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    errors.add(cli, "", "expected --set key.path=value");
    return;
  }
  std::string path = assignment.substr(0, eq);
  std::string value = assignment.substr(eq + 1);
  CfgNode parsed;
  try {
    YAML::Node n = YAML::Load(value);
    ErrorList sub;
    size_t budget = kMaxConfigNodes;
    parsed = convert(n, cli.file, sub, budget);
    if (parsed.kind == CfgNode::Kind::kNull) {
      parsed.kind = CfgNode::Kind::kScalar;
      parsed.scalar = value;
    }
  } catch (const YAML::Exception& e) {
    errors.add(cli, path, fmt::format("value '{}' is not valid YAML: {}", value, e.msg));
    return;
  }
  parsed.loc = cli;
  CfgNode* cur = &root;
  std::string_view rest = path;
  while (true) {
    size_t dot = rest.find('.');
    std::string head(rest.substr(0, dot));
    if (head.empty()) {
      errors.add(cli, path, "empty key in the path");
      return;
    }
    if (dot == std::string_view::npos) {
      if (!cur->is_map()) *cur = CfgNode::empty_map(cli);
      if (CfgNode* existing = cur->find(head)) {
        *existing = parsed;
      } else {
        cur->set(head, parsed, cli);
      }
      return;
    }
    if (!cur->is_map()) *cur = CfgNode::empty_map(cli);
    CfgNode* next = cur->find(head);
    if (!next) {
      cur->set(head, CfgNode::empty_map(cli), cli);
      next = cur->find(head);
    }
    cur = next;
    rest.remove_prefix(dot + 1);
  }
}

std::string to_yaml(const CfgNode& node) {
  YAML::Emitter e;
  emit(e, node);
  return std::string(e.c_str()) + "\n";
}

}  // namespace xpusim
