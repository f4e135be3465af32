// Property test (issue 11): any value that `describe` allows, for any parameter of any family,
// gives either a result or a clear error: a ConfigError, or a point with ok = false and its
// reason. Never a crash, an internal error, a hang or a non-finite time. Seeded: deterministic.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "arch/registry.h"
#include "sim/config/config_store.h"
#include "sim/run/experiment.h"
#include "sim/run/numerics.h"
#include "sim/run/op_cache.h"
#include "workloads/model.h"

namespace xpusim {
namespace {

// A value inside the declared range, as a user would write it: log-uniform over positive ranges
// (so that both ends are reached), uniform otherwise; unbounded ends are capped.
std::string draw(const ParamSpec& p, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  if (p.type == ParamType::kEnum) {
    std::uniform_int_distribution<size_t> pick(0, p.allowed.size() - 1);
    return p.allowed[pick(rng)];
  }
  if (p.type == ParamType::kBool) return u(rng) < 0.5 ? "true" : "false";
  double lo = std::isfinite(p.range.min) ? p.range.min : 0.0;
  double hi = std::isfinite(p.range.max) ? p.range.max : std::max(1.0, lo) * 1e6;
  double v;
  if (lo > 0 && hi > lo) {
    v = lo * std::pow(hi / lo, u(rng));
  } else {
    // Ranges that start at 0: half the draws near 0 (where divisions fail), half anywhere.
    v = u(rng) < 0.5 ? lo + (hi - lo) * std::pow(u(rng), 8.0) : lo + (hi - lo) * u(rng);
  }
  v = std::clamp(v, lo, hi);
  if (p.type == ParamType::kInt) return fmt::format("{}", std::clamp(std::llround(v),
                                                                     std::llround(std::ceil(lo)),
                                                                     std::llround(std::floor(hi))));
  if (p.type == ParamType::kQuantity) return fmt::format("{:.6g} {}", v, unit_symbol(p.unit));
  return fmt::format("{:.6g}", v);
}

bool drawable(const ParamSpec& p) {
  switch (p.type) {
    case ParamType::kInt:
    case ParamType::kReal:
    case ParamType::kQuantity:
    case ParamType::kBool:
      return true;
    case ParamType::kEnum:
      return !p.allowed.empty();
    default:
      return false;
  }
}

TEST(ParamProperty, EveryInRangeValueGivesAResultOrAClearError) {
  ConfigStore store;
  const ModelConfig model = parse_model(store.load("gpt2", "models"));
  std::mt19937_64 rng(20261203);
  constexpr int kDraws = 24;
  int results = 0, errors = 0;
  for (const char* preset : {"h100", "a100", "tpu-v4", "tpu-v5e", "xeon-8480", "zen4-2c"}) {
    const CfgNode base = store.load(preset, "hw");
    const CfgNode* type = base.find("type");
    ASSERT_NE(type, nullptr);
    const DeviceType* family = device_registry().find(type->scalar);
    ASSERT_NE(family, nullptr);
    std::vector<const ParamSpec*> params;
    for (const auto& p : family->schema->params())
      if (drawable(p)) params.push_back(&p);
    for (int d = 0; d < kDraws; ++d) {
      // A few parameters at a time, and now and then all of them.
      std::vector<std::string> sets;
      const size_t n = d % 8 == 7 ? params.size() : size_t(1 + d % 4);
      std::uniform_int_distribution<size_t> pick(0, params.size() - 1);
      for (size_t k = 0; k < n; ++k) {
        const ParamSpec& p = n == params.size() ? *params[k] : *params[pick(rng)];
        sets.push_back(p.path + "=" + draw(p, rng));
      }
      const std::string what = fmt::format("{} with {}", preset, fmt::join(sets, ", "));
      CfgNode tree = base;
      ErrorList errs;
      for (const auto& s : sets) apply_override(tree, s, errs);
      ASSERT_TRUE(errs.empty()) << what << ": the drawn value was refused: "
                                << errs.issues()[0].str();
      try {
        auto dev = make_device(tree, preset);
        OpCache cache;
        for (Phase phase : {Phase::kPrefill, Phase::kDecode}) {
          PointSpec spec;
          spec.phase = phase;
          spec.batch = 2;
          spec.prompt = 64;
          spec.ctx = 128;
          const PointResult r = evaluate_point(*dev, cache, model, spec);
          if (r.ok) {
            EXPECT_TRUE(std::isfinite(r.latency_s) && r.latency_s > 0) << what;
            ++results;
          } else {
            EXPECT_FALSE(r.reason.empty()) << what;
            ++errors;
          }
        }
      } catch (const ConfigError&) {
        ++errors;  // a clear error naming the key
      } catch (const std::exception& e) {
        ADD_FAILURE() << what << ": " << e.what();
      }
    }
  }
  // The draws must exercise the models, not only their errors.
  EXPECT_GT(results, errors / 4) << results << " results, " << errors << " errors";
}

// The cases that crashed (SIGFPE, an assertion) now say which resource the kernel lacks.
TEST(ParamProperty, KernelsThatDoNotFitAnSmSayWhy) {
  ConfigStore store;
  const ModelConfig model = parse_model(store.load("gpt2", "models"));
  for (const auto& [set, expect] :
       {std::pair{"sm_resources.max_warps=2", "not enough warp slots (sm_resources.max_warps = 2"},
        std::pair{"sm_resources.registers=1024", "not enough registers"},
        std::pair{"sm.shared_mem=8 KiB", "not enough shared memory (sm.shared_mem = 8192 B"}}) {
    CfgNode tree = store.load("h100", "hw");
    ErrorList errs;
    apply_override(tree, set, errs);
    ASSERT_TRUE(errs.empty());
    auto dev = make_device(tree, "h100");
    OpCache cache;
    PointSpec spec;
    spec.phase = Phase::kDecode;
    const PointResult r = evaluate_point(*dev, cache, model, spec);
    EXPECT_FALSE(r.ok) << set;
    EXPECT_NE(r.reason.find(expect), std::string::npos) << set << ": " << r.reason;
  }
}

// A density that the timing model accepts is a scheme the numerics check can build (it ended in
// "internal error: stod" for a denormal).
TEST(ParamProperty, NumericsTakesEveryDensityThatRunTakes) {
  ConfigStore store;
  auto dev = make_device(store.load("h100", "hw"), "h100");
  const DeviceFormats f = device_formats(*dev);
  for (const char* d : {"1e-320", "1e-300", "0.5", "1"}) {
    const SchemeChoice c = choose_scheme(std::string("unstructured:") + d, f);
    EXPECT_TRUE(c.ok) << d << ": " << c.reason;
  }
  const SchemeChoice bad = choose_scheme("unstructured:2", f);
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.reason.find("must be in (0, 1]"), std::string::npos) << bad.reason;
}

}  // namespace
}  // namespace xpusim
