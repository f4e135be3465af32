// The calibration search behind `xpusim validate --fit`: a multiplicative coordinate search over
// named parameters (values with units kept), with shrinking steps.
#include <fmt/format.h>

#include <string>
#include <utility>
#include <vector>

#include "validation/validate.h"

namespace xpusim {

namespace {

// "2.3 us" -> (2.3, " us"); "0.7" -> (0.7, "").
std::pair<double, std::string> split_value(const std::string& v) {
  size_t used = 0;
  double x = std::stod(v, &used);
  return {x, v.substr(used)};
}

}  // namespace

FitResult fit_parameters(const std::vector<std::pair<std::string, std::string>>& start,
                         const FitObjective& objective, int rounds, std::ostream* log) {
  FitResult r;
  r.values = start;
  std::vector<double> x;
  std::vector<std::string> suffix;
  for (const auto& [k, v] : start) {
    auto [num, unit] = split_value(v);
    x.push_back(num);
    suffix.push_back(unit);
  }
  auto overrides = [&](const std::vector<double>& xs) {
    std::vector<std::string> o;
    for (size_t i = 0; i < xs.size(); ++i)
      o.push_back(fmt::format("{}={:.4g}{}", start[i].first, xs[i], suffix[i]));
    return o;
  };
  double best = objective(overrides(x));
  r.objective_before = best;
  for (int round = 0; round < rounds; ++round) {
    const double step = round == 0 ? 0.2 : round == 1 ? 0.08 : 0.03;
    for (size_t i = 0; i < x.size(); ++i) {
      for (double dir : {1.0, -1.0}) {
        bool improved = true;
        while (improved) {
          improved = false;
          std::vector<double> trial = x;
          trial[i] = x[i] * (1 + dir * step);
          double f = objective(overrides(trial));
          if (f < best - 1e-6) {
            best = f;
            x = trial;
            improved = true;
          }
        }
      }
      if (log)
        *log << fmt::format("round {} {} = {:.4g}{}  objective {:.4f}\n", round, start[i].first,
                            x[i], suffix[i], best);
    }
  }
  r.objective_after = best;
  for (size_t i = 0; i < x.size(); ++i)
    r.values[i].second = fmt::format("{:.4g}{}", x[i], suffix[i]);
  return r;
}

}  // namespace xpusim
