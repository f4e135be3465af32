// Dataset loading, prediction, error statistics and the calibration search behind
// `xpusim validate`.
#include "validation/validate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "arch/gpu/gpu_device.h"
#include "sim/base/csv.h"
#include "sim/base/errors.h"
#include "sim/base/units.h"
#include "sim/config/config_store.h"
#include "sim/run/op_cache.h"
#include "workloads/graph.h"
#include "workloads/model.h"
#include "workloads/phase.h"
#include "workloads/stack.h"

namespace xpusim {
namespace {

// "holdout" (the split fixed before any fitting) or a later hold-out set, "holdout<N>".
bool is_holdout_set(const std::string& s) {
  return s.rfind("holdout", 0) == 0 &&
         std::all_of(s.begin() + 7, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

namespace fs = std::filesystem;

// Reads named columns of one row, collecting errors with file:line:col.
class Fields {
 public:
  Fields(const CsvTable& t, const CsvRow& r, ErrorList& e) : t_(t), r_(r), e_(e) {}
  std::string text(const std::string& name) {
    int c = t_.column(name);
    if (c < 0) {
      e_.add({t_.file, r_.line, 1}, name,
             fmt::format("column '{}' is missing from the header", name));
      return "";
    }
    if (c >= static_cast<int>(r_.fields.size())) {
      e_.add(t_.loc(r_, 0), name, "row is shorter than the header");
      return "";
    }
    return r_.fields[c].text;
  }
  double number(const std::string& name, double min = 0) {
    std::string v = text(name);
    auto n = parse_number(v);
    if (!n || !std::isfinite(*n) || *n < min) {
      if (t_.column(name) >= 0 && t_.column(name) < static_cast<int>(r_.fields.size()))
        e_.add(t_.loc(r_, t_.column(name)), name,
               fmt::format("'{}' is not a number >= {}", v, min));
      return min;
    }
    return *n;
  }
  int64_t whole(const std::string& name) {
    return static_cast<int64_t>(std::llround(number(name, 1)));
  }
  std::string set() {
    std::string s = text("set");
    if (s != "calibration" && !is_holdout_set(s) && t_.column("set") >= 0 &&
        t_.column("set") < static_cast<int>(r_.fields.size()))
      e_.add(t_.loc(r_, t_.column("set")), "set",
             fmt::format("'{}' is neither calibration nor holdout (nor holdoutN)", s));
    return s;
  }
  DType dtype() {
    std::string v = text("dtype");
    auto d = parse_dtype(v);
    if (!d && t_.column("dtype") >= 0 && t_.column("dtype") < static_cast<int>(r_.fields.size()))
      e_.add(t_.loc(r_, t_.column("dtype")), "dtype", fmt::format("'{}' is not a dtype", v));
    return d.value_or(DType::kBf16);
  }

 private:
  const CsvTable& t_;
  const CsvRow& r_;
  ErrorList& e_;
};

std::optional<CsvTable> open_table(const fs::path& p, bool required) {
  std::error_code ec;
  if (!required && !fs::exists(fs::symlink_status(p, ec))) return std::nullopt;
  return read_csv_file(p.string(), "--data");
}

ValidationRow row_of(const CsvTable& t, const CsvRow& r, std::string category, std::string set,
                     std::string label, std::vector<Op> ops, double measured_ms) {
  ValidationRow v;
  v.file = fs::path(t.file).filename().string();
  v.line = r.line;
  v.category = std::move(category);
  v.set = std::move(set);
  v.label = std::move(label);
  v.ops = std::move(ops);
  v.measured_s = measured_ms * 1e-3;
  return v;
}

// A forward pass's ops in the order one GPU runs them, each layer written out (consecutive ops
// of equal `repeat` form a block replayed that many times, as experiment.cpp's stream does).
std::vector<Op> written_out(const std::vector<Op>& ops) {
  std::vector<Op> out;
  for (size_t b = 0; b < ops.size();) {
    size_t e = b;
    while (e < ops.size() && ops[e].repeat == ops[b].repeat) ++e;
    for (int64_t k = 0; k < std::max<int64_t>(1, ops[b].repeat); ++k)
      for (size_t j = b; j < e; ++j) {
        out.push_back(ops[j]);
        out.back().repeat = 1;
      }
    b = e;
  }
  return out;
}

// The stack text each measured stack of validation/gpu/stacks stands for. The measured `serving`
// ran FlashAttention-2 (no FA3 build on the device machine) and torch.compile's kernels in place
// of a serving engine's custom ones.
std::optional<std::string> measured_stack(const std::string& name) {
  if (name == "torch-eager" || name == "torch-compiled") return name;
  if (name == "serving") return std::string("serving,attention=flash2,elementwise=compiled");
  return std::nullopt;
}

// validation/gpu/stacks/<card>: the kernels that PyTorch stacks run (issue 15), split into
// <kind>_calibration.csv and <kind>_holdout.csv (the later hold-outs: <kind>_holdout2.csv,
// <kind>_holdout3.csv) by split_stacks.py; a hold-out that has been read is calibration,
// <kind>_calibration_was_holdout{,2,3}.csv; kernel rows derived from whole steps (calibration
// diagnostics) are <kind>_calibration_diag3.csv. Returns false when `root` holds none of them.
bool load_stacks(const fs::path& root, std::vector<ValidationRow>& rows, ErrorList& errors) {
  bool any = false;
  auto each = [&](const std::string& kind, const auto& fn) {
    for (const char* set : {"calibration", "calibration_diag3", "calibration_was_holdout",
                            "calibration_was_holdout2", "calibration_was_holdout3", "holdout",
                            "holdout2", "holdout3"}) {
      auto t = open_table(root / (kind + "_" + set + ".csv"), false);
      if (!t) continue;
      any = true;
      for (const auto& r : t->rows) {
        Fields f(*t, r, errors);
        if (f.text("status") != "ok") continue;  // a backend that refused the shape
        fn(*t, r, f);
      }
    }
  };
  // SDPA per backend: PyTorch's default ran cuDNN's kernels on every row (kernel names), so
  // `default` rows are cuDNN rows of their own category. EFFICIENT_ATTENTION (CUTLASS's
  // memory-efficient kernel) is no stack's choice and is not modelled.
  each("attention", [&](const CsvTable& t, const CsvRow& r, Fields& f) {
    const std::string be = f.text("backend");
    int64_t B = f.whole("B"), h = f.whole("heads"), kv = f.whole("kv_heads"),
            d = f.whole("head_dim"), q = f.whole("q_len"), k = f.whole("kv_len");
    const bool causal = f.text("causal") == "1";
    const std::string_view phase = phase_name(q == 1 ? Phase::kDecode : Phase::kPrefill);
    std::string impl;
    std::vector<Op> ops;
    Op a = make_attention("attention", B, h, kv, d, q, k, causal, f.dtype());
    if (be == "FLASH_ATTENTION") {
      impl = "flash2";
    } else if (be == "CUDNN_ATTENTION" || be == "default") {
      impl = be == "default" ? "default(cudnn)" : "cudnn";
      a.attn_impl = AttnImpl::kCudnn;
    } else if (be == "MATH") {
      impl = "math";
      a.attn_impl = AttnImpl::kMath;
    } else if (be == "EFFICIENT_ATTENTION") {
      return;
    } else {
      errors.add(t.loc(r, t.column("backend")), "backend",
                 fmt::format("'{}' is not an SDPA backend", be));
      return;
    }
    if (ops.empty()) ops.push_back(a);
    rows.push_back(
        row_of(t, r, fmt::format("attention {} {}", impl, phase), f.set(),
               fmt::format("{} {} B={} heads={}/{} q={} kv={}", impl, phase, B, h, kv, q, k),
               std::move(ops), f.number("median_ms", 1e-9)));
  });
  // Norms and SiLU·mul, eager (as HF writes them) and compiled. F.rms_norm and SiLU·mul on
  // separate contiguous tensors are no preset's kernels and are not modelled.
  each("elementwise", [&](const CsvTable& t, const CsvRow& r, Fields& f) {
    const std::string fam = f.text("family"), impl = f.text("impl");
    const int64_t T = f.whole("T"), H = f.whole("H");
    EwImpl ei;
    if (impl == "hf_eager" || impl == "chunk_eager")
      ei = EwImpl::kEager;
    else if (impl == "compiled")
      ei = EwImpl::kCompiled;
    else
      return;
    // add_<norm>: the residual add fused into the norm (returns both).
    const bool add = fam.rfind("add_", 0) == 0;
    const std::optional<EwKind> kind = ew_kind_from_name(add ? fam.substr(4) : fam);
    if (!kind || (*kind != EwKind::kRmsnorm && *kind != EwKind::kLayernorm &&
                  *kind != EwKind::kSiluMul && *kind != EwKind::kGelu) ||
        (add && *kind != EwKind::kRmsnorm && *kind != EwKind::kLayernorm)) {
      errors.add(t.loc(r, t.column("family")), "family",
                 fmt::format("'{}' is not rmsnorm, add_rmsnorm, layernorm, add_layernorm, "
                             "silu_mul or gelu",
                             fam));
      return;
    }
    Op op = make_elementwise(fam, *kind, T, H, f.dtype());
    op.ew_impl = ei;
    op.ew_residual = add;
    finalize(op);
    const std::string im = ei == EwImpl::kEager ? "eager" : "compiled";
    rows.push_back(row_of(t, r, fmt::format("elementwise {} {}", fam, im), f.set(),
                          fmt::format("{} {} T={} H={}", fam, im, T, H), {op},
                          f.number("median_ms", 1e-9)));
  });
  // Whole decoders per stack (measure_e2e_stacks.py): embedding, every layer, final norm and the
  // LM head of the last token of each sequence, with the cache written in prefill too.
  ConfigStore store;
  each("e2e_stacks", [&](const CsvTable& t, const CsvRow& r, Fields& f) {
    const std::string model = f.text("model"), stack = f.text("stack"), phase = f.text("phase");
    const std::optional<std::string> text = measured_stack(stack);
    std::string why;
    const std::optional<SoftwareStack> st = text ? parse_stack(*text, &why) : std::nullopt;
    if (!st) {
      errors.add(t.loc(r, t.column("stack")), "stack",
                 fmt::format("'{}' is not a measured stack (torch-eager, torch-compiled, serving)",
                             stack));
      return;
    }
    std::optional<ModelConfig> cfg;
    try {
      cfg = parse_model(store.load(model, "models"));
    } catch (const ConfigError&) {
      errors.add(t.loc(r, t.column("model")), "model",
                 fmt::format("'{}' is not a model in configs/models", model));
      return;
    }
    const int64_t B = f.whole("B"), q = f.whole("q_len"), kv = f.whole("kv_len");
    ForwardShape shape;
    shape.batch = B;
    shape.q_len = q;
    shape.kv_len = kv;
    shape.prefill = phase == "prefill";
    st->apply(shape);
    std::vector<Op> ops = written_out(build_forward(*cfg, shape));
    rows.push_back(row_of(t, r, fmt::format("e2e {} {}", stack, phase), f.set(),
                          fmt::format("{} {} {} B={} q={} kv={}", stack, model, phase, B, q, kv),
                          std::move(ops), f.number("median_ms", 1e-9)));
  });
  return any;
}

}  // namespace

std::vector<ValidationRow> load_gpu_dataset(const std::string& dir) {
  const fs::path root(dir);
  if (!fs::is_directory(root))
    throw ConfigError(SourceLoc{dir, 0, 0}, "--data", "is not a directory");
  std::vector<ValidationRow> rows;
  ErrorList errors;
  bool any = load_stacks(root, rows, errors);
  // gemm.csv, then gemm_calib<N>.csv (GEMM sets read as hold-outs once and fitted on since) and
  // gemm_holdout<N>.csv (the later GEMM hold-outs), each in order of N; each row's set column says
  // which set it belongs to (validation/gpu/README.md).
  auto numbered = [&](const std::string& prefix) {
    std::vector<std::pair<int, std::string>> found;
    for (const auto& e : fs::directory_iterator(root)) {
      const std::string stem = e.path().stem().string();
      if (e.path().extension() != ".csv" || stem.size() <= prefix.size() ||
          stem.rfind(prefix, 0) != 0 || stem.size() - prefix.size() > 6)
        continue;
      const std::string n = stem.substr(prefix.size());
      if (std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }))
        found.emplace_back(std::stoi(n), e.path().filename().string());
    }
    std::sort(found.begin(), found.end());
    return found;
  };
  std::vector<std::string> gemm_files = {"gemm.csv"};
  for (const char* prefix : {"gemm_calib", "gemm_holdout"})
    for (const auto& l : numbered(prefix)) gemm_files.push_back(l.second);
  for (const std::string& name : gemm_files) {
    auto t = open_table(root / name, false);
    if (!t) continue;
    any = true;
    for (const auto& r : t->rows) {
      Fields f(*t, r, errors);
      int64_t M = f.whole("M"), K = f.whole("K"), N = f.whole("N");
      DType dt = f.dtype();
      std::string sp = f.text("sparsity");
      const bool sparse = sp == "2:4";
      if (!sparse && sp != "dense")
        errors.add(t->loc(r, t->column("sparsity")), "sparsity",
                   fmt::format("'{}' is not dense or 2:4", sp));
      std::string cat = fmt::format("gemm {}{}", dtype_name(dt), sparse ? " 2:4" : "");
      std::string label =
          fmt::format("M={} K={} N={} {}{}", M, K, N, dtype_name(dt), sparse ? " 2:4" : "");
      rows.push_back(row_of(*t, r, cat, f.set(), label, {make_gemm("gemm", M, K, N, dt, sparse)},
                            f.number("median_ms", 1e-9)));
    }
  }
  if (auto t = open_table(root / "attention.csv", false)) {
    any = true;
    for (const auto& r : t->rows) {
      Fields f(*t, r, errors);
      int64_t B = f.whole("B"), h = f.whole("heads"), kv = f.whole("kv_heads"),
              d = f.whole("head_dim");
      int64_t q = f.whole("q_len"), k = f.whole("kv_len");
      bool causal = f.text("causal") == "1" || f.text("causal") == "true";
      DType dt = f.dtype();
      const std::string_view phase = phase_name(q == 1 ? Phase::kDecode : Phase::kPrefill);
      std::string label = fmt::format("{} B={} heads={}/{} q={} kv={}", phase, B, h, kv, q, k);
      rows.push_back(row_of(*t, r, fmt::format("attention {}", phase), f.set(), label,
                            {make_attention("attention", B, h, kv, d, q, k, causal, dt)},
                            f.number("median_ms", 1e-9)));
    }
  }
  if (auto t = open_table(root / "elementwise.csv", false)) {
    any = true;
    for (const auto& r : t->rows) {
      Fields f(*t, r, errors);
      std::string op = f.text("op");
      int64_t T = f.whole("T"), H = f.whole("H");
      DType dt = f.dtype();
      // rope and kv_append rows time the e2e stack's torch RoPE (5 kernels) and K/V cache copies
      // (2 kernels) on one tensor of width H (README.md beside the data).
      std::vector<Op> ops;
      const std::optional<EwKind> kind = ew_kind_from_name(op);
      if (kind == EwKind::kRope || kind == EwKind::kKvAppend) {
        if (H % 256 != 0 || dt != DType::kBf16) {
          errors.add(t->loc(r, t->column("H")), "H",
                     fmt::format("{} rows need bf16 and H a multiple of 256 (heads of 128)", op));
          continue;
        }
        if (kind == EwKind::kRope)
          ops = torch_rope_kernels("rope", T, H, DType::kBf16);
        else
          ops = kv_copy_kernels("kv_append", T, H, DType::kBf16);
      } else {
        if (!kind) {
          errors.add(t->loc(r, t->column("op")), "op",
                     fmt::format("'{}' is not an elementwise op", op));
          continue;
        }
        ops.push_back(make_elementwise(op, *kind, T, H, dt));
      }
      rows.push_back(row_of(*t, r, "elementwise " + op, f.set(),
                            fmt::format("{} T={} H={}", op, T, H), std::move(ops),
                            f.number("median_ms", 1e-9)));
    }
  }
  // e2e.csv: the hold-out stacks; e2e_calibration.csv: later stacks at other shapes, all
  // calibration (split.py's kind e2e_cal).
  ConfigStore store;
  for (const char* name : {"e2e.csv", "e2e_calibration.csv"}) {
    auto t = open_table(root / name, false);
    if (!t) continue;
    any = true;
    for (const auto& r : t->rows) {
      Fields f(*t, r, errors);
      const std::string model = f.text("model"), phase = f.text("phase");
      const std::optional<Phase> ph = phase_from_name(phase);
      if (ph == Phase::kGenerate || (!ph && !phase.empty())) {  // empty: already reported
        errors.add(t->loc(r, t->column("phase")), "phase",
                   fmt::format("'{}' is not a phase of an e2e row (prefill or decode)", phase));
        continue;
      }
      int64_t B = f.whole("B"), q = f.whole("q_len"), kv = f.whole("kv_len"),
              layers = f.whole("layers");
      // The layer comes from the graph that `run` uses, with the model's configs/models file and
      // the kernels of the stack that measured it (measure_kernels.py: torch rotate-half RoPE, K
      // and V copied into static caches in decode only).
      std::optional<ModelConfig> cfg;
      try {
        cfg = parse_model(store.load(model, "models"));
      } catch (const ConfigError&) {
        errors.add(t->loc(r, t->column("model")), "model",
                   fmt::format("'{}' is not a model in configs/models", model));
        continue;
      }
      ForwardShape shape;
      shape.batch = B;
      shape.q_len = q;
      shape.kv_len = kv;
      shape.prefill = ph != Phase::kDecode;
      shape.kernels = {StackKernels::Rope::kTorchRotateHalf, StackKernels::KvWrite::kCopies, false};
      const std::vector<Op> layer = build_layer(*cfg, shape);
      std::vector<Op> ops;
      for (int64_t l = 0; l < layers; ++l) ops.insert(ops.end(), layer.begin(), layer.end());
      rows.push_back(
          row_of(*t, r, "e2e " + phase, f.set(),
                 fmt::format("{} {} B={} q={} kv={} x{} layers", model, phase, B, q, kv, layers),
                 std::move(ops), f.number("total_ms", 1e-9)));
    }
  }
  // allreduce.csv: NCCL all-reduce (measure_nccl.py), captured in CUDA graphs or eager. The
  // collective model's values were fitted on the 4-GPU rows (calibration); rows of any other GPU
  // count are hold-out (validation/gpu/README.md, "NCCL").
  if (auto t = open_table(root / "allreduce.csv", false)) {
    any = true;
    for (const auto& r : t->rows) {
      Fields f(*t, r, errors);
      const std::string mode = f.text("mode");
      if (mode != "graph" && mode != "eager") {
        errors.add(t->loc(r, t->column("mode")), "mode",
                   fmt::format("'{}' is not graph or eager", mode));
        continue;
      }
      const double bytes = f.number("bytes", 1);
      const int64_t ranks = f.whole("ranks");
      if (ranks < 2) {
        errors.add(t->loc(r, t->column("ranks")), "ranks", "an all-reduce needs 2 or more GPUs");
        continue;
      }
      Op op = make_collective("all_reduce", "all_reduce", bytes, int(ranks));
      op.eager = mode == "eager";
      const std::string eager = op.eager ? " eager" : "";
      rows.push_back(row_of(*t, r, fmt::format("all-reduce{} x{}", eager, ranks),
                            ranks == 4 ? "calibration" : "holdout",
                            fmt::format("all-reduce{} {:.0f} B x{}", eager, bytes, ranks), {op},
                            f.number("median_us", 1e-6) * 1e-3));
    }
  }
  errors.throw_if_any();
  if (!any)
    throw ConfigError(SourceLoc{dir, 0, 0}, "--data",
                      "holds none of gemm.csv, attention.csv, elementwise.csv, e2e.csv (nor the "
                      "stacks files attention_calibration.csv, ...)");
  return rows;
}

std::vector<ValidationRow> load_cpu_dataset(const std::string& dir) {
  const fs::path root(dir);
  if (!fs::is_directory(root))
    throw ConfigError(SourceLoc{dir, 0, 0}, "--data", "is not a directory");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string n = e.path().filename().string();
    if (e.path().extension() == ".csv" &&
        (n.rfind("gemm_", 0) == 0 || n.rfind("stream_", 0) == 0 || n.rfind("decoder_", 0) == 0) &&
        n.rfind("decoder_ops", 0) != 0)
      files.push_back(n);
  }
  std::sort(files.begin(), files.end());
  if (files.empty())
    throw ConfigError(SourceLoc{dir, 0, 0}, "--data",
                      "holds no gemm_*.csv, stream_*.csv or decoder_*.csv");
  std::vector<ValidationRow> rows;
  ErrorList errors;
  ConfigStore store;
  for (const std::string& name : files) {
    auto t = open_table(root / name, true);
    // measure_host4.py's rows carry `best_ms`, the best of 3 randomised visits (its README: the
    // number compared was chosen before measuring, because the shared host drifts); earlier
    // datasets `median_ms`.
    const char* time_col = t->column("best_ms") >= 0 ? "best_ms" : "median_ms";
    for (const auto& r : t->rows) {
      Fields f(*t, r, errors);
      if (t->column("status") >= 0 && f.text("status") != "ok") continue;
      const int threads = static_cast<int>(f.whole("threads"));
      if (name.rfind("decoder_", 0) == 0) {
        // A whole eager forward pass (measure_host2.py): the graph `run` builds for the model
        // (configs/models), with PyTorch's rotate-half RoPE and K and V copied into the cache,
        // every op on the row's threads, each layer's ops once per layer.
        const std::string model = f.text("model"), phase = f.text("phase");
        if (phase != "prefill" && phase != "decode") {
          errors.add(t->loc(r, t->column("phase")), "phase",
                     fmt::format("'{}' is not prefill or decode", phase));
          continue;
        }
        std::optional<ModelConfig> cfg;
        try {
          cfg = parse_model(store.load(model, "models"));
        } catch (const ConfigError&) {
          errors.add(t->loc(r, t->column("model")), "model",
                     fmt::format("'{}' is not a model in configs/models", model));
          continue;
        }
        const int64_t tokens = f.whole("tokens"), B = f.whole("batch");
        ForwardShape shape;
        shape.batch = B;
        shape.prefill = phase == "prefill";
        shape.q_len = shape.prefill ? tokens : 1;
        shape.kv_len = shape.prefill ? tokens : tokens + 1;
        shape.dtype = shape.kv_dtype = f.dtype();
        shape.kernels = {StackKernels::Rope::kTorchRotateHalf, StackKernels::KvWrite::kCopies,
                         true};
        // Called again and again, the pass touches all its weights and its KV cache between two
        // calls of any one op: what stays in the LLC is decided by that (op.reuse_bytes).
        const std::vector<Op> graph = build_forward(*cfg, shape);
        double reuse = kv_cache_bytes(*cfg, B, shape.kv_len, shape.kv_dtype);
        for (const Op& op : graph)
          if (op.kind == OpKind::kGemm) reuse += op.weight_bytes * double(std::max<int64_t>(1, op.repeat));
        std::vector<Op> ops;
        for (Op op : graph) {
          const int64_t n = std::max<int64_t>(1, op.repeat);
          op.repeat = 1;
          op.threads = threads;
          op.reuse_bytes = reuse;
          for (int64_t i = 0; i < n; ++i) ops.push_back(op);
        }
        ValidationRow v = row_of(
            *t, r, "decoder " + phase, f.set(),
            fmt::format("{} {} {} B={} tokens={} T={}", model, f.text("dtype"), phase, B, tokens,
                        threads),
            std::move(ops), f.number(time_col, 1e-9));
        v.library = "torch";
        rows.push_back(std::move(v));
        continue;
      }
      // The library: measure_cpu.py writes "torch 2.11.0+cu130" or "numpy 1.24.2 (openblas...)",
      // measure_local.py the library's name.
      const std::string lib_text = f.text("lib");
      std::string lib;
      for (const char* l : {"torch", "openblas", "onednn", "xpusim"})
        if (lib_text.rfind(l, 0) == 0) lib = l;
      if (lib_text.rfind("numpy", 0) == 0) lib = "openblas";
      if (name.rfind("gemm_", 0) == 0) {
        if (lib.empty()) {
          errors.add(t->loc(r, t->column("lib")), "lib",
                     fmt::format("'{}' is not a library the CPU model follows (torch, numpy, "
                                 "openblas, onednn, xpusim)",
                                 lib_text));
          continue;
        }
        const int64_t M = f.whole("M"), K = f.whole("K"), N = f.whole("N");
        const std::string dt_text = f.text("dtype");
        // w8a16 rows time ATen's own _weight_int8pack_mm, a kernel the CPU model does not follow
        // (it has no library path for it): left out, as the README says.
        if (dt_text == "w8a16") continue;
        Op op = make_gemm("gemm", M, K, N, f.dtype());
        op.threads = threads;
        // The weights rotate over `rot_copies` copies (measure_cpu.py): what one call's weights
        // must survive in the LLC until they are used again.
        if (t->column("rot_copies") >= 0 && !f.text("rot_copies").empty())
          op.reuse_bytes = f.number("rot_copies", 1) * op.weight_bytes;
        ValidationRow v =
            row_of(*t, r, fmt::format("gemm {} {}", dt_text, lib), f.set(),
                   fmt::format("M={} K={} N={} {} T={} {}", M, K, N, dt_text, threads, lib), {op},
                   f.number(time_col, 1e-9));
        v.library = lib;
        rows.push_back(std::move(v));
      } else {
        const std::string op_name = f.text("op");
        const double bytes = f.number("bytes_per_array", 64);
        const int64_t elems = static_cast<int64_t>(bytes / 4);
        Op op;
        if (op_name == "copy" || op_name == "scale") {
          op = make_elementwise("stream_" + op_name, EwKind::kRelu, elems / 1024, 1024,
                                DType::kFp32);
        } else if (op_name == "add" || op_name == "triad") {
          op = make_elementwise("stream_" + op_name, EwKind::kResidualAdd, elems / 1024, 1024,
                                DType::kFp32);
        } else if (op_name == "read") {
          // A sum: one row of all elements, read once, nothing written.
          op = make_elementwise("stream_read", EwKind::kRelu, 1, elems, DType::kFp32);
          op.out_bytes = 0;
        } else {
          errors.add(t->loc(r, t->column("op")), "op",
                     fmt::format("'{}' is not copy, scale, add, triad or read", op_name));
          continue;
        }
        op.threads = threads;
        const double mib = bytes / (1024.0 * 1024.0);
        ValidationRow v = row_of(*t, r, "stream " + op_name, f.set(),
                                 fmt::format("{} {:g} MiB T={}", op_name, mib, threads), {op},
                                 f.number(time_col, 1e-9));
        // STREAM does not depend on the GEMM library: v.library stays "".
        rows.push_back(std::move(v));
      }
    }
  }
  errors.throw_if_any();
  return rows;
}

std::vector<std::string> cpu_instance_overrides(const std::string& dir, double dram_latency_s) {
  auto t = open_table(fs::path(dir) / "instance_calibration.csv", false);
  if (!t) return {};
  // (test, threads) -> readings
  std::map<std::pair<std::string, int64_t>, std::vector<double>> v;
  ErrorList errors;
  for (const auto& r : t->rows) {
    Fields f(*t, r, errors);
    v[{f.text("test"), f.whole("threads")}].push_back(f.number("value", 0));
  }
  errors.throw_if_any();
  auto mean = [](const std::vector<double>& x) {
    double s = 0;
    for (double y : x) s += y;
    return x.empty() ? 0.0 : s / double(x.size());
  };
  // The reading of a test at its most threads, and at one thread.
  auto at = [&](const std::string& test, bool most) {
    double out = 0;
    int64_t best_t = most ? 0 : std::numeric_limits<int64_t>::max();
    for (const auto& [k, x] : v)
      if (k.first == test && (most ? k.second > best_t : k.second == 1)) {
        best_t = k.second;
        out = mean(x);
      }
    return out;
  };
  std::vector<std::string> o;
  // The per-vCPU FMA maps (measure_host5.py; rule fixed before measuring, validation/cpu/
  // README.md "host5"): in one map a vCPU is slow below 0.75 x the map's fastest; the shared
  // count is the lower median over the maps, the rate the median of slow / the map's other vCPUs.
  std::map<std::string, std::vector<double>> maps;  // `when` -> rates in vCPU order
  if (t->column("vcpu") >= 0)
    for (const auto& r : t->rows) {
      Fields f(*t, r, errors);
      if (f.text("test") == "clock_fmapin") maps[f.text("when")].push_back(f.number("value", 0));
    }
  errors.throw_if_any();
  if (!maps.empty()) {
    std::vector<int> counts;
    std::vector<double> ratios;
    for (const auto& [when, rates] : maps) {
      const double fastest = *std::max_element(rates.begin(), rates.end());
      std::vector<double> fast;
      int slow = 0;
      for (double x : rates) {
        if (x < 0.75 * fastest)
          ++slow;
        else
          fast.push_back(x);
      }
      counts.push_back(slow);
      std::sort(fast.begin(), fast.end());
      const double typical = fast.empty() ? fastest : fast[(fast.size() - 1) / 2];
      for (double x : rates)
        if (x < 0.75 * fastest) ratios.push_back(x / typical);
    }
    std::sort(counts.begin(), counts.end());
    o.push_back(fmt::format("core.shared_vcpus={}", counts[(counts.size() - 1) / 2]));
    if (!ratios.empty()) {
      std::sort(ratios.begin(), ratios.end());
      const size_t n = ratios.size();
      const double med = n % 2 ? ratios[n / 2] : 0.5 * (ratios[n / 2 - 1] + ratios[n / 2]);
      o.push_back(fmt::format("core.shared_rate={:.4g}", std::clamp(med, 0.25, 1.0)));
    }
  }
  double peak_read = 0;
  for (const auto& [k, x] : v)
    if (k.first == "read_c") peak_read = std::max(peak_read, mean(x));
  const double one_read = at("read_c", false);
  if (peak_read > 0) o.push_back(fmt::format("dram.bw={:.4g} GB/s", peak_read));
  if (one_read > 0 && dram_latency_s > 0)
    o.push_back(fmt::format("core.outstanding_misses={:.4g}", one_read * 1e9 * dram_latency_s / 64));
  return o;
}

void predict_rows(Device& device, std::vector<ValidationRow>& rows) {
  // Unique ops once, in one simulation; a format the device lacks is retried row by row so that
  // one unsupported row does not hide the others.
  OpCache cache;
  std::vector<Op> all;
  for (const auto& r : rows) all.insert(all.end(), r.ops.begin(), r.ops.end());
  Evaluation ev = cache.run(device, all);
  size_t k = 0;
  for (auto& r : rows) {
    Evaluation own;
    const Evaluation* e = &ev;
    size_t base = k;
    if (!ev.ok) {
      own = cache.run(device, r.ops);
      e = &own;
      base = 0;
    }
    // An e2e row is one CUDA graph of its kernels replayed back to back: a GPU times it as a
    // stream (the power-limited clock follows the stream's load), not as sustained kernels.
    auto* gpu = dynamic_cast<GpuDevice*>(&device);
    if (gpu && e->ok && r.ops.size() > 1 && r.category.rfind("e2e", 0) == 0) {
      own = gpu->run_stream(r.ops);
      e = &own;
      base = 0;
    }
    if (!e->ok) {
      r.predicted_s = -1;
      r.bound = "unsupported";
    } else {
      double total = 0, longest = -1;
      for (size_t i = 0; i < r.ops.size(); ++i) {
        const OpResult& res = e->results[base + i];
        total += res.time_s;
        if (res.time_s > longest) {
          longest = res.time_s;
          r.bound = std::string(bound_name(res.bound));
        }
      }
      r.predicted_s = total;
    }
    k += r.ops.size();
  }
}

namespace {

std::string kind_of(const std::string& category) {
  auto sp = category.find(' ');
  return category.substr(0, sp);
}

CategoryStats stats_of(const std::string& category, const std::string& set,
                       std::vector<const ValidationRow*> rs) {
  CategoryStats s;
  s.category = category;
  s.set = set;
  s.n = rs.size();
  if (rs.empty()) return s;
  std::vector<double> errs;
  for (const auto* r : rs) {
    const double e = std::fabs(r->error());
    errs.push_back(e);
    s.mape += e;
    if (e >= s.worst) {
      s.worst = e;
      s.worst_label = fmt::format("{}:{} {} (pred {:.4g} ms, meas {:.4g} ms)", r->file, r->line,
                                  r->label, r->predicted_s * 1e3, r->measured_s * 1e3);
    }
    if (r->published_error) s.published_mape = r->published_error;
  }
  s.mape /= double(errs.size());
  std::sort(errs.begin(), errs.end());
  // Nearest-rank 90th percentile.
  size_t idx = static_cast<size_t>(std::ceil(0.9 * double(errs.size()))) - 1;
  s.p90 = errs[std::min(idx, errs.size() - 1)];
  return s;
}

}  // namespace

std::vector<CategoryStats> summarize(const std::vector<ValidationRow>& rows) {
  std::vector<std::string> categories, kinds;
  for (const auto& r : rows) {
    if (std::find(categories.begin(), categories.end(), r.category) == categories.end())
      categories.push_back(r.category);
    std::string k = kind_of(r.category);
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  }
  std::vector<CategoryStats> out;
  // The hold-out sets first (holdout, then the later ones in order), then calibration, then any
  // other set in the order met.
  std::vector<std::string> sets;
  for (const auto& r : rows)
    if (std::find(sets.begin(), sets.end(), r.set) == sets.end()) sets.push_back(r.set);
  const auto rank = [](const std::string& s) {
    return is_holdout_set(s) ? 0 : s == "calibration" ? 1 : 2;
  };
  std::stable_sort(sets.begin(), sets.end(), [&](const std::string& a, const std::string& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    return rank(a) == 0 && (a.size() != b.size() ? a.size() < b.size() : a < b);
  });
  for (const std::string& set : sets) {
    for (const auto& kind : kinds) {
      size_t in_kind = 0;
      std::vector<const ValidationRow*> all;
      for (const auto& c : categories) {
        if (kind_of(c) != kind) continue;
        ++in_kind;
        std::vector<const ValidationRow*> rs;
        for (const auto& r : rows)
          if (r.category == c && r.set == set && r.predicted_s > 0) rs.push_back(&r);
        all.insert(all.end(), rs.begin(), rs.end());
        if (!rs.empty()) out.push_back(stats_of(c, set, rs));
      }
      if (in_kind > 1 && !all.empty()) {
        out.push_back(stats_of(kind + " all", set, all));
        out.back().published_mape.reset();  // published figures are per category only
      }
    }
  }
  return out;
}

void print_stats(std::ostream& out, const std::vector<CategoryStats>& stats,
                 const std::string& title) {
  out << title << "\n";
  bool published = false;
  for (const auto& s : stats) published |= s.published_mape.has_value();
  std::string set;
  for (const auto& s : stats) {
    if (s.set != set) {
      set = s.set;
      out << fmt::format("\n[{}]\n{:<26} {:>5} {:>8} {:>8} {:>8}{}  worst row\n", set, "category",
                         "n", "MAPE%", "p90%", "max%", published ? "  LLMCompass%" : "");
    }
    std::string pub = published
                          ? (s.published_mape ? fmt::format("  {:>11.1f}", *s.published_mape * 100)
                                              : std::string(13, ' '))
                          : "";
    out << fmt::format("{:<26} {:>5} {:>8.1f} {:>8.1f} {:>8.1f}{}  {}\n", s.category, s.n,
                       s.mape * 100, s.p90 * 100, s.worst * 100, pub, s.worst_label);
  }
}

void write_rows_csv(std::ostream& out, const std::vector<ValidationRow>& rows) {
  out << "file,line,category,set,label,measured_ms,pred_ms,error_pct,bound\n";
  for (const auto& r : rows) {
    std::string pred = r.predicted_s > 0 ? fmt::format("{:.6g}", r.predicted_s * 1e3) : "";
    std::string err = r.predicted_s > 0 ? fmt::format("{:.2f}", r.error() * 100) : "";
    write_csv_row(out, {r.file, std::to_string(r.line), r.category, r.set, r.label,
                        fmt::format("{:.6g}", r.measured_s * 1e3), pred, err, r.bound});
  }
}

double calibration_objective(const std::vector<ValidationRow>& rows) {
  double sum = 0;
  int n = 0;
  for (const auto& s : summarize(rows)) {
    if (s.set != "calibration" || s.category.find(" all") != std::string::npos) continue;
    sum += s.mape;
    ++n;
  }
  return n ? sum / n : 0;
}

}  // namespace xpusim
