// Sweep files: parsing with positions, expansion into design points, constraints and Pareto.
#include "sim/run/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "sim/base/suggest.h"
#include "sim/base/units.h"

namespace xpusim {
namespace {

// More design points than this need --yes (the command line checks; parse_sweep only counts).
constexpr double kMaxValuesPerParam = 1e6;

std::string node_text(const CfgNode& n) { return n.is_scalar() ? n.scalar : to_yaml(n); }

// Checks that `node` is a map whose keys are all in `allowed`.
void check_keys(const CfgNode& node, const std::string& path,
                const std::vector<std::string>& allowed, ErrorList& errors) {
  for (size_t i = 0; i < node.map.size(); ++i) {
    const std::string& k = node.map[i].first;
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    const SourceLoc at = i < node.key_locs.size() ? node.key_locs[i] : node.loc;
    errors.add(at, path.empty() ? k : path + "." + k,
               fmt::format("unknown key; allowed here: {}{}", fmt::join(allowed, ", "),
                           did_you_mean(k, allowed)));
  }
}

// "0.5 TB/s" -> {0.5, "TB/s"}; "64" -> {64, ""}.
std::optional<std::pair<double, std::string>> number_and_suffix(const std::string& text) {
  size_t end = 0;
  while (end < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.' ||
          text[end] == '-' || text[end] == '+' || text[end] == 'e' || text[end] == 'E')) {
    // an 'e' that starts a unit word (e.g. "eV") is not an exponent: stop at a letter after it
    if ((text[end] == 'e' || text[end] == 'E') &&
        (end + 1 >= text.size() || !(std::isdigit(static_cast<unsigned char>(text[end + 1])) ||
                                     text[end + 1] == '-' || text[end + 1] == '+')))
      break;
    ++end;
  }
  auto v = parse_number(text.substr(0, end));
  if (!v || !std::isfinite(*v)) return std::nullopt;
  size_t s = end;
  while (s < text.size() && text[s] == ' ') ++s;
  return std::pair{*v, text.substr(s)};
}

std::string format_value(double v, bool integer, const std::string& suffix) {
  const std::string num =
      integer ? fmt::format("{}", static_cast<int64_t>(std::llround(v))) : fmt::format("{:.6g}", v);
  return suffix.empty() ? num : num + " " + suffix;
}

void parse_param(const CfgNode& n, size_t i, SweepConfig& s, ErrorList& errors) {
  const std::string path = fmt::format("parameters[{}]", i);
  if (!n.is_map()) {
    errors.add(n.loc, path, "expected a map with key and values, range or sample");
    return;
  }
  check_keys(n, path, {"key", "values", "range", "sample", "group"}, errors);
  SweepParam p;
  p.loc = n.loc;
  const CfgNode* key = n.find("key");
  if (!key || !key->is_scalar() || key->scalar.empty()) {
    errors.add(n.loc, path + ".key", "required: a key path, as --set takes it (hw.hbm.bw, batch)");
    return;
  }
  p.key = key->scalar;
  if (p.key.find('=') != std::string::npos)
    errors.add(key->loc, path + ".key",
               fmt::format("'{}' holds '='; give the value in values", p.key));
  if (const CfgNode* g = n.find("group")) p.group = node_text(*g);
  const CfgNode* values = n.find("values");
  const CfgNode* range = n.find("range");
  const CfgNode* sample = n.find("sample");
  if (int(values != nullptr) + int(range != nullptr) + int(sample != nullptr) != 1) {
    errors.add(n.loc, path, "give exactly one of values, range or sample");
    return;
  }
  if (values) {
    if (!values->is_seq() || values->seq.empty()) {
      errors.add(values->loc, path + ".values", "expected a non-empty list");
      return;
    }
    for (const auto& v : values->seq) p.values.push_back(node_text(v));
  } else {
    const CfgNode* spec = range ? range : sample;
    const std::string sp = path + (range ? ".range" : ".sample");
    if (!spec->is_map()) {
      errors.add(spec->loc, sp, "expected a map: {from, to, steps, scale}");
      return;
    }
    check_keys(*spec, sp,
               range ? std::vector<std::string>{"from", "to", "steps", "scale", "integer"}
                     : std::vector<std::string>{"from", "to", "scale", "integer"},
               errors);
    const CfgNode* from = spec->find("from");
    const CfgNode* to = spec->find("to");
    if (!from || !to || !from->is_scalar() || !to->is_scalar()) {
      errors.add(spec->loc, sp, "from and to are required");
      return;
    }
    const auto a = number_and_suffix(from->scalar), b = number_and_suffix(to->scalar);
    if (!a) errors.add(from->loc, sp + ".from", fmt::format("'{}' is not a number", from->scalar));
    if (!b) errors.add(to->loc, sp + ".to", fmt::format("'{}' is not a number", to->scalar));
    if (!a || !b) return;
    if (a->second != b->second) {
      errors.add(to->loc, sp + ".to",
                 fmt::format("'{}' and '{}' have different units", from->scalar, to->scalar));
      return;
    }
    p.lo = a->first;
    p.hi = b->first;
    p.suffix = a->second;
    std::string scale = "linear";
    if (const CfgNode* sc = spec->find("scale")) scale = node_text(*sc);
    if (scale != "linear" && scale != "log") {
      errors.add(spec->find("scale")->loc, sp + ".scale",
                 fmt::format("'{}' is not allowed; expected linear or log", scale));
      return;
    }
    p.log = scale == "log";
    if (const CfgNode* in = spec->find("integer")) p.integer = node_text(*in) == "true";
    if (p.log && (p.lo <= 0 || p.hi <= 0)) {
      errors.add(
          from->loc, sp,
          fmt::format("a log range must stay above zero; it goes from {} to {}", p.lo, p.hi));
      return;
    }
    if (range) {
      const CfgNode* steps = spec->find("steps");
      const auto n_steps = steps && steps->is_scalar() ? parse_number(steps->scalar) : std::nullopt;
      if (!n_steps || *n_steps < 1 || std::floor(*n_steps) != *n_steps ||
          *n_steps > kMaxValuesPerParam) {
        errors.add(steps ? steps->loc : spec->loc, sp + ".steps",
                   fmt::format("'{}': expected a whole number of values from 1 to 1000000",
                               steps ? node_text(*steps) : "missing"));
        return;
      }
      const int64_t k = static_cast<int64_t>(*n_steps);
      if (k == 1 && p.lo != p.hi) {
        errors.add(steps->loc, sp + ".steps", "one step cannot span from != to; give 2 or more");
        return;
      }
      std::set<std::string> seen;
      for (int64_t j = 0; j < k; ++j) {
        const double t = k == 1 ? 0.0 : double(j) / double(k - 1);
        const double v = p.log ? p.lo * std::pow(p.hi / p.lo, t) : p.lo + (p.hi - p.lo) * t;
        const std::string text = format_value(v, p.integer, p.suffix);
        if (seen.insert(text).second) p.values.push_back(text);  // integer ranges may repeat
      }
    } else {
      p.sampled = true;
      if (!(p.hi > p.lo)) {
        errors.add(to->loc, sp, fmt::format("an empty interval: from {} to {}", p.lo, p.hi));
        return;
      }
    }
  }
  s.params.push_back(std::move(p));
}

// Constraint text: "ok", or "metric <op> number".
void parse_constraint(const CfgNode& n, size_t i, SweepConfig& s, ErrorList& errors) {
  const std::string path = fmt::format("constraints[{}]", i);
  SweepConstraint c;
  c.loc = n.loc;
  c.text = node_text(n);
  if (c.text == "ok" || c.text == "fits") {
    c.metric = "ok";
    s.constraints.push_back(c);
    return;
  }
  static const char* ops[] = {"<=", ">=", "==", "<", ">"};
  for (const char* op : ops) {
    const size_t at = c.text.find(op);
    if (at == std::string::npos) continue;
    auto trim = [](std::string t) {
      while (!t.empty() && t.back() == ' ') t.pop_back();
      while (!t.empty() && t.front() == ' ') t.erase(t.begin());
      return t;
    };
    c.metric = trim(c.text.substr(0, at));
    c.op = op;
    const std::string rhs = trim(c.text.substr(at + std::string(op).size()));
    const auto v = parse_number(rhs);
    if (!v) {
      errors.add(n.loc, path, fmt::format("'{}' is not a number", rhs));
      return;
    }
    c.value = *v;
    break;
  }
  if (c.op.empty()) {
    errors.add(n.loc, path,
               fmt::format("'{}': expected 'ok' or 'METRIC <=|<|>=|>|== NUMBER'", c.text));
    return;
  }
  s.constraints.push_back(c);
}

}  // namespace

const std::vector<SweepMetric>& sweep_metrics() {
  static const std::vector<SweepMetric> m = {
      {"latency_ms", "time of the point (the phase's whole work)", true},
      {"tokens_per_s", "tokens processed or generated per second", true},
      {"ttft_ms", "time to first token (generate)", true},
      {"tpot_ms", "mean time per output token (generate)", true},
      {"weight_gib", "weights held by one device", true},
      {"kv_cache_gib", "KV cache held by one device", true},
      {"devices", "devices the point runs on (tp x pp)", true},
      {"energy_j", "board energy of the point, all devices (hardware with energy parameters)",
       true},
      {"j_per_token", "energy per token (per output token for generate)", true},
      {"tokens_per_joule", "tokens per joule", true},
      {"power_w", "average board power of all devices over the point", true},
      {"area_mm2", "die area of one device (hardware with area parameters, arch/area.h)", true},
      {"tokens_per_s_per_mm2", "tokens per second per mm² of all devices' dies", true},
  };
  return m;
}

std::optional<size_t> metric_index(const std::string& name) {
  const auto& m = sweep_metrics();
  for (size_t i = 0; i < m.size(); ++i)
    if (name == m[i].name) return i;
  return std::nullopt;
}

SweepConfig parse_sweep(const CfgNode& tree) {
  ErrorList errors;
  SweepConfig s;
  if (!tree.is_map()) throw ConfigError(tree.loc, "", "a sweep file is a map");
  check_keys(tree, "",
             {"type", "name", "description", "base", "include", "experiment", "set", "parameters",
              "sampling", "constraints", "objectives"},
             errors);
  if (const CfgNode* n = tree.find("name"); n && n->is_scalar()) s.name = n->scalar;
  if (s.name.empty()) errors.add(tree.loc, "name", "required: the sweep's name (names its store)");
  if (const CfgNode* e = tree.find("experiment")) {
    s.experiment = node_text(*e);
    s.experiment_loc = e->loc;
  }
  if (const CfgNode* set = tree.find("set")) {
    if (set->is_scalar())
      s.set.push_back(set->scalar);
    else
      for (const auto& v : set->seq) s.set.push_back(node_text(v));
  }
  const CfgNode* params = tree.find("parameters");
  if (!params || !params->is_seq() || params->seq.empty())
    errors.add(params ? params->loc : tree.loc, "parameters",
               "required: a non-empty list of {key, values|range|sample}");
  else
    for (size_t i = 0; i < params->seq.size(); ++i) parse_param(params->seq[i], i, s, errors);
  std::set<std::string> keys;
  for (const auto& p : s.params)
    if (!keys.insert(p.key).second)
      errors.add(p.loc, "parameters", fmt::format("'{}' is swept twice", p.key));

  if (const CfgNode* smp = tree.find("sampling")) {
    check_keys(*smp, "sampling", {"method", "count", "seed"}, errors);
    if (const CfgNode* m = smp->find("method")) s.method = node_text(*m);
    if (s.method != "grid" && s.method != "random" && s.method != "lhs")
      errors.add(smp->loc, "sampling.method",
                 fmt::format("'{}' is not allowed; expected grid, random or lhs", s.method));
    if (const CfgNode* c = smp->find("count")) {
      const auto v = parse_number(node_text(*c));
      if (!v || *v < 1 || std::floor(*v) != *v || *v > 1e9)
        errors.add(c->loc, "sampling.count", fmt::format("'{}' is not a count", node_text(*c)));
      else
        s.count = static_cast<int64_t>(*v);
    }
    if (const CfgNode* c = smp->find("seed")) {
      const auto v = parse_number(node_text(*c));
      if (!v || *v < 0 || std::floor(*v) != *v)
        errors.add(c->loc, "sampling.seed", fmt::format("'{}' is not a seed", node_text(*c)));
      else
        s.seed = static_cast<uint64_t>(*v);
    }
    if (s.method != "grid" && s.count == 0)
      errors.add(smp->loc, "sampling.count", "required for random and lhs sampling");
  }
  const bool any_sampled =
      std::any_of(s.params.begin(), s.params.end(), [](const SweepParam& p) { return p.sampled; });
  if (any_sampled && s.method == "grid")
    errors.add(tree.loc, "sampling",
               "a parameter with `sample` needs sampling: {method: random|lhs, count: N}");
  // Zipped groups need equal lengths; sampled parameters are drawn, not zipped.
  std::map<std::string, std::pair<size_t, SourceLoc>> group_len;
  for (const auto& p : s.params) {
    if (p.group.empty() || p.sampled) continue;
    auto [it, fresh] = group_len.emplace(p.group, std::pair{p.values.size(), p.loc});
    if (!fresh && it->second.first != p.values.size())
      errors.add(
          p.loc, "parameters",
          fmt::format("'{}' has {} values but group '{}' zips {} (the first of the group "
                      "is at {})",
                      p.key, p.values.size(), p.group, it->second.first, it->second.second.str()));
  }

  if (const CfgNode* cs = tree.find("constraints")) {
    if (!cs->is_seq())
      errors.add(cs->loc, "constraints", "expected a list");
    else
      for (size_t i = 0; i < cs->seq.size(); ++i) parse_constraint(cs->seq[i], i, s, errors);
  }
  if (const CfgNode* os = tree.find("objectives")) {
    if (!os->is_seq()) errors.add(os->loc, "objectives", "expected a list");
    for (size_t i = 0; os->is_seq() && i < os->seq.size(); ++i) {
      const CfgNode& o = os->seq[i];
      const std::string path = fmt::format("objectives[{}]", i);
      if (!o.is_map() || o.map.size() != 1 ||
          (o.map[0].first != "minimize" && o.map[0].first != "maximize")) {
        errors.add(o.loc, path, "expected {minimize: METRIC} or {maximize: METRIC}");
        continue;
      }
      s.objectives.push_back({node_text(o.map[0].second), o.map[0].first == "maximize"});
    }
  }
  // Every metric named must be one the rows have, and modelled.
  std::vector<std::string> names;
  for (const auto& m : sweep_metrics()) names.emplace_back(m.name);
  auto check_metric = [&](const std::string& metric, const SourceLoc& at, const std::string& path) {
    if (metric == "ok") return;
    const auto i = metric_index(metric);
    if (!i)
      errors.add(at, path,
                 fmt::format("'{}' is not a metric; expected one of {}{}", metric,
                             fmt::join(names, ", "), did_you_mean(metric, names)));
    else if (!sweep_metrics()[*i].modelled)
      errors.add(at, path, fmt::format("'{}': {}", metric, sweep_metrics()[*i].help));
  };
  for (size_t i = 0; i < s.constraints.size(); ++i)
    check_metric(s.constraints[i].metric, s.constraints[i].loc, fmt::format("constraints[{}]", i));
  if (const CfgNode* os = tree.find("objectives"); os && os->is_seq())
    for (size_t i = 0; i < s.objectives.size() && i < os->seq.size(); ++i)
      check_metric(s.objectives[i].metric, os->seq[i].loc, fmt::format("objectives[{}]", i));
  errors.throw_if_any();
  return s;
}

namespace {

// The grid's axes: one per group (zipped members) and one per ungrouped parameter.
std::vector<std::vector<size_t>> grid_axes(const SweepConfig& s) {
  std::vector<std::vector<size_t>> axes;
  std::map<std::string, size_t> group_axis;
  for (size_t i = 0; i < s.params.size(); ++i) {
    if (s.params[i].sampled) continue;
    const std::string& g = s.params[i].group;
    if (g.empty()) {
      axes.push_back({i});
      continue;
    }
    auto [it, fresh] = group_axis.emplace(g, axes.size());
    if (fresh) axes.emplace_back();
    axes[it->second].push_back(i);
  }
  return axes;
}

}  // namespace

uint64_t sweep_size(const SweepConfig& s) {
  double n = 1;
  for (const auto& axis : grid_axes(s)) n *= double(s.params[axis.front()].values.size());
  if (s.method != "grid") n *= double(s.count);
  return n > 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(n);
}

std::vector<SweepPoint> expand_sweep(const SweepConfig& s) {
  const auto axes = grid_axes(s);
  // Samples of the sampled parameters: `count` rows of values in [0, 1) per parameter, random or
  // Latin hypercube (each parameter's interval cut into `count` strata, one draw in each, the
  // strata shuffled independently per parameter).
  std::vector<size_t> sampled;
  for (size_t i = 0; i < s.params.size(); ++i)
    if (s.params[i].sampled) sampled.push_back(i);
  const int64_t samples = s.method == "grid" ? 1 : s.count;
  std::vector<std::vector<double>> u(sampled.size(), std::vector<double>(size_t(samples)));
  std::mt19937_64 rng(s.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (auto& col : u) {
    if (s.method == "lhs") {
      std::vector<size_t> perm(col.size());
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      for (size_t k = 0; k < col.size(); ++k)
        col[k] = (double(perm[k]) + unit(rng)) / double(col.size());
    } else {
      for (auto& x : col) x = unit(rng);
    }
  }
  std::vector<SweepPoint> out;
  const uint64_t grid = sweep_size(s) / uint64_t(samples);
  for (int64_t k = 0; k < samples; ++k) {
    for (uint64_t g = 0; g < grid; ++g) {
      SweepPoint p;
      p.index = out.size();
      // The last axis varies fastest.
      std::vector<size_t> pick(axes.size());
      uint64_t rest = g;
      for (size_t a = axes.size(); a-- > 0;) {
        const uint64_t len = s.params[axes[a].front()].values.size();
        pick[a] = size_t(rest % len);
        rest /= len;
      }
      for (size_t i = 0; i < s.params.size(); ++i) {
        const SweepParam& prm = s.params[i];
        std::string value;
        if (prm.sampled) {
          const size_t col = size_t(std::find(sampled.begin(), sampled.end(), i) - sampled.begin());
          const double t = u[col][size_t(k)];
          double v =
              prm.log ? prm.lo * std::pow(prm.hi / prm.lo, t) : prm.lo + (prm.hi - prm.lo) * t;
          value = format_value(v, prm.integer, prm.suffix);
        } else {
          for (size_t a = 0; a < axes.size(); ++a)
            if (std::find(axes[a].begin(), axes[a].end(), i) != axes[a].end())
              value = prm.values[pick[a]];
        }
        p.assignments.push_back(prm.key + "=" + value);
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

bool feasible(const SweepConfig& s, bool ok, const MetricRow& row) {
  for (const auto& c : s.constraints) {
    if (c.metric == "ok") {
      if (!ok) return false;
      continue;
    }
    const auto i = metric_index(c.metric);
    if (!i || !row[*i]) return false;
    const double v = *row[*i];
    const bool pass = c.op == "<="   ? v <= c.value
                      : c.op == "<"  ? v < c.value
                      : c.op == ">=" ? v >= c.value
                      : c.op == ">"  ? v > c.value
                                     : v == c.value;
    if (!pass) return false;
  }
  return ok;
}

std::vector<size_t> pareto_front(const std::vector<SweepObjective>& objectives,
                                 const std::vector<MetricRow>& rows,
                                 const std::vector<size_t>& candidates) {
  // Objective values as "smaller is better"; a row missing one is not on the front.
  std::vector<std::pair<size_t, std::vector<double>>> pts;
  for (size_t r : candidates) {
    std::vector<double> v;
    bool complete = true;
    for (const auto& o : objectives) {
      const auto i = metric_index(o.metric);
      if (!i || !rows[r][*i]) {
        complete = false;
        break;
      }
      v.push_back(o.maximize ? -*rows[r][*i] : *rows[r][*i]);
    }
    if (complete) pts.emplace_back(r, std::move(v));
  }
  // Sorted lexicographically, a row can only be dominated by one before it.
  std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second < b.second : a.first < b.first;
  });
  std::vector<size_t> front;
  std::vector<const std::vector<double>*> kept;
  for (const auto& [r, v] : pts) {
    bool dominated = false;
    for (const auto* k : kept) {
      bool no_worse = true, better = false;
      for (size_t j = 0; j < v.size(); ++j) {
        if ((*k)[j] > v[j]) no_worse = false;
        if ((*k)[j] < v[j]) better = true;
      }
      if (no_worse && better) {
        dominated = true;
        break;
      }
    }
    if (!dominated) {
      front.push_back(r);
      kept.push_back(&v);
    }
  }
  std::sort(front.begin(), front.end());
  return front;
}

}  // namespace xpusim
