// Parameter declarations: each component declares every parameter once (path, type, unit,
// default, range, help). That one declaration drives parsing, defaults, range checks, the
// rejection of unknown keys with suggestions, and `xpusim describe`.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "sim/base/units.h"
#include "sim/config/config_tree.h"

namespace xpusim {

// kName: a string that becomes a file or folder name (see sim/base/file_name.h).
enum class ParamType { kInt, kReal, kQuantity, kBool, kString, kName, kEnum, kStringList };

struct Range {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
};

inline const std::optional<std::string> kRequired = std::nullopt;

// The datasets that parameters are fitted on (id, what and where). A calibrated parameter names
// one of these ids.
struct CalibrationDataset {
  std::string_view id, description;
};
const std::vector<CalibrationDataset>& calibration_datasets();

struct ParamSpec {
  std::string path;  // dotted key path below the file's root, e.g. "hbm.bw"
  ParamType type = ParamType::kReal;
  Unit unit = Unit::kNone;
  std::optional<std::string> default_text;  // as it would be written in YAML; nullopt = required
  Range range;
  std::vector<std::string> allowed;  // for kEnum
  std::string help;
  // Non-empty for a fitted parameter: the dataset it was fitted on (see calibration_datasets()).
  // `describe` shows it and `xpusim validate --fit` fits the parameters of its dataset.
  std::string calibrated_on;
  // Words a kInt parameter also accepts, with the number each stands for ("auto" -> 0), so that
  // a file, --set and the command line's own option take the same spellings.
  std::vector<std::pair<std::string, double>> words;
  std::string type_label() const;   // "size (B)", "integer", "one of bf16|fp16"
  std::string range_label() const;  // "1 .. 100000", "" when unbounded
};

// A ParamSpec from its positional fields (the rest defaulted).
inline ParamSpec make_param(std::string path, ParamType type, Unit unit,
                            std::optional<std::string> def, Range range,
                            std::vector<std::string> allowed, std::string help) {
  ParamSpec p;
  p.path = std::move(path);
  p.type = type;
  p.unit = unit;
  p.default_text = std::move(def);
  p.range = range;
  p.allowed = std::move(allowed);
  p.help = std::move(help);
  return p;
}

struct ParamValue {
  double number = 0;              // kInt, kReal, kQuantity (SI base unit), kBool (0/1)
  std::string text;               // kString, kName, kEnum
  std::vector<std::string> list;  // kStringList
  bool given = false;             // false when the default was used
  SourceLoc loc;                  // where the value was written (or the file, for defaults)
};

class SchemaBase {
 public:
  SchemaBase(std::string type, std::string help);
  virtual ~SchemaBase() = default;
  const std::string& type() const { return type_; }
  const std::string& help() const { return help_; }
  const std::vector<ParamSpec>& params() const { return specs_; }
  const ParamSpec* find(std::string_view path) const;

  // Checks `root` against the declaration and returns one value per parameter, in declaration
  // order. Every problem (unknown key, wrong type, out of range, missing) goes to `errors`.
  std::vector<ParamValue> validate(const CfgNode& root, ErrorList& errors) const;
  std::string describe() const;  // the human-readable schema
  // The paths of the parameters fitted on `dataset`, in declaration order.
  std::vector<std::string> calibrated_paths(std::string_view dataset) const;

 protected:
  void declare(ParamSpec spec);
  // Marks the parameter declared last as fitted on `dataset`, which must be one of
  // calibration_datasets().
  void mark_calibrated(std::string dataset);
  // Lets the parameter declared last also be written as `word`, standing for `value`.
  void add_word(std::string word, double value);

 private:
  void check_keys(const CfgNode& node, const std::string& prefix, ErrorList& errors) const;
  ParamValue convert(const ParamSpec& spec, const CfgNode* node, const SourceLoc& file_loc,
                     ErrorList& errors) const;

  std::string type_;
  std::string help_;
  std::vector<ParamSpec> specs_;
};

namespace detail {
// One step of a binding path: a member pointer, or an index into an array member.
template <class T, class M>
auto& step(T& obj, M m) {
  if constexpr (std::is_integral_v<M>)
    return obj[m];
  else
    return obj.*m;
}
template <class T, class M>
auto& member_of(T& obj, M m) {
  return step(obj, m);
}
template <class T, class M, class... Rest>
auto& member_of(T& obj, M m, Rest... rest) {
  return member_of(step(obj, m), rest...);
}
}  // namespace detail

// Binds each declared parameter to a field of the plain config struct `Cfg` through a chain of
// member pointers (&Gpu::hbm, &Memory::bw_bytes_per_s), where an integer indexes an array member
// (&Gpu::Elementwise::kernel, 3), so models never see YAML.
template <class Cfg>
class Schema : public SchemaBase {
 public:
  using SchemaBase::SchemaBase;

  template <class... M>
  Schema& quantity(std::string path, Unit unit, std::optional<std::string> def, Range r,
                   std::string help, M... m) {
    declare(make_param(std::move(path), ParamType::kQuantity, unit, std::move(def), r, {},
                       std::move(help)));
    setters_.push_back([=](Cfg& c, const ParamValue& v) { detail::member_of(c, m...) = v.number; });
    return *this;
  }
  template <class... M>
  Schema& integer(std::string path, std::optional<std::string> def, Range r, std::string help,
                  M... m) {
    declare(make_param(std::move(path), ParamType::kInt, Unit::kNone, std::move(def), r, {},
                       std::move(help)));
    setters_.push_back([=](Cfg& c, const ParamValue& v) {
      auto& field = detail::member_of(c, m...);
      field = static_cast<std::remove_reference_t<decltype(field)>>(v.number);
    });
    return *this;
  }
  // The integer declared last may also be written as `w` (e.g. tp: auto), meaning `value`.
  Schema& word(std::string w, double value) {
    add_word(std::move(w), value);
    return *this;
  }
  template <class... M>
  Schema& real(std::string path, std::optional<std::string> def, Range r, std::string help,
               M... m) {
    declare(make_param(std::move(path), ParamType::kReal, Unit::kNone, std::move(def), r, {},
                       std::move(help)));
    setters_.push_back([=](Cfg& c, const ParamValue& v) { detail::member_of(c, m...) = v.number; });
    return *this;
  }
  template <class... M>
  Schema& boolean(std::string path, std::optional<std::string> def, std::string help, M... m) {
    declare(make_param(std::move(path), ParamType::kBool, Unit::kNone, std::move(def), {}, {},
                       std::move(help)));
    setters_.push_back(
        [=](Cfg& c, const ParamValue& v) { detail::member_of(c, m...) = v.number != 0; });
    return *this;
  }
  template <class... M>
  Schema& text(std::string path, std::optional<std::string> def, std::string help, M... m) {
    declare(make_param(std::move(path), ParamType::kString, Unit::kNone, std::move(def), {}, {},
                       std::move(help)));
    setters_.push_back([=](Cfg& c, const ParamValue& v) { detail::member_of(c, m...) = v.text; });
    return *this;
  }
  // A name that becomes a file or folder name: a value given in the file must follow
  // kFileNameRule; the default may be empty (no name given).
  template <class... M>
  Schema& file_name(std::string path, std::optional<std::string> def, std::string help, M... m) {
    declare(make_param(std::move(path), ParamType::kName, Unit::kNone, std::move(def), {}, {},
                       std::move(help)));
    setters_.push_back([=](Cfg& c, const ParamValue& v) { detail::member_of(c, m...) = v.text; });
    return *this;
  }
  template <class... M>
  Schema& choice(std::string path, std::optional<std::string> def, std::vector<std::string> allowed,
                 std::string help, M... m) {
    declare(make_param(std::move(path), ParamType::kEnum, Unit::kNone, std::move(def), {},
                       std::move(allowed), std::move(help)));
    setters_.push_back([=](Cfg& c, const ParamValue& v) { detail::member_of(c, m...) = v.text; });
    return *this;
  }
  template <class... M>
  Schema& list(std::string path, std::optional<std::string> def, std::string help, M... m) {
    declare(make_param(std::move(path), ParamType::kStringList, Unit::kNone, std::move(def), {}, {},
                       std::move(help)));
    setters_.push_back([=](Cfg& c, const ParamValue& v) { detail::member_of(c, m...) = v.list; });
    return *this;
  }

  // Marks the parameter just declared as calibrated: .real(...).calibrated(kDataset).
  Schema& calibrated(std::string dataset) {
    mark_calibrated(std::move(dataset));
    return *this;
  }

  // Validates and fills a Cfg; problems go to `errors` (the returned Cfg is then incomplete).
  Cfg parse(const CfgNode& root, ErrorList& errors) const {
    Cfg cfg{};
    auto values = validate(root, errors);
    for (size_t i = 0; i < values.size(); ++i) setters_[i](cfg, values[i]);
    return cfg;
  }

 private:
  std::vector<std::function<void(Cfg&, const ParamValue&)>> setters_;
};

}  // namespace xpusim
