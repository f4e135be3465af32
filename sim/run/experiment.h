// An experiment: hardware presets × one model × phases at a given batch and context. The runner
// resolves every file, builds the devices and times each (hardware, model, phase) point.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "arch/device.h"
#include "sim/config/config_store.h"
#include "sim/engine/stats.h"
#include "sim/engine/trace.h"
#include "sim/run/op_cache.h"
#include "workloads/compression.h"
#include "workloads/model.h"
#include "workloads/phase.h"
#include "workloads/stack.h"
#include "workloads/weights/llama_checkpoint.h"

namespace xpusim {

struct ExperimentConfig {
  std::string name, description;
  std::vector<std::string> hw;
  std::string model;
  std::vector<std::string> phase_names;  // as written
  std::vector<Phase> phases;             // parsed from phase_names by parse_experiment
  int64_t batch = 1, prompt = 0, ctx = 0, gen = 0;
  std::vector<std::string> quant;  // one point per scheme
  std::string kv_quant, prune, attention, stack;
  std::string kv_cache;  // dynamic | static
  int64_t beams = 1;     // generate: beam-search hypotheses per prompt (shared prompt cache)
  std::vector<std::string> decode_buckets;  // generate: sizes the generated cache grows in
  bool numerics = false;
  int64_t tp = 1, pp = 1, ep = 1, microbatches = 0;
  std::string limits;
};

// Everything that defines one point besides the device and the model.
struct PointSpec {
  Phase phase = Phase::kPrefill;
  int64_t batch = 1, prompt = 512, ctx = 512, gen = 0;
  QuantScheme quant;
  DType kv_dtype = DType::kBf16;
  PruneScheme prune;  // structured kinds are applied to the model before the point is built
  bool fused_attention = true;
  SoftwareStack stack;  // the kernels a software stack runs (workloads/stack.h)
  // Generate: every decode step attends over the whole cache allocated for prompt + gen
  // (fixed-shape caches, masked), not over the tokens so far.
  bool static_kv = false;
  // Generate: beam search with this many hypotheses per prompt; the prompt is prefilled once and
  // its keys and values are shared by the beams (workloads/graph.h, ForwardShape::beams).
  int64_t beams = 1;
  // Generate: the generated part of the cache is allocated in these sizes, ascending (praxis's
  // list of max_decode_steps: one decode loop per size, the cache padded to the next): a step
  // attends over the generated positions of its bucket. Empty: kv_cache decides.
  std::vector<int64_t> decode_buckets;
  int tp = 1;  // 0 = the smallest degree that fits in memory
  int pp = 1, ep = 1;
  int microbatches = 0;  // pipeline micro-batches; 0 = min(batch, pp)
  // false: a point that exceeds device memory or the model's positions is still timed, with a
  // warning (what-if studies such as LLMCompass's GPT-3 case, which does not fit in 4 x 80 GB).
  bool enforce_limits = true;
};

const SchemaBase& experiment_schema();
// Validates an experiment tree (not the files it names); problems go to `errors`.
ExperimentConfig parse_experiment(const CfgNode& tree, ErrorList& errors);

struct OpRecord {
  Op op;
  OpResult result;     // one instance
  double total_s = 0;  // all instances over the whole point (repeat × steps)
  int64_t count = 0;   // instances over the whole point
  // Board energy of all its instances over the whole point, on every device (arch/power.h);
  // empty without an energy model.
  std::optional<double> energy_j;
};

// The engine's own timeline of one point's pass (the first pass: the prefill, or the decode
// step), recorded when the runner traces: `engine` runs each operator of the pass once, in order,
// on one device; `devices` is the multi-device simulation of the whole pass (tensor-parallel ranks
// and pipeline stages; empty on one device).
struct PointTrace {
  std::string family;                // "gpu", "tpu", "cpu": names the compute track
  std::vector<std::string> op_names;  // engine span op indices index these
  std::vector<int64_t> op_repeat;     // how often each runs in the pass (layers)
  EngineTrace engine;
  EngineTrace devices;
  int device_count = 1;
};

struct PointResult {
  std::string hw, model;
  std::string family;  // the device's: cpu, gpu, tpu
  Phase phase = Phase::kPrefill;
  int64_t batch = 0, prompt = 0, ctx = 0, gen = 0;
  int64_t beams = 1;  // generate: beam-search hypotheses per prompt
  bool ok = true;
  std::string reason;                 // why the point could not run
  std::vector<std::string> warnings;  // limits exceeded in a what-if run (limits: warn)
  // The scheme's effect on accuracy, measured on the reference model (numerics: true).
  struct Numerics {
    std::string scheme, datapath;
    bool ok = false;
    std::string note;  // why it is missing
    double perplexity = 0, perplexity_delta_pct = 0, logit_rel_err = 0, top1_agreement = 0;
  };
  std::optional<Numerics> numerics;
  double latency_s = 0;
  double tokens_per_s = 0;
  std::optional<double> ttft_s, tpot_s;
  // Board energy of all `devices` over the point's latency, idle power while waiting included
  // (pipeline bubbles, collectives' waits); empty without an energy model. Power = energy / latency.
  std::optional<double> energy_j;
  std::string bound;  // the bound that accounts for most of the time
  // The die area of one device (arch/area.h); empty without an area model.
  std::optional<AreaBreakdown> area;
  std::string quant, kv_quant, prune;
  std::string stack;  // SoftwareStack::describe() of the stack assumed
  int tp = 1, pp = 1, ep = 1, microbatches = 1;
  int devices = 1;
  double bubble = 0;  // idle fraction of the pipeline
  double weight_bytes = 0, kv_bytes = 0, activation_bytes = 0, capacity_bytes = 0;  // per device
  std::vector<OpRecord> ops;
  Roofline roofline;  // the device's main memory (and its peak for the scheme's base format)
  std::map<std::string, double> peak_flops_per_s;  // per format its operators compute in
  std::shared_ptr<const PointTrace> trace;  // when the runner traces
};

// A point's identity as JSON (hw, model, phase, batch, prompt, ctx, gen for generate, the schemes,
// tp, pp, ep, devices, ok): the first keys of run's JSON lines and of a sweep's rows.
nlohmann::ordered_json point_identity_json(const PointResult& p);

struct ResolvedFile {
  std::string role;  // "experiment", "hw", "model"
  std::string name;
  CfgNode tree;
};

struct ExperimentResult {
  ExperimentConfig config;
  std::vector<PointResult> points;
  std::vector<ResolvedFile> resolved;
  StatsTree stats;
  uint64_t cache_hits = 0, cache_misses = 0;
};

// Overrides from the command line: `hw.` keys apply to every hardware file, `model.` keys to
// the model file, everything else to the experiment.
struct RunOverrides {
  std::vector<std::string> set;
};

class ExperimentRunner {
 public:
  // reference_model: a byte-level LLaMA checkpoint folder (workloads/models/tiny-llama) that
  // `numerics: true` runs through each point's scheme on the device's datapath; "" = none.
  explicit ExperimentRunner(const ConfigStore& store, std::string reference_model = "")
      : store_(store), reference_model_(std::move(reference_model)) {}
  using Progress = std::function<void(size_t done, size_t total, const PointResult&)>;
  // Called once every file is resolved (result.config and result.resolved filled), before
  // anything is simulated; returning false ends the run there (no points).
  using Resolved = std::function<bool(const ExperimentResult&)>;
  // Throws ConfigError (every problem in every file at once) before anything is simulated.
  ExperimentResult run(CfgNode experiment, const RunOverrides& overrides,
                       const Progress& progress = {}, const Resolved& resolved = {});
  OpCache& cache() { return cache_; }
  // Where the numerics column is cached on disk between processes (numerics_cache.h); unset, it
  // is computed in every process (each result is still reused within one run).
  void set_numerics_cache_dir(std::optional<std::filesystem::path> dir) {
    numerics_disk_dir_ = std::move(dir);
  }
  // Records each point's engine timeline (PointResult::trace): the first pass is simulated once
  // more, past the op cache, with the engine recording.
  void set_trace(bool on) { trace_ = on; }
  // Numerics results computed (not found in either cache) by this runner.
  size_t numerics_computed() const { return numerics_computed_; }

 private:
  PointResult::Numerics numerics_for(Device& device, const PointSpec& spec);

  const ConfigStore& store_;
  std::string reference_model_;
  std::optional<weights::LlamaWeights> reference_weights_;
  std::vector<uint8_t> reference_text_;
  std::map<std::string, PointResult::Numerics> numerics_cache_;
  std::optional<std::filesystem::path> numerics_disk_dir_;
  std::string reference_digest_;
  size_t numerics_computed_ = 0;
  bool trace_ = false;
  OpCache cache_;
};

// Times one point; never throws for a point that cannot run (ok = false with the reason).
// trace: also record the engine's timeline of the first pass (PointResult::trace).
PointResult evaluate_point(Device& device, OpCache& cache, const ModelConfig& model,
                           const PointSpec& spec, bool trace = false);
// Turns the experiment's option names into a PointSpec (phase, shapes and schemes; the first
// quantisation scheme); problems go to `errors` with the location of the experiment's key.
PointSpec point_spec(const ExperimentConfig& cfg, const CfgNode& tree, ErrorList& errors);

// The 16-bit format the non-GEMM work runs in under a scheme (fp16 if the activations are fp16,
// else bf16).
DType base_format(const QuantScheme& q);

}  // namespace xpusim
