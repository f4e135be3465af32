// Experiment resolution and point evaluation (prefill, decode and generate), with compression,
// parallelism, the pipeline schedule and the per-device memory check.
#include "sim/run/experiment.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "arch/registry.h"
#include "sim/base/hash.h"
#include "sim/base/suggest.h"
#include "sim/base/version.h"
#include "sim/engine/multi_device.h"
#include "sim/run/numerics.h"
#include "sim/run/numerics_cache.h"
#include "workloads/graph.h"

namespace xpusim {
namespace {

constexpr int64_t kExactSteps = 512;

// Accumulates a pass's ops into per-name records and per-stage times.
// `ranks`: devices that run each stage's ops (tensor/expert-parallel ranks), for energy.
void accumulate(std::vector<OpRecord>& records, const std::vector<Op>& ops,
                const std::vector<OpResult>& results, int64_t times,
                std::vector<double>& stage_time, std::map<std::string, double>& bound_time,
                double ranks) {
  for (size_t i = 0; i < ops.size(); ++i) {
    const double t = results[i].time_s * double(ops[i].repeat);
    stage_time[ops[i].stage] += t;
    bound_time[std::string(bound_name(results[i].bound))] += t * double(times);
    std::optional<double> e;
    if (results[i].energy_j)
      e = *results[i].energy_j * double(ops[i].repeat) * double(times) * ranks;
    auto it = std::find_if(records.begin(), records.end(),
                           [&](const OpRecord& r) { return r.op.name == ops[i].name; });
    if (it == records.end()) {
      records.push_back({ops[i], results[i], t * double(times), ops[i].repeat * times, e});
    } else {
      it->total_s += t * double(times);
      it->count += ops[i].repeat * times;
      if (it->energy_j && e) *it->energy_j += *e;
      it->op = ops[i];  // keep the latest shape (the longest context, for generate)
      it->result = results[i];
    }
  }
}

std::string gib(double bytes) { return fmt::format("{:.1f} GiB", bytes / double(1 << 30)); }

// One forward pass runs as one stream per pipeline stage (each stage is a device of its own), so
// sequence effects such as a GPU's power-limited clock apply (Device::stream). The stream is
// the stage's ops in order with their repeats written out: consecutive ops of equal `repeat` form
// a block replayed that many times, as a layer stack is. Each op gets the mean time of its
// instances.
void stream_pass(const Device& device, const std::vector<Op>& ops, std::vector<OpResult>& results,
                 int64_t stages) {
  for (int64_t stage = 0; stage < stages; ++stage) {
    std::vector<size_t> idx;
    for (size_t i = 0; i < ops.size(); ++i)
      if (ops[i].stage == stage) idx.push_back(i);
    std::vector<OpResult> inst;
    std::vector<size_t> owner;
    for (size_t b = 0; b < idx.size();) {
      size_t e = b;
      while (e < idx.size() && ops[idx[e]].repeat == ops[idx[b]].repeat) ++e;
      for (int64_t k = 0; k < std::max<int64_t>(1, ops[idx[b]].repeat); ++k)
        for (size_t j = b; j < e; ++j) {
          inst.push_back(results[idx[j]]);
          owner.push_back(idx[j]);
        }
      b = e;
    }
    device.stream(inst);
    // Each op gets the mean time and energy of its instances, and their time-weighted clock.
    std::vector<double> sum(ops.size(), 0.0), joules(ops.size(), 0.0), clock(ops.size(), 0.0);
    for (size_t k = 0; k < inst.size(); ++k) {
      sum[owner[k]] += inst[k].time_s;
      joules[owner[k]] += inst[k].energy_j.value_or(0);
      clock[owner[k]] += inst[k].clock_hz.value_or(0) * inst[k].time_s;
    }
    for (size_t i : idx) {
      OpResult& r = results[i];
      const double n = double(std::max<int64_t>(1, ops[i].repeat));
      const double t = sum[i] / n;
      if (r.time_s > 0) r.cycles *= t / r.time_s;
      r.time_s = t;
      if (r.energy_j) r.energy_j = joules[i] / n;
      if (r.clock_hz && sum[i] > 0) r.clock_hz = clock[i] / sum[i];
    }
  }
}

bool is_send(const Op& op) { return op.kind == OpKind::kCollective && op.collective == "send"; }

// The activations one pipeline stage sends the next per micro-batch (the graph's pp.send).
double activation_bytes(const std::vector<Op>& ops) {
  double bytes = 0;
  for (const Op& op : ops)
    if (is_send(op)) bytes = std::max(bytes, op.message_bytes);
  return bytes;
}

// What one rank of each stage does per micro-batch, for simulate_parallel: the stage's ops in
// order with their repeats written out (as in stream_pass), consecutive computing ops merged into
// one span, each collective a meeting of the stage's ranks. A collective's step keeps the time
// the device's collective model gave it: the link occupancy it reported goes through the
// simulation's link, the rest is fixed latency. pp.send ops are left to the simulation's sends.
std::vector<std::vector<DeviceStep>> parallel_steps(const std::vector<Op>& ops,
                                                    const std::vector<OpResult>& results,
                                                    int64_t stages, const MemLevelSpec& link) {
  std::vector<std::vector<DeviceStep>> out(static_cast<size_t>(stages));
  for (int64_t stage = 0; stage < stages; ++stage) {
    auto& steps = out[stage];
    int groups = 0;
    auto add = [&](size_t i) {
      const Op& op = ops[i];
      const OpResult& r = results[i];
      if (is_send(op)) return;
      if (op.kind == OpKind::kCollective) {
        double busy = 0;
        for (const auto& [level, b] : r.busy_per_level)
          if (level == "link") busy = b;
        const double fixed = std::max(0.0, r.time_s - busy - link.latency_s);
        steps.push_back(DeviceStep::collective(groups++, busy * link.bw_bytes_per_s, fixed));
        steps.back().label = op.name;
      } else if (!steps.empty() && steps.back().kind == DeviceStep::Kind::kCompute) {
        steps.back().duration_s += r.time_s;
        const auto dots = steps.back().label.find(" … ");
        steps.back().label = steps.back().label.substr(0, dots) + " … " + op.name;
      } else {
        steps.push_back(DeviceStep::compute(r.time_s));
        steps.back().label = op.name;
      }
    };
    std::vector<size_t> idx;
    for (size_t i = 0; i < ops.size(); ++i)
      if (ops[i].stage == stage) idx.push_back(i);
    for (size_t b = 0; b < idx.size();) {
      size_t e = b;
      while (e < idx.size() && ops[idx[e]].repeat == ops[idx[b]].repeat) ++e;
      for (int64_t k = 0; k < std::max<int64_t>(1, ops[idx[b]].repeat); ++k)
        for (size_t j = b; j < e; ++j) add(idx[j]);
      b = e;
    }
  }
  return out;
}

}  // namespace

PointResult evaluate_point(Device& device, OpCache& cache, const ModelConfig& base_model,
                           const PointSpec& spec, bool trace) {
  const ModelConfig model = apply_structured_pruning(base_model, spec.prune);
  PointResult p;
  p.hw = device.name();
  p.model = base_model.name;
  p.phase = spec.phase;
  p.batch = spec.batch;
  p.prompt = spec.phase == Phase::kDecode ? 0 : spec.prompt;
  p.ctx = spec.phase == Phase::kDecode     ? spec.ctx
          : spec.phase == Phase::kGenerate ? spec.prompt + spec.gen
                                           : spec.prompt;
  p.gen = spec.phase == Phase::kGenerate ? spec.gen : 0;
  p.beams = spec.phase == Phase::kGenerate ? spec.beams : 1;
  p.quant = spec.quant.name;
  p.kv_quant = std::string(dtype_name(spec.kv_dtype));
  p.prune = spec.prune.text;
  p.stack = spec.stack.describe();
  p.capacity_bytes = device.memory_capacity_bytes();
  p.family = device.family();
  p.area = device.area();
  p.roofline = device.roofline(base_format(spec.quant));  // main memory (peaks per format below)
  p.tp = spec.tp;
  p.pp = spec.pp;
  p.ep = spec.ep;
  auto fail = [&](std::string why) {
    p.ok = false;
    p.reason = std::move(why);
    return p;
  };
  if (model.encoder_only && spec.phase != Phase::kPrefill)
    return fail(
        fmt::format("{} is encoder-only: it has a prefill (encode) phase only", model.name));
  // A limit is a failure, or in a what-if run (limits: warn) a warning on a point still timed.
  auto limit = [&](std::string why) {
    if (spec.enforce_limits) {
      fail(std::move(why));
      return true;
    }
    p.warnings.push_back(std::move(why));
    return false;
  };
  if (p.ctx > model.max_positions &&
      limit(fmt::format("context {} exceeds the model's {} positions", p.ctx, model.max_positions)))
    return p;

  ForwardShape shape;
  shape.dtype = base_format(spec.quant);
  shape.kv_dtype = spec.kv_dtype;
  spec.stack.apply(shape);
  shape.fused_attention = spec.fused_attention;
  shape.pp = spec.pp;
  shape.ep = spec.ep;
  const int m = spec.microbatches > 0 ? spec.microbatches
                                      : static_cast<int>(std::min<int64_t>(spec.batch, spec.pp));
  p.microbatches = m;
  const int64_t micro = (spec.batch + m - 1) / m;
  const double linear_bytes = linear_bytes_per_param(spec.quant, spec.prune);

  // Memory per device, at the largest context of the point, for the whole batch in flight.
  auto need_for = [&](int tp) {
    ForwardShape s = shape;
    s.tp = tp;
    s.batch = spec.batch;
    s.q_len = spec.phase == Phase::kDecode ? 1 : spec.prompt;
    s.kv_len = p.ctx;
    s.beams = p.beams;
    s.prefix_len = p.beams > 1 ? spec.prompt : 0;
    return memory_need(model, s, p.ctx, linear_bytes);
  };
  // The smallest power-of-two TP degree from `from` up that splits the model and fits; 0 if none.
  auto smallest_fitting_tp = [&](int from) {
    for (int cand = from; cand <= 4096 && cand <= model.heads; cand *= 2) {
      ForwardShape s = shape;
      s.tp = cand;
      if (check_parallelism(model, s).empty() && need_for(cand).total() <= p.capacity_bytes)
        return cand;
    }
    return 0;
  };
  int tp = spec.tp;
  if (tp == 0) {
    tp = smallest_fitting_tp(1);
    if (tp == 0) {
      if (limit("does not fit at any tensor-parallel degree that divides the heads")) return p;
      tp = 1;
    }
  }
  shape.tp = tp;
  p.tp = tp;
  p.devices = (spec.ep > 1 && tp == 1 ? spec.ep : tp) * spec.pp;
  if (std::string why = check_parallelism(model, shape); !why.empty()) return fail(why);

  const MemoryNeed need = need_for(tp);
  p.weight_bytes = need.weights;
  p.kv_bytes = need.kv_cache;
  p.activation_bytes = need.activations;
  if (need.total() > p.capacity_bytes) {
    const int fits = smallest_fitting_tp(tp * 2);
    const std::string hint = fits ? fmt::format("; --tp {} would fit", fits) : "";
    if (limit(fmt::format(
            "does not fit: weights {} + KV cache {} + activations {} > {} of device memory{}",
            gib(need.weights), gib(need.kv_cache), gib(need.activations), gib(p.capacity_bytes),
            hint)))
      return p;
  }

  std::map<std::string, double> bound_time;
  // One forward pass of `m` micro-batches through the pipeline: every stage works on each
  // micro-batch in turn (simulated with the stages as concurrent devices).
  // `weight` > 1: this pass stands for that many decode steps (integrated generate).
  auto pass = [&](int64_t q_len, int64_t kv_len, bool prefill, double& latency,
                  int64_t weight = 1) -> bool {
    ForwardShape s = shape;
    s.batch = micro;
    s.q_len = q_len;
    s.kv_len = kv_len;
    s.prefill = prefill;
    s.beams = p.beams;
    s.prefix_len = p.beams > 1 ? spec.prompt : 0;
    auto ops = build_forward(model, s);
    apply_compression(ops, spec.quant, spec.prune);
    Evaluation ev = cache.run(device, ops);
    if (!ev.ok) {
      fail(ev.reason);
      return false;
    }
    stream_pass(device, ops, ev.results, spec.pp);
    std::vector<double> stage_time(static_cast<size_t>(spec.pp), 0.0);
    const double ranks = double(p.devices) / double(spec.pp);
    accumulate(p.ops, ops, ev.results, m * weight, stage_time, bound_time, ranks);
    // The stages, and the tensor-parallel ranks of each, run as concurrent devices in one
    // simulation: each micro-batch's activations go to the next stage over the link, the ranks
    // meet in each collective. The pass, its bubble and the waits come out of it.
    // The first pass is traced: its ops once more through the engine (past the cache), recording.
    std::shared_ptr<PointTrace> tr;
    if (trace && !p.trace) {
      tr = std::make_shared<PointTrace>();
      tr->family = device.family();
      for (const Op& op : ops) {
        tr->op_names.push_back(op.name);
        tr->op_repeat.push_back(std::max<int64_t>(1, op.repeat));
      }
      device.set_trace(&tr->engine);
      const Evaluation traced = device.run(ops);
      device.set_trace(nullptr);
      if (!traced.ok) tr.reset();
    }
    const MultiDeviceResult pipe =
        spec.pp > 1 || spec.tp > 1
            ? simulate_parallel(parallel_steps(ops, ev.results, spec.pp, device.link_spec()),
                                spec.tp, m, activation_bytes(ops), device.link_spec(),
                                tr ? &tr->devices : nullptr)
            : MultiDeviceResult{stage_time[0] * double(m), {}};
    if (tr) {
      tr->device_count = std::max<int>(1, int(pipe.devices.size()));
      p.trace = tr;
    }
    if (spec.pp > 1)  // the graph's pp.send ops went over the simulation's link instead
      for (size_t i = 0; i < ops.size(); ++i)
        if (is_send(ops[i])) stage_time[ops[i].stage] -= ev.results[i].time_s;
    const double t = pipe.makespan_s;
    double sum = 0;
    for (double st : stage_time) sum += st;
    latency += t * double(weight);
    // Energy: every device draws its ops' energy while busy and idle power while it waits.
    if (const auto idle = device.idle_power_w()) {
      double joules = 0;
      for (size_t i = 0; i < ops.size(); ++i)
        if (!(spec.pp > 1 && is_send(ops[i])))
          joules += ev.results[i].energy_j.value_or(0) * double(ops[i].repeat) * double(m);
      joules *= ranks;
      double busy = 0;
      for (double st : stage_time) busy += st * double(m) * ranks;
      joules += *idle * std::max(0.0, t * double(p.devices) - busy);
      p.energy_j = p.energy_j.value_or(0) + joules * double(weight);
    }
    p.bubble = t > 0 ? 1.0 - double(m) * sum / (double(spec.pp) * t) : 0.0;
    return true;
  };

  if (spec.phase == Phase::kPrefill) {
    if (!pass(spec.prompt, spec.prompt, true, p.latency_s)) return p;
    p.tokens_per_s = double(spec.batch * spec.prompt) / p.latency_s;
  } else if (spec.phase == Phase::kDecode) {
    if (!pass(1, spec.ctx, false, p.latency_s)) return p;
    p.tokens_per_s = double(spec.batch) / p.latency_s;
  } else {
    double ttft = 0, decode = 0;
    if (!pass(spec.prompt, spec.prompt, true, ttft)) return p;
    // Up to kExactSteps new tokens every step is timed at its own context (the GEMMs hit the op
    // cache after the first). Longer generations are integrated: each of kExactSteps spans of
    // consecutive steps is timed at its middle context and counted once per step it stands for;
    // step time grows smoothly with the context, which keeps this within 0.1 % of the exact sum
    // (tests/unit/test_experiment.cpp checks 1 %).
    // Consecutive steps at the same context (a static cache, a decode bucket) are one pass
    // counted once per step: the same shapes give the same time.
    const int64_t stride = (spec.gen + kExactSteps - 1) / kExactSteps;
    std::vector<std::pair<int64_t, int64_t>> steps;  // (context, steps at it)
    for (int64_t i = 1; i <= spec.gen; i += stride) {
      const int64_t span = std::min(stride, spec.gen - i + 1);
      int64_t generated = spec.static_kv ? spec.gen : i + span / 2;
      for (int64_t b : spec.decode_buckets)
        if (b >= i + span - 1) {  // the bucket that holds every step of this span
          generated = b;
          break;
        }
      const int64_t kv = spec.prompt + generated;
      if (!steps.empty() && steps.back().first == kv)
        steps.back().second += span;
      else
        steps.emplace_back(kv, span);
    }
    for (const auto& [kv, count] : steps)
      if (!pass(1, kv, false, decode, count)) return p;
    p.ttft_s = ttft;
    p.tpot_s = decode / double(spec.gen);
    p.latency_s = ttft + decode;
    p.tokens_per_s = double(spec.batch * spec.gen) / p.latency_s;
  }
  auto top = std::max_element(bound_time.begin(), bound_time.end(),
                              [](const auto& a, const auto& b) { return a.second < b.second; });
  p.bound = top == bound_time.end() ? "" : top->first;
  // The roofline's ceilings: the device's peak for each format its operators compute in.
  for (const auto& r : p.ops)
    if (r.op.kind != OpKind::kCollective)
      if (const double peak = device.roofline(r.op.dtype).peak_flops_per_s; peak > 0)
        p.peak_flops_per_s[std::string(dtype_name(r.op.dtype))] = peak;
  return p;
}

nlohmann::ordered_json point_identity_json(const PointResult& p) {
  nlohmann::ordered_json j;
  j["hw"] = p.hw;
  j["model"] = p.model;
  j["phase"] = std::string(phase_name(p.phase));
  j["batch"] = p.batch;
  j["prompt"] = p.prompt;
  j["ctx"] = p.ctx;
  if (p.phase == Phase::kGenerate) j["gen"] = p.gen;
  if (p.beams > 1) j["beams"] = p.beams;
  j["quant"] = p.quant;
  j["kv_quant"] = p.kv_quant;
  j["prune"] = p.prune;
  j["stack"] = p.stack;
  j["tp"] = p.tp;
  j["pp"] = p.pp;
  j["ep"] = p.ep;
  j["devices"] = p.devices;
  j["ok"] = p.ok;
  return j;
}

PointResult::Numerics ExperimentRunner::numerics_for(Device& device, const PointSpec& spec) {
  PointResult::Numerics n;
  // The numerics schemes that correspond to the timing schemes (a pruning scheme on bf16 stands
  // for itself; combinations are not emulated).
  std::string scheme = spec.quant.name;
  if (spec.prune.kind == PruneScheme::Kind::k24)
    scheme = spec.quant.name == "bf16" ? "2:4" : "";
  else if (spec.prune.kind == PruneScheme::Kind::kUnstructured)
    scheme = spec.quant.name == "bf16" ? fmt::format("unstructured:{}", spec.prune.value) : "";
  else if (spec.prune.kind != PruneScheme::Kind::kNone)
    scheme = "";
  n.scheme = scheme;
  if (scheme.empty()) {
    n.note = "this combination of schemes is not emulated";
    return n;
  }
  if (reference_model_.empty()) {
    n.note = "no reference model";
    return n;
  }
  // What the result depends on: the scheme, the datapath the device gives it, the reference
  // model's bytes, the evaluation windows, and the code (the commit) that computed it.
  if (reference_digest_.empty()) reference_digest_ = reference_model_digest(reference_model_);
  const SchemeChoice choice = choose_scheme(scheme, device_formats(device));
  const std::string key =
      Fnv1a64()
          .field("numerics column: 4 windows of 256 bytes")
          .field(git_commit())
          .field(scheme)
          .field(choice.ok ? choice.datapath : "unsupported: " + choice.reason)
          .field(reference_digest_.empty() ? reference_model_ : reference_digest_)
          .hex();
  if (auto it = numerics_cache_.find(key); it != numerics_cache_.end()) return it->second;
  std::optional<NumericsDiskCache> disk;
  // A reference model whose bytes could not be read is not cached across processes.
  if (numerics_disk_dir_ && !reference_digest_.empty()) disk.emplace(*numerics_disk_dir_);
  if (disk)
    if (auto cached = disk->load(key)) {
      numerics_cache_[key] = *cached;
      return *cached;
    }
  try {
    if (!reference_weights_) reference_weights_ = weights::load_llama_checkpoint(reference_model_);
    if (reference_text_.empty()) {
      std::ifstream in(reference_model_ + "/heldout_slice.bin", std::ios::binary);
      reference_text_.assign(std::istreambuf_iterator<char>(in), {});
    }
  } catch (const ConfigError& e) {
    n.note = e.issues().empty() ? "cannot load the reference model" : e.issues().front().str();
    return n;
  }
  // Four 256-byte windows of held-out text: enough to rank schemes in well under a second.
  const NumericsInput in = byte_windows(*reference_weights_, reference_text_, 256, 4);
  if (in.sequences.empty()) {
    n.note = "no held-out text beside the reference model";
    return n;
  }
  auto rows = run_numerics(in, device, {"fp32", scheme}, {});
  const NumericsRow& ref = rows[0];
  const NumericsRow& r = rows[1];
  n.datapath = r.datapath;
  n.ok = r.ok && r.perplexity && ref.perplexity;
  n.note = r.reason;
  if (n.ok) {
    n.perplexity = *r.perplexity;
    n.perplexity_delta_pct = (*r.perplexity / *ref.perplexity - 1.0) * 100.0;
    n.logit_rel_err = r.logit_rel_err;
    n.top1_agreement = r.top1_agreement;
  }
  numerics_cache_[key] = n;
  ++numerics_computed_;
  if (disk) disk->store(key, n);
  return n;
}

ExperimentResult ExperimentRunner::run(CfgNode tree, const RunOverrides& overrides,
                                       const Progress& progress, const Resolved& resolved) {
  ExperimentResult out;
  ErrorList errors;
  // hw.KEY=V applies to every device; hw[NAME].KEY=V to the one named NAME (as the experiment
  // lists it, its file's stem, or its `name:`).
  struct HwSet {
    std::string target, assignment, origin;
    bool used = false;
  };
  std::vector<HwSet> hw_sets;
  std::vector<std::string> model_sets;
  for (const auto& s : overrides.set) {
    if (s.starts_with("hw.")) {
      hw_sets.push_back({"", s.substr(3), "--set " + s});
    } else if (s.starts_with("hw[")) {
      const size_t close = s.find("].");
      if (close == std::string::npos || close == 3)
        errors.add({"<command line>", 0, 0}, s.substr(0, s.find('=')),
                   fmt::format("'--set {}': expected hw[NAME].KEY=VALUE", s));
      else
        hw_sets.push_back({s.substr(3, close - 3), s.substr(close + 2), "--set " + s});
    } else if (s.starts_with("model."))
      model_sets.push_back(s.substr(6));
    else
      apply_override(tree, s, errors);
  }
  ExperimentConfig cfg = parse_experiment(tree, errors);
  PointSpec base = point_spec(cfg, tree, errors);
  errors.throw_if_any();
  out.config = cfg;
  out.resolved.push_back({"experiment", cfg.name, tree});

  // Load every file before simulating anything, and report all their problems together.
  std::vector<std::unique_ptr<Device>> devices;
  ModelConfig model;
  std::vector<ConfigIssue> issues;
  auto collect = [&](auto&& fn) { collect_config_errors(issues, fn); };
  // Files named in the experiment resolve against its folder and are reported where it names
  // them; names from the command line resolve against the working directory.
  auto named_at = [&](const char* key, size_t index) {
    const CfgNode* n = tree.find(key);
    if (n && n->is_seq() && index < n->seq.size()) return n->seq[index].loc;
    return n ? n->loc : SourceLoc{"<command line>", 0, 0};
  };
  auto from = [](const SourceLoc& at) { return at.file.starts_with("<") ? "" : at.file; };
  collect([&] {
    CfgNode m =
        store_.load_named(cfg.model, from(named_at("model", 0)), named_at("model", 0), "models");
    ErrorList errs;
    for (const auto& s : model_sets) apply_override(m, s, errs, fmt::format("--set model.{}", s));
    errs.throw_if_any();
    model = parse_model(m);
    if (model.name.empty()) model.name = cfg.model;
    out.resolved.push_back({"model", model.name, m});
  });
  for (size_t i = 0; i < cfg.hw.size(); ++i) {
    const std::string& hw = cfg.hw[i];
    collect([&] {
      CfgNode h = store_.load_named(hw, from(named_at("hw", i)), named_at("hw", i), "hw");
      ErrorList errs;
      const CfgNode* n = h.find("name");
      std::string name = n && n->is_scalar() && !n->scalar.empty() ? n->scalar : hw;
      for (auto& s : hw_sets) {
        if (!s.target.empty() && s.target != hw && s.target != name &&
            s.target != std::filesystem::path(hw).stem().string())
          continue;
        s.used = true;
        apply_override(h, s.assignment, errs, fmt::format("{} (on {})", s.origin, hw));
      }
      errs.throw_if_any();
      devices.push_back(make_device(h, name));
      out.resolved.push_back({"hw", name, h});
    });
  }
  for (const auto& s : hw_sets) {
    if (s.used || s.target.empty()) continue;
    std::vector<std::string> names;
    for (const auto& r : out.resolved)
      if (r.role == "hw") names.push_back(r.name);
    ConfigIssue issue;
    issue.loc.file = "<command line>";
    issue.key_path = "hw[" + s.target + "]";
    issue.message = fmt::format(
        "'{}': no device of the experiment is named '{}'; its devices: "
        "{}{}",
        s.origin, s.target, fmt::join(names, ", "), did_you_mean(s.target, names));
    issues.push_back(std::move(issue));
  }
  if (!issues.empty()) throw ConfigError(issues);
  if (resolved && !resolved(out)) return out;

  const size_t total = devices.size() * cfg.phases.size() * cfg.quant.size();
  for (auto& dev : devices) {
    for (const auto& q : cfg.quant) {
      PointSpec spec = base;
      spec.quant = *parse_quant(q);
      if (cfg.kv_quant == "auto" || cfg.kv_quant.empty()) spec.kv_dtype = base_format(spec.quant);
      std::optional<PointResult::Numerics> numerics;
      if (cfg.numerics) numerics = numerics_for(*dev, spec);
      for (const Phase phase : cfg.phases) {
        spec.phase = phase;
        out.points.push_back(evaluate_point(*dev, cache_, model, spec, trace_));
        out.points.back().numerics = numerics;
        if (progress) progress(out.points.size(), total, out.points.back());
      }
    }
  }
  out.cache_hits = cache_.hits();
  out.cache_misses = cache_.misses();

  // Each device's die area once (arch/area.h): its parts and the total.
  std::set<std::string> area_done;
  for (const auto& p : out.points) {
    if (!p.area || !area_done.insert(p.hw).second) continue;
    for (const auto& part : p.area->parts)
      out.stats.add(p.hw + ".area." + part.name, part.mm2, "mm2",
                    "die area of this part (first-order model, arch/area.h)");
    out.stats.add(p.hw + ".area.total", p.area->total_mm2, "mm2",
                  "die area, first-order model (" + p.area->node + ")");
  }
  for (const auto& p : out.points) {
    const std::string base_path = fmt::format("{}.{}.{}", p.hw, p.model, phase_name(p.phase));
    if (!p.ok) continue;
    out.stats.add(base_path + ".latency", p.latency_s, "s", "time of the whole point (see phase)");
    out.stats.add(base_path + ".tokens_per_s", p.tokens_per_s, "token/s",
                  "tokens processed or generated per second");
    if (p.ttft_s) out.stats.add(base_path + ".ttft", *p.ttft_s, "s", "time to first token");
    if (p.tpot_s) out.stats.add(base_path + ".tpot", *p.tpot_s, "s", "mean time per output token");
    out.stats.add(base_path + ".memory.weights", p.weight_bytes, "B", "weights held by one device");
    out.stats.add(base_path + ".memory.kv_cache", p.kv_bytes, "B", "KV cache held by one device");
    out.stats.add(base_path + ".memory.activations", p.activation_bytes, "B",
                  "peak activations of one device");
    // The engine's module statistics: per operator (one instance) and summed over the point.
    double compute_busy = 0, stall = 0, transactions = 0;
    std::vector<std::pair<std::string, double>> level_busy;
    for (const auto& r : p.ops) {
      const std::string op = base_path + ".ops." + r.op.name;
      const OpResult& res = r.result;
      out.stats.add(op + ".time", res.time_s, "s", "one instance");
      out.stats.add(op + ".total_time", r.total_s, "s", "all instances in the point");
      out.stats.add(op + ".count", double(r.count), "1", "instances in the point");
      out.stats.add(op + ".flops", res.flops, "FLOP", "one instance");
      for (const auto& [level, bytes] : res.bytes_per_level)
        out.stats.add(op + ".bytes." + level, bytes, "B",
                      "bytes moved at this memory level, one instance");
      out.stats.add(op + ".engine.compute_busy", res.compute_busy_s, "s",
                    "compute unit busy, one instance");
      out.stats.add(op + ".engine.stall", res.stall_s, "s",
                    "compute unit waiting for operands after the fixed costs, one instance");
      out.stats.add(op + ".engine.overhead", res.overhead_s, "s",
                    "launch and fixed latency before the first tile, one instance");
      for (const auto& [level, busy] : res.busy_per_level)
        out.stats.add(op + ".engine.busy." + level, busy, "s",
                      "occupancy of this memory level or link, one instance");
      out.stats.add(op + ".engine.tiles", double(res.tiles), "1",
                    "tile chunks the DMA process issued, one instance");
      out.stats.add(op + ".engine.transactions", double(res.transactions), "1",
                    "TLM transactions on the memory targets, one instance");
      if (const auto& a = res.array) {
        out.stats.add(op + ".array.compute_cycles", a->compute_cycles, "cycle",
                      "busiest array's cycles without memory stalls, one instance");
        out.stats.add(op + ".array.stall_cycles", a->stall_cycles, "cycle",
                      "cycles waiting for operands, one instance");
        out.stats.add(op + ".array.util", a->util * 100, "%",
                      "multiply-adds over cycles x PEs of every array");
        out.stats.add(op + ".array.mapping_eff", a->mapping_eff * 100, "%",
                      "mean share of PEs the folds map");
        out.stats.add(op + ".array.dram_read", a->dram_read_bytes, "B",
                      "device-memory bytes read, one instance");
        out.stats.add(op + ".array.dram_write", a->dram_write_bytes, "B",
                      "device-memory bytes written, one instance");
      }
      const double n = double(r.count);
      compute_busy += res.compute_busy_s * n;
      stall += res.stall_s * n;
      transactions += double(res.transactions) * n;
      for (const auto& [level, busy] : res.busy_per_level) {
        // Captured by name: clang before 16 (the fuzz build) cannot capture a structured binding.
        auto it = std::find_if(level_busy.begin(), level_busy.end(),
                               [&level = level](const auto& e) { return e.first == level; });
        if (it == level_busy.end())
          level_busy.emplace_back(level, busy * n);
        else
          it->second += busy * n;
      }
    }
    out.stats.add(base_path + ".engine.compute_busy", compute_busy, "s",
                  "compute unit busy, all operators of the point on one device");
    out.stats.add(base_path + ".engine.stall", stall, "s",
                  "compute unit waiting for operands, all operators of the point");
    for (const auto& [level, busy] : level_busy)
      out.stats.add(base_path + ".engine.busy." + level, busy, "s",
                    "occupancy of this memory level or link, all operators of the point");
    out.stats.add(base_path + ".engine.transactions", transactions, "1",
                  "TLM transactions, all operators of the point");
  }
  out.stats.add("sim.op_cache.hits", double(out.cache_hits), "1",
                "operators answered from the op-result cache");
  out.stats.add("sim.op_cache.misses", double(out.cache_misses), "1", "operators simulated");
  return out;
}

}  // namespace xpusim
