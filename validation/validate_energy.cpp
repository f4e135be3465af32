// `xpusim validate --energy`: the energy model (arch/power.h) against a GPU's board-energy counter
// (validation/gpu/energy/<card>/: NVML total-energy counter over >= 3 s loops, SM clock sampled).
// Each row is one case run back to back: a kernel (timed sustained, as run() does) or a whole
// model step (one stream, as `xpusim run` does). Energy in joules per iteration, clock in MHz.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>

#include "sim/base/csv.h"
#include "sim/base/errors.h"
#include "sim/base/units.h"
#include "sim/config/config_store.h"
#include "sim/run/op_cache.h"
#include "validation/validate.h"
#include "workloads/graph.h"
#include "workloads/model.h"

namespace xpusim {
namespace {

namespace fs = std::filesystem;

std::string col(const CsvTable& t, const CsvRow& r, const char* name) {
  const int c = t.column(name);
  return c >= 0 && c < static_cast<int>(r.fields.size()) ? r.fields[c].text : "";
}

double num(const CsvTable& t, const CsvRow& r, const char* name, ErrorList& errors) {
  const std::string v = col(t, r, name);
  const auto n = parse_number(v);
  if (!n || !std::isfinite(*n)) {
    errors.add(t.loc(r, std::max(0, t.column(name))), name, fmt::format("'{}' is not a number", v));
    return 0;
  }
  return *n;
}

int64_t whole(const CsvTable& t, const CsvRow& r, const char* name, ErrorList& errors) {
  return static_cast<int64_t>(std::llround(num(t, r, name, errors)));
}

// The ops one iteration of a case launches, as the measuring script ran them
// (measure_energy.py); empty for a case the op set cannot express (a reduction, a fill).
std::vector<Op> ops_of(const CsvTable& t, const CsvRow& r, ErrorList& errors, ConfigStore& store,
                       std::string& category, bool& stream) {
  const std::string group = col(t, r, "group");
  // A later plan's cases carry its tag first (cal2_, cal3_, ho2_): the kernel is named after it.
  std::string c = col(t, r, "case");
  for (const char* tag : {"cal2_", "cal3_", "cal4_", "cal5_", "ho2_", "ho3_", "ho4_"})
    if (c.rfind(tag, 0) == 0) c = c.substr(std::string(tag).size());
  const auto dt = parse_dtype(col(t, r, "dtype"));
  stream = false;
  if (group == "gemm" || group == "gemv") {
    DType d = dt.value_or(DType::kBf16);
    // The first run's "tf32" case ran without allow_tf32: cuBLAS's fp32 FFMA kernel
    // (validation/gpu/energy/README.md); the cal2 case "tf32on" set it.
    if (d == DType::kTf32 && c.find("tf32on") == std::string::npos) d = DType::kFp32;
    category = fmt::format("{} {}", group, dtype_name(d));
    return {make_gemm("gemm", whole(t, r, "M", errors), whole(t, r, "K", errors),
                      whole(t, r, "N", errors), d)};
  }
  if (group == "memory") {
    // The bytes counted are read + written; T x 4096 bf16 elements each way.
    const double bytes = num(t, r, "bytes_min_per_iter", errors);
    const int64_t T = std::max<int64_t>(1, std::llround(bytes / 2 / 2 / 4096));
    category = "memory copy";
    // torch.neg(src, out=dst): PyTorch's vectorised unary kernel, read once and written once.
    if (c.rfind("copy_neg", 0) == 0) {
      Op op = make_elementwise("neg", EwKind::kRelu, T, 4096, DType::kBf16);
      op.ew_impl = EwImpl::kEager;
      return {op};
    }
    if (c.rfind("copy_d2d", 0) != 0) return {};
    // dst.copy_(src) of a contiguous same-type tensor is one cudaMemcpyAsync device to device
    // (the profiler records "Memcpy DtoD"): the driver's own copy kernel on the SMs, at HBM's rate
    // (4.0-4.2 TB/s read + write on the H200, and 5.9 TB/s out of L2: more than a copy engine
    // moves). A case copied in chunks makes one memcpy per chunk.
    const size_t at = c.find("_chunks");
    const int64_t chunks = at == std::string::npos ? 1 : std::max(1, std::atoi(c.c_str() + at + 7));
    std::vector<Op> ops;
    for (int64_t i = 0; i < chunks; ++i)
      ops.push_back(make_elementwise("memcpy", EwKind::kCopy, std::max<int64_t>(1, T / chunks),
                                     4096, DType::kBf16));
    return ops;
  }
  // The kernel rows' elementwise ops as the script launches them: `a + b` and F.gelu are one
  // vectorised kernel each; SiLU·mul is eager PyTorch on the two strided halves of one tensor
  // (F.silu(x[:, :h]) * x[:, h:]: two kernels); F.rms_norm is PyTorch's own one-kernel norm, the
// layer-norm kernel (the profiler records vectorized_layer_norm_kernel<BFloat16, float, true>, its
// rms_norm instance): it runs as F.layer_norm's kernel does.
  if (group == "elementwise") {
    static const std::map<std::string, EwKind> kinds = {{"ew_add", EwKind::kResidualAdd},
                                                        {"ew_silu_mul", EwKind::kSiluMul},
                                                        {"ew_gelu", EwKind::kGelu},
                                                        {"ew_rmsnorm", EwKind::kRmsnorm}};
    for (const auto& [prefix, kind] : kinds)
      if (c.rfind(prefix + "_", 0) == 0) {
        category = "elementwise";
        const EwKind run = kind == EwKind::kRmsnorm ? EwKind::kLayernorm : kind;
        Op op = make_elementwise("ew", run, whole(t, r, "M", errors), whole(t, r, "N", errors),
                                 dt.value_or(DType::kBf16));
        if (kind == EwKind::kSiluMul) op.ew_impl = EwImpl::kEager;
        return {op};
      }
    return {};
  }
  if (group == "attention") {
    const int64_t q = whole(t, r, "q_len", errors);
    category = q == 1 ? "attention decode" : "attention prefill";
    // F.scaled_dot_product_attention with PyTorch's default backend choice: cuDNN's fused
    // attention on Hopper (the model rows pin FLASH_ATTENTION; these do not).
    Op a = make_attention("attention", whole(t, r, "B", errors), whole(t, r, "heads", errors),
                          whole(t, r, "kv_heads", errors), 128, q, whole(t, r, "kv_len", errors),
                          q > 1, DType::kBf16);
    a.attn_impl = AttnImpl::kCudnn;
    return {a};
  }
  if (group == "model") {
    const std::string model = col(t, r, "model"), phase = col(t, r, "phase");
    ModelConfig cfg;
    try {
      cfg = parse_model(store.load(model, "models"));
    } catch (const ConfigError&) {
      errors.add(t.loc(r, std::max(0, t.column("model"))), "model",
                 fmt::format("'{}' is not a model in configs/models", model));
      return {};
    }
    ForwardShape shape;
    shape.batch = whole(t, r, "B", errors);
    shape.q_len = whole(t, r, "q_len", errors);
    shape.kv_len = whole(t, r, "kv_len", errors);
    shape.prefill = phase != "decode";
    shape.kernels = {StackKernels::Rope::kTorchRotateHalf, StackKernels::KvWrite::kCopies, false};
    const std::vector<Op> layer = build_layer(cfg, shape);
    std::vector<Op> ops;
    for (int64_t l = whole(t, r, "layers", errors); l > 0; --l)
      ops.insert(ops.end(), layer.begin(), layer.end());
    // The final norm and the LM head on the last token of each sequence (no embedding).
    ops.push_back(
        make_elementwise("final_norm", EwKind::kRmsnorm, shape.batch, cfg.hidden, DType::kBf16));
    ops.push_back(make_gemm("lm_head", shape.batch, cfg.hidden, cfg.vocab, DType::kBf16));
    category = fmt::format("{} {}", model, phase);
    stream = true;
    return ops;
  }
  return {};
}

}  // namespace

std::vector<EnergyRow> load_energy_dataset(const std::string& dir, bool holdout) {
  // The calibration rows, with each spent hold-out beside them (calibration_was_<set>.csv: a
  // hold-out becomes calibration once it has been read).
  std::vector<fs::path> files;
  if (holdout) {
    files.push_back(fs::path(dir) / "holdout.csv");
  } else {
    files.push_back(fs::path(dir) / "calibration.csv");
    if (fs::is_directory(dir))
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().starts_with("calibration_was_") &&
            e.path().extension() == ".csv")
          files.push_back(e.path());
    std::sort(files.begin() + 1, files.end());
  }
  std::vector<EnergyRow> rows;
  ErrorList errors;
  ConfigStore store;
  for (const fs::path& p : files) {
    const CsvTable t = read_csv_file(p.string(), "--data");
    for (const auto& r : t.rows) {
      EnergyRow e;
      e.file = p.filename().string();
      e.line = r.line;
      e.set = col(t, r, "set");
      e.label = fmt::format("{} rep{}", col(t, r, "case"), col(t, r, "rep"));
      e.measured_w = num(t, r, "avg_power_w", errors);
      e.measured_clock_mhz = num(t, r, "sm_clk_mean_mhz", errors);
      if (col(t, r, "group") == "idle") {
        e.category = "idle";
        e.idle = true;
        rows.push_back(std::move(e));
        continue;
      }
      e.ops = ops_of(t, r, errors, store, e.category, e.stream);
      if (e.ops.empty()) continue;  // not expressible as ops (a reduction, a fill)
      // A kernel row's loop rotates over rot_copies copies of its operands (1: the same buffers
      // every call): its footprint between two calls of one op is that many iterations' bytes.
      if (!e.stream && !col(t, r, "rot_copies").empty()) {
        const double reuse = num(t, r, "rot_copies", errors) * num(t, r, "bytes_min_per_iter", errors);
        for (Op& op : e.ops) op.reuse_bytes = reuse;
      }
      e.measured_s = num(t, r, "time_per_iter_ms", errors) * 1e-3;
      e.measured_j = num(t, r, "energy_per_iter_mj", errors) * 1e-3;
      rows.push_back(std::move(e));
    }
  }
  errors.throw_if_any();
  return rows;
}

void predict_energy_rows(Device& device, std::vector<EnergyRow>& rows) {
  OpCache cache;  // a layer's ops repeat: each unique op is simulated once
  for (auto& r : rows) {
    r.pred_ok = false;
    if (r.idle) {
      const auto idle = device.idle_power_w();
      r.pred_ok = idle.has_value();
      r.pred_w = idle.value_or(0);
      r.pred_clock_mhz = device.clock_hz() / 1e6;
      continue;
    }
    Evaluation ev = cache.run(device, r.ops);
    if (!ev.ok) continue;
    if (r.stream) {
      std::vector<OpResult> inst = ev.results;
      device.stream(inst);
      ev.results = std::move(inst);
    }
    double t = 0, e = 0, fc = 0;
    bool have = true;
    for (const auto& res : ev.results) {
      t += res.time_s;
      have = have && res.energy_j && res.clock_hz;
      e += res.energy_j.value_or(0);
      fc += res.clock_hz.value_or(0) * res.time_s;
    }
    if (!have || !(t > 0)) continue;
    r.pred_ok = true;
    r.pred_s = t;
    r.pred_j = e;
    r.pred_w = e / t;
    r.pred_clock_mhz = fc / t / 1e6;
  }
}

double EnergyRow::error() const { return idle ? pred_w / measured_w - 1 : pred_j / measured_j - 1; }

double energy_objective(const std::vector<EnergyRow>& rows) {
  // Mean |power error| over categories (each category weighs the same), plus the clock error.
  // Power, not energy: energy = power x time, and the time model is calibrated on its own
  // datasets; fitting energies to absorb its errors would bend them away from physics.
  std::map<std::string, std::pair<double, int>> cat;
  double clock = 0;
  int nclock = 0;
  for (const auto& r : rows) {
    if (!r.pred_ok) return std::numeric_limits<double>::infinity();
    auto& c = cat[r.category];
    c.first += std::abs(r.pred_w / r.measured_w - 1);
    c.second += 1;
    if (!r.idle) {
      clock += std::abs(r.pred_clock_mhz / r.measured_clock_mhz - 1);
      ++nclock;
    }
  }
  double sum = 0;
  for (const auto& [k, v] : cat) sum += v.first / v.second;
  // Capped rows are pinned at the limit whatever the energies: their clock is what tells.
  return sum / double(std::max<size_t>(1, cat.size())) + (nclock ? clock / nclock : 0.0);
}

void print_energy_rows(std::ostream& out, const std::vector<EnergyRow>& rows,
                       const std::string& title) {
  out << title << "\n";
  out << fmt::format("{:<44} {:<20} {:>10} {:>10} {:>7} {:>8} {:>8} {:>7} {:>7}\n", "case",
                     "category", "meas_mJ", "pred_mJ", "err%", "meas_W", "pred_W", "MHz", "pred");
  double abs_sum = 0, worst = 0, clk_sum = 0, clk_worst = 0;
  int n = 0, within = 0, nclk = 0, clk_within = 0;
  for (const auto& r : rows) {
    if (!r.pred_ok) {
      out << fmt::format("{:<44} {:<20} unsupported\n", r.label, r.category);
      continue;
    }
    const double err = r.error() * 100;
    out << fmt::format(
        "{:<44} {:<20} {:>10.4g} {:>10.4g} {:>+7.1f} {:>8.1f} {:>8.1f} {:>7.0f} {:>7.0f}\n",
        r.label, r.category, r.measured_j * 1e3, r.pred_j * 1e3, err, r.measured_w, r.pred_w,
        r.measured_clock_mhz, r.pred_clock_mhz);
    abs_sum += std::abs(err);
    worst = std::max(worst, std::abs(err));
    within += std::abs(err) <= 15;
    ++n;
    if (!r.idle) {
      const double ce = std::abs(r.pred_clock_mhz / r.measured_clock_mhz - 1) * 100;
      clk_sum += ce;
      clk_worst = std::max(clk_worst, ce);
      clk_within += ce <= 10;
      ++nclk;
    }
  }
  out << fmt::format(
      "energy (power for idle rows): MAPE {:.1f}%, worst {:.1f}%, {}/{} rows within 15%\n",
      n ? abs_sum / n : 0.0, worst, within, n);
  out << fmt::format("SM clock: mean |error| {:.1f}%, worst {:.1f}%, {}/{} rows within 10%\n",
                     nclk ? clk_sum / nclk : 0.0, clk_worst, clk_within, nclk);
}

}  // namespace xpusim
