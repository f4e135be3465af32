// Experiment files: the schema of `type: experiment`, its parsing and checks, and the point a
// parsed experiment (with its overrides) describes.
#include <fmt/format.h>

#include <charconv>

#include "sim/base/suggest.h"
#include "sim/run/experiment.h"

namespace xpusim {
namespace {

const Schema<ExperimentConfig>& schema() {
  static const Schema<ExperimentConfig> s = [] {
    Schema<ExperimentConfig> s("experiment", "hardware presets × a model × inference phases");
    s.file_name("name", "experiment", "name of the experiment (names the output folder)",
                &ExperimentConfig::name);
    s.text("description", "", "what the experiment shows", &ExperimentConfig::description);
    s.list("hw", kRequired, "hardware presets or files to compare", &ExperimentConfig::hw);
    s.text("model", kRequired, "model preset or file", &ExperimentConfig::model);
    s.list("phases", "prefill,decode", "phases to time: prefill, decode, generate",
           &ExperimentConfig::phase_names);
    s.integer("batch", "1", Range{1, 1 << 20}, "sequences per batch", &ExperimentConfig::batch);
    s.integer("prompt", "512", Range{1, 1 << 24}, "prompt tokens per sequence (prefill, generate)",
              &ExperimentConfig::prompt);
    s.integer("ctx", "512", Range{1, 1 << 24},
              "context length of a decode step (keys attended over)", &ExperimentConfig::ctx);
    s.integer("gen", "128", Range{1, 1 << 20}, "new tokens per sequence (generate)",
              &ExperimentConfig::gen);
    s.list("quant", "bf16",
           "quantisation schemes, one point each: bf16, fp16, fp8 (e4m3 W8A8), int8 (W8A8), w8a16, "
           "w4a16 (group 128)",
           &ExperimentConfig::quant);
    s.choice("kv_quant", "auto", {"auto", "bf16", "fp16", "int8", "fp8"},
             "KV-cache format; auto = the activations' 16-bit format", &ExperimentConfig::kv_quant);
    s.text("prune", "none",
           "pruning: none, 2:4, unstructured:D[:csr|bitmap], heads:F, ffn:F, layers:F",
           &ExperimentConfig::prune);
    s.choice("kv_cache", "dynamic", {"dynamic", "static"},
             "generate: dynamic = a decode step attends over the tokens so far; static = over "
             "the whole cache allocated for prompt + gen, masked (fixed-shape caches under XLA, "
             "as MaxText's JetStream engine keeps them)",
             &ExperimentConfig::kv_cache);
    s.integer("beams", "1", Range{1, 256},
              "generate: beam-search hypotheses per prompt; the prompt is prefilled once, its keys "
              "and values are held once and shared by the beams (Saxml's lazy prefix broadcast), "
              "each beam keeps its own generated ones, and tokens/s counts one output per prompt",
              &ExperimentConfig::beams);
    s.list("decode_buckets", "",
           "generate: sizes, ascending, in which the generated part of a fixed-shape cache is "
           "allocated (Saxml's GPT-J: 32,64,128, praxis's list of max_decode_steps); a step "
           "attends over its bucket's generated positions; empty: kv_cache decides",
           &ExperimentConfig::decode_buckets);
    s.choice("attention", "fused", {"fused", "unfused"},
             "fused (flash-style) attention, or Q·Kᵀ, softmax and P·V as separate kernels",
             &ExperimentConfig::attention);
    s.text("stack", "reference",
           "software stack: a preset (reference, torch-eager, torch-compiled, serving) with "
           "optional overrides, e.g. torch-eager,attention=flash2 (keys: attention = flash2, "
           "cudnn, flash3, math; elementwise = fused, compiled, eager; residual = fused, "
           "separate; rope = fused, torch; kv_write = fused, copies; gemm = cublas)",
           &ExperimentConfig::stack);
    s.integer("tp", "1", Range{0, 4096},
              "tensor-parallel degree; auto (or 0) = the smallest that fits in memory",
              &ExperimentConfig::tp)
        .word("auto", 0);
    s.integer("pp", "1", Range{1, 4096}, "pipeline-parallel stages", &ExperimentConfig::pp);
    s.integer("ep", "1", Range{1, 4096}, "expert-parallel degree (MoE): 1, or equal to tp",
              &ExperimentConfig::ep);
    s.integer("microbatches", "0", Range{0, 1 << 20}, "pipeline micro-batches; 0 = min(batch, pp)",
              &ExperimentConfig::microbatches);
    s.boolean("numerics", "false",
              "also run the reference model through each point's scheme on the device's datapath "
              "(perplexity)",
              &ExperimentConfig::numerics);
    s.choice("limits", "enforce", {"enforce", "warn"},
             "a point beyond device memory or the model's positions: enforce (not run) or warn "
             "(timed anyway)",
             &ExperimentConfig::limits);
    return s;
  }();
  return s;
}

}  // namespace

// The 16-bit format the non-GEMM work runs in under a scheme.
DType base_format(const QuantScheme& q) {
  return q.activations == DType::kFp16 ? DType::kFp16 : DType::kBf16;
}

const SchemaBase& experiment_schema() { return schema(); }

ExperimentConfig parse_experiment(const CfgNode& tree, ErrorList& errors) {
  if (const CfgNode* t = tree.find("type"); !t || !t->is_scalar() || t->scalar != "experiment")
    errors.add(t ? t->loc : tree.loc, "type", "an experiment file needs `type: experiment`");
  ExperimentConfig cfg = schema().parse(tree, errors);
  for (const auto& ph : cfg.phase_names) {
    if (const std::optional<Phase> p = phase_from_name(ph))
      cfg.phases.push_back(*p);
    else
      errors.add(tree.find("phases") ? tree.find("phases")->loc : tree.loc, "phases",
                 fmt::format("'{}' is not a phase; expected prefill, decode or generate", ph));
  }
  for (const auto& q : cfg.quant)
    if (!parse_quant(q))
      errors.add(tree.find("quant") ? tree.find("quant")->loc : tree.loc, "quant",
                 fmt::format("'{}' is not a quantisation scheme; expected one of: {}{}", q,
                             fmt::join(quant_scheme_names(), ", "),
                             did_you_mean(q, quant_scheme_names())));
  if (cfg.quant.empty()) errors.add(tree.loc, "quant", "give at least one quantisation scheme");
  if (std::string why; !parse_stack(cfg.stack, &why))
    errors.add(tree.find("stack") ? tree.find("stack")->loc : tree.loc, "stack", why);
  if (cfg.beams > 1 && cfg.attention == "unfused")
    errors.add(tree.find("beams") ? tree.find("beams")->loc : tree.loc, "beams",
               fmt::format("beams {} needs attention: fused (the shared prompt cache is read by a "
                           "fused attention kernel)",
                           cfg.beams));
  return cfg;
}

PointSpec point_spec(const ExperimentConfig& cfg, const CfgNode& tree, ErrorList& errors) {
  auto loc = [&](const char* key) {
    const CfgNode* n = tree.find(key);
    return n ? n->loc : SourceLoc{tree.loc.file, 0, 0};
  };
  PointSpec p;
  p.batch = cfg.batch;
  p.prompt = cfg.prompt;
  p.ctx = cfg.ctx;
  p.gen = cfg.gen;
  if (auto q = parse_quant(cfg.quant.empty() ? "bf16" : cfg.quant.front())) p.quant = *q;
  p.kv_dtype = cfg.kv_quant == "auto" || cfg.kv_quant.empty()
                   ? base_format(p.quant)
                   : parse_kv_quant(cfg.kv_quant).value_or(DType::kBf16);
  std::string why;
  if (auto pr = parse_prune(cfg.prune, &why))
    p.prune = *pr;
  else
    errors.add(loc("prune"), "prune", why);
  if (auto st = parse_stack(cfg.stack, nullptr)) p.stack = *st;
  p.fused_attention = cfg.attention != "unfused";
  p.static_kv = cfg.kv_cache == "static";
  p.beams = cfg.beams;
  for (const std::string& b : cfg.decode_buckets) {
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), v);
    if (ec != std::errc() || end != b.data() + b.size() || v < 1 ||
        (!p.decode_buckets.empty() && v <= p.decode_buckets.back())) {
      errors.add(loc("decode_buckets"), "decode_buckets",
                 fmt::format("'{}' is not a size; give positive integers in ascending order", b));
      break;
    }
    p.decode_buckets.push_back(v);
  }
  if (!p.decode_buckets.empty() && p.decode_buckets.back() < p.gen)
    errors.add(
        loc("decode_buckets"), "decode_buckets",
        fmt::format("the largest bucket {} is below gen {}", p.decode_buckets.back(), p.gen));
  p.tp = static_cast<int>(cfg.tp);
  p.pp = static_cast<int>(cfg.pp);
  p.ep = static_cast<int>(cfg.ep);
  p.microbatches = static_cast<int>(cfg.microbatches);
  p.enforce_limits = cfg.limits != "warn";
  return p;
}

}  // namespace xpusim
