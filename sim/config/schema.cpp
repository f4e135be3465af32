// Validation of configuration trees against parameter declarations, and the schema printout.
#include "sim/config/schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "sim/base/file_name.h"
#include "sim/base/suggest.h"

namespace xpusim {
namespace {

// Keys every configuration file may carry besides its parameters.
const std::vector<std::string> kMetaKeys = {"type", "name", "description"};

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? std::string(sep) : "") + v[i];
  return out;
}

std::string fmt_bound(double v, const ParamSpec& s) {
  if (s.type == ParamType::kQuantity) return format_quantity(v, s.unit);
  if (std::floor(v) == v && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:g}", v);
}

// `s` with control characters shown as \xNN, so that an error message prints what was written.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

}  // namespace

std::string ParamSpec::type_label() const {
  switch (type) {
    case ParamType::kInt: {
      std::string label = "integer";
      for (const auto& [w, value] : words) label += fmt::format(" or {} (= {:g})", w, value);
      return label;
    }
    case ParamType::kReal:
      return "number";
    case ParamType::kQuantity:
      return fmt::format("{} ({})", unit_name(unit), unit_symbol(unit));
    case ParamType::kBool:
      return "true|false";
    case ParamType::kString:
      return "string";
    case ParamType::kName:
      return "name (no '/', '\\', '..', control characters or leading '.')";
    case ParamType::kEnum:
      return join(allowed, "|");
    case ParamType::kStringList:
      return "list of strings";
  }
  return "?";
}

std::string ParamSpec::range_label() const {
  bool lo = std::isfinite(range.min), hi = std::isfinite(range.max);
  if (!lo && !hi) return "";
  if (lo && hi)
    return fmt::format("{} .. {}", fmt_bound(range.min, *this), fmt_bound(range.max, *this));
  if (lo) return fmt::format(">= {}", fmt_bound(range.min, *this));
  return fmt::format("<= {}", fmt_bound(range.max, *this));
}

SchemaBase::SchemaBase(std::string type, std::string help)
    : type_(std::move(type)), help_(std::move(help)) {}

const ParamSpec* SchemaBase::find(std::string_view path) const {
  for (const auto& s : specs_)
    if (s.path == path) return &s;
  return nullptr;
}

const std::vector<CalibrationDataset>& calibration_datasets() {
  static const std::vector<CalibrationDataset> sets = {
      {"h100-kernels",
       "calibration rows of the H100 kernel dataset (validation/gpu/data, set=calibration: GEMM, "
       "attention, elementwise, ceilings and the e2e calibration stacks); "
       "`xpusim validate --hw h100 --fit` refits them"},
      {"h200-energy",
       "calibration rows of the H200 board-energy dataset (validation/gpu/energy/h200/"
       "calibration.csv: NVML energy counter, SM clock); `xpusim validate --hw h200 --energy "
       "--fit` refits them"},
      {"h200-stacks",
       "calibration rows of the H200 software-stack dataset (validation/gpu/stacks/h200: SDPA per "
       "backend, eager and compiled norms and SiLU·mul, whole decoders per stack preset); "
       "`xpusim validate --hw h200 --data validation/gpu/stacks/h200 --fit` refits them"},
      {"h200x4-nccl",
       "NCCL all-reduce on 4x H200 captured in CUDA graphs (validation/gpu/h200/data/"
       "allreduce.csv, 4-GPU rows); `python3 validation/gpu/fit_nccl.py` refits them"},
  };
  return sets;
}

void SchemaBase::mark_calibrated(std::string dataset) {
  XPUSIM_ASSERT(!specs_.empty(), "calibrated() before any parameter was declared");
  const auto& sets = calibration_datasets();
  XPUSIM_ASSERT(std::any_of(sets.begin(), sets.end(),
                            [&](const CalibrationDataset& d) { return d.id == dataset; }),
                "unknown calibration dataset '" + dataset + "' for " + specs_.back().path);
  specs_.back().calibrated_on = std::move(dataset);
}

void SchemaBase::add_word(std::string word, double value) {
  XPUSIM_ASSERT(!specs_.empty() && specs_.back().type == ParamType::kInt,
                "word() applies to an integer parameter declared just before it");
  specs_.back().words.emplace_back(std::move(word), value);
}

std::vector<std::string> SchemaBase::calibrated_paths(std::string_view dataset) const {
  std::vector<std::string> out;
  for (const auto& s : specs_)
    if (s.calibrated_on == dataset) out.push_back(s.path);
  return out;
}

void SchemaBase::declare(ParamSpec spec) {
  XPUSIM_ASSERT(!find(spec.path), "parameter declared twice: " + spec.path);
  if (spec.default_text) {
    // A default must itself be valid: check it now, at start-up, not when a user hits it.
    ErrorList errs;
    convert(spec, nullptr, {}, errs);
    XPUSIM_ASSERT(errs.empty(), "bad default for " + spec.path + ": " +
                                    (errs.empty() ? "" : errs.issues()[0].message));
  }
  specs_.push_back(std::move(spec));
}

ParamValue SchemaBase::convert(const ParamSpec& spec, const CfgNode* node,
                               const SourceLoc& file_loc, ErrorList& errors) const {
  ParamValue v;
  CfgNode fallback;
  if (!node || node->kind == CfgNode::Kind::kNull) {
    if (!spec.default_text) {
      errors.add(
          node ? node->loc : file_loc, spec.path,
          fmt::format("missing required parameter ({}{}): {}", spec.type_label(),
                      spec.range_label().empty() ? "" : ", " + spec.range_label(), spec.help));
      return v;
    }
    // Defaults are parsed through the same path as user values.
    if (spec.type == ParamType::kStringList) {
      fallback.kind = CfgNode::Kind::kSeq;
      size_t start = 0;
      const std::string& d = *spec.default_text;
      while (!d.empty()) {
        size_t comma = d.find(',', start);
        CfgNode item;
        item.kind = CfgNode::Kind::kScalar;
        item.scalar =
            d.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        fallback.seq.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else {
      fallback.kind = CfgNode::Kind::kScalar;
      fallback.scalar = *spec.default_text;
    }
    fallback.loc = file_loc;
    node = &fallback;
  } else {
    v.given = true;
  }
  v.loc = node->loc;

  if (spec.type == ParamType::kStringList) {
    if (node->is_scalar()) {
      v.list.push_back(node->scalar);
    } else if (node->is_seq()) {
      for (const auto& item : node->seq) {
        if (!item.is_scalar()) {
          errors.add(item.loc, spec.path,
                     fmt::format("each entry must be a string, not {}", item.kind_name()));
          continue;
        }
        v.list.push_back(item.scalar);
      }
    } else {
      errors.add(node->loc, spec.path,
                 fmt::format("expected a list of strings, got {}", node->kind_name()));
    }
    return v;
  }
  if (!node->is_scalar()) {
    errors.add(node->loc, spec.path,
               fmt::format("expected {}, got {}", spec.type_label(), node->kind_name()));
    return v;
  }
  const std::string& s = node->scalar;
  switch (spec.type) {
    case ParamType::kString:
      v.text = s;
      return v;
    case ParamType::kName:
      if (v.given) {
        if (auto why = file_name_problem(s))
          errors.add(node->loc, spec.path,
                     fmt::format("'{}' cannot name a file ({}); allowed: {}", printable(s), *why,
                                 kFileNameRule));
      }
      v.text = s;
      return v;
    case ParamType::kEnum:
      if (std::find(spec.allowed.begin(), spec.allowed.end(), s) == spec.allowed.end()) {
        errors.add(node->loc, spec.path,
                   fmt::format("'{}' is not allowed; expected one of: {}{}", s,
                               join(spec.allowed, ", "), did_you_mean(s, spec.allowed)));
      }
      v.text = s;
      return v;
    case ParamType::kBool:
      if (s == "true" || s == "yes" || s == "on")
        v.number = 1;
      else if (s == "false" || s == "no" || s == "off")
        v.number = 0;
      else
        errors.add(node->loc, spec.path,
                   fmt::format("'{}' is not a boolean; expected true or false", s));
      return v;
    case ParamType::kInt:
    case ParamType::kReal:
    case ParamType::kQuantity: {
      for (const auto& [w, value] : spec.words)
        if (s == w) {
          v.number = value;
          return v;
        }
      std::string why;
      auto num =
          parse_quantity(s, spec.type == ParamType::kQuantity ? spec.unit : Unit::kNone, &why);
      if (!num) {
        if (spec.type != ParamType::kQuantity)
          why = fmt::format("'{}' is not a{}", s,
                            spec.type == ParamType::kInt ? "n integer" : " number");
        errors.add(node->loc, spec.path, why);
        return v;
      }
      if (spec.type == ParamType::kInt && (std::floor(*num) != *num || std::fabs(*num) > 9.0e15)) {
        errors.add(node->loc, spec.path, fmt::format("'{}' is not an integer", s));
        return v;
      }
      if (*num < spec.range.min || *num > spec.range.max) {
        errors.add(node->loc, spec.path,
                   fmt::format("value {} is out of range; allowed: {}", s, spec.range_label()));
        return v;
      }
      v.number = *num;
      return v;
    }
    case ParamType::kStringList:
      break;
  }
  return v;
}

void SchemaBase::check_keys(const CfgNode& node, const std::string& prefix,
                            ErrorList& errors) const {
  // Names that are valid directly below `prefix`.
  std::set<std::string> children;
  for (const auto& s : specs_) {
    if (!prefix.empty() && !s.path.starts_with(prefix + ".")) continue;
    std::string rest = prefix.empty() ? s.path : s.path.substr(prefix.size() + 1);
    children.insert(rest.substr(0, rest.find('.')));
  }
  if (prefix.empty())
    for (const auto& m : kMetaKeys) children.insert(m);
  std::vector<std::string> candidates(children.begin(), children.end());

  for (size_t i = 0; i < node.map.size(); ++i) {
    const auto& [key, child] = node.map[i];
    std::string full = prefix.empty() ? key : prefix + "." + key;
    if (!children.count(key)) {
      if (errors.full()) {  // only counted from here on: no suggestions to compute
        errors.add(node.key_locs[i], full, "unknown key");
        continue;
      }
      std::vector<std::string> all;
      for (const auto& s : specs_) all.push_back(s.path);
      std::string hint = did_you_mean(key, candidates);
      if (hint.empty()) hint = did_you_mean(full, all);
      std::string allowed =
          candidates.size() <= 12 ? fmt::format("; allowed here: {}", join(candidates, ", ")) : "";
      errors.add(node.key_locs[i], full, fmt::format("unknown key{}{}", hint, allowed));
      continue;
    }
    if (prefix.empty() && std::find(kMetaKeys.begin(), kMetaKeys.end(), key) != kMetaKeys.end())
      continue;
    if (find(full)) continue;  // a parameter: its value is checked by convert()
    if (!child.is_map()) {
      errors.add(child.loc, full,
                 fmt::format("expected a map of parameters, got {}", child.kind_name()));
      continue;
    }
    check_keys(child, full, errors);
  }
}

std::vector<ParamValue> SchemaBase::validate(const CfgNode& root, ErrorList& errors) const {
  if (root.is_map()) check_keys(root, "", errors);
  SourceLoc file_loc{root.loc.file, 0, 0};
  std::vector<ParamValue> values;
  values.reserve(specs_.size());
  for (const auto& spec : specs_) {
    const CfgNode* node = root.find_path(spec.path);
    values.push_back(convert(spec, node, file_loc, errors));
  }
  return values;
}

std::string SchemaBase::describe() const {
  std::string out = fmt::format("type: {}\n  {}\n\n", type_, help_);
  size_t w = 4;
  for (const auto& s : specs_) w = std::max(w, s.path.size());
  for (const auto& s : specs_) {
    std::string def = s.default_text ? *s.default_text : "(required)";
    out += fmt::format("  {:<{}}  {}\n", s.path, w, s.help);
    out += fmt::format("  {:<{}}    type: {}; default: {}{}\n", "", w, s.type_label(), def,
                       s.range_label().empty() ? "" : "; range: " + s.range_label());
    if (!s.calibrated_on.empty())
      out += fmt::format("  {:<{}}    CALIBRATED on {}\n", "", w, s.calibrated_on);
  }
  bool any = false;
  for (const auto& d : calibration_datasets())
    if (!calibrated_paths(d.id).empty()) {
      if (!any) out += "\n  calibration datasets:\n";
      any = true;
      out += fmt::format("    {}: {} ({} parameters)\n", d.id, d.description,
                         calibrated_paths(d.id).size());
    }
  return out;
}

}  // namespace xpusim
