// Experiment resolution and point evaluation (prefill, decode and generate).
#include "sim/experiment.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "arch/registry.h"
#include "workloads/graph.h"

namespace xpusim {
namespace {

const Schema<ExperimentConfig>& schema() {
  static const Schema<ExperimentConfig> s = [] {
    Schema<ExperimentConfig> s("experiment", "hardware presets × a model × inference phases");
    s.text("name", "experiment", "name of the experiment (used for the output folder)", &ExperimentConfig::name);
    s.text("description", "", "what the experiment shows", &ExperimentConfig::description);
    s.list("hw", kRequired, "hardware presets or files to compare", &ExperimentConfig::hw);
    s.text("model", kRequired, "model preset or file", &ExperimentConfig::model);
    s.list("phases", "prefill,decode", "phases to time: prefill, decode, generate", &ExperimentConfig::phases);
    s.integer("batch", "1", Range{1, 1 << 20}, "sequences per batch", &ExperimentConfig::batch);
    s.integer("prompt", "512", Range{1, 1 << 24}, "prompt tokens per sequence (prefill, generate)",
              &ExperimentConfig::prompt);
    s.integer("ctx", "512", Range{1, 1 << 24}, "context length of a decode step (keys attended over)",
              &ExperimentConfig::ctx);
    s.integer("gen", "128", Range{1, 1 << 20}, "new tokens per sequence (generate)", &ExperimentConfig::gen);
    s.choice("dtype", "bf16", dtype_names(), "number format of weights, activations and KV cache",
             &ExperimentConfig::dtype);
    return s;
  }();
  return s;
}

const std::vector<std::string> kPhases = {"prefill", "decode", "generate"};

// Accumulates a pass's ops into per-name records (generate sums many passes).
void accumulate(std::vector<OpRecord>& records, const std::vector<Op>& ops, const std::vector<OpResult>& results,
                double& latency, std::map<std::string, double>& bound_time) {
  for (size_t i = 0; i < ops.size(); ++i) {
    const double t = results[i].time_s * double(ops[i].repeat);
    latency += t;
    bound_time[std::string(bound_name(results[i].bound))] += t;
    auto it = std::find_if(records.begin(), records.end(), [&](const OpRecord& r) { return r.op.name == ops[i].name; });
    if (it == records.end()) {
      records.push_back({ops[i], results[i], t, ops[i].repeat});
    } else {
      it->total_s += t;
      it->count += ops[i].repeat;
      it->op = ops[i];  // keep the latest shape (the longest context, for generate)
      it->result = results[i];
    }
  }
}

}  // namespace

const SchemaBase& experiment_schema() { return schema(); }

ExperimentConfig parse_experiment(const CfgNode& tree, ErrorList& errors) {
  if (const CfgNode* t = tree.find("type"); !t || !t->is_scalar() || t->scalar != "experiment")
    errors.add(t ? t->loc : tree.loc, "type", "an experiment file needs `type: experiment`");
  ExperimentConfig cfg = schema().parse(tree, errors);
  for (const auto& ph : cfg.phases)
    if (std::find(kPhases.begin(), kPhases.end(), ph) == kPhases.end())
      errors.add(tree.find("phases") ? tree.find("phases")->loc : tree.loc, "phases",
                 fmt::format("'{}' is not a phase; expected prefill, decode or generate", ph));
  return cfg;
}

PointResult evaluate_point(Device& device, OpCache& cache, const ModelConfig& model, const std::string& phase,
                           int64_t batch, int64_t prompt, int64_t ctx, int64_t gen, DType dtype) {
  PointResult p;
  p.hw = device.name();
  p.model = model.name;
  p.phase = phase;
  p.batch = batch;
  p.prompt = phase == "decode" ? 0 : prompt;
  p.ctx = phase == "decode" ? ctx : phase == "generate" ? prompt + gen : prompt;
  p.gen = phase == "generate" ? gen : 0;
  p.capacity_bytes = device.memory_capacity_bytes();
  auto fail = [&](std::string why) {
    p.ok = false;
    p.reason = std::move(why);
    return p;
  };
  if (model.family == "bert" && phase != "prefill")
    return fail(fmt::format("{} is encoder-only: it has a prefill (encode) phase only", model.name));
  if (p.ctx > model.max_positions)
    return fail(fmt::format("context {} exceeds the model's {} positions", p.ctx, model.max_positions));

  p.weight_bytes = model_weight_bytes(model, dtype);
  p.kv_bytes = kv_cache_bytes(model, batch, p.ctx, dtype);
  if (p.weight_bytes + p.kv_bytes > p.capacity_bytes) {
    return fail(fmt::format("does not fit: weights {:.1f} GiB + KV cache {:.1f} GiB > {:.1f} GiB of device memory",
                            p.weight_bytes / (1 << 30), p.kv_bytes / (1 << 30), p.capacity_bytes / (1 << 30)));
  }

  std::map<std::string, double> bound_time;
  auto pass = [&](const ForwardShape& s, double& latency) -> bool {
    auto ops = build_forward(model, s);
    Evaluation ev = cache.run(device, ops);
    if (!ev.ok) {
      fail(ev.reason);
      return false;
    }
    accumulate(p.ops, ops, ev.results, latency, bound_time);
    return true;
  };

  if (phase == "prefill") {
    if (!pass({batch, prompt, prompt, true, dtype}, p.latency_s)) return p;
    p.tokens_per_s = double(batch * prompt) / p.latency_s;
  } else if (phase == "decode") {
    if (!pass({batch, 1, ctx, false, dtype}, p.latency_s)) return p;
    p.tokens_per_s = double(batch) / p.latency_s;
  } else {
    double ttft = 0, decode = 0;
    if (!pass({batch, prompt, prompt, true, dtype}, ttft)) return p;
    // Exact: every step is timed at its own context (the GEMMs hit the op cache after the first).
    for (int64_t i = 1; i <= gen; ++i)
      if (!pass({batch, 1, prompt + i, false, dtype}, decode)) return p;
    p.ttft_s = ttft;
    p.tpot_s = decode / double(gen);
    p.latency_s = ttft + decode;
    p.tokens_per_s = double(batch * gen) / p.latency_s;
  }
  auto top = std::max_element(bound_time.begin(), bound_time.end(),
                              [](const auto& a, const auto& b) { return a.second < b.second; });
  p.bound = top == bound_time.end() ? "" : top->first;
  return p;
}

ExperimentResult ExperimentRunner::run(CfgNode tree, const RunOverrides& overrides, const Progress& progress) {
  ExperimentResult out;
  ErrorList errors;
  std::vector<std::string> hw_sets, model_sets;
  for (const auto& s : overrides.set) {
    if (s.starts_with("hw.")) hw_sets.push_back(s.substr(3));
    else if (s.starts_with("model.")) model_sets.push_back(s.substr(6));
    else apply_override(tree, s, errors);
  }
  ExperimentConfig cfg = parse_experiment(tree, errors);
  errors.throw_if_any();
  out.config = cfg;
  out.resolved.push_back({"experiment", cfg.name, tree});

  // Load every file before simulating anything, and report all their problems together.
  std::vector<std::unique_ptr<Device>> devices;
  ModelConfig model;
  std::vector<ConfigIssue> issues;
  auto collect = [&](auto&& fn) {
    try {
      fn();
    } catch (const ConfigError& e) {
      issues.insert(issues.end(), e.issues().begin(), e.issues().end());
    }
  };
  collect([&] {
    CfgNode m = store_.load(cfg.model, "models");
    ErrorList errs;
    for (const auto& s : model_sets) apply_override(m, s, errs, fmt::format("--set model.{}", s));
    errs.throw_if_any();
    model = parse_model(m);
    if (model.name.empty()) model.name = cfg.model;
    out.resolved.push_back({"model", model.name, m});
  });
  for (const auto& hw : cfg.hw) {
    collect([&] {
      CfgNode h = store_.load(hw, "hw");
      ErrorList errs;
      for (const auto& s : hw_sets) apply_override(h, s, errs, fmt::format("--set hw.{} (on {})", s, hw));
      errs.throw_if_any();
      const CfgNode* n = h.find("name");
      std::string name = n && n->is_scalar() && !n->scalar.empty() ? n->scalar : hw;
      devices.push_back(make_device(h, name));
      out.resolved.push_back({"hw", name, h});
    });
  }
  if (!issues.empty()) throw ConfigError(issues);

  const DType dtype = *parse_dtype(cfg.dtype);
  const size_t total = devices.size() * cfg.phases.size();
  for (auto& dev : devices) {
    for (const auto& phase : cfg.phases) {
      out.points.push_back(evaluate_point(*dev, cache_, model, phase, cfg.batch, cfg.prompt, cfg.ctx, cfg.gen, dtype));
      if (progress) progress(out.points.size(), total, out.points.back());
    }
  }
  out.cache_hits = cache_.hits();
  out.cache_misses = cache_.misses();

  for (const auto& p : out.points) {
    const std::string base = fmt::format("{}.{}.{}", p.hw, p.model, p.phase);
    if (!p.ok) continue;
    out.stats.add(base + ".latency", p.latency_s, "s", "time of the whole point (see phase)");
    out.stats.add(base + ".tokens_per_s", p.tokens_per_s, "token/s", "tokens processed or generated per second");
    if (p.ttft_s) out.stats.add(base + ".ttft", *p.ttft_s, "s", "time to first token");
    if (p.tpot_s) out.stats.add(base + ".tpot", *p.tpot_s, "s", "mean time per output token");
    for (const auto& r : p.ops) {
      const std::string op = base + ".ops." + r.op.name;
      out.stats.add(op + ".time", r.result.time_s, "s", "one instance");
      out.stats.add(op + ".total_time", r.total_s, "s", "all instances in the point");
      out.stats.add(op + ".count", double(r.count), "1", "instances in the point");
      out.stats.add(op + ".flops", r.result.flops, "FLOP", "one instance");
      for (const auto& [level, bytes] : r.result.bytes_per_level)
        out.stats.add(op + ".bytes." + level, bytes, "B", "bytes moved at this memory level, one instance");
    }
  }
  out.stats.add("sim.op_cache.hits", double(out.cache_hits), "1", "operators answered from the op-result cache");
  out.stats.add("sim.op_cache.misses", double(out.cache_misses), "1", "operators simulated");
  return out;
}

}  // namespace xpusim
